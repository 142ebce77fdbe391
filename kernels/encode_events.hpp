// Kernel: encode a batch of grey images straight into an EventBatch on the device, for three spike
// codes, without ever building dense m x (T+1) spike tensors (seed-model.md section 1).
//
// Every code starts from the receptive-field potential `pot` of each input neuron (pixel), computed
// exactly as in encode_rate.hpp (detail::rf_potential, pot = s / 2040 for an integer tap sum s):
//
//  Rate     deterministic: spikes at steps period, 2*period, ... <= T with period =
//  rate_period(pot)
//           = ceil(period_scale / freq(pot)); none when pot <= 0. Exactly the multiples of
//           the periods of encode_rate_periods_ref (encode_rate.hpp).
//  Poisson  at each step k = 1..T independently with probability p = freq(pot) / period_scale
//           (the rate code's frequency, so the expected count T*p ~ T*freq/600 matches the rate
//           code's count); none when pot <= 0. The draw is uniform01_4(seed, sample_id, neuron, k)
//           < p (kernels/counter_rng.hpp): a sample's spikes depend on (seed, its global index)
//           only, not on its batch, its position in the batch or the number of ranks.
//  Latency  time to first spike: one spike at step k = 1 + floor((T-1) * (1 - x)) with
//           x = clamp(pot / pot_hi, 0, 1); none when pot <= 0. The brightest (pot >= pot_hi) fire
//           at step 1. Note 1 + floor((T-1)(1-x)) == T - ceil((T-1)x): positive potentials use
//           steps 1..T-1 (step T only if 1 - x rounds to 1, x < ~1e-16); for T = 70 the smallest
//           positive potential, 1/2040, fires at step 69. Requires pot_hi > 0.
// freq(pot) is the rate code's np.interp(pot, [pot_lo, pot_hi], [f_lo, f_hi]) (clamped).
// No code ever spikes at step 0.
//
// Options of every code: receptive_field = false replaces the receptive-field potential by the
// pixel's grey value scaled onto [0, pot_hi] (detail::pixel_potential). Latency only:
// population.neurons = K > 1 gives each pixel K input neurons (kernels/population_code.hpp), input
// neuron j * H * W + pixel (K channels of H x W, the layout a convolution reads), each with one
// latency spike or none; K = 1 is the plain code above.
//
// Output layout (identical to BatchBuilder<Real>::build from stored events, src/data/batch.cpp):
//   fwd_offsets (B*(T+1)+1), fwd_neuron: events in (sample, step, neuron) order;
//   bwd_offsets (m+1), bwd_slot = b*(T+1)+k: events in (neuron, sample, step) order.
//
// Algorithm (deterministic: no atomics, every output position comes from an exclusive scan):
//   1. per (b, i): the code's per-neuron parameter (period / probability + hash prefix / step).
//      Rate / Latency: the parameter depends only on the integer tap sum, so it is read from a
//      table built once per call (bit-identical to evaluating it per pixel).
//   Poisson (dense: any neuron may fire at any step), build_events_dense:
//   2. forward: per (b, k, chunk of 256 neurons) count -> exclusive scan in (b, k, chunk) order ->
//      fill, each work item walking its neurons in increasing order;
//   3. backward: per (b, i) count -> exclusive scan in i-major (i*B + b) order -> fill, each (b, i)
//      work item walking its steps in increasing order.
//      Per-(b, i) scratch is stored i-major (index i*B + b) so both passes read it contiguously.
//   Rate / Latency (sparse: a neuron's spikes follow from one number), build_events_sparse, cost
//   O(B*m + events) instead of O(B*(T+1)*m):
//   2. forward: per (b, chunk of neurons) one walk builds the chunk's per-step histogram ->
//      exclusive scan in (b, k, chunk) order -> a second walk appends each firing neuron to its
//      steps (neurons in increasing order within each (b, k, chunk));
//   3. backward: per neuron the count over samples (floor(T / period) or 1 each) -> exclusive scan
//      over neurons -> per neuron a walk over samples in order writing steps in increasing order.
//      Per-(b, i) scratch is stored sample-major (b*ms + i, ms = m + 16).
//
// Scratch views live in an EventEncoder object (never in statics: views must be released before
// Kokkos::finalize). Reuse one EventEncoder across batches to avoid reallocations; views grow when
// too small and never shrink, as do the EventBatch views.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"
#include "counter_rng.hpp"
#include "encode_rate.hpp"
#include "population_code.hpp"

