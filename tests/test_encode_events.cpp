// Tests for kernels/encode_events.hpp: device event encoding (rate, Poisson, latency codes; with
// and without the receptive field; the population code) vs the CPU reference, the BatchBuilder
// event layout, RNG keying, statistics and scratch reuse.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "kernels/counter_rng.hpp"
#include "kernels/encode_events.hpp"

namespace supsnn {
namespace {

using Events = std::vector<std::vector<std::pair<int, int>>>;  // per sample: (step, neuron)

// Host copy of the used part of an EventBatch.
struct HostEvents {
  int B = 0, m = 0, T = 0;
  std::vector<int> fo, fn, bo, bs;
};

HostEvents to_host(const EventBatch& ev) {
  HostEvents h;
  h.B = ev.batch;
  h.m = ev.inputs;
  h.T = ev.raw_steps;
  const int T1 = h.T + 1;
  auto fo = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), ev.fwd_offsets);
  auto bo = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), ev.bwd_offsets);
  EXPECT_GE(fo.extent(0), static_cast<size_t>(h.B) * T1 + 1);
  EXPECT_GE(bo.extent(0), static_cast<size_t>(h.m) + 1);
  h.fo.assign(fo.data(), fo.data() + static_cast<size_t>(h.B) * T1 + 1);
  h.bo.assign(bo.data(), bo.data() + h.m + 1);
  const int E = h.fo.back();
  // The host learnt E while encoding: the trainer reads it instead of copying fwd_offsets back.
  EXPECT_EQ(ev.events, E) << "EventBatch::events";
  h.fn.resize(E);
  h.bs.resize(E);
  if (E > 0) {
    auto fn = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), ev.fwd_neuron);
    auto bs = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), ev.bwd_slot);
    EXPECT_GE(fn.extent(0), static_cast<size_t>(E));
    EXPECT_GE(bs.extent(0), static_cast<size_t>(E));
    for (int q = 0; q < E; ++q) {
      h.fn[q] = fn(q);
      h.bs[q] = bs(q);
    }
  }
  return h;
}

// Per-sample (step, neuron) lists from the forward order.
Events fwd_events(const HostEvents& h) {
  const int T1 = h.T + 1;
  Events out(h.B);
  for (int b = 0; b < h.B; ++b)
    for (int k = 0; k < T1; ++k)
      for (int q = h.fo[b * T1 + k]; q < h.fo[b * T1 + k + 1]; ++q) out[b].emplace_back(k, h.fn[q]);
  return out;
}

// Backward order from forward events by the stable counting sort of BatchBuilder::build.
void counting_sort_bwd(const HostEvents& h, std::vector<int>& bo, std::vector<int>& bs) {
  const int T1 = h.T + 1;
  const int E = h.fo.back();
  bo.assign(h.m + 1, 0);
  bs.assign(E, -1);
  for (int q = 0; q < E; ++q) ++bo[h.fn[q] + 1];
  for (int i = 0; i < h.m; ++i) bo[i + 1] += bo[i];
  std::vector<int> fill(bo.begin(), bo.end() - 1);
  for (int b = 0; b < h.B; ++b)
    for (int k = 0; k < T1; ++k)
      for (int q = h.fo[b * T1 + k]; q < h.fo[b * T1 + k + 1]; ++q)
        bs[fill[h.fn[q]]++] = b * T1 + k;
}

// Full EventBatch layout expected from reference events (what BatchBuilder would build).
HostEvents layout_from_ref(const Events& ref, int m, int T) {
  HostEvents h;
  h.B = static_cast<int>(ref.size());
  h.m = m;
  h.T = T;
  const int T1 = T + 1;
  h.fo.assign(static_cast<size_t>(h.B) * T1 + 1, 0);
  for (int b = 0; b < h.B; ++b) {
    size_t q = 0;
    for (int k = 0; k < T1; ++k) {
      h.fo[b * T1 + k] = static_cast<int>(h.fn.size());
      for (; q < ref[b].size() && ref[b][q].first == k; ++q) h.fn.push_back(ref[b][q].second);
    }
    EXPECT_EQ(q, ref[b].size()) << "reference events not sorted by step";
  }
  h.fo.back() = static_cast<int>(h.fn.size());
  counting_sort_bwd(h, h.bo, h.bs);
  return h;
}

