// Kernel: trace-matching loss between the label row of the output trace and the same row of
// the guidance trace (seed-model.md section 3): Huber (delta) or MSE, mean over steps+1 points.
// Writes the per-sample loss and dL/dP scaled by `scale` (1 / global batch); other rows get 0.
// all_rows (loss.rows = "all"): every row is matched against its guidance row, the per-row
// losses summed (so the losers' traces are trained too, not only the label row).
#pragma once
#include <cmath>
#include "common.hpp"

namespace supsnn {

enum class LossKind : int { Huber = 0, MSE = 1, CrossEntropy = 2 };

template <class Real>
KOKKOS_INLINE_FUNCTION Real pointwise_loss(LossKind kind, Real delta, Real r, Real& dldr) {
  if (kind == LossKind::MSE) {
    dldr = 2 * r;
    return r * r;
  }
  const Real a = r < 0 ? -r : r;
  if (a <= delta) {
    dldr = r;
    return Real(0.5) * r * r;
  }
  dldr = r < 0 ? -delta : delta;
  return delta * (a - Real(0.5) * delta);
}

// P, G, dP: (B, n, S1); label: (B); loss: (B).
template <class Real>
void trace_loss(LossKind kind, Real delta, Real scale, View3<const Real> P, View3<const Real> G,
                View1<const int> label, View1<Real> loss, View3<Real> dP, bool all_rows = false) {
  const int B = static_cast<int>(P.extent(0)), n = static_cast<int>(P.extent(1));
  const int S1 = static_cast<int>(P.extent(2));
  Kokkos::parallel_for(
      "supsnn::trace_loss", Kokkos::RangePolicy<ExecSpace>(0, B), KOKKOS_LAMBDA(const int b) {
        const int g = label(b);
        Real acc = 0;
        for (int j = 0; j < n; ++j)
          for (int s = 0; s < S1; ++s) {
            Real d = 0;
            if (j == g || all_rows) {
              acc += pointwise_loss(kind, delta, P(b, j, s) - G(b, j, s), d);
              d *= scale / S1;
            }
            dP(b, j, s) = d;
          }
        loss(b) = acc / S1;
      });
}

// Plain CPU reference for one row: returns the mean loss and writes dL/dP (unscaled by batch).
template <class Real>
Real trace_loss_ref(LossKind kind, Real delta, int S1, const Real* p, const Real* g, Real* dp) {
  double acc = 0;
  for (int s = 0; s < S1; ++s) {
    const double r = static_cast<double>(p[s]) - g[s];
    double l, d;
    if (kind == LossKind::MSE) {
      l = r * r;
      d = 2 * r;
    } else if (std::fabs(r) <= delta) {
      l = 0.5 * r * r;
      d = r;
    } else {
      l = delta * (std::fabs(r) - 0.5 * delta);
      d = r < 0 ? -delta : delta;
    }
    acc += l;
    dp[s] = static_cast<Real>(d / S1);
  }
  return static_cast<Real>(acc / S1);
}

}  // namespace supsnn
