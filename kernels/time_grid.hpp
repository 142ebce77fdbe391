// Linear interpolation of a raw time series with samples k = 0..T onto steps+1 equally
// spaced points s = 0..steps (the seed's 10x-style time interpolation), in exact integer
// arithmetic for the position: s*T/steps = k0 + num/steps.
#pragma once
#include <Kokkos_Core.hpp>

namespace supsnn {

struct TimeGrid {
  int raw_steps = 70;  // T
  int steps = 100;

  // Point s lies between raw samples k0 and k0+1 with weight frac on k0+1.
  template <class Real>
  KOKKOS_INLINE_FUNCTION void locate(int s, int& k0, Real& frac) const {
    const long num = static_cast<long>(s) * raw_steps;
    k0 = static_cast<int>(num / steps);
    frac = static_cast<Real>(num % steps) / static_cast<Real>(steps);
  }
};

}  // namespace supsnn