// Mostly dark images with sparse bright pixels (MSTAR-like), deterministic in seed.
std::vector<uint8_t> random_images(int B, int H, int W, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<uint8_t> img(static_cast<size_t>(B) * H * W);
  for (auto& v : img) {
    const double r = u(gen);
    v = static_cast<uint8_t>(r < 0.15 ? 255.0 * u(gen) : (r < 0.3 ? 0.0 : 45.0 * u(gen)));
  }
  return img;
}

View3<const uint8_t> device_images(int B, int H, int W, const std::vector<uint8_t>& host) {
  View3<uint8_t> img("img", B, H, W);
  auto h = Kokkos::create_mirror_view(img);
  for (int b = 0; b < B; ++b)
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) h(b, y, x) = host[(static_cast<size_t>(b) * H + y) * W + x];
  Kokkos::deep_copy(img, h);
  return img;
}

View1<const std::int64_t> device_ids(const std::vector<std::int64_t>& ids) {
  View1<std::int64_t> d("ids", ids.size());
  auto h = Kokkos::create_mirror_view(d);
  for (size_t b = 0; b < ids.size(); ++b) h(b) = ids[b];
  Kokkos::deep_copy(d, h);
  return d;
}

SpikeCodeParams params(SpikeCode code, int T = 70, std::uint64_t seed = 12345) {
  SpikeCodeParams p;
  p.code = code;
  p.rate.raw_steps = T;
  p.seed = seed;
  return p;
}

// Encodes on the device with enc and returns the host copy.
HostEvents encode(EventEncoder& enc, EventBatch& ev, const SpikeCodeParams& p, int B, int H, int W,
                  const std::vector<uint8_t>& img, const std::vector<std::int64_t>& ids) {
  enc.encode(p, device_images(B, H, W, img), device_ids(ids), ev);
  EXPECT_EQ(ev.batch, B);
  EXPECT_EQ(ev.inputs, p.population.neurons * H * W);
  EXPECT_EQ(ev.raw_steps, p.rate.raw_steps);
  return to_host(ev);
}

Events reference(const SpikeCodeParams& p, int B, int H, int W, const std::vector<uint8_t>& img,
                 const std::vector<std::int64_t>& ids) {
  Events ref;
  encode_events_ref(p, B, H, W, img.data(), ids.data(), ref);
  return ref;
}

void expect_same_layout(const HostEvents& got, const HostEvents& want, const std::string& what) {
  EXPECT_EQ(got.fo, want.fo) << what << ": fwd_offsets";
  EXPECT_EQ(got.fn, want.fn) << what << ": fwd_neuron";
  EXPECT_EQ(got.bo, want.bo) << what << ": bwd_offsets";
  EXPECT_EQ(got.bs, want.bs) << what << ": bwd_slot";
}

std::vector<std::int64_t> iota_ids(int B, std::int64_t first) {
  std::vector<std::int64_t> ids(B);
  for (int b = 0; b < B; ++b) ids[b] = first + 3 * b;
  return ids;
}

const char* code_name(SpikeCode c) {
  return c == SpikeCode::Rate ? "rate" : (c == SpikeCode::Poisson ? "poisson" : "latency");
}

struct Shape {
  int B, H, W, T;
};

TEST(CounterRng, PrefixSplitAndRange) {
  for (std::uint64_t s : {0ull, 1ull, 987654321ull})
    for (std::uint64_t a : {0ull, 7ull, 123456789012ull})
      for (std::uint64_t n : {0ull, 16383ull})
        for (std::uint64_t k : {0ull, 1ull, 70ull}) {
          EXPECT_EQ(hash4(s, a, n, k), hash4_step(hash4_prefix(s, a, n), k));
          const double u = uniform01_4(s, a, n, k);
          EXPECT_GE(u, 0.0);
          EXPECT_LT(u, 1.0);
        }
  // Every key matters.
  EXPECT_NE(hash4(1, 2, 3, 4), hash4(2, 2, 3, 4));
  EXPECT_NE(hash4(1, 2, 3, 4), hash4(1, 3, 3, 4));
  EXPECT_NE(hash4(1, 2, 3, 4), hash4(1, 2, 4, 4));
  EXPECT_NE(hash4(1, 2, 3, 4), hash4(1, 2, 3, 5));
  // Roughly uniform.
  double sum = 0;
  const int N = 100000;
  for (int i = 0; i < N; ++i) sum += uniform01_4(5, 9, static_cast<std::uint64_t>(i), 3);
  EXPECT_NEAR(sum / N, 0.5, 4 * std::sqrt(1.0 / 12 / N));
}

