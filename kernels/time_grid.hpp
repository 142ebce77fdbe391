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

  // Point s of the series x(b, r, k) given at the raw samples: the linear interpolation.
  template <class Real, class V>
  KOKKOS_INLINE_FUNCTION Real sample(const V& x, int b, int r, int s) const {
    int k0;
    Real f;
    locate(s, k0, f);
    Real v = x(b, r, k0);
    if (f != Real(0)) v = (Real(1) - f) * v + f * x(b, r, k0 + 1);
    return v;
  }

  // The transpose of sample(): adds g, weighted, to the raw samples of point s in d(b, r, k).
  template <class Real, class V>
  KOKKOS_INLINE_FUNCTION void scatter(const V& d, int b, int r, int s, Real g) const {
    int k0;
    Real f;
    locate(s, k0, f);
    d(b, r, k0) += (Real(1) - f) * g;
    if (f != Real(0)) d(b, r, k0 + 1) += f * g;
  }
};

}  // namespace supsnn