namespace supsnn {

enum class SpikeCode : int { Rate = 0, Poisson = 1, Latency = 2 };

struct SpikeCodeParams {
  SpikeCode code = SpikeCode::Rate;
  RateCode rate;                // potential / frequency ranges, period_scale, raw_steps (T)
  std::uint64_t seed = 0;       // Poisson only
  bool receptive_field = true;  // false: pot = pixel_potential(grey value)
  PopulationCode population;    // Latency only: K input neurons per pixel
};

namespace detail {

// The rate code's frequency: np.interp(pot, [pot_lo, pot_hi], [f_lo, f_hi]), same operation order
// as in rate_period (encode_rate.hpp).
KOKKOS_INLINE_FUNCTION double rate_freq(const RateCode& rc, double pot) {
  if (pot < rc.pot_lo) return rc.f_lo;
  if (pot >= rc.pot_hi) return rc.f_hi;
  const double slope = (rc.f_hi - rc.f_lo) / (rc.pot_hi - rc.pot_lo);
  return slope * (pot - rc.pot_lo) + rc.f_lo;
}

// Poisson per-step spike probability; 0 when pot <= 0 (never spikes).
KOKKOS_INLINE_FUNCTION double poisson_prob(const RateCode& rc, double pot) {
  if (!(pot > 0.0)) return 0.0;
  return rate_freq(rc, pot) / rc.period_scale;
}

// Latency spike step in 1..T; 0 when pot <= 0 (never spikes).
KOKKOS_INLINE_FUNCTION int latency_step(const RateCode& rc, double pot) {
  if (!(pot > 0.0)) return 0;
  double x = pot / rc.pot_hi;
  if (x > 1.0) x = 1.0;
  if (x < 0.0) x = 0.0;
  const double q = static_cast<double>(rc.raw_steps - 1) * (1.0 - x);  // >= 0
  return 1 + static_cast<int>(q);  // truncation == floor for q >= 0
}

// Integer tap sum s of rf_potential (encode_rate.hpp) at pixel (y, x) of image b: rf_potential
// returns exactly static_cast<double>(s) / 2040.0. At least 2 pixels from the border all 25 taps
// exist and the sum is spelled out (integer addition is exact, so the grouping does not matter);
// border pixels use rf_potential's own border-safe loop (rf_tap_sum). -kRfSumNeg <= s <= kRfSumMax.
KOKKOS_INLINE_FUNCTION int rf_sum(const View3<const std::uint8_t>& img, int b, int H, int W, int y,
                                  int x) {
  if (y < 2 || x < 2 || y >= H - 2 || x >= W - 2)
    return rf_tap_sum(ViewRefPixels{img, b}, H, W, y, x);
  const std::uint8_t* c = &img(b, y, x);
  const std::ptrdiff_t r = static_cast<std::ptrdiff_t>(img.stride(1));  // row stride
  const std::ptrdiff_t r2 = 2 * r;
  // 8 x weights: centre 8; (0,1) 5; (0,2) 1; (1,1) 1; (1,2) -1; (2,2) -4 (up to symmetry).
  return 8 * c[0] + 5 * (c[-1] + c[1] + c[-r] + c[r]) + (c[-2] + c[2] + c[-r2] + c[r2]) +
         (c[-r - 1] + c[-r + 1] + c[r - 1] + c[r + 1]) -
         (c[-r - 2] + c[-r + 2] + c[r - 2] + c[r + 2] + c[-r2 - 1] + c[-r2 + 1] + c[r2 - 1] +
          c[r2 + 1]) -
         4 * (c[-r2 - 2] + c[-r2 + 2] + c[r2 - 2] + c[r2 + 2]);
}
// Extreme tap sums: 255 * (8 + 4*5 + 4*1 + 4*1) (the positive weights), 255 * (8*1 + 4*4).
constexpr int kRfSumMax = 255 * 36;
constexpr int kRfSumNeg = 255 * 24;

// Spike rule of the dense path (Poisson) on the per-(b, i) scratch (index s = i*B + b). fires(s, k)
// is only called for k >= 1; next(s, k) returns the first firing step > k, or T + 1 when none.
struct PoissonRule {
  View1<const double> prob;           // 0: never
  View1<const std::uint64_t> prefix;  // hash4_prefix(seed, sample_id(b), i)
  int T;
  KOKKOS_INLINE_FUNCTION bool fires(int s, int k) const {
    const double p = prob(s);
    return p > 0.0 && crng::to_unit53(hash4_step(prefix(s), static_cast<std::uint64_t>(k))) < p;
  }
  KOKKOS_INLINE_FUNCTION int next(int s, int k) const {
    const double p = prob(s);
    if (!(p > 0.0)) return T + 1;
    const std::uint64_t pre = prefix(s);
    for (int j = k + 1; j <= T; ++j)
      if (crng::to_unit53(hash4_step(pre, static_cast<std::uint64_t>(j))) < p) return j;
    return T + 1;
  }
};

constexpr int kEventChunk = 256;  // neurons per forward work item of the dense path (Poisson)
// Neurons per forward work item of the sparse path (Rate, Latency). Each work item owns T+1 scan
// entries, so larger chunks shorten the forward scan; on host backends that matters more than the
// number of work items, on GPUs the work items (B * m / chunk) must still fill the device.
// Pixels per work item of the Rate / Latency setup kernel: whole rows on host backends.
constexpr int kPrepSegment = kHostExec ? (1 << 30) : 1;
constexpr int kSparseChunk = kHostExec ? 1024 : 256;

// Grows a 1-D view to at least n entries (contents are rewritten by the caller); never shrinks.
template <class T>
void ensure_view(View1<T>& v, std::size_t n, const char* label) {
  if (v.extent(0) < n)
    v = View1<T>(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)), n);
}

