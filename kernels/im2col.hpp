// Kernel family: a convolution as a matrix product (docs/model.md, "Layered networks"). Maps are
// NHWC: image n, row y, column x, channel c at ((n H + y) W + x) C + c. im2col writes, for every
// output position (n, oy, ox), one row of the patch it reads, taps ordered (dy, dx, c) like the
// kernel's columns, zeros where the padded patch leaves the map:
//   col((n OH + oy) OW + ox, (dy K + dx) C + c) = X(n, oy s - pad + dy, ox s - pad + dx, c)
// so that the layer's current is the row-major product Y = col W^T (Y NHWC, W: Co x K K C) and
// its gradients are dW = dY^T col and dcol = dY W. col2im sums dcol back onto the map as a
// gather: every input element adds the taps that read it (no atomics, deterministic).
#pragma once
#include "common.hpp"

namespace supsnn {

struct ConvGeometry {
  int C = 1, H = 1, W = 1;  // input map
  int K = 1, stride = 1, pad = 0;
  int out_h() const { return (H + 2 * pad - K) / stride + 1; }
  int out_w() const { return (W + 2 * pad - K) / stride + 1; }
  int taps() const { return K * K * C; }
  long in_size() const { return static_cast<long>(H) * W * C; }
  long positions() const { return static_cast<long>(out_h()) * out_w(); }
};

// Calls f(pos, tap_row) for every output position pos (oy OW + ox, within the image) that reads
// the input element i = (y W + x) C + c of an image, tap_row = (dy K + dx) C + c its column of
// the patch matrix: the gather of col2im and the scatter of the event products
// (kernels/event_conv.hpp). Stride 1 takes the tap ranges directly (the general case's
// divisions per tap cost more than the C-wide updates they guard).
template <class F>
KOKKOS_INLINE_FUNCTION void for_each_reach(const ConvGeometry& g, int OH, int OW, int i, F&& f) {
  const int c = i % g.C, p = i / g.C;
  const int x = p % g.W, y = p / g.W;
  if (g.stride == 1) {
    // oy = y + pad - dy in [0, OH)  <=>  dy in [y + pad - OH + 1, y + pad], within [0, K).
    const int dy0 = y + g.pad - OH + 1 > 0 ? y + g.pad - OH + 1 : 0;
    const int dy1 = y + g.pad < g.K - 1 ? y + g.pad : g.K - 1;
    const int dx0 = x + g.pad - OW + 1 > 0 ? x + g.pad - OW + 1 : 0;
    const int dx1 = x + g.pad < g.K - 1 ? x + g.pad : g.K - 1;
    for (int dy = dy0; dy <= dy1; ++dy) {
      const int base = (y + g.pad - dy) * OW + x + g.pad;
      for (int dx = dx0; dx <= dx1; ++dx) f(base - dx, (dy * g.K + dx) * g.C + c);
    }
    return;
  }
  for (int dy = 0; dy < g.K; ++dy) {
    const int sy = y + g.pad - dy;  // = oy stride
    if (sy < 0 || sy % g.stride != 0 || sy / g.stride >= OH) continue;
    for (int dx = 0; dx < g.K; ++dx) {
      const int sx = x + g.pad - dx;
      if (sx < 0 || sx % g.stride != 0 || sx / g.stride >= OW) continue;
      f((sy / g.stride) * OW + sx / g.stride, (dy * g.K + dx) * g.C + c);
    }
  }
}

// col (images x positions, taps) from X (images, H, W, C).
template <class Real>
void im2col(const ConvGeometry& g, int images, View1<const Real> X, View1<Real> col) {
  const int OH = g.out_h(), OW = g.out_w(), taps = g.taps();
  const long rows = static_cast<long>(images) * OH * OW;
  Kokkos::parallel_for(
      "supsnn::im2col", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, rows),
      KOKKOS_LAMBDA(const long r) {
        const int ox = static_cast<int>(r % OW), oy = static_cast<int>((r / OW) % OH);
        const long n = r / (static_cast<long>(OW) * OH);
        Real* out = col.data() + r * taps;
        for (int dy = 0; dy < g.K; ++dy) {
          const int y = oy * g.stride - g.pad + dy;
          for (int dx = 0; dx < g.K; ++dx) {
            const int x = ox * g.stride - g.pad + dx;
            Real* o = out + (dy * g.K + dx) * g.C;
            if (y < 0 || y >= g.H || x < 0 || x >= g.W) {
              for (int c = 0; c < g.C; ++c) o[c] = Real(0);
            } else {
              const Real* in = X.data() + ((n * g.H + y) * g.W + x) * g.C;
              for (int c = 0; c < g.C; ++c) o[c] = in[c];
            }
          }
        }
      });
}

// dX (images, H, W, C) = the transpose of im2col applied to dcol.
template <class Real>
void col2im(const ConvGeometry& g, int images, View1<const Real> dcol, View1<Real> dX) {
  const int OH = g.out_h(), OW = g.out_w(), taps = g.taps();
  const long pixels = static_cast<long>(images) * g.H * g.W;
  Kokkos::parallel_for(
      "supsnn::col2im", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, pixels),
      KOKKOS_LAMBDA(const long q) {
        const long n = q / (static_cast<long>(g.W) * g.H);
        const int within = static_cast<int>(q - n * g.H * g.W);  // y W + x
        Real* out = dX.data() + q * g.C;
        for (int c = 0; c < g.C; ++c) out[c] = Real(0);
        const Real* image = dcol.data() + n * OH * OW * taps;
        for_each_reach(g, OH, OW, within * g.C, [&](int pos, int tap) {
          const Real* in = image + static_cast<long>(pos) * taps + tap;  // channel 0 of the tap
          for (int c = 0; c < g.C; ++c) out[c] += in[c];
        });
      });
}

}  // namespace supsnn
