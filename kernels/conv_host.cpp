#include "conv_host.hpp"
#include "vector_clones.hpp"

namespace supsnn {

namespace {

// dst[o] += v src[o]: the row update every event makes (restrict: rows never overlap).
template <class Real>
inline void axpy(int out, Real v, const Real* __restrict src, Real* __restrict dst) {
  for (int o = 0; o < out; ++o) dst[o] += v * src[o];
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
    for_each_reach(g, OH, OW, index[e], [&](int pos, int row) {
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
      for_each_reach(g, OH, OW, index[e], [&](int pos, int row) {
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
