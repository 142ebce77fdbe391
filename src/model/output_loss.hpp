// The loss of the output layer's potentials, shared by the bilayer and the deep model: trace
// matching (Huber, MSE) of the label row against interpolated guidance, or the cross-entropy
// readout. Writes dL/dP (scaled by `scale`) and returns the per-sample losses (device, B).
#pragma once
#include <string>
#include <vector>

#include "common/error.hpp"
#include "kernels/interp.hpp"
#include "kernels/readout_loss.hpp"
#include "kernels/trace_loss.hpp"
#include "model/host_views.hpp"

namespace supsnn {

struct LossParams {
  LossKind kind = LossKind::Huber;
  double delta = 1.0;              // Huber
  bool all_rows = false;           // loss.rows = "all": every row matched, not only the label's
  Readout readout = Readout::Sum;  // cross-entropy
  double temperature = 1.0;        // cross-entropy: logits = readout / temperature
};

// P, G (guidance scratch), dP: (>= B, n, steps+1); loss: (>= B).
template <class Real>
View1<const Real> output_loss(const TimeGrid& grid, int B, const LossParams& lp, Real scale,
                              View3<const Real> guidance_raw, View1<const int> labels,
                              View3<Real> P, View3<Real> G, View1<Real> loss, View3<Real> dP) {
  const int n = static_cast<int>(P.extent(1));
  const auto lv = Kokkos::subview(loss, std::make_pair(0, B));
  const auto lab = Kokkos::subview(labels, std::make_pair(0, B));
  if (lp.kind == LossKind::CrossEntropy) {
    if (n > 16) throw Error("model: the cross-entropy readout supports at most 16 output neurons");
    readout_ce_loss<Real>(lp.readout, static_cast<Real>(lp.temperature), scale, first_samples(P, B),
                          lab, lv, first_samples(dP, B));
  } else {
    if (guidance_raw.extent(1) != static_cast<std::size_t>(n))
      throw Error("model: guidance has " + std::to_string(guidance_raw.extent(1)) +
                  " rows, model has " + std::to_string(n) + " output neurons");
    const auto g = first_samples(G, B);
    interp_time<Real>(grid, first_samples(guidance_raw, B), g);
    trace_loss<Real>(lp.kind, static_cast<Real>(lp.delta), scale, first_samples(P, B), g, lab, lv,
                     first_samples(dP, B), lp.all_rows);
  }
  return lv;
}

}  // namespace supsnn
