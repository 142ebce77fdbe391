// Kernel: time interpolation of per-(sample, row) series, raw (B, R, T+1) -> out (B, R, steps+1).
// Used for guidance traces; the input current uses the same weights inside seed_integrate.
#pragma once
#include "common.hpp"
#include "time_grid.hpp"

namespace supsnn {

template <class Real>
void interp_time(const TimeGrid grid, View3<const Real> raw, View3<Real> out) {
  const int B = static_cast<int>(out.extent(0)), R = static_cast<int>(out.extent(1));
  const int S1 = grid.steps + 1;
  Kokkos::parallel_for(
      "supsnn::interp_time", RowMajorRange<3>({0, 0, 0}, {B, R, S1}),
      KOKKOS_LAMBDA(const int b, const int r, const int s) {
        out(b, r, s) = grid.sample<Real>(raw, b, r, s);
      });
}

// Plain CPU reference on a flat row-major (B*R) x (T+1) array.
template <class Real>
void interp_time_ref(const TimeGrid& grid, const Real* raw, int rows, Real* out) {
  const int T1 = grid.raw_steps + 1, S1 = grid.steps + 1;
  for (int r = 0; r < rows; ++r)
    for (int s = 0; s < S1; ++s) {
      const double pos = static_cast<double>(s) * grid.raw_steps / grid.steps;
      int k0 = static_cast<int>(pos);
      if (k0 >= grid.raw_steps) k0 = grid.raw_steps - 1;
      const double f = pos - k0;
      out[r * S1 + s] = static_cast<Real>((1 - f) * raw[r * T1 + k0] + f * raw[r * T1 + k0 + 1]);
    }
}

// Transpose of interp_time: dI (B, R, steps+1) -> draw (B, R, T+1), overwritten,
// draw(k) = sum_s w(s, k) dI(s) with w(s, k0) = 1 - f, w(s, k0+1) = f. One work item per
// (b, r) walks its own row in a fixed order, so no atomics and the result is reproducible.
template <class Real>
void interp_time_backward(const TimeGrid grid, View3<const Real> dI, View3<Real> draw) {
  const int B = static_cast<int>(dI.extent(0)), R = static_cast<int>(dI.extent(1));
  const int T1 = grid.raw_steps + 1;
  Kokkos::parallel_for(
      "supsnn::interp_time_backward", RowMajorRange<2>({0, 0}, {B, R}),
      KOKKOS_LAMBDA(const int b, const int r) {
        for (int k = 0; k < T1; ++k) draw(b, r, k) = 0;
        for (int s = 0; s <= grid.steps; ++s) grid.scatter(draw, b, r, s, dI(b, r, s));
      });
}

// Plain CPU reference of the transpose on flat row-major arrays.
template <class Real>
void interp_time_backward_ref(const TimeGrid& grid, const Real* dI, int rows, Real* draw) {
  const int T1 = grid.raw_steps + 1, S1 = grid.steps + 1;
  for (int r = 0; r < rows; ++r) {
    for (int k = 0; k < T1; ++k) draw[r * T1 + k] = 0;
    for (int s = 0; s < S1; ++s) {
      const double pos = static_cast<double>(s) * grid.raw_steps / grid.steps;
      int k0 = static_cast<int>(pos);
      if (k0 >= grid.raw_steps) k0 = grid.raw_steps - 1;
      const double f = pos - k0;
      draw[r * T1 + k0] += static_cast<Real>((1 - f) * dI[r * S1 + s]);
      draw[r * T1 + k0 + 1] += static_cast<Real>(f * dI[r * S1 + s]);
    }
  }
}

}  // namespace supsnn