TEST(EncodeEvents, DeviceMatchesReferenceAllCodes) {
  const std::vector<Shape> shapes = {{1, 1, 1, 70},  {2, 3, 2, 70},    {1, 7, 9, 70},
                                     {3, 13, 5, 70}, {4, 17, 300, 70}, {5, 128, 128, 70},
                                     {2, 20, 31, 1}, {3, 16, 16, 255}, {2, 40, 24, 100}};
  for (SpikeCode code : {SpikeCode::Rate, SpikeCode::Poisson, SpikeCode::Latency}) {
    unsigned seed = 11;
    for (const Shape& s : shapes) {
      const auto p = params(code, s.T);
      const auto img = random_images(s.B, s.H, s.W, seed++);
      const auto ids = iota_ids(s.B, 100 + seed);
      EventEncoder enc;
      EventBatch ev;
      const HostEvents got = encode(enc, ev, p, s.B, s.H, s.W, img, ids);
      const Events ref = reference(p, s.B, s.H, s.W, img, ids);
      const std::string what = std::string(code_name(code)) + " B=" + std::to_string(s.B) + " " +
                               std::to_string(s.H) + "x" + std::to_string(s.W) +
                               " T=" + std::to_string(s.T);
      expect_same_layout(got, layout_from_ref(ref, s.H * s.W, s.T), what);
      EXPECT_EQ(fwd_events(got), ref) << what;
      // The free function gives the same result as a long-lived encoder.
      EventBatch ev2;
      encode_events(p, device_images(s.B, s.H, s.W, img), device_ids(ids), ev2);
      expect_same_layout(to_host(ev2), got, what + " (encode_events)");
    }
  }
}

TEST(EncodeEvents, ManySpikesMatchReference) {
  // period_scale 30 makes the rate code fire up to 14 times and Poisson with p up to 2/3.
  for (SpikeCode code : {SpikeCode::Rate, SpikeCode::Poisson, SpikeCode::Latency}) {
    auto p = params(code);
    p.rate.period_scale = 30.0;
    const int B = 3, H = 37, W = 29;
    const auto img = random_images(B, H, W, 99);
    const auto ids = iota_ids(B, 5);
    EventEncoder enc;
    EventBatch ev;
    const HostEvents got = encode(enc, ev, p, B, H, W, img, ids);
    expect_same_layout(got, layout_from_ref(reference(p, B, H, W, img, ids), H * W, 70),
                       code_name(code));
    if (code != SpikeCode::Latency) {  // several spikes per neuron on average
      EXPECT_GT(got.fo.back(), B * H * W) << code_name(code);
    }
  }
}

TEST(EncodeEvents, RateEventsAreMultiplesOfPeriods) {
  const int B = 4, H = 33, W = 47, T = 70;
  const auto p = params(SpikeCode::Rate, T);
  const auto img = random_images(B, H, W, 3);
  EventEncoder enc;
  EventBatch ev;
  const HostEvents got = encode(enc, ev, p, B, H, W, img, iota_ids(B, 0));
  std::vector<int> period(static_cast<size_t>(B) * H * W);
  encode_rate_periods_ref(p.rate, B, H, W, img.data(), period.data());
  Events want(B);
  for (int b = 0; b < B; ++b)
    for (int k = 1; k <= T; ++k)
      for (int i = 0; i < H * W; ++i) {
        const int per = period[static_cast<size_t>(b) * H * W + i];
        if (per > 0 && k % per == 0) want[b].emplace_back(k, i);
      }
  EXPECT_EQ(fwd_events(got), want);
  // Per neuron: floor(T / period) spikes summed over samples.
  for (int i = 0; i < H * W; ++i) {
    int n = 0;
    for (int b = 0; b < B; ++b) {
      const int per = period[static_cast<size_t>(b) * H * W + i];
      n += per > 0 ? T / per : 0;
    }
    ASSERT_EQ(got.bo[i + 1] - got.bo[i], n) << "neuron " << i;
  }
}

