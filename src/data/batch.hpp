// Assembles one batch of a split on the device: the spike events in both orderings the kernels
// gather from (by sample-step and by input neuron), the labels and the raw guidance traces.
#pragma once
#include <vector>

#include "data/dataset.hpp"
#include "kernels/common.hpp"

namespace supsnn {

template <class Real>
class BatchBuilder {
 public:
  // Loads samples idx of the split: stored spike events (build_events) and targets.
  void build(const Split& split, const std::vector<int>& idx) {
    build_events(split, idx);
    build_targets(split, idx);
  }
  void build_events(const Split& split, const std::vector<int>& idx);
  // Labels and guidance (when the split has it) of samples idx.
  void build_targets(const Split& split, const std::vector<int>& idx);

  // Whether build_events also writes the per-input event order (bwd_offsets, bwd_slot). Only
  // the GPU kernels read it; on CPUs its counting sort over all m inputs was most of the cost of
  // assembling a sparse batch. Tests that run the GPU kernels on a CPU turn it on.
  void set_input_order(bool on) { input_order_ = on; }

  const EventBatch& events() const { return ev_; }
  EventBatch& events_mut() { return ev_; }  // for encoders that write events on the device
  View1<const int> labels() const { return labels_; }
  // (B, n, T+1): guidance of steps 1..T with a 0 prepended for step 0; empty without guidance.
  View3<const Real> guidance_raw() const { return guide_; }
  int batch() const { return ev_.batch; }

 private:
  EventBatch ev_;
  bool input_order_ = kKernelsReadInputOrder;
  View1<int> labels_;
  View3<Real> guide_;
};

extern template class BatchBuilder<double>;
extern template class BatchBuilder<float>;

}  // namespace supsnn
