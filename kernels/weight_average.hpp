// Kernel: exponential moving average of the weights (Polyak averaging; TensorFlow's
// ExponentialMovingAverage with num_updates): after optimiser step t (1-based)
//   a -= (1 - d_t) (a - w),   d_t = min(decay, (1 + t) / (10 + t)),
// so the first steps average over a short window and the initial weights fade quickly.
// The average starts as a copy of the initial weights.
#pragma once
#include <algorithm>

#include "common.hpp"

namespace supsnn {

// Decay of update t (1-based), on the host in double.
inline double ema_decay(double decay, long t) {
  return std::min(decay, (1.0 + static_cast<double>(t)) / (10.0 + static_cast<double>(t)));
}

// One element per work item: memory-bound, no reduction, no ordering between elements.
template <class Real>
void ema_update(double decay, long t, View1<Real> avg, View1<const Real> w) {
  const Real k = static_cast<Real>(1.0 - ema_decay(decay, t));
  Kokkos::parallel_for(
      "supsnn::ema_update", Kokkos::RangePolicy<ExecSpace>(0, static_cast<int>(avg.extent(0))),
      KOKKOS_LAMBDA(const int i) { avg(i) -= k * (avg(i) - w(i)); });
}

template <class Real>
void ema_update_ref(double decay, long t, int count, Real* avg, const Real* w) {
  const Real k = static_cast<Real>(1.0 - ema_decay(decay, t));
  for (int i = 0; i < count; ++i) avg[i] -= k * (avg[i] - w[i]);
}

}  // namespace supsnn