TEST(EncodeEvents, BackwardOrderIsCountingSortOfForward) {
  for (SpikeCode code : {SpikeCode::Rate, SpikeCode::Poisson, SpikeCode::Latency}) {
    const int B = 5, H = 50, W = 61;
    const auto p = params(code);
    const auto img = random_images(B, H, W, 21);
    EventEncoder enc;
    EventBatch ev;
    const HostEvents got = encode(enc, ev, p, B, H, W, img, iota_ids(B, 40));
    std::vector<int> bo, bs;
    counting_sort_bwd(got, bo, bs);
    EXPECT_EQ(got.bo, bo) << code_name(code);
    EXPECT_EQ(got.bs, bs) << code_name(code);
    EXPECT_GT(got.fo.back(), 0) << code_name(code);
  }
}

TEST(EncodeEvents, PoissonDependsOnlyOnSeedAndSampleId) {
  const int H = 32, W = 40, m = H * W;
  const auto imgs = random_images(3, H, W, 77);  // X = image 0, others 1, 2
  const std::vector<uint8_t> x(imgs.begin(), imgs.begin() + m);
  const auto p = params(SpikeCode::Poisson, 70, 2024);
  EventEncoder enc;
  EventBatch ev;
  const Events alone = fwd_events(encode(enc, ev, p, 1, H, W, x, {7}));
  ASSERT_GT(alone[0].size(), 0u);
  // X as sample 7 at position 2 of a batch with two other samples.
  std::vector<uint8_t> batch(imgs.begin() + m, imgs.end());
  batch.insert(batch.end(), x.begin(), x.end());
  const Events in_batch = fwd_events(encode(enc, ev, p, 3, H, W, batch, {3, 11, 7}));
  EXPECT_EQ(in_batch[2], alone[0]);
  // Another seed, or another sample id, gives other spikes.
  const Events other_seed =
      fwd_events(encode(enc, ev, params(SpikeCode::Poisson, 70, 2025), 1, H, W, x, {7}));
  EXPECT_NE(other_seed[0], alone[0]);
  const Events other_id = fwd_events(encode(enc, ev, p, 1, H, W, x, {8}));
  EXPECT_NE(other_id[0], alone[0]);
}

TEST(EncodeEvents, PoissonMeanCountMatchesProbability) {
  // A uniform image: every neuron at least 2 pixels from the border has pot = 12 v / 2040.
  const int B = 8, H = 64, W = 64, T = 70, v = 255;
  const double pot = 12.0 * v / 2040.0;
  for (double scale : {600.0, 60.0}) {
    auto p = params(SpikeCode::Poisson, T, 31337);
    p.rate.period_scale = scale;
    const double freq =
        (p.rate.f_hi - p.rate.f_lo) / (p.rate.pot_hi - p.rate.pot_lo) * (pot - p.rate.pot_lo) +
        p.rate.f_lo;
    const double prob = freq / scale;
    std::vector<uint8_t> img(static_cast<size_t>(B) * H * W, static_cast<uint8_t>(v));
    EventEncoder enc;
    EventBatch ev;
    const HostEvents got = encode(enc, ev, p, B, H, W, img, iota_ids(B, 1000));
    // Count per (b, i) interior neuron from the backward order.
    const int T1 = T + 1;
    double sum = 0;
    long n = 0;
    for (int y = 2; y < H - 2; ++y)
      for (int x = 2; x < W - 2; ++x) {
        const int i = y * W + x;
        sum += got.bo[i + 1] - got.bo[i];
        n += B;
        for (int q = got.bo[i]; q < got.bo[i + 1]; ++q) {
          const int k = got.bs[q] % T1;
          ASSERT_GE(k, 1);
          ASSERT_LE(k, T);
        }
      }
    const double mean = sum / n, expect = T * prob;
    const double se = std::sqrt(T * prob * (1 - prob) / n);
    EXPECT_NEAR(mean, expect, 4 * se) << "period_scale " << scale;
  }
}