// Exclusive scan of cnt(0..N-1), N = G * groups, in int64 so that an overflow of int can be
// detected: writes start(j) (only when write_start), offs(g) = the scan at each group's first
// entry j = g*G and offs(N / G) = the total, which it also returns. Used by both build paths for
// the forward scan (groups (b, k) of nchunk chunks, offs = fwd_offsets) and the backward scan
// (dense: groups of B samples per neuron; sparse: one entry per neuron, offs = bwd_offsets).
inline long long scan_offsets(const char* label, const View1<const int> cnt, const View1<int> start,
                              const bool write_start, const View1<int> offs, const int N,
                              const int G, const bool total = true) {
  const auto body = KOKKOS_LAMBDA(const int j, long long& upd, const bool final) {
    const int n = cnt(j);
    if (final) {
      if (write_start) start(j) = static_cast<int>(upd);
      if (j % G == 0) offs(j / G) = static_cast<int>(upd);
      if (j == N - 1) offs(N / G) = static_cast<int>(upd + n);
    }
    upd += n;
  };
  const auto policy = Kokkos::RangePolicy<ExecSpace>(0, N);
  if (!total) {  // no result: no fence, later kernels on ExecSpace run after it in order
    Kokkos::parallel_scan(label, policy, body);
    return -1;
  }
  long long sum = 0;
  Kokkos::parallel_scan(label, policy, body, sum);
  // Synchronisation: the host reads the total (to size the event lists). The scan with a scalar
  // result fences in Kokkos 3.4; the explicit fence keeps that guarantee on every version.
  ExecSpace().fence();
  return sum;
}

// The backward scan's total equals the forward one by construction; comparing them costs a
// device sync per batch, so only debug builds do.
#ifdef NDEBUG
inline constexpr bool kCheckEventTotals = false;
#else
inline constexpr bool kCheckEventTotals = true;
#endif

// Forward scan of both paths: cnt(0..NF-1) in (b, k, c) order, nchunk chunks per (b, k) ->
// start(j), fwd_offsets(b*T1 + k) at chunk 0 and fwd_offsets(B*T1) = E; then sizes
// ev.fwd_neuron / ev.bwd_slot for the E events (grow only). Returns E; fences (scan_offsets).
inline long long scan_forward(const char* label, const View1<const int> cnt, const View1<int> start,
                              const int NF, const int nchunk, EventBatch& ev) {
  const long long E = scan_offsets(label, cnt, start, true, ev.fwd_offsets, NF, nchunk);
  if (E > static_cast<long long>(std::numeric_limits<int>::max()))
    throw std::runtime_error(
        "encode_events: batch holds more than 2^31 spike events; lower the batch size");
  ensure_view(ev.fwd_neuron, static_cast<std::size_t>(E), "fwd_neuron");
  ensure_view(ev.bwd_slot, static_cast<std::size_t>(E), "bwd_slot");
  ev.events = E;  // the trainer's density test reads it instead of copying fwd_offsets back
  return E;
}

// Forward work item idx of the dense path, decomposed as (b, c, k) with k fastest: sample b,
// chunk c = neurons [i0, i1), step k, and its scan entry j = (b*T1 + k)*nchunk + c.
struct DenseItem {
  int b, k, i0, i1, j;
  KOKKOS_INLINE_FUNCTION DenseItem(int idx, int nchunk, int T1, int CH, int m) {
    b = idx / (nchunk * T1);
    const int r = idx - b * nchunk * T1;
    const int c = r / T1;
    k = r - c * T1;
    i0 = c * CH;
    i1 = (c + 1) * CH < m ? (c + 1) * CH : m;
    j = (b * T1 + k) * nchunk + c;
  }
};

// Sparse path: calls f(k) for each spike step k = k0, k0 + d, ... <= T of a neuron with key
// k0 >= 1 (d = k0 for Rate, T for Latency). The loop test avoids int overflow of k + d.
template <class F>
KOKKOS_INLINE_FUNCTION void for_each_spike(const int k0, const bool rate, const int T, F&& f) {
  const int d = rate ? k0 : T;
  for (int k = k0;; k += d) {
    f(k);
    if (d > T - k) break;
  }
}

