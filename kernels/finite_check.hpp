// Kernel: NaN/Inf check of a (reduced) gradient. After the all-reduce every rank holds the same
// sum, so every rank reaches the same verdict without further communication.
#pragma once
#include <cmath>
#include <cstddef>

#include "common.hpp"

namespace supsnn {

namespace kmath_finite {
#if KOKKOS_VERSION >= 30600
using Kokkos::isfinite;
#else
using Kokkos::Experimental::isfinite;
#endif
}  // namespace kmath_finite

// The number of NaN or +-Inf entries of g written to out(slot) on the device, without waiting
// for it (the trainer reads it together with the step's other checks, in one copy).
template <class Real>
void count_nonfinite_into(View1<const Real> g, View1<double> out, int slot) {
  Kokkos::parallel_reduce(
      "supsnn::count_nonfinite_into", Kokkos::RangePolicy<ExecSpace>(0, g.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i, double& acc) {
        acc += kmath_finite::isfinite(g(i)) ? 0 : 1;
      },
      Kokkos::subview(out, slot));  // a view result: the call returns before the kernel ends
}

// Number of NaN or +-Inf entries of g (0 when all are finite). Call as count_nonfinite<Real>(g).
template <class Real>
long count_nonfinite(View1<const Real> g) {
  View1<double> out("supsnn::nonfinite", 1);
  count_nonfinite_into<Real>(g, out, 0);
  double bad = 0;
  Kokkos::deep_copy(bad, Kokkos::subview(out, 0));  // waits for the kernel
  return static_cast<long>(bad);
}

template <class Real>
bool all_finite(View1<const Real> g) {
  return count_nonfinite<Real>(g) == 0;
}

// Plain CPU reference.
template <class Real>
bool all_finite_ref(const Real* g, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(g[i])) return false;
  return true;
}

}  // namespace supsnn
