#include "train/batch_source.hpp"

#include <type_traits>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "data/template_guidance.hpp"

namespace supsnn {

namespace {
// Test samples get their own RNG key space so that they never share spike noise with training.
constexpr std::int64_t kTestKeyOffset = std::int64_t(1) << 40;
}  // namespace

void check_options_fit_kind(const std::string& path, const std::string& kind,
                            const DataOptions& opt) {
  const AugmentOptions& a = opt.augment;
  if (kind == "spikes" &&
      (a.crop > 0 || a.flip || a.speckle > 0 || a.max_shift > 0 || a.pool > 1 || a.rotate > 0 ||
       a.scale > 0 || !opt.receptive_field || opt.population.neurons > 1))
    throw Error(path +
                ": data.crop, data.max_shift, data.pool, data.flip, data.speckle, data.rotate, "
                "data.scale, data.receptive_field and data.population apply to image datasets, "
                "this one holds spikes");
  if (kind == "spikes" && opt.direct)
    throw Error(path + ": data.encoder = \"direct\" reads images; this dataset holds spikes");
}

template <class Real>
BatchSource<Real>::BatchSource(const std::string& path, const std::string& split, DataOptions opt,
                               bool training)
    : reader_(path, split), opt_(opt), training_(training) {
  const Split& h = reader_.header();
  if (!training_) opt_.augment = evaluation_options(opt_.augment);
  check_options_fit_kind(path, reader_.kind(), opt_);
  if (reader_.kind() == "spikes") {
    out_h_ = h.height;
    out_w_ = h.width;
    raw_steps_ = h.raw_steps;
  } else {
    augmented_size(opt_.augment, h.height, h.width, &out_h_, &out_w_);
    raw_steps_ = opt_.raw_steps;
  }
  if (!opt_.template_guidance && h.guide_rows != opt_.outputs)
    throw Error(path + ": split '" + split + "' has " + std::to_string(h.guide_rows) +
                " guidance rows, expected " + std::to_string(opt_.outputs));
  const bool random_images = (opt_.augment.random_shift && opt_.augment.crop > 0 &&
                              (opt_.augment.crop < h.height || opt_.augment.crop < h.width)) ||
                             opt_.augment.max_shift > 0 || opt_.augment.flip ||
                             opt_.augment.speckle > 0 || opt_.augment.rotate > 0 ||
                             opt_.augment.scale > 0;
  // Evaluation spikes never change (fixed Poisson key); training spikes change with the epoch
  // for Poisson and for random augmentation.
  // The direct code has no events: every batch's images are read and converted.
  cache_events_ = !opt_.direct && (reader_.kind() == "spikes" || !training_ ||
                                   (opt_.code != SpikeCode::Poisson && !random_images));
}

template <class Real>
BatchSource<Real>::~BatchSource() {
  if (pending_.valid()) pending_.wait();  // never leave a reader thread running
}

template <class Real>
void BatchSource<Real>::finish() {
  if (pending_.valid()) pending_.wait();
}

template <class Real>
void BatchSource<Real>::request_chunk(int c) {
  const int begin = c * chunk_;
  if (begin >= static_cast<int>(samples_.size())) return;
  const int end = std::min(static_cast<int>(samples_.size()), begin + chunk_);
  const std::vector<int> idx(samples_.begin() + begin, samples_.begin() + end);
  // Pixels are read for the batches that will be encoded: those with a sample whose events are
  // not cached (take() encodes whole batches). With several ranks the sampler hands a rank other
  // samples every epoch, so a whole chunk is rarely cached although most batches are.
  std::vector<int> rows;  // chunk rows that need pixels
  const int n = static_cast<int>(idx.size());
  for (int b0 = 0; b0 < n; b0 += batch_) {
    const int b1 = std::min(n, b0 + batch_);
    bool cached = cache_events_;
    for (int r = b0; r < b1 && cached; ++r) cached = cache_.count(idx[r]) > 0;
    if (!cached)
      for (int r = b0; r < b1; ++r) rows.push_back(r);
  }
  // Spike datasets keep one read: their events come with `pixels` and are not merged by row.
  const bool partial =
      !rows.empty() && static_cast<int>(rows.size()) < n && reader_.kind() == "images";
  pending_chunk_ = c;
  // HDF5 (not built thread-safe) is only called by one thread at a time: while a read is
  // pending, the caller makes no HDF5 call (it calls finish() first). The reader thread does not
  // touch cache_.
  const auto policy = opt_.prefetch ? std::launch::async : std::launch::deferred;
  pending_ = std::async(policy, [this, idx, rows, partial] {
    if (!partial) return reader_.read(idx, !rows.empty());
    Split s = reader_.read(idx, false);  // labels and guidance of the whole chunk
    std::vector<int> need;
    for (int r : rows) need.push_back(idx[r]);
    const Split p = reader_.read(need, true);
    const std::size_t px = static_cast<std::size_t>(p.height) * p.width;
    s.images.assign(idx.size() * px, 0);  // rows of cached batches stay 0 (never encoded)
    for (std::size_t q = 0; q < rows.size(); ++q)
      std::copy_n(p.images.begin() + q * px, px, s.images.begin() + rows[q] * px);
    return s;
  });
}

template <class Real>
void BatchSource<Real>::start(const std::vector<int>& samples, int batch, long epoch) {
  finish();
  samples_ = samples;
  batch_ = std::max(1, batch);
  chunk_ = std::max(1, opt_.chunk / batch_) * batch_;
  epoch_ = epoch;
  loaded_chunk_ = -1;
  pending_ = {};
  request_chunk(0);
}

template <class Real>
void BatchSource<Real>::encode_images(const Split& s, int first, int count) {
  if (img_.extent(0) < static_cast<std::size_t>(count) ||
      img_.extent(1) != static_cast<std::size_t>(out_h_) ||
      img_.extent(2) != static_cast<std::size_t>(out_w_)) {
    img_ = View3<std::uint8_t>("batch_images", count, out_h_, out_w_);
    ids_ = View1<std::int64_t>("batch_sample_ids", count);
    if constexpr (std::is_same_v<StagingSpace, MemSpace>) {
      h_img_ = img_;
      h_ids_ = ids_;
    } else {
      h_img_ = decltype(h_img_)("batch_images_staging", count, out_h_, out_w_);
      h_ids_ = decltype(h_ids_)("batch_sample_ids_staging", count);
    }
  }
  const auto h_img = h_img_;
  const auto h_ids = h_ids_;
  for (int b = 0; b < count; ++b) {
    const std::int64_t sample = samples_[first + b];
    const std::size_t row = static_cast<std::size_t>(first - loaded_chunk_ * chunk_ + b);
    augment_image(opt_.augment, opt_.seed, epoch_, sample, s.height, s.width,
                  s.images.data() + row * s.height * s.width, &h_img(b, 0, 0));
    h_ids(b) = training_ ? sample : sample + kTestKeyOffset;
  }
  if constexpr (!std::is_same_v<StagingSpace, MemSpace>) {  // the batch's rows only
    const auto r = std::make_pair(0, count);
    Kokkos::deep_copy(Kokkos::subview(img_, r, Kokkos::ALL, Kokkos::ALL),
                      Kokkos::subview(h_img, r, Kokkos::ALL, Kokkos::ALL));
    Kokkos::deep_copy(Kokkos::subview(ids_, r), Kokkos::subview(h_ids, r));
  }
  if (opt_.direct) {
    builder_.build_images(Kokkos::subview(img_, std::make_pair(0, count), Kokkos::ALL, Kokkos::ALL),
                          count);
    return;
  }
  // Poisson spikes are fresh every training epoch and fixed for evaluation; keys never involve
  // the rank, so spikes do not depend on the number of ranks.
  const SpikeCodeParams p =
      spike_code_params(opt_, raw_steps_,
                        training_ ? hash3(opt_.seed, 0x5eed, static_cast<std::uint64_t>(epoch_))
                                  : hash3(opt_.seed, 0x7e57, 0));
  encoder_.encode(p, Kokkos::subview(img_, std::make_pair(0, count), Kokkos::ALL, Kokkos::ALL),
                  Kokkos::subview(ids_, std::make_pair(0, count)), builder_.events_mut());
}

template <class Real>
BatchBuilder<Real>& BatchSource<Real>::take(int step) {
  const int first = step * batch_;
  if (first >= static_cast<int>(samples_.size()))
    throw Error("internal: batch past the end of the pass");
  const int count = std::min(batch_, static_cast<int>(samples_.size()) - first);
  const int c = first / chunk_;
  if (c != loaded_chunk_) {
    if (pending_chunk_ != c || !pending_.valid()) request_chunk(c);
    chunk_data_ = pending_.get();
    loaded_chunk_ = c;
    request_chunk(c + 1);  // overlaps the training on this chunk
  }
  const Split& s = chunk_data_;
  const int row0 = first - c * chunk_;

  // This batch as a split of `count` samples (events and targets of the chunk rows).
  Split b;
  b.name = s.name;
  b.count = count;
  b.height = out_h_;
  b.width = out_w_;
  b.channels = channels();
  b.raw_steps = raw_steps_;
  b.guide_rows = s.guide_rows;
  std::vector<int> all(count);
  bool cached = cache_events_;
  for (int i = 0; i < count; ++i) {
    all[i] = i;
    b.labels.push_back(s.labels[row0 + i]);
    cached = cached && cache_.count(samples_[first + i]);
  }
  if (s.guide_rows > 0)
    b.guidance.assign(
        s.guidance.begin() + static_cast<std::size_t>(row0) * s.guide_rows * s.raw_steps,
        s.guidance.begin() + static_cast<std::size_t>(row0 + count) * s.guide_rows * s.raw_steps);
  if (cached || reader_.kind() == "spikes") {
    for (int i = 0; i < count; ++i) {
      if (cached) {
        const CachedEvents& ce = cache_.at(samples_[first + i]);
        b.events.neuron.insert(b.events.neuron.end(), ce.neuron.begin(), ce.neuron.end());
        b.events.step.insert(b.events.step.end(), ce.step.begin(), ce.step.end());
      } else {
        const auto e0 = s.events.offsets[row0 + i], e1 = s.events.offsets[row0 + i + 1];
        b.events.neuron.insert(b.events.neuron.end(), s.events.neuron.begin() + e0,
                               s.events.neuron.begin() + e1);
        b.events.step.insert(b.events.step.end(), s.events.step.begin() + e0,
                             s.events.step.begin() + e1);
        cache_[samples_[first + i]] = {
            std::vector<std::int32_t>(s.events.neuron.begin() + e0, s.events.neuron.begin() + e1),
            std::vector<std::uint8_t>(s.events.step.begin() + e0, s.events.step.begin() + e1)};
      }
      b.events.offsets.push_back(static_cast<std::int64_t>(b.events.neuron.size()));
    }
    builder_.build_events(b, all);
  } else {
    encode_images(s, first, count);
    if (cache_events_) {  // keep this batch's events for the next epochs
      const EventBatch& ev = builder_.events();
      const int T1 = raw_steps_ + 1;
      auto off = Kokkos::create_mirror_view_and_copy(
          Kokkos::HostSpace(), Kokkos::subview(ev.fwd_offsets, std::make_pair(0, count * T1 + 1)));
      auto nrn = Kokkos::create_mirror_view_and_copy(
          Kokkos::HostSpace(), Kokkos::subview(ev.fwd_neuron, std::make_pair(0, off(count * T1))));
      for (int i = 0; i < count; ++i) {
        CachedEvents& ce = cache_[samples_[first + i]];
        ce.neuron.clear();
        ce.step.clear();
        for (int k = 0; k < T1; ++k)
          for (int q = off(i * T1 + k); q < off(i * T1 + k + 1); ++q) {
            ce.neuron.push_back(nrn(q));
            ce.step.push_back(static_cast<std::uint8_t>(k));
          }
      }
    }
  }
  if (opt_.template_guidance) {
    b.guide_rows = opt_.outputs;
    b.guidance.clear();
    for (int i = 0; i < count; ++i) {
      const auto tr = template_guidance(b.labels[i], opt_.outputs, raw_steps_);
      b.guidance.insert(b.guidance.end(), tr.begin(), tr.end());
    }
  }
  builder_.build_targets(b, all);
  // Dropout draws of a training pass are keyed by (seed, epoch) and the samples' global ids.
  builder_.set_pass(training_, hash3(opt_.seed, 0xd40, static_cast<std::uint64_t>(epoch_)), ids_);
  return builder_;
}

template class BatchSource<double>;
template class BatchSource<float>;

}  // namespace supsnn