// Sparse path: calls f(i, k) for every spike (step k) of the neurons i in [i0, i1) of one sample,
// whose keys start at key(off); neurons in increasing order, steps increasing per neuron.
template <class F>
KOKKOS_INLINE_FUNCTION void for_each_chunk_spike(const View1<const int>& key, const int off,
                                                 const int i0, const int i1, const bool rate,
                                                 const int T, F&& f) {
  for (int i = i0; i < i1; ++i) {
    const int k0 = key(off + i);
    if (k0 == 0) continue;
    for_each_spike(k0, rate, T, [&](const int k) { f(i, k); });
  }
}

// The backward scan must see exactly the forward scan's events.
inline void check_event_totals(const long long E, const long long E2) {
  if (kCheckEventTotals && E2 != E)
    throw std::logic_error("encode_events: forward and backward event counts differ");
}

// Dense path (Poisson), steps 2-3 of the algorithm for one rule. cnt/start: scratch of at least
// max(B*(T+1)*nchunk, B*m) ints. ev.fwd_offsets / ev.bwd_offsets must already be large enough.
template <class Rule>
void build_events_dense(const Rule rule, int B, int m, int T, View1<int> cnt, View1<int> start,
                        EventBatch& ev) {
  const int T1 = T + 1;
  const int CH = kEventChunk;  // local copy: captured by value in the lambdas
  const int nchunk = (m + CH - 1) / CH;
  const int NF = B * T1 * nchunk;  // forward work items, scan order (b, k, c)
  const int NB = B * m;            // backward work items, scan order i*B + b

  // Forward counts. Work item order is (b, c, k) with k fastest, so neighbouring threads read the
  // same scratch entry (broadcast on GPUs); results go to scan order (b, k, c).
  Kokkos::parallel_for(
      "supsnn::encode_events::fwd_count", Kokkos::RangePolicy<ExecSpace>(0, NF),
      KOKKOS_LAMBDA(const int idx) {
        const DenseItem w(idx, nchunk, T1, CH, m);
        int n = 0;
        if (w.k > 0)
          for (int i = w.i0; i < w.i1; ++i)
            if (rule.fires(i * B + w.b, w.k)) ++n;
        cnt(w.j) = n;
      });
  // No fence between kernels: launches on the same execution space instance run in order.

  // Exclusive scan -> chunk starts; chunk 0 of (b, k) also gives fwd_offsets(b*T1 + k); the last
  // item writes the total. Fences (the host needs E to size fwd_neuron / bwd_slot).
  const long long E = scan_forward("supsnn::encode_events::fwd_scan", cnt, start, NF, nchunk, ev);
  View1<int> fn = ev.fwd_neuron, bs = ev.bwd_slot;

  // Forward fill: same decomposition as the count, each item writes its events in neuron order.
  Kokkos::parallel_for(
      "supsnn::encode_events::fwd_fill", Kokkos::RangePolicy<ExecSpace>(0, NF),
      KOKKOS_LAMBDA(const int idx) {
        const DenseItem w(idx, nchunk, T1, CH, m);
        if (w.k == 0) return;
        int pos = start(w.j);
        for (int i = w.i0; i < w.i1; ++i)
          if (rule.fires(i * B + w.b, w.k)) fn(pos++) = i;
      });
  // In order after fwd_fill (same instance); cnt/start are reused below only after fwd_fill read
  // them, which the in-order execution guarantees.

  // Backward counts per (b, i), stored at s = i*B + b (the scan order).
  Kokkos::parallel_for(
      "supsnn::encode_events::bwd_count", Kokkos::RangePolicy<ExecSpace>(0, NB),
      KOKKOS_LAMBDA(const int s) {
        int n = 0;
        for (int k = rule.next(s, 0); k <= T; k = rule.next(s, k)) ++n;
        cnt(s) = n;
      });
  // Scan in i-major order: bwd_offsets(i) at the first entry s = i*B of each neuron. Debug builds
  // fence to check its total; release builds run it in order without a sync.
  check_event_totals(E, scan_offsets("supsnn::encode_events::bwd_scan", cnt, start, true,
                                     ev.bwd_offsets, NB, B, kCheckEventTotals));

  // Backward fill: each (b, i) writes its slots b*T1 + k in increasing k; neurons are i-major in
  // the scan, so the order is (neuron, sample, step), as BatchBuilder's stable counting sort.
  Kokkos::parallel_for(
      "supsnn::encode_events::bwd_fill", Kokkos::RangePolicy<ExecSpace>(0, NB),
      KOKKOS_LAMBDA(const int s) {
        const int b = s % B;
        int pos = start(s);
        for (int k = rule.next(s, 0); k <= T; k = rule.next(s, k)) bs(pos++) = b * T1 + k;
      });
  // No fence at the end: later kernels on ExecSpace see the results; host reads must go through
  // deep_copy / create_mirror_view_and_copy (which fence) or an explicit fence.
}

