#include "data/batch.hpp"

#include <limits>
#include <type_traits>
#include <utility>

#include "common/error.hpp"

namespace supsnn {

namespace {
// Grows a device view to at least n entries; contents are rewritten by the caller.
template <class V>
void ensure(V& v, std::size_t n, const char* label) {
  if (v.extent(0) < n)
    v = V(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)), n);
}

// Where the host writes n entries of the device view `dev`: dev itself when it is host memory
// (host backends: nothing to copy), else the staging buffer `keep`, grown as needed and kept
// between batches (pinned on CUDA), so no batch allocates or copies pageable memory.
template <class T>
StagingView<T> host_side(View1<T>& dev, StagingView<T>& keep, std::size_t n, const char* label) {
  ensure(dev, n, label);
  if constexpr (std::is_same_v<View1<T>, StagingView<T>>) {
    return dev;
  } else {
    ensure(keep, n, label);
    return keep;
  }
}

// Copies the used range [0, n) of the host side to the device (nothing on host backends).
template <class T>
void upload(const View1<T>& dev, const StagingView<T>& host, std::size_t n) {
  if constexpr (!std::is_same_v<View1<T>, StagingView<T>>) {
    const auto r = std::make_pair(std::size_t(0), n);
    Kokkos::deep_copy(Kokkos::subview(dev, r), Kokkos::subview(host, r));
  } else {
    (void)dev, (void)host, (void)n;
  }
}
}  // namespace

template <class Real>
void BatchBuilder<Real>::build_events(const Split& s, const std::vector<int>& idx) {
  const int B = static_cast<int>(idx.size());
  const int T1 = s.raw_steps + 1, m = s.inputs();
  if (s.events.samples() != static_cast<std::size_t>(s.count))
    throw Error("split " + s.name + ": spike events not prepared");
  std::size_t E = 0;
  for (int b : idx) E += static_cast<std::size_t>(s.events.offsets[b + 1] - s.events.offsets[b]);
  if (E > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw Error("batch holds more than 2^31 spike events; lower train.batch_size");

  ev_.events = -1;  // until this batch's events are in place
  ev_.batch = B;
  ev_.inputs = m;
  ev_.raw_steps = s.raw_steps;
  const std::size_t nfo = static_cast<std::size_t>(B) * T1 + 1;
  const auto h_fo = host_side(ev_.fwd_offsets, stage_fo_, nfo, "fwd_offsets");
  const auto h_fn = host_side(ev_.fwd_neuron, stage_fn_, E, "fwd_neuron");

  // Forward order: events are stored sorted by (step, neuron) per sample, so a counting pass
  // over steps gives the (b, k) offsets directly.
  int e = 0;
  for (int b = 0; b < B; ++b) {
    const std::int64_t e0 = s.events.offsets[idx[b]], e1 = s.events.offsets[idx[b] + 1];
    std::int64_t q = e0;
    for (int k = 0; k < T1; ++k) {
      h_fo(b * T1 + k) = e;
      for (; q < e1 && s.events.step[q] == k; ++q) h_fn(e++) = s.events.neuron[q];
    }
    if (q != e1)
      throw Error("split " + s.name + ": sample " + std::to_string(idx[b]) +
                  " has unsorted spike events");
  }
  h_fo(B * T1) = e;
  upload(ev_.fwd_offsets, h_fo, nfo);
  upload(ev_.fwd_neuron, h_fn, E);
  ev_.events = e;
  ev_.input_order = input_order_;
  if (!input_order_) return;

  // Backward order: counting sort by neuron, keeping (b, k) order within each neuron.
  const std::size_t nbo = static_cast<std::size_t>(m) + 1;
  const auto h_bo = host_side(ev_.bwd_offsets, stage_bo_, nbo, "bwd_offsets");
  const auto h_bs = host_side(ev_.bwd_slot, stage_bs_, E, "bwd_slot");
  for (std::size_t i = 0; i < nbo; ++i) h_bo(i) = 0;
  for (int q = 0; q < e; ++q) ++h_bo(h_fn(q) + 1);
  for (int i = 0; i < m; ++i) h_bo(i + 1) += h_bo(i);
  std::vector<int> fill(h_bo.data(), h_bo.data() + m);
  for (int b = 0; b < B; ++b)
    for (int k = 0; k < T1; ++k)
      for (int q = h_fo(b * T1 + k); q < h_fo(b * T1 + k + 1); ++q)
        h_bs(fill[h_fn(q)]++) = b * T1 + k;
  upload(ev_.bwd_offsets, h_bo, nbo);
  upload(ev_.bwd_slot, h_bs, E);
}

template <class Real>
void BatchBuilder<Real>::build_images(View3<const std::uint8_t> img, int count) {
  const int H = static_cast<int>(img.extent(1)), W = static_cast<int>(img.extent(2));
  if (images_.extent(0) < static_cast<std::size_t>(count) ||
      images_.extent(1) != static_cast<std::size_t>(H) * W)
    images_ = View2<Real>("batch_direct_images", count, static_cast<std::size_t>(H) * W);
  ev_.batch = count;
  ev_.events = -1;  // no events in a direct-input batch: never the previous batch's count
  const auto out = images_;
  Kokkos::parallel_for(
      "supsnn::direct_images", RowMajorRange<3>({0, 0, 0}, {count, H, W}),
      KOKKOS_LAMBDA(const int b, const int y, const int x) {
        out(b, y * W + x) = static_cast<Real>(img(b, y, x)) / Real(255);
      });
}

template <class Real>
void BatchBuilder<Real>::build_targets(const Split& s, const std::vector<int>& idx) {
  const int B = static_cast<int>(idx.size());
  const int T1 = s.raw_steps + 1;
  const auto h_lab = host_side(labels_, stage_lab_, static_cast<std::size_t>(B), "labels");
  for (int b = 0; b < B; ++b) h_lab(b) = s.labels[idx[b]];
  upload(labels_, h_lab, static_cast<std::size_t>(B));
  if (s.guide_rows > 0) {
    const int n = s.guide_rows, T = s.raw_steps;
    if (guide_.extent(0) < static_cast<std::size_t>(B) ||
        guide_.extent(1) != static_cast<std::size_t>(n) ||
        guide_.extent(2) != static_cast<std::size_t>(T1))
      guide_ = View3<Real>("guidance_raw", B, n, T1);
    // Only the batch's B samples are copied (guide_ may hold more from a larger batch), from the
    // persistent staging buffer (pinned on CUDA); host backends write guide_ itself.
    const auto used = Kokkos::subview(guide_, std::make_pair(0, B), Kokkos::ALL, Kokkos::ALL);
    using HostGuide = Kokkos::View<Real***, Kokkos::LayoutRight, StagingSpace,
                                   Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
    const std::size_t size = static_cast<std::size_t>(B) * n * T1;
    constexpr bool direct = std::is_same_v<StagingSpace, MemSpace>;
    if constexpr (!direct) ensure(stage_guide_, size, "guidance_staging");
    const HostGuide h_g(direct ? guide_.data() : stage_guide_.data(), B, n, T1);
    for (int b = 0; b < B; ++b)
      for (int j = 0; j < n; ++j) {
        const double* src = s.guidance.data() + (static_cast<std::size_t>(idx[b]) * n + j) * T;
        h_g(b, j, 0) = 0;
        for (int t = 0; t < T; ++t) h_g(b, j, t + 1) = static_cast<Real>(src[t]);
      }
    if constexpr (!direct) Kokkos::deep_copy(used, h_g);
  }
}

template class BatchBuilder<double>;
template class BatchBuilder<float>;

}  // namespace supsnn
