// Kernel family: max and average pooling of NHWC maps over size x size windows moved by
// `stride`, no padding (rows and columns past the last whole window are dropped), as PyTorch's
// MaxPool2d / AvgPool2d with ceil_mode = False. Max pooling records the flat input index of each
// window's maximum (first maximum in row-major window order on ties) for the backward pass.
// Backward: with disjoint windows (stride >= size, the usual case) each output element writes its
// own window of the input gradient (no two write the same element); with overlapping windows it
// is a gather over the windows that cover an input element. No atomics either way.
#pragma once
#include "common.hpp"

namespace supsnn {

struct PoolGeometry {
  int C = 1, H = 1, W = 1;
  int size = 2, stride = 2;
  bool max = true;
  int out_h() const { return (H - size) / stride + 1; }
  int out_w() const { return (W - size) / stride + 1; }
};

// Y (images, OH, OW, C) from X (images, H, W, C); `arg` (same size as Y) gets the input index
// of the maximum (max pooling only).
template <class Real>
void pool2d_forward(const PoolGeometry& g, long images, View1<const Real> X, View1<Real> Y,
                    View1<int> arg) {
  const int OH = g.out_h(), OW = g.out_w();
  const Real inv = Real(1) / static_cast<Real>(g.size * g.size);
  // One work item per output row of one image (index arithmetic per row, not per element); the
  // channels innermost, so that each window position is one contiguous run of C values.
  Kokkos::parallel_for(
      "supsnn::pool2d_forward",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, images * OH),
      KOKKOS_LAMBDA(const long r) {
        const long n = r / OH;
        const int oy = static_cast<int>(r % OH);
        const Real* x = X.data() + n * g.H * g.W * g.C;
        for (int ox = 0; ox < OW; ++ox) {
          Real* y = Y.data() + (r * OW + ox) * g.C;
          int* best = g.max ? arg.data() + (r * OW + ox) * g.C : nullptr;
          for (int dy = 0; dy < g.size; ++dy)
            for (int dx = 0; dx < g.size; ++dx) {
              const int within = ((oy * g.stride + dy) * g.W + ox * g.stride + dx) * g.C;
              const Real* v = x + within;
              if (dy == 0 && dx == 0) {  // the window's first element starts the max or sum
                for (int c = 0; c < g.C; ++c) y[c] = v[c];
                if (g.max)
                  for (int c = 0; c < g.C; ++c) best[c] = within + c;
              } else if (g.max) {
                for (int c = 0; c < g.C; ++c)
                  if (v[c] > y[c]) {  // strictly greater: the first maximum wins ties
                    y[c] = v[c];
                    best[c] = within + c;  // index within the image: fits an int
                  }
              } else {
                for (int c = 0; c < g.C; ++c) y[c] += v[c];
              }
            }
          if (!g.max)
            for (int c = 0; c < g.C; ++c) y[c] *= inv;
        }
      });
}

// dX (images, H, W, C) from dY (images, OH, OW, C).
template <class Real>
void pool2d_backward(const PoolGeometry& g, long images, View1<const Real> dY, View1<const int> arg,
                     View1<Real> dX) {
  const int OH = g.out_h(), OW = g.out_w();
  const long n_in = images * g.H * g.W * g.C;
  const Real inv = Real(1) / static_cast<Real>(g.size * g.size);
  if (g.stride >= g.size) {
    // Elements outside every window (strides past the size, cut-off rows) get no gradient.
    if (g.stride > g.size || OH * g.size != g.H || OW * g.size != g.W)
      Kokkos::deep_copy(Kokkos::subview(dX, std::make_pair(0L, n_in)), Real(0));
    const long rows = images * OH;  // one work item per output row of one image: no div per element
    Kokkos::parallel_for(
        "supsnn::pool2d_backward_disjoint",
        Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, rows),
        KOKKOS_LAMBDA(const long r) {
          const long n = r / OH;
          const int oy = static_cast<int>(r % OH);
          Real* dx_image = dX.data() + n * g.H * g.W * g.C;
          for (int ox = 0; ox < OW; ++ox) {
            const Real* d = dY.data() + (r * OW + ox) * g.C;
            const int* best = g.max ? arg.data() + (r * OW + ox) * g.C : nullptr;
            for (int dy = 0; dy < g.size; ++dy)
              for (int dx = 0; dx < g.size; ++dx) {
                const int within = ((oy * g.stride + dy) * g.W + ox * g.stride + dx) * g.C;
                Real* out = dx_image + within;
                if (g.max)
                  for (int c = 0; c < g.C; ++c) out[c] = within + c == best[c] ? d[c] : Real(0);
                else
                  for (int c = 0; c < g.C; ++c) out[c] = d[c] * inv;
              }
          }
        });
    return;
  }
  Kokkos::parallel_for(
      "supsnn::pool2d_backward", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, n_in),
      KOKKOS_LAMBDA(const long i) {
        const int c = static_cast<int>(i % g.C);
        const long q = i / g.C;
        const int x = static_cast<int>(q % g.W), y = static_cast<int>((q / g.W) % g.H);
        const long n = q / (static_cast<long>(g.W) * g.H);
        const int within = static_cast<int>(i % (static_cast<long>(g.H) * g.W * g.C));
        Real acc = 0;
        // Windows oy with oy stride <= y < oy stride + size.
        const int oy0 = y >= g.size ? (y - g.size) / g.stride + 1 : 0;
        const int ox0 = x >= g.size ? (x - g.size) / g.stride + 1 : 0;
        for (int oy = oy0; oy <= y / g.stride && oy < OH; ++oy)
          for (int ox = ox0; ox <= x / g.stride && ox < OW; ++ox) {
            const long o = ((n * OH + oy) * OW + ox) * g.C + c;
            if (!g.max)
              acc += dY(o) * inv;
            else if (arg(o) == within)
              acc += dY(o);
          }
        dX(i) = acc;
      });
}

}  // namespace supsnn