TEST(EncodeEvents, LatencyStepFormula) {
  RateCode rc;
  rc.raw_steps = 70;
  EXPECT_EQ(detail::latency_step(rc, 0.0), 0);
  EXPECT_EQ(detail::latency_step(rc, -0.3), 0);
  // As specified, 1 + floor((T-1)(1-x)) = T - ceil((T-1)x): positive potentials fire at steps
  // 1..T-1 (step T only if 1 - x rounds to 1).
  EXPECT_EQ(detail::latency_step(rc, 1e-12), 69);
  EXPECT_EQ(detail::latency_step(rc, 1.0 / 2040), 69);
  EXPECT_EQ(detail::latency_step(rc, rc.pot_hi), 1);
  EXPECT_EQ(detail::latency_step(rc, 10.0), 1);
  EXPECT_EQ(detail::latency_step(rc, 1.0),
            1 + static_cast<int>(std::floor(69 * (1 - 1.0 / 2.781))));
  rc.raw_steps = 1;
  EXPECT_EQ(detail::latency_step(rc, 0.01), 1);
}

TEST(EncodeEvents, LatencyOneSpikeAndBrighterNotLater) {
  const int H = 60, W = 55, m = H * W, T = 70;
  const auto p = params(SpikeCode::Latency, T);
  std::mt19937 gen(5);
  std::uniform_int_distribution<int> add(1, 200);
  // Sample 0: random; sample 1: sample 0 with pixels on a spacing-5 grid brightened. No grid
  // pixel lies in another grid pixel's 5 x 5 receptive field, so each keeps its neighbourhood.
  auto img = random_images(1, H, W, 8);
  std::vector<uint8_t> bright = img;
  std::vector<int> grid;
  for (int y = 1; y < H; y += 5)
    for (int x = 2; x < W; x += 5) {
      const int i = y * W + x;
      bright[i] = static_cast<uint8_t>(std::min(255, bright[i] + add(gen)));
      grid.push_back(i);
    }
  img.insert(img.end(), bright.begin(), bright.end());
  EventEncoder enc;
  EventBatch ev;
  const HostEvents got = encode(enc, ev, p, 2, H, W, img, {0, 1});
  const int T1 = T + 1;
  std::vector<int> step(2 * m, 0);  // 0: no spike
  for (int i = 0; i < m; ++i) {
    ASSERT_LE(got.bo[i + 1] - got.bo[i], 2) << "neuron " << i;  // one per sample at most
    for (int q = got.bo[i]; q < got.bo[i + 1]; ++q) {
      const int b = got.bs[q] / T1, k = got.bs[q] % T1;
      ASSERT_EQ(step[b * m + i], 0) << "two spikes: sample " << b << " neuron " << i;
      step[b * m + i] = k;
    }
  }
  int compared = 0;
  for (int i : grid) {
    const int dim = step[i], lit = step[m + i];
    if (dim > 0) {
      ASSERT_GT(lit, 0) << "neuron " << i;
      EXPECT_LE(lit, dim) << "neuron " << i;
      ++compared;
    }
  }
  EXPECT_GT(compared, 20);
  // Isolated pixels on a black background: potential 8 v / 2040 grows with v.
  std::vector<uint8_t> dots(static_cast<size_t>(H) * W, 0);
  std::vector<int> pos;
  for (int j = 0; j < 100; ++j) {
    const int y = 2 + 5 * (j / 10), x = 2 + 5 * (j % 10);
    const int i = y * W + x;
    dots[i] = static_cast<uint8_t>(1 + j * 254 / 99);
    pos.push_back(i);
  }
  const HostEvents d = encode(enc, ev, p, 1, H, W, dots, {0});
  std::vector<int> st(m, 0);
  for (int i = 0; i < m; ++i)
    for (int q = d.bo[i]; q < d.bo[i + 1]; ++q) st[i] = d.bs[q];
  for (size_t j = 0; j + 1 < pos.size(); ++j) {
    ASSERT_GT(st[pos[j]], 0);
    EXPECT_GE(st[pos[j]], st[pos[j + 1]]) << "dot " << j;
  }
  EXPECT_GT(st[pos.front()], st[pos.back()]);
}

