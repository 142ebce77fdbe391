// Kernel family: the seed's membrane integration "as its code computes it" (no threshold,
// reset or inhibition): I(s) = interp(c)(s), P(0) = 0, P(s) = P(s-1) + I(s) - D, s = 1..steps.
// Backward: given dL/dP(s), dL/dI(s) = sum_{t>=s} dL/dP(t) (reverse cumulative sum) and
// dL/dc(k) = sum_s w(s,k) dL/dI(s) (the transpose of the interpolation).
#pragma once
#include "common.hpp"
#include "time_grid.hpp"

namespace supsnn {

// c: (B, n, T+1) -> P: (B, n, steps+1), psum: (B, n) = sum_s P(s).
// One work item per (b, j): the time loop is sequential by nature.
template <class Real>
void seed_integrate_forward(const TimeGrid grid, const Real leak, View3<const Real> c,
                            View3<Real> P, View2<Real> psum) {
  const int B = static_cast<int>(c.extent(0)), n = static_cast<int>(c.extent(1));
  Kokkos::parallel_for(
      "supsnn::seed_integrate_forward", RowMajorRange<2>({0, 0}, {B, n}),
      KOKKOS_LAMBDA(const int b, const int j) {
        Real p = 0, sum = 0;
        P(b, j, 0) = 0;
        for (int s = 1; s <= grid.steps; ++s) {
          p = p + grid.sample<Real>(c, b, j, s) - leak;
          P(b, j, s) = p;
          sum += p;
        }
        psum(b, j) = sum;
      });
}

// dP: (B, n, steps+1) -> dc: (B, n, T+1), overwritten.
template <class Real>
void seed_integrate_backward(const TimeGrid grid, View3<const Real> dP, View3<Real> dc) {
  const int B = static_cast<int>(dP.extent(0)), n = static_cast<int>(dP.extent(1));
  const int T1 = grid.raw_steps + 1;
  Kokkos::parallel_for(
      "supsnn::seed_integrate_backward", RowMajorRange<2>({0, 0}, {B, n}),
      KOKKOS_LAMBDA(const int b, const int j) {
        for (int k = 0; k < T1; ++k) dc(b, j, k) = 0;
        Real R = 0;  // dL/dI(s)
        for (int s = grid.steps; s >= 1; --s) {
          R += dP(b, j, s);
          grid.scatter(dc, b, j, s, R);
        }
      });
}

// Plain CPU reference of the whole seed forward pass on dense raw spikes x: (B, m, T+1):
// interpolate every input onto the fine grid first, then integrate, exactly as the seed does.
template <class Real>
void seed_forward_dense_ref(const TimeGrid& grid, Real leak, int B, int n, int m, const Real* W,
                            const Real* x, Real* P) {
  const int T1 = grid.raw_steps + 1, S1 = grid.steps + 1;
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < n; ++j) {
      Real p = 0;
      P[(b * n + j) * S1] = 0;
      for (int s = 1; s < S1; ++s) {
        const double pos = static_cast<double>(s) * grid.raw_steps / grid.steps;
        int k0 = static_cast<int>(pos);
        if (k0 >= grid.raw_steps) k0 = grid.raw_steps - 1;
        const double f = pos - k0;
        Real in = 0;
        for (int i = 0; i < m; ++i) {
          const Real* xi = x + (static_cast<long>(b) * m + i) * T1;
          in += W[j * m + i] * static_cast<Real>((1 - f) * xi[k0] + f * xi[k0 + 1]);
        }
        p = p + in - leak;
        P[(b * n + j) * S1 + s] = p;
      }
    }
}

}  // namespace supsnn