// Sparse path (Rate, Latency), steps 2-3 of the algorithm with a cost of O(B*m + events) instead of
// O(B*(T+1)*m). key(b*ms + i) (sample-major, row stride ms >= m) is the first spike step in 1..T of
// neuron i in sample b, 0 when it has none; its spikes are key, key + d, key + 2d, ... <= T with d
// = key (Rate: multiples of the period) or d = T (Latency: a single spike).
//   forward:  per (b, chunk of kSparseChunk neurons) one walk over the chunk counts events per
//             step (a histogram) -> exclusive scan in (b, k, chunk) order -> a second walk appends
//             each neuron to its steps, the item's own scan entries serving as write cursors;
//   backward: per neuron i, its count over all samples (floor(T/period) or 1 per sample) ->
//             exclusive scan over i -> per neuron a walk over the samples writing the slots.
// cnt/start: scratch of at least max(B*(T+1)*nchunk, m) ints, nchunk = ceil(m / kSparseChunk).
// ev.fwd_offsets / ev.bwd_offsets must already be large enough.
inline void build_events_sparse(const View1<const int> key, const int ms, const bool rate, int B,
                                int m, int T, View1<int> cnt, View1<int> start, EventBatch& ev) {
  const int T1 = T + 1;
  const int CH = kSparseChunk;  // local copy: captured by value in the lambdas
  const int nchunk = (m + CH - 1) / CH;
  const int NW = B * nchunk;       // forward work items (b, c)
  const int NF = B * T1 * nchunk;  // forward scan entries, order (b, k, c)
  View1<int> bo = ev.bwd_offsets;

  // Forward histogram: work item (b, c) walks the neurons of chunk c of sample b once and counts
  // its events per step into cnt((b*T1 + k)*nchunk + c), entries that it alone writes (no
  // atomics, so the result does not depend on scheduling).
  Kokkos::parallel_for(
      "supsnn::encode_events::sparse_fwd_count", Kokkos::RangePolicy<ExecSpace>(0, NW),
      KOKKOS_LAMBDA(const int w) {
        const int b = w / nchunk, c = w - b * nchunk;
        const int base = b * T1 * nchunk + c;  // entry of step k: base + k*nchunk
        for (int k = 0; k < T1; ++k) cnt(base + k * nchunk) = 0;
        const int i1 = (c + 1) * CH < m ? (c + 1) * CH : m;
        for_each_chunk_spike(key, b * ms, c * CH, i1, rate, T,
                             [&](int, const int k) { ++cnt(base + k * nchunk); });
      });
  // No fence between kernels: launches on the same execution space instance run in order.

  // Exclusive scan in (b, k, c) order, as in the dense path (fences).
  const long long E =
      scan_forward("supsnn::encode_events::sparse_fwd_scan", cnt, start, NF, nchunk, ev);
  View1<int> fn = ev.fwd_neuron, bs = ev.bwd_slot;

  // Forward fill: same work items; each walks its neurons in increasing order and appends neuron i
  // to every step it fires at, using its own start entries as write cursors. Within each (b, k, c)
  // the events are therefore in neuron order, and the (b, k, c) ranges follow the scan order.
  Kokkos::parallel_for(
      "supsnn::encode_events::sparse_fwd_fill", Kokkos::RangePolicy<ExecSpace>(0, NW),
      KOKKOS_LAMBDA(const int w) {
        const int b = w / nchunk, c = w - b * nchunk;
        const int base = b * T1 * nchunk + c;
        const int i1 = (c + 1) * CH < m ? (c + 1) * CH : m;
        for_each_chunk_spike(key, b * ms, c * CH, i1, rate, T,
                             [&](const int i, const int k) { fn(start(base + k * nchunk)++) = i; });
      });
  // In order after sparse_fwd_fill (same instance): cnt/start are overwritten below only after
  // the fill has used them.

  // Backward counts per neuron over all samples: floor(T / period) (Rate) or 1 (Latency) for each
  // sample where it fires. Neighbouring items read neighbouring key entries for each b.
  Kokkos::parallel_for(
      "supsnn::encode_events::sparse_bwd_count", Kokkos::RangePolicy<ExecSpace>(0, m),
      KOKKOS_LAMBDA(const int i) {
        int n = 0;
        for (int b = 0; b < B; ++b) {
          const int k0 = key(b * ms + i);
          n += k0 == 0 ? 0 : (rate ? T / k0 : 1);
        }
        cnt(i) = n;
      });
  // Scan over neurons straight into bwd_offsets (the fill uses them as starts; no start entries).
  // Debug builds fence to check its total (as the dense path).
  check_event_totals(E, scan_offsets("supsnn::encode_events::sparse_bwd_scan", cnt, start, false,
                                     ev.bwd_offsets, m, 1, kCheckEventTotals));

  // Backward fill: neuron i writes the slots b*T1 + k of its events from bo(i) on, samples in
  // increasing order and steps increasing within a sample: order (neuron, sample, step), as
  // BatchBuilder's stable counting sort.
  Kokkos::parallel_for(
      "supsnn::encode_events::sparse_bwd_fill", Kokkos::RangePolicy<ExecSpace>(0, m),
      KOKKOS_LAMBDA(const int i) {
        int pos = bo(i);
        for (int b = 0; b < B; ++b) {
          const int k0 = key(b * ms + i);
          if (k0 != 0) for_each_spike(k0, rate, T, [&](const int k) { bs(pos++) = b * T1 + k; });
        }
      });
  // No fence at the end (see build_events_dense).
}

}  // namespace detail