TEST(EncodeEvents, BlackImagesGiveNoEvents) {
  const int B = 3, H = 21, W = 34, T = 70;
  const std::vector<uint8_t> img(static_cast<size_t>(B) * H * W, 0);
  for (SpikeCode code : {SpikeCode::Rate, SpikeCode::Poisson, SpikeCode::Latency}) {
    EventEncoder enc;
    EventBatch ev;
    const HostEvents got = encode(enc, ev, params(code, T), B, H, W, img, iota_ids(B, 0));
    EXPECT_EQ(got.fo, std::vector<int>(static_cast<size_t>(B) * (T + 1) + 1, 0)) << code_name(code);
    EXPECT_EQ(got.bo, std::vector<int>(H * W + 1, 0)) << code_name(code);
    EXPECT_TRUE(got.fn.empty());
  }
}

TEST(EncodeEvents, ReusedEncoderLargerThenSmaller) {
  EventEncoder enc;
  EventBatch ev;
  const std::vector<Shape> seq = {
      {5, 128, 128, 70}, {2, 20, 30, 70}, {3, 40, 40, 30}, {1, 9, 9, 70}, {4, 64, 70, 70}};
  unsigned seed = 300;
  for (const Shape& s : seq)
    for (SpikeCode code : {SpikeCode::Poisson, SpikeCode::Rate, SpikeCode::Latency}) {
      const auto p = params(code, s.T);
      const auto img = random_images(s.B, s.H, s.W, seed++);
      const auto ids = iota_ids(s.B, seed);
      const HostEvents got = encode(enc, ev, p, s.B, s.H, s.W, img, ids);
      expect_same_layout(got,
                         layout_from_ref(reference(p, s.B, s.H, s.W, img, ids), s.H * s.W, s.T),
                         std::string(code_name(code)) + " reuse B=" + std::to_string(s.B));
    }
}

TEST(EncodeEvents, SparseEdgeCasesMatchReference) {
  // Rate / Latency walk only firing neurons: black samples between lit ones, T = 1, T equal to the
  // smallest period (ceil(600 / 20) = 30: only the brightest fire, once, at step T), a single
  // saturated pixel, and images whose size is not a multiple of the work chunk.
  const int H = 45, W = 53, m = H * W;
  std::vector<uint8_t> img = random_images(1, H, W, 4);
  const std::vector<uint8_t> black(m, 0);
  std::vector<uint8_t> dot(m, 0);
  dot[(H / 2) * W + W / 2] = 255;
  std::vector<uint8_t> white(m, 255);
  std::vector<uint8_t> batch;
  const std::vector<const std::vector<uint8_t>*> parts = {&black, &img,   &black, &black,
                                                          &dot,   &white, &black};
  for (const auto* part : parts) batch.insert(batch.end(), part->begin(), part->end());
  const int B = 7;
  EventEncoder enc;
  EventBatch ev;
  for (SpikeCode code : {SpikeCode::Rate, SpikeCode::Latency, SpikeCode::Poisson})
    for (int T : {1, 2, 29, 30, 31, 70}) {
      const auto p = params(code, T);
      const auto ids = iota_ids(B, 9);
      const std::string what = std::string(code_name(code)) + " T=" + std::to_string(T);
      const HostEvents got = encode(enc, ev, p, B, H, W, batch, ids);
      const Events ref = reference(p, B, H, W, batch, ids);
      expect_same_layout(got, layout_from_ref(ref, m, T), what);
      for (int b : {0, 2, 3, 6}) EXPECT_TRUE(ref[b].empty()) << what << " sample " << b;
      if (code == SpikeCode::Rate && T == 30) {
        EXPECT_FALSE(ref[5].empty()) << what;  // saturated centre: period 30
        for (const auto& e : ref[5]) EXPECT_EQ(e.first, 30) << what;
      }
      if (code == SpikeCode::Rate && T < 30) {
        EXPECT_EQ(got.fo.back(), 0) << what;  // every period is at least 30
      }
      // Only the black samples, and a single sample.
      const std::vector<uint8_t> two_black(batch.begin() + 2 * m, batch.begin() + 4 * m);
      const HostEvents none = encode(enc, ev, p, 2, H, W, two_black, {0, 1});
      EXPECT_EQ(none.fo.back(), 0) << what;
      EXPECT_EQ(none.bo, std::vector<int>(m + 1, 0)) << what;
      const std::vector<uint8_t> one(batch.begin() + m, batch.begin() + 2 * m);
      expect_same_layout(encode(enc, ev, p, 1, H, W, one, {4}),
                         layout_from_ref(reference(p, 1, H, W, one, {4}), m, T), what + " B=1");
    }
}

