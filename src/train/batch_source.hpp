// One dataset split as a stream of device batches for this rank. A rank reads only its own
// samples, in chunks of whole batches with one hyperslab read each; while it trains on one chunk
// the next is read in a background thread. Images are augmented and encoded into spike events on
// the device; when the spikes of a sample cannot change between epochs (deterministic code and
// augmentation, or evaluation) its events are kept on the host and reused.
#pragma once
#include <future>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/augment.hpp"
#include "data/batch.hpp"
#include "data/data_options.hpp"
#include "data/dataset.hpp"
#include "kernels/encode_events.hpp"

namespace supsnn {

// Throws (naming the file) when image-only options are set for a dataset of stored spikes.
void check_options_fit_kind(const std::string& path, const std::string& kind,
                            const DataOptions& opt);

template <class Real>
class BatchSource {
 public:
  BatchSource(const std::string& path, const std::string& split, DataOptions opt, bool training);
  ~BatchSource();

  const SplitReader& reader() const { return reader_; }
  int height() const { return out_h_; }  // after cropping
  int width() const { return out_w_; }
  int channels() const { return opt_.population.neurons; }  // input neurons per pixel
  int inputs() const { return channels() * out_h_ * out_w_; }
  int raw_steps() const { return raw_steps_; }

  // The samples of one pass, in order, consumed `batch` at a time by take(). Reading starts at
  // once (in the background when prefetch is on).
  void start(const std::vector<int>& samples, int batch, long epoch);
  // Batch number `step` of the pass (0, 1, 2, ... in order) on the device.
  BatchBuilder<Real>& take(int step);
  // Waits for any outstanding read; call before other HDF5 work (non-thread-safe HDF5).
  void finish();

 private:
  void request_chunk(int c);
  void encode_images(const Split& s, int first, int count);

  SplitReader reader_;
  DataOptions opt_;
  bool training_, cache_events_;
  int out_h_ = 0, out_w_ = 0, raw_steps_ = 0;
  std::vector<int> samples_;
  int batch_ = 1, chunk_ = 1;
  long epoch_ = 0;
  int loaded_chunk_ = -1;
  Split chunk_data_;
  std::future<Split> pending_;
  int pending_chunk_ = -1;
  BatchBuilder<Real> builder_;
  EventEncoder encoder_;
  View3<std::uint8_t> img_;
  View1<std::int64_t> ids_;
  // Their host side: the views themselves on host backends, persistent pinned buffers on CUDA.
  Kokkos::View<std::uint8_t***, Kokkos::LayoutRight, StagingSpace> h_img_;
  Kokkos::View<std::int64_t*, StagingSpace> h_ids_;
  struct CachedEvents {
    std::vector<std::int32_t> neuron;
    std::vector<std::uint8_t> step;
  };
  std::unordered_map<int, CachedEvents> cache_;
};

extern template class BatchSource<double>;
extern template class BatchSource<float>;

}  // namespace supsnn
