// Assembles one batch of a split on the device: the spike events in both orderings the kernels
// gather from (by sample-step and by input neuron), the labels and the raw guidance traces.
#pragma once
#include <cstdint>
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

  // Direct input code (data.encoder = "direct"): the batch's `count` images as pixel / 255,
  // (B, H W) row-major, the first layer's input at every step. Sets batch() to count.
  void build_images(View3<const std::uint8_t> img, int count);
  View2<const Real> images() const { return images_; }
  // What this pass is: training (dropout acts) with a key for its random draws, and the global
  // ids of the batch's samples (dropout masks are keyed by them).
  void set_pass(bool training, std::uint64_t key, View1<const std::int64_t> ids) {
    training_ = training;
    key_ = key;
    ids_ = ids;
  }
  bool training() const { return training_; }
  std::uint64_t dropout_key() const { return key_; }
  View1<const std::int64_t> sample_ids() const { return ids_; }

 private:
  EventBatch ev_;
  bool input_order_ = kKernelsReadInputOrder;
  // Host sides of the batch's views on GPU backends (unused on host backends, where the device
  // views are written directly), kept between batches.
  StagingView<int> stage_fo_, stage_fn_, stage_bo_, stage_bs_, stage_lab_;
  StagingView<Real> stage_guide_;  // (B, n, T+1) flat
  View1<int> labels_;
  View3<Real> guide_;
  View2<Real> images_;
  bool training_ = false;
  std::uint64_t key_ = 0;
  View1<const std::int64_t> ids_;
};

extern template class BatchBuilder<double>;
extern template class BatchBuilder<float>;

}  // namespace supsnn
