#include "conv_host.hpp"

#include <algorithm>

namespace supsnn {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__) && !defined(__NVCOMPILER)
#define SUPSNN_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SUPSNN_VECTOR_CLONES
#endif

namespace {

// dst[o] += v src[o]: the row update every event makes (restrict: rows never overlap).
template <class Real>
inline void axpy(int out, Real v, const Real* __restrict src, Real* __restrict dst) {
  for (int o = 0; o < out; ++o) dst[o] += v * src[o];
}

// f(pos, row) for each output position an input element reaches (kernels/event_conv.hpp). Stride
// 1 takes the tap ranges directly: the divisions of the general case, per tap, cost more than
// the row update they guard.
template <class F>
inline void reach(const ConvGeometry& g, int OH, int OW, int i, F&& f) {
  const int c = i % g.C, p = i / g.C;
  const int x = p % g.W, y = p / g.W;
  if (g.stride == 1) {
    // oy = y + pad - dy in [0, OH)  <=>  dy in [y + pad - OH + 1, y + pad], within [0, K).
    const int dy0 = std::max(0, y + g.pad - OH + 1), dy1 = std::min(g.K - 1, y + g.pad);
    const int dx0 = std::max(0, x + g.pad - OW + 1), dx1 = std::min(g.K - 1, x + g.pad);
    for (int dy = dy0; dy <= dy1; ++dy) {
      const int base = (y + g.pad - dy) * OW + x + g.pad;
      for (int dx = dx0; dx <= dx1; ++dx) f(base - dx, (dy * g.K + dx) * g.C + c);
    }
    return;
  }
  for (int dy = 0; dy < g.K; ++dy) {
    const int sy = y + g.pad - dy;
    if (sy < 0 || sy % g.stride != 0 || sy / g.stride >= OH) continue;
    for (int dx = 0; dx < g.K; ++dx) {
      const int sx = x + g.pad - dx;
      if (sx < 0 || sx % g.stride != 0 || sx / g.stride >= OW) continue;
      f((sy / g.stride) * OW + sx / g.stride, (dy * g.K + dx) * g.C + c);
    }
  }
}

template <class Real>
inline void image_forward(const ConvGeometry& g, int out, const int* index, const Real* value,
                          long e0, long e1, const Real* Wt, const Real* b, Real* y) {
  const int OH = g.out_h(), OW = g.out_w();
  const long positions = g.positions();
  for (long q = 0; q < positions; ++q)
    for (int o = 0; o < out; ++o) y[q * out + o] = b ? b[o] : Real(0);
  for (long e = e0; e < e1; ++e) {
    const Real v = value[e];
    reach(g, OH, OW, index[e], [&](int pos, int row) {
      axpy(out, v, Wt + static_cast<long>(row) * out, y + static_cast<long>(pos) * out);
    });
  }
}

template <class Real>
inline void grad_block(const ConvGeometry& g, int out, const long* offset, const int* index,
                       const Real* value, long n0, long n1, const Real* dY, Real* part) {
  const int OH = g.out_h(), OW = g.out_w();
  const long per_image = g.positions() * out, wsize = static_cast<long>(g.taps()) * out;
  for (long q = 0; q < wsize; ++q) part[q] = Real(0);
  for (long n = n0; n < n1; ++n) {
    const Real* dy = dY + n * per_image;
    for (long e = offset[n]; e < offset[n + 1]; ++e) {
      const Real v = value[e];
      reach(g, OH, OW, index[e], [&](int pos, int row) {
        axpy(out, v, dy + static_cast<long>(pos) * out, part + static_cast<long>(row) * out);
      });
    }
  }
}

}  // namespace

SUPSNN_VECTOR_CLONES
void event_conv_image_host(const ConvGeometry& g, int out, const int* index, const float* value,
                           long e0, long e1, const float* Wt, const float* b, float* y) {
  image_forward(g, out, index, value, e0, e1, Wt, b, y);
}

SUPSNN_VECTOR_CLONES
void event_conv_image_host(const ConvGeometry& g, int out, const int* index, const double* value,
                           long e0, long e1, const double* Wt, const double* b, double* y) {
  image_forward(g, out, index, value, e0, e1, Wt, b, y);
}

SUPSNN_VECTOR_CLONES
void event_grad_block_host(const ConvGeometry& g, int out, const long* offset, const int* index,
                           const float* value, long n0, long n1, const float* dY, float* part) {
  grad_block(g, out, offset, index, value, n0, n1, dY, part);
}

SUPSNN_VECTOR_CLONES
void event_grad_block_host(const ConvGeometry& g, int out, const long* offset, const int* index,
                           const double* value, long n0, long n1, const double* dY, double* part) {
  grad_block(g, out, offset, index, value, n0, n1, dY, part);
}

}  // namespace supsnn
