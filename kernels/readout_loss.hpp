// Kernel: cross-entropy readout of the output layer against the true labels. The logit of
// neuron j is its mean potential over the steps+1 points (readout "sum") or its peak potential
// (readout "max"), divided by a temperature. Writes the per-sample loss and dL/dP scaled by
// `scale` (1 / global batch).
#pragma once
#include "common.hpp"

namespace supsnn {

enum class Readout : int { Sum = 0, Max = 1 };

template <class Real>
void readout_ce_loss(Readout readout, Real temperature, Real scale, View3<const Real> P,
                     View1<const int> label, View1<Real> loss, View3<Real> dP) {
  const int B = static_cast<int>(P.extent(0)), n = static_cast<int>(P.extent(1));
  const int S1 = static_cast<int>(P.extent(2));
  Kokkos::parallel_for(
      "supsnn::readout_ce_loss", Kokkos::RangePolicy<ExecSpace>(0, B), KOKKOS_LAMBDA(const int b) {
        // Logits in double: potential sums reach 1e5 and the softmax needs the differences.
        double z[16] = {};
        int at[16] = {};  // point of the peak (readout max)
        double zmax = -1e308;
        for (int j = 0; j < n; ++j) {
          double v = 0;
          at[j] = 0;
          if (readout == Readout::Sum) {
            for (int s = 0; s < S1; ++s) v += P(b, j, s);
            v /= S1;
          } else {
            v = P(b, j, 0);
            for (int s = 1; s < S1; ++s)
              if (P(b, j, s) > v) {
                v = P(b, j, s);
                at[j] = s;
              }
          }
          z[j] = v / temperature;
          zmax = z[j] > zmax ? z[j] : zmax;
        }
        double norm = 0;
        for (int j = 0; j < n; ++j) norm += kmath::exp(z[j] - zmax);
        const int y = label(b);
        loss(b) = static_cast<Real>(-(z[y] - zmax) + kmath::log(norm));
        for (int j = 0; j < n; ++j) {
          const double dz =
              (kmath::exp(z[j] - zmax) / norm - (j == y ? 1.0 : 0.0)) / temperature * scale;
          for (int s = 0; s < S1; ++s) {
            double d = 0;
            if (readout == Readout::Sum)
              d = dz / S1;
            else if (s == at[j])
              d = dz;
            dP(b, j, s) = static_cast<Real>(d);
          }
        }
      });
}

}  // namespace supsnn