TEST(EncodeEvents, RejectsBadArguments) {
  EventEncoder enc;
  EventBatch ev;
  const auto img = device_images(2, 4, 4, std::vector<uint8_t>(32, 100));
  EXPECT_THROW(enc.encode(params(SpikeCode::Rate), img, device_ids({1}), ev),
               std::invalid_argument);
  EXPECT_THROW(enc.encode(params(SpikeCode::Rate, 0), img, device_ids({1, 2}), ev),
               std::invalid_argument);
  auto p = params(SpikeCode::Latency);
  p.rate.pot_hi = 0.0;
  EXPECT_THROW(enc.encode(p, img, device_ids({1, 2}), ev), std::invalid_argument);
}

// Without the receptive field every code reads the grey value scaled onto [0, pot_hi], on the
// device exactly as in the reference; with a population code each pixel has K neurons.
TEST(EncodeEvents, NoReceptiveFieldAndPopulationMatchReference) {
  const std::vector<Shape> shapes = {{1, 1, 1, 70},  {2, 3, 2, 70},   {3, 13, 5, 70},
                                     {2, 20, 31, 1}, {2, 64, 64, 70}, {3, 16, 16, 255}};
  struct Case {
    SpikeCode code;
    bool rf;
    int K;
    double width, cut;
  };
  const std::vector<Case> cases = {
      {SpikeCode::Rate, false, 1, 1, 0.1},     {SpikeCode::Poisson, false, 1, 1, 0.1},
      {SpikeCode::Latency, false, 1, 1, 0.1},  {SpikeCode::Latency, false, 8, 1, 0.1},
      {SpikeCode::Latency, true, 8, 1, 0.1},   {SpikeCode::Latency, false, 2, 0.3, 0.5},
      {SpikeCode::Latency, true, 5, 2.0, 0.01}};
  unsigned seed = 3;
  for (const Case& c : cases)
    for (const Shape& s : shapes) {
      auto p = params(c.code, s.T);
      p.receptive_field = c.rf;
      p.population.neurons = c.K;
      p.population.width = c.width;
      p.population.cut = c.cut;
      const auto img = random_images(s.B, s.H, s.W, seed++);
      const auto ids = iota_ids(s.B, 7);
      EventEncoder enc;
      EventBatch ev;
      const HostEvents got = encode(enc, ev, p, s.B, s.H, s.W, img, ids);
      const Events ref = reference(p, s.B, s.H, s.W, img, ids);
      const std::string what = std::string(code_name(c.code)) + " rf=" + std::to_string(c.rf) +
                               " K=" + std::to_string(c.K) + " " + std::to_string(s.H) + "x" +
                               std::to_string(s.W) + " T=" + std::to_string(s.T);
      expect_same_layout(got, layout_from_ref(ref, c.K * s.H * s.W, s.T), what);
      EXPECT_EQ(fwd_events(got), ref) << what;
    }
}