// Holds the scratch views of encode_events so that repeated calls (one per training batch) do not
// reallocate. Not thread-safe; one per stream of batches.
class EventEncoder {
 public:
  // img: (B, H, W) uint8 grey; sample_id: (B) global sample index (the Poisson RNG key).
  // Fills ev (see the file comment). Views of ev and of the encoder grow when too small and never
  // shrink, so ev's views may be longer than the batch needs: use ev.batch, ev.inputs,
  // fwd_offsets(B*(T+1)) (= number of events) and bwd_offsets(m), not the view extents.
  // Returns without a final fence (see detail::build_events); it fences once internally to read
  // the event total on the host (debug builds twice: they check the backward scan's total).
  void encode(const SpikeCodeParams& p, View3<const std::uint8_t> img,
              View1<const std::int64_t> sample_id, EventBatch& ev) {
    const RateCode rc = p.rate;
    const std::size_t B = img.extent(0), H = img.extent(1), W = img.extent(2);
    p.population.check();
    const int K = p.population.neurons;
    if (K > 1 && p.code != SpikeCode::Latency)
      throw std::invalid_argument("encode_events: the population code needs the latency code");
    const std::size_t m = static_cast<std::size_t>(K) * H * W;  // input neurons
    const int T = rc.raw_steps;
    if (T < 1) throw std::invalid_argument("encode_events: raw_steps must be >= 1");
    if (sample_id.extent(0) != B)
      throw std::invalid_argument("encode_events: sample_id must have one entry per image");
    if (p.code == SpikeCode::Latency && !(rc.pot_hi > 0.0))
      throw std::invalid_argument("encode_events: the latency code needs pot_hi > 0");
    if (p.code != SpikeCode::Rate && p.code != SpikeCode::Poisson && p.code != SpikeCode::Latency)
      throw std::invalid_argument("encode_events: unknown spike code");
    const std::size_t T1 = static_cast<std::size_t>(T) + 1;
    const std::size_t chunk = static_cast<std::size_t>(
        p.code == SpikeCode::Poisson ? detail::kEventChunk : detail::kSparseChunk);
    const std::size_t nchunk = (m + chunk - 1) / chunk;
    const std::size_t imax = static_cast<std::size_t>(std::numeric_limits<int>::max());
    if (B * m > imax || B * T1 * nchunk > imax || B * T1 + 1 > imax)
      throw std::invalid_argument("encode_events: batch too large for int indexing");

    ev.events = -1;  // set by scan_forward once this batch's total is known
    ev.batch = static_cast<int>(B);
    ev.inputs = static_cast<int>(m);
    ev.raw_steps = T;
    ev.input_order = true;  // both orders are written, on every backend
    detail::ensure_view(ev.fwd_offsets, B * T1 + 1, "fwd_offsets");
    detail::ensure_view(ev.bwd_offsets, m + 1, "bwd_offsets");
    if (B == 0 || m == 0) {  // no events: all offsets 0
      Kokkos::deep_copy(
          Kokkos::subview(ev.fwd_offsets, std::pair<std::size_t, std::size_t>(0, B * T1 + 1)), 0);
      Kokkos::deep_copy(
          Kokkos::subview(ev.bwd_offsets, std::pair<std::size_t, std::size_t>(0, m + 1)), 0);
      ev.events = 0;
      return;
    }
    const std::size_t nscan = std::max(B * T1 * nchunk, B * m);
    detail::ensure_view(cnt_, nscan, "encode_events::cnt");
    detail::ensure_view(start_, nscan, "encode_events::start");

    const int Bi = static_cast<int>(B), Hi = static_cast<int>(H), Wi = static_cast<int>(W);
    const int mi = static_cast<int>(m);
    const bool rf = p.receptive_field;
    if (p.code == SpikeCode::Poisson) {
      detail::ensure_view(prob_, B * m, "encode_events::prob");
      detail::ensure_view(prefix_, B * m, "encode_events::prefix");
      View1<double> prob = prob_;
      View1<std::uint64_t> prefix = prefix_;
      const std::uint64_t seed = p.seed;
      Kokkos::parallel_for(
          "supsnn::encode_events::prep_poisson", Kokkos::RangePolicy<ExecSpace>(0, Bi * mi),
          KOKKOS_LAMBDA(const int s) {
            const int i = s / Bi, b = s - i * Bi;
            const int y = i / Wi, x = i - y * Wi;
            const double pot =
                rf ? static_cast<double>(detail::rf_sum(img, b, Hi, Wi, y, x)) / 2040.0
                   : detail::pixel_potential(rc, img(b, y, x));
            prob(s) = detail::poisson_prob(rc, pot);
            prefix(s) = hash4_prefix(seed, static_cast<std::uint64_t>(sample_id(b)),
                                     static_cast<std::uint64_t>(i));
          });
      // In order before the build kernels (same execution space instance): no fence.
      detail::build_events_dense(detail::PoissonRule{prob, prefix, T}, Bi, mi, T, cnt_, start_, ev);
    } else {
      // Sample-major key with a row stride of m + 16 ints: for large power-of-two m the entries of
      // one neuron in the B samples would otherwise map to the same cache set (backward pass).
      ms_ = mi + 16;
      if (B * static_cast<std::size_t>(ms_) > imax)
        throw std::invalid_argument("encode_events: batch too large for int indexing");
      detail::ensure_view(key_, B * static_cast<std::size_t>(ms_), "encode_events::key");
      View1<int> key = key_;
      const bool rate = p.code == SpikeCode::Rate;
      // The key depends on the pixel only through one integer v: its tap sum (receptive field;
      // pot = v / 2040, key 0 when v <= 0) or its grey value. So it is tabulated once per call,
      // lut(j * nv + v - vmin) for every possible v and population neuron j: the same function on
      // the same v, hence bit-identical to evaluating it per pixel, without a double division and
      // an unpredictable branch per pixel.
      const int vmin = rf ? -detail::kRfSumNeg : 0;
      const int nv = rf ? detail::kRfSumNeg + detail::kRfSumMax + 1 : 256;
      detail::ensure_view(lut_, static_cast<std::size_t>(K) * nv, "encode_events::lut");
      View1<int> lut = lut_;
      if (K == 1) {
        pop_lut_valid_ = false;  // lut_ is overwritten below
        Kokkos::parallel_for(
            "supsnn::encode_events::key_table", Kokkos::RangePolicy<ExecSpace>(0, nv),
            KOKKOS_LAMBDA(const int j) {
              const double pot = rf ? static_cast<double>(j + vmin) / 2040.0  // as rf_potential
                                    : detail::pixel_potential(rc, j);
              if (rate) {
                const int per = detail::rate_period(rc, pot);  // 0 when pot <= 0
                lut(j) = per <= T ? per : 0;                   // 0: no spike in 1..T
              } else {
                lut(j) = detail::latency_step(rc, pot);  // 0 when pot <= 0
              }
            });
        // In order before prep_key (same execution space instance): no fence.
      } else if (!pop_lut_valid_ || !same_population_table(p)) {
        // Population steps use exp: tabulated on the host so that every backend and the CPU
        // reference share one libm (population_code.hpp), and only when the parameters change
        // (K x 15301 exp calls with the receptive field). deep_copy fences before prep_key.
        auto h_lut = Kokkos::create_mirror_view(lut_);
        for (int j = 0; j < K; ++j)
          for (int v = 0; v < nv; ++v)
            h_lut(static_cast<std::size_t>(j) * nv + v) = population_step(
                rc, p.population,
                rf ? static_cast<double>(v + vmin) / 2040.0 : detail::pixel_potential(rc, v), j);
        Kokkos::deep_copy(lut_, h_lut);
        pop_lut_params_ = p;
        pop_lut_valid_ = true;
      }
      // Work item (b, y, segment of XS pixels of row y). On host backends a segment is the whole
      // row (no index divisions per pixel, a plain loop); on GPUs one pixel per item, so that
      // neighbouring threads read neighbouring pixels and the device is filled. Population
      // neuron j of pixel (y, x) is input j * H * W + y * W + x.
      const int XS = detail::kPrepSegment < Wi ? detail::kPrepSegment : Wi;
      const int nseg = (Wi + XS - 1) / XS;
      const int ms = ms_;
      const int plane = Hi * Wi;
      Kokkos::parallel_for(
          "supsnn::encode_events::prep_key", Kokkos::RangePolicy<ExecSpace>(0, Bi * Hi * nseg),
          KOKKOS_LAMBDA(const int t) {
            const int row = t / nseg, sg = t - row * nseg;
            const int b = row / Hi, y = row - b * Hi;
            const int x1 = (sg + 1) * XS < Wi ? (sg + 1) * XS : Wi;
            int* out = &key(b * ms + y * Wi);
            if (K == 1 && rf) {  // the common case as a plain loop
              for (int x = sg * XS; x < x1; ++x)
                out[x] = lut(detail::rf_sum(img, b, Hi, Wi, y, x) - vmin);
              return;
            }
            for (int x = sg * XS; x < x1; ++x) {
              const int v = rf ? detail::rf_sum(img, b, Hi, Wi, y, x) - vmin : img(b, y, x);
              for (int j = 0; j < K; ++j) out[j * plane + x] = lut(j * nv + v);
            }
          });
      // In order before the build kernels (same execution space instance): no fence.
      detail::build_events_sparse(key, ms, rate, Bi, mi, T, cnt_, start_, ev);
    }
  }

 private:
  View1<int> key_;               // Rate: period, Latency: step (sample-major: b*ms_ + i)
  int ms_ = 0;                   // row stride of key_
  View1<double> prob_;           // Poisson: per-step probability
  View1<std::uint64_t> prefix_;  // Poisson: hash4_prefix(seed, sample_id(b), i)
  View1<int> cnt_, start_;       // per-work-item counts and their exclusive scan
  View1<int> lut_;  // Rate / Latency: key of each tap sum or grey value (per population neuron)
  bool pop_lut_valid_ = false;      // lut_ holds the population table of pop_lut_params_
  SpikeCodeParams pop_lut_params_;  // (the table depends on rate, receptive_field, population)

  bool same_population_table(const SpikeCodeParams& p) const {
    const SpikeCodeParams& q = pop_lut_params_;
    const RateCode &a = p.rate, &b = q.rate;
    return p.receptive_field == q.receptive_field && p.population.neurons == q.population.neurons &&
           p.population.width == q.population.width && p.population.cut == q.population.cut &&
           a.pot_hi == b.pot_hi && a.raw_steps == b.raw_steps;
  }
};

// One-shot convenience: a temporary EventEncoder (allocates its scratch on every call; prefer a
// long-lived EventEncoder in training loops).
inline void encode_events(const SpikeCodeParams& p, View3<const std::uint8_t> img,
                          View1<const std::int64_t> sample_id, EventBatch& ev) {
  EventEncoder enc;
  enc.encode(p, img, sample_id, ev);
}