// Hand-computed steps: K = 3, width 1 (sigma = 0.5), T = 70, no receptive field, so x = pixel /
// 255. Pixel 0 (x = 0): r = 1, exp(-0.5), exp(-2); pixel 255 (x = 1) mirrored; the cut silences
// responses below it; neuron j of pixel i is input j * m + i.
TEST(EncodeEvents, PopulationStepsByHand) {
  auto p = params(SpikeCode::Latency, 70);
  p.receptive_field = false;
  p.population.neurons = 3;
  p.population.width = 1.0;
  const int s1 = 1 + static_cast<int>(69 * (1 - std::exp(-0.5)));  // 28
  const int s2 = 1 + static_cast<int>(69 * (1 - std::exp(-2.0)));  // 60
  ASSERT_EQ(s1, 28);
  ASSERT_EQ(s2, 60);
  const RateCode& rc = p.rate;
  EXPECT_EQ(population_step(rc, p.population, 0.0, 0), 1);
  EXPECT_EQ(population_step(rc, p.population, 0.0, 1), s1);
  EXPECT_EQ(population_step(rc, p.population, 0.0, 2), s2);
  EXPECT_EQ(population_step(rc, p.population, rc.pot_hi, 2), 1);
  EXPECT_EQ(population_step(rc, p.population, 5 * rc.pot_hi, 0), s2);  // clamped to x = 1
  EXPECT_EQ(population_step(rc, p.population, -1.0, 0), 1);            // clamped to x = 0
  EventEncoder enc;
  EventBatch ev;
  const std::vector<uint8_t> img = {0, 255};  // one 1 x 2 image, m = 2
  HostEvents got = encode(enc, ev, p, 1, 1, 2, img, {0});
  // (step, input): pixel 0 -> inputs 0, 2, 4; pixel 1 -> inputs 1, 3, 5.
  Events want = {{{1, 0}, {1, 5}, {s1, 2}, {s1, 3}, {s2, 1}, {s2, 4}}};
  EXPECT_EQ(fwd_events(got), want);
  // A cut above exp(-2) silences the far neurons.
  p.population.cut = 0.2;
  got = encode(enc, ev, p, 1, 1, 2, img, {0});
  want = {{{1, 0}, {1, 5}, {s1, 2}, {s1, 3}}};
  EXPECT_EQ(fwd_events(got), want);
  // With K = 1 the grey value alone sets the latency: 255 -> step 1, 0 -> no spike.
  p.population.neurons = 1;
  got = encode(enc, ev, p, 1, 1, 2, img, {0});
  want = {{{1, 1}}};
  EXPECT_EQ(fwd_events(got), want);
}

// One encoder reused across population parameters: its cached step table must follow every
// change (width, cut, K, receptive field, T) and survive plain-code calls in between.
TEST(EncodeEvents, ReusedEncoderFollowsPopulationParameters) {
  EventEncoder enc;
  EventBatch ev;
  const int B = 2, H = 9, W = 11;
  struct Step {
    int K;
    double width, cut;
    bool rf;
    int T;
  };
  const std::vector<Step> seq = {{4, 1.0, 0.1, false, 70}, {4, 2.0, 0.1, false, 70},
                                 {4, 2.0, 0.3, false, 70}, {1, 1.0, 0.1, false, 70},
                                 {4, 2.0, 0.3, false, 70}, {4, 2.0, 0.3, true, 70},
                                 {6, 2.0, 0.3, true, 70},  {6, 2.0, 0.3, true, 30}};
  unsigned seed = 40;
  for (const Step& st : seq) {
    auto p = params(SpikeCode::Latency, st.T);
    p.population.neurons = st.K;
    p.population.width = st.width;
    p.population.cut = st.cut;
    p.receptive_field = st.rf;
    const auto img = random_images(B, H, W, seed++);
    const auto ids = iota_ids(B, 1);
    const HostEvents got = encode(enc, ev, p, B, H, W, img, ids);
    EXPECT_EQ(fwd_events(got), reference(p, B, H, W, img, ids))
        << "K=" << st.K << " width=" << st.width << " cut=" << st.cut << " rf=" << st.rf
        << " T=" << st.T;
  }
}

TEST(EncodeEvents, PopulationRejectsOtherCodesAndBadParameters) {
  EventEncoder enc;
  EventBatch ev;
  const auto img = device_images(1, 4, 4, std::vector<uint8_t>(16, 100));
  for (SpikeCode code : {SpikeCode::Rate, SpikeCode::Poisson}) {
    auto p = params(code);
    p.population.neurons = 4;
    EXPECT_THROW(enc.encode(p, img, device_ids({1}), ev), std::invalid_argument);
  }
  auto p = params(SpikeCode::Latency);
  p.population.neurons = 4;
  p.population.width = 0.0;
  EXPECT_THROW(enc.encode(p, img, device_ids({1}), ev), std::invalid_argument);
  p.population.width = 1.0;
  p.population.cut = 0.0;
  EXPECT_THROW(enc.encode(p, img, device_ids({1}), ev), std::invalid_argument);
  p.population.cut = 0.1;
  p.population.neurons = 0;
  EXPECT_THROW(enc.encode(p, img, device_ids({1}), ev), std::invalid_argument);
}

}  // namespace
}  // namespace supsnn