// Plain CPU reference on B row-major images (B*H*W bytes): per sample, its (step, neuron) events
// sorted by (step, neuron). Evaluates each code's rule directly (Poisson with the full hash4).
inline void encode_events_ref(const SpikeCodeParams& p, int B, int H, int W,
                              const std::uint8_t* img, const std::int64_t* sample_id,
                              std::vector<std::vector<std::pair<int, int>>>& events_per_sample) {
  const RateCode& rc = p.rate;
  const int T = rc.raw_steps, m = H * W, K = p.population.neurons;
  events_per_sample.assign(static_cast<std::size_t>(B), {});
  std::vector<double> pot(static_cast<std::size_t>(m));
  for (int b = 0; b < B; ++b) {
    const std::uint8_t* im = img + static_cast<std::size_t>(b) * m;
    if (p.receptive_field)
      receptive_field_ref(H, W, im, pot.data());
    else
      pixel_potential_ref(rc, H, W, im, pot.data());
    auto& out = events_per_sample[static_cast<std::size_t>(b)];
    if (K > 1) {  // population neuron j of pixel i is input j * m + i
      for (int k = 1; k <= T; ++k)
        for (int j = 0; j < K; ++j)
          for (int i = 0; i < m; ++i)
            if (population_step(rc, p.population, pot[i], j) == k) out.emplace_back(k, j * m + i);
      continue;
    }
    for (int k = 1; k <= T; ++k)
      for (int i = 0; i < m; ++i) {
        bool spike = false;
        switch (p.code) {
          case SpikeCode::Rate: {
            const int per = detail::rate_period(rc, pot[i]);
            spike = per > 0 && k % per == 0;
            break;
          }
          case SpikeCode::Poisson:
            spike = uniform01_4(p.seed, static_cast<std::uint64_t>(sample_id[b]),
                                static_cast<std::uint64_t>(i),
                                static_cast<std::uint64_t>(k)) < detail::poisson_prob(rc, pot[i]);
            break;
          case SpikeCode::Latency:
            spike = detail::latency_step(rc, pot[i]) == k;
            break;
        }
        if (spike) out.emplace_back(k, i);
      }
  }
}

}  // namespace supsnn
