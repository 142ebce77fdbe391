// Tests of the STDP guidance stage (kernels/stdp.hpp, src/guide/stdp_guide.cpp, supsnn guide):
// kernels vs their CPU references, exact event logic on hand-made inputs (threshold crossing,
// reset, refractory period, inhibition, unused-input penalty, soft bounds), teacher mode, the
// class assignment, determinism, and the command end to end feeding `supsnn train`.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <vector>

#include "config/config.hpp"
#include "data/dataset.hpp"
#include "data/synth.hpp"
#include "guide/stdp_guide.hpp"
#include "io/h5.hpp"
#include "kernels/stdp.hpp"
#include "test_util.hpp"

namespace supsnn {
namespace {

using HExec = Kokkos::DefaultHostExecutionSpace;

// Dense trains x[b][i*(T+1)+k] -> stored events sorted by (step, neuron).
SpikeEvents to_events(const std::vector<std::vector<std::uint8_t>>& x, int m, int T) {
  SpikeEvents ev;
  for (const auto& xb : x) {
    for (int k = 0; k <= T; ++k)
      for (int i = 0; i < m; ++i)
        if (xb[static_cast<std::size_t>(i) * (T + 1) + k]) {
          ev.neuron.push_back(i);
          ev.step.push_back(static_cast<std::uint8_t>(k));
        }
    ev.offsets.push_back(static_cast<std::int64_t>(ev.neuron.size()));
  }
  return ev;
}

std::vector<std::vector<std::uint8_t>> random_trains(int B, int m, int T, double p, unsigned seed) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution bit(p);
  std::vector<std::vector<std::uint8_t>> x(static_cast<std::size_t>(B));
  for (auto& xb : x) {
    xb.assign(static_cast<std::size_t>(m) * (T + 1), 0);
    for (int i = 0; i < m; ++i)
      for (int k = 1; k <= T; ++k) xb[static_cast<std::size_t>(i) * (T + 1) + k] = bit(rng);
  }
  return x;
}

TEST(StdpRule, DwAndSoftBounds) {
  const StdpParams p;
  EXPECT_DOUBLE_EQ(stdp_dw(p, -2), 0.3 * std::exp(-2.0 / 5));
  EXPECT_DOUBLE_EQ(stdp_dw(p, -20), 0.3 * std::exp(-20.0 / 5));
  EXPECT_DOUBLE_EQ(stdp_dw(p, 2), -0.8 * std::exp(-2.0 / 8));
  EXPECT_DOUBLE_EQ(stdp_dw(p, 20), -0.8 * std::exp(-20.0 / 8));
  for (int dt : {-21, -1, 0, 1, 21}) EXPECT_EQ(stdp_dw(p, dt), 0.0) << dt;
  EXPECT_DOUBLE_EQ(stdp_apply(p, 0.2, 0.3), 0.2 + 0.1 * 0.3 * (1.5 - 0.2));
  // Depression branch as in the base implementation: w + sigma dw (w - |w_min|).
  EXPECT_DOUBLE_EQ(stdp_apply(p, 0.2, -0.5), 0.2 + 0.1 * -0.5 * (0.2 - 1.2));
  EXPECT_DOUBLE_EQ(stdp_apply(p, 1.4, -0.5), 1.4 + 0.1 * -0.5 * (1.4 - 1.2));
  EXPECT_EQ(stdp_apply(p, 1.49, 1000.0), 1.5);    // clamped at w_max
  EXPECT_EQ(stdp_apply(p, 1.45, -1000.0), -1.2);  // 1.45 - 100*0.25 clamped at w_min
  EXPECT_EQ(stdp_apply(p, 0.7, 0.0), 0.7);
}

TEST(StdpKernel, UpdateAndCurrentsMatchReference) {
  const int m = 300, T = 70, n = 3;
  const StdpParams p;
  const auto x = random_trains(1, m, T, 0.05, 7);
  const GuideSpikes sp = guide_spikes(to_events(x, m, T), m, T);
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-1.2, 1.5);
  std::vector<double> w0(static_cast<std::size_t>(n) * m);
  for (auto& w : w0) w = u(rng);
  const int A = sp.act_first[1];
  ASSERT_GT(A, 100);
  // Device (default execution space) copies of the spike lists.
  auto dev = [](const std::vector<int>& v) {
    Kokkos::View<int*, MemSpace> d("v", v.size());
    auto h = Kokkos::create_mirror_view(d);
    for (std::size_t q = 0; q < v.size(); ++q) h(q) = v[q];
    Kokkos::deep_copy(d, h);
    return d;
  };
  const auto an = dev(sp.act_neuron), ao = dev(sp.act_off), as = dev(sp.act_step);
  const auto off = dev(sp.step_off), ne = dev(sp.neuron);
  for (int t : {1, 2, 5, 30, 69, 70}) {
    std::vector<double> ref = w0;
    stdp_update_ref(p, &ref[static_cast<std::size_t>(1) * m], x[0].data(), m, T, t);
    GWeights<ExecSpace> W("W", n, m);
    auto hW = Kokkos::create_mirror_view(W);
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < m; ++i) hW(j, i) = w0[static_cast<std::size_t>(j) * m + i];
    Kokkos::deep_copy(W, hW);
    stdp_update(ExecSpace(), W, 1, t, an, ao, as, A, p);
    Kokkos::deep_copy(hW, W);  // fences
    int changed = 0;
    for (int q = 0; q < n * m; ++q) {
      const double w = hW(q / m, q % m);
      EXPECT_NEAR(w, ref[q], 1e-13) << "t " << t << " q " << q;
      changed += w != w0[q];
    }
    if (t == 30) {
      EXPECT_GT(changed, 50);
    }
    // Currents of steps t..T after the update vs a dense sum.
    GView2<ExecSpace> cur("cur", T + 1, n);
    step_currents(ExecSpace(), W, off, ne, 0, n, t, T, cur);
    auto hc = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), cur);  // fences
    for (int j = 0; j < n; ++j)
      for (int k = 0; k <= T; ++k) {
        double c = 0;
        for (int i = 0; i < m; ++i)
          if (x[0][static_cast<std::size_t>(i) * (T + 1) + k]) c += hW(j, i);
        EXPECT_NEAR(hc(k, j), k >= t ? c : 0.0, 1e-12) << j << " " << k;
      }
    // One neuron's row from step t on (after its STDP update): nothing else is touched, and the
    // sums equal the full computation's (same event order).
    GView2<ExecSpace> one("one", T + 1, n);
    Kokkos::deep_copy(one, -7.0);
    step_currents(ExecSpace(), W, off, ne, 1, 2, t, T, one);
    auto ho = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), one);  // fences
    for (int j = 0; j < n; ++j)
      for (int k = 0; k <= T; ++k) EXPECT_EQ(ho(k, j), j == 1 && k >= t ? hc(k, j) : -7.0);
  }
}

TEST(StdpGuide, SamplesMatchDenseReference) {
  const int m = 200, T = 40, n = 3, B = 12;
  GuideParams p;
  p.lif.t_ref = 5;  // several spikes per sample
  p.lif.leak = 1;
  p.stdp.window = 10;
  const auto x = random_trains(B, m, T, 0.08, 11);
  const GuideSpikes sp = guide_spikes(to_events(x, m, T), m, T);
  StdpGuide g(p, n, m, T);
  std::vector<double> W = g.weights();
  int spikes = 0, won = 0;
  for (int epoch = 0; epoch < 2; ++epoch)
    for (int b = 0; b < B; ++b) {
      std::vector<double> tr(static_cast<std::size_t>(n) * T), ref(tr.size());
      const double th = sp.threshold_count[b] / 3;
      const int wr = guide_sample_ref(p.lif, p.stdp, p.unused_penalty, W, n, m, T, x[b].data(), th,
                                      true, -1, ref.data());
      const int wg = g.run_sample(sp, b, true, -1, tr.data());
      ASSERT_EQ(wg, wr) << b;
      spikes += g.spikes_last();
      won += wg >= 0;
      for (std::size_t q = 0; q < tr.size(); ++q) ASSERT_NEAR(tr[q], ref[q], 1e-9) << b;
      const auto gw = g.weights();
      for (std::size_t q = 0; q < W.size(); ++q) ASSERT_NEAR(gw[q], W[q], 1e-12) << b;
    }
  EXPECT_GT(won, B);       // the test exercises winner-take-all
  EXPECT_GT(spikes, won);  // and repeated spikes after the refractory period
}

// Hand-made sample: n = 2, m = 4, T = 30. Input 0 spikes at every step 1..T, input 1 at step 3,
// inputs 2 and 3 never. W(0,0) = 3, W(1,0) = 2, other weights chosen per test.
struct Hand {
  int m = 4, T = 30, n = 2;
  GuideParams p;
  GuideSpikes sp;
  Hand() {
    p.adaptive_threshold = false;
    p.p_th = 11;
    p.lif.leak = 1;
    p.lif.t_ref = 3;
    p.unused_penalty = 0.06;
    x.assign(1, std::vector<std::uint8_t>(m * (T + 1), 0));
    for (int k = 1; k <= T; ++k) x[0][0 * (T + 1) + k] = 1;
    x[0][1 * (T + 1) + 3] = 1;
    sp = guide_spikes(to_events(x, m, T), m, T);
  }
  std::vector<std::vector<std::uint8_t>> x;  // the dense trains, for guide_sample_ref
  std::vector<double> weights() const { return {3, 0, 0.5, -1.19, 2, 0, 0.5, 0.3}; }
  // Learning that keeps the weights (sigma 0, no penalty, w_max above W(0, 0) = 3: every update
  // clamps to the bounds), so that the mechanism under test acts alone.
  void freeze_weights() {
    p.stdp.sigma = 0;
    p.stdp.w_max = 10;
    p.unused_penalty = 0;
  }
};

TEST(StdpGuide, HandMadeEventLogic) {
  Hand h;
  EXPECT_EQ(h.sp.threshold_count[0], 2);  // step 3: inputs 0 and 1
  EXPECT_EQ(h.sp.act_first[1], 2);
  StdpGuide g(h.p, h.n, h.m, h.T);
  g.set_weights(h.weights());
  std::vector<double> tr(static_cast<std::size_t>(h.n) * h.T);
  auto P = [&](int j, int t) { return tr[static_cast<std::size_t>(j) * h.T + t - 1]; };
  EXPECT_EQ(g.run_sample(h.sp, 0, false, -1, tr.data()), 0);
  // Neuron 0: +3 - leak 1 per step (+0 at step 3: input 1 has weight 0) -> 2t; first >= 11 at 6.
  for (int t = 1; t <= 6; ++t) EXPECT_EQ(P(0, t), 2.0 * t) << t;
  for (int t = 1; t <= 6; ++t) EXPECT_EQ(P(1, t), 1.0 * t) << t;
  // Spike at 6: reset to 0, refractory for steps 7, 8, 9 (t_ref = 3), integrates again at 10.
  for (int t = 7; t <= 9; ++t) EXPECT_EQ(P(0, t), 0.0) << t;
  for (int t = 10; t <= 15; ++t) EXPECT_EQ(P(0, t), 2.0 * (t - 9)) << t;  // 12 at 15: spike
  EXPECT_EQ(P(0, 16), 0.0);                                               // refractory 16..18
  EXPECT_EQ(P(0, 19), 2.0);
  // Loser: inhibited at step 6 (recorded after the crossing step), stays at -500.
  for (int t = 7; t <= h.T; ++t) EXPECT_EQ(P(1, t), -500.0) << t;
  EXPECT_EQ(g.spikes_last(), 3);  // steps 6, 15, 24
  // Reaching the threshold exactly is a crossing: with p_th = 10, P(0, 5) = 10 wins and spikes.
  GuideParams p10 = h.p;
  p10.p_th = 10;
  StdpGuide g10(p10, h.n, h.m, h.T);
  g10.set_weights(h.weights());
  EXPECT_EQ(g10.run_sample(h.sp, 0, false, -1, tr.data()), 0);
  EXPECT_EQ(P(0, 5), 10.0);
  EXPECT_EQ(P(0, 6), 0.0);
  EXPECT_EQ(P(1, 6), -500.0);
  // Weights unchanged without learning.
  EXPECT_EQ(g.weights(), h.weights());
}

TEST(StdpGuide, HandMadeLearningAndPenalty) {
  Hand h;
  StdpGuide g(h.p, h.n, h.m, h.T);
  g.set_weights(h.weights());
  EXPECT_EQ(g.run_sample(h.sp, 0, true, -1, nullptr), 0);
  const auto w = g.weights();
  EXPECT_DOUBLE_EQ(w[2], 0.5 - 0.06);  // winner, input 2 never spiked
  EXPECT_EQ(w[3], -1.2);               // -1.19 - 0.06 clamped at w_min
  EXPECT_EQ(w[6], 0.5);                // loser: no penalty
  EXPECT_EQ(w[7], 0.3);
  EXPECT_EQ(w[4], 2.0);  // loser never spiked: no STDP
  // Input 1 (one spike at step 3) before each output spike: potentiation only. The later output
  // spikes depend on the learnt W(0,0), so the exact values come from the dense reference.
  std::vector<double> W = h.weights();
  guide_sample_ref(h.p.lif, h.p.stdp, h.p.unused_penalty, W, h.n, h.m, h.T, h.x[0].data(), 11, true,
                   -1, nullptr);
  const double w1 = W[1];
  EXPECT_GT(w1, 0.0);  // pre before post: potentiation from 0
  EXPECT_NEAR(w[1], w1, 1e-15);
  EXPECT_NEAR(w[0], W[0], 1e-15);
  // First spike at 6 with W(0,1) = 0: dw = a_minus exp(-3/5) gives sigma dw w_max.
  StdpParams sp;
  EXPECT_GE(w1, stdp_apply(sp, 0.0, stdp_dw(sp, -3)) - 1e-15);
}

TEST(StdpGuide, TeacherForcesTheClassNeuron) {
  Hand h;
  StdpGuide g(h.p, h.n, h.m, h.T);
  g.set_weights(h.weights());
  std::vector<double> tr(static_cast<std::size_t>(h.n) * h.T);
  auto P = [&](int j, int t) { return tr[static_cast<std::size_t>(j) * h.T + t - 1]; };
  EXPECT_EQ(g.run_sample(h.sp, 0, false, 1, tr.data()), 1);
  EXPECT_EQ(P(0, 6), 12.0);  // crossing step recorded before the winner-take-all
  for (int t = 7; t <= h.T; ++t) EXPECT_EQ(P(0, t), -500.0) << t;
  for (int t = 1; t <= 11; ++t) EXPECT_EQ(P(1, t), 1.0 * t) << t;  // forced winner climbs
  EXPECT_EQ(P(1, 12), 0.0);                                        // spiked at 11 (P >= th), reset
}

// Homeostasis (guide.theta_plus / theta_decay) by hand: without weight changes (sigma 0, no
// penalty) neuron 0 spikes at 6, 15 and 24, so its offset becomes (0 + 4 x 3) x 0.5 = 6 and its
// threshold 17: in the next sample it first reaches it at step 9 (P = 2t = 18), not 6.
TEST(StdpGuide, HomeostaticThresholdRisesPerSpikeAndDecays) {
  Hand h;
  h.freeze_weights();
  h.p.theta_plus = 4;
  h.p.theta_decay = 0.5;
  StdpGuide g(h.p, h.n, h.m, h.T);
  g.set_weights(h.weights());
  EXPECT_EQ(g.run_sample(h.sp, 0, true, -1, nullptr), 0);
  EXPECT_EQ(g.spikes_last(), 3);
  EXPECT_EQ(g.theta(), (std::vector<double>{6.0, 0.0}));
  std::vector<double> tr(static_cast<std::size_t>(h.n) * h.T);
  auto P = [&](int j, int t) { return tr[static_cast<std::size_t>(j) * h.T + t - 1]; };
  EXPECT_EQ(g.run_sample(h.sp, 0, false, -1, tr.data()), 0);  // recording: theta frozen
  for (int t = 1; t <= 9; ++t) EXPECT_EQ(P(0, t), 2.0 * t) << t;
  EXPECT_EQ(P(0, 10), 0.0);     // spiked at 9 (18 >= 11 + 6), refractory
  EXPECT_EQ(P(1, 10), -500.0);  // inhibited at the crossing
  EXPECT_EQ(g.theta(), (std::vector<double>{6.0, 0.0}));
  // Another learning sample at threshold 17: spikes at 9 and 21 (refractory 10-12, then
  // P = 2 (t - 12) reaches 17 at 21; after 22-24, 2 (30 - 24) = 12 < 17): offset (6 + 8) x 0.5.
  EXPECT_EQ(g.run_sample(h.sp, 0, true, -1, nullptr), 0);
  EXPECT_EQ(g.spikes_last(), 2);
  EXPECT_EQ(g.theta(), (std::vector<double>{(6.0 + 8.0) * 0.5, 0.0}));
  // The dense reference with the same offsets makes the same decisions.
  std::vector<double> W = h.weights(), ref(tr.size());
  const double theta[2] = {6.0, 0.0};
  EXPECT_EQ(guide_sample_ref(h.p.lif, h.p.stdp, 0, W, h.n, h.m, h.T, h.x[0].data(), 11, false, -1,
                             ref.data(), theta),
            0);
  for (int t = 1; t <= 9; ++t) EXPECT_EQ(ref[t - 1], 2.0 * t) << t;
  EXPECT_EQ(ref[9], 0.0);
}

// guide.normalise: after the penalty, the winner's row is scaled to sum normalise x m (then
// clamped to the bounds); the loser's row is untouched. Row 0 = {3, 0, 0.5, -1.19} (sum 2.31)
// -> x 2 / 2.31.
TEST(StdpGuide, NormalisationScalesTheWinnersRow) {
  Hand h;
  h.freeze_weights();
  h.p.normalise = 0.5;
  StdpGuide g(h.p, h.n, h.m, h.T);
  g.set_weights(h.weights());
  EXPECT_EQ(g.run_sample(h.sp, 0, true, -1, nullptr), 0);
  const auto w = g.weights();
  const double f = 2.0 / 2.31;
  EXPECT_DOUBLE_EQ(w[0], 3 * f);
  EXPECT_EQ(w[1], 0.0);
  EXPECT_DOUBLE_EQ(w[2], 0.5 * f);
  EXPECT_DOUBLE_EQ(w[3], -1.19 * f);
  EXPECT_EQ(std::vector<double>(w.begin() + 4, w.end()), (std::vector<double>{2, 0, 0.5, 0.3}));
  // With learning and the penalty on, the kernels and the dense reference agree.
  Hand k;
  k.p.normalise = 0.3;
  StdpGuide gk(k.p, k.n, k.m, k.T);
  gk.set_weights(k.weights());
  std::vector<double> W = k.weights();
  EXPECT_EQ(gk.run_sample(k.sp, 0, true, -1, nullptr),
            guide_sample_ref(k.p.lif, k.p.stdp, k.p.unused_penalty, W, k.n, k.m, k.T, k.x[0].data(),
                             11, true, -1, nullptr, nullptr, 0.3));
  const auto wk = gk.weights();
  EXPECT_NE(wk, k.weights());
  for (std::size_t q = 0; q < W.size(); ++q) EXPECT_NEAR(wk[q], W[q], 1e-14) << q;
}

// guide.retries: a sample that makes no neuron fire runs again at threshold x retry_factor.
// Neuron 0 reaches at most 2 x 30 = 60: never 100, but 50 (x 0.5) at step 25.
TEST(StdpGuide, RetryLowersTheThresholdUntilANeuronFires) {
  Hand h;
  h.p.p_th = 100;
  std::vector<double> tr(static_cast<std::size_t>(h.n) * h.T);
  StdpGuide none(h.p, h.n, h.m, h.T);
  none.set_weights(h.weights());
  EXPECT_EQ(none.run_sample(h.sp, 0, true, -1, tr.data()), -1);
  EXPECT_EQ(none.weights(), h.weights());  // nothing fired: nothing learnt, no penalty
  h.p.retries = 3;
  h.p.retry_factor = 0.5;
  StdpGuide g(h.p, h.n, h.m, h.T);
  g.set_weights(h.weights());
  EXPECT_EQ(g.run_sample(h.sp, 0, false, -1, tr.data()), 0);
  EXPECT_EQ(g.retries_last(), 1);
  EXPECT_EQ(tr[24], 50.0);  // P(0, 25) of the successful attempt
  EXPECT_EQ(tr[25], 0.0);
  EXPECT_EQ(g.run_sample(h.sp, 0, true, -1, nullptr), 0);  // learns at the lowered threshold
  EXPECT_NE(g.weights(), h.weights());
}

// guide.inhibition = "graded" by hand (Hand: P0 = 2t, P1 = t until something fires; th 11,
// t_ref 3): each output spike takes inhibit_step = 4 from every neuron that did not spike at
// that step. Neuron 0 spikes at 6 (P1: 6 -> 2), P1 then climbs by 1 per step and reaches 11 at 15
// together with neuron 0 (both spike, neither is inhibited), then neuron 0 alone at 24 (P1 6 -> 2).
// Winner: the most spikes (neuron 0: 3, neuron 1: 1). Both learn (the unused-input penalty hits
// both rows); under winner-take-all only the winner's.
TEST(StdpGuide, GradedInhibitionByHand) {
  Hand h;
  h.p.lif.graded = true;
  h.p.lif.inhibit_step = 4;
  StdpGuide g(h.p, h.n, h.m, h.T);
  g.set_weights(h.weights());
  std::vector<double> tr(static_cast<std::size_t>(h.n) * h.T);
  auto P = [&](int j, int t) { return tr[static_cast<std::size_t>(j) * h.T + t - 1]; };
  EXPECT_EQ(g.run_sample(h.sp, 0, false, -1, tr.data()), 0);
  EXPECT_EQ(P(0, 6), 12.0);
  EXPECT_EQ(P(1, 6), 6.0);  // recorded before the step's spikes and inhibition
  for (int t = 7; t <= 15; ++t) EXPECT_EQ(P(1, t), 2.0 + (t - 6)) << t;  // from 6 - 4 = 2
  EXPECT_EQ(P(0, 15), 12.0);
  for (int t = 16; t <= 18; ++t) EXPECT_EQ(P(1, t), 0.0) << t;  // spiked at 15: refractory
  EXPECT_EQ(P(0, 24), 12.0);
  EXPECT_EQ(P(1, 24), 6.0);
  EXPECT_EQ(P(1, 25), 3.0);  // 6 - 4, then + 1
  EXPECT_EQ(g.spikes_last(), 4);
  // Learning with the weights frozen apart from the penalty: both rows lose 0.06 where no input
  // spiked (inputs 2 and 3), the dense reference agrees.
  Hand k;
  k.freeze_weights();
  k.p.unused_penalty = 0.06;
  k.p.lif = h.p.lif;
  StdpGuide gk(k.p, k.n, k.m, k.T);
  gk.set_weights(k.weights());
  EXPECT_EQ(gk.run_sample(k.sp, 0, true, -1, nullptr), 0);
  const auto w = gk.weights();
  EXPECT_DOUBLE_EQ(w[2], 0.5 - 0.06);
  EXPECT_EQ(w[3], -1.2);
  EXPECT_DOUBLE_EQ(w[6], 0.5 - 0.06);  // the second spiking neuron learns too
  EXPECT_DOUBLE_EQ(w[7], 0.3 - 0.06);
  std::vector<double> W = k.weights();
  EXPECT_EQ(guide_sample_ref(k.p.lif, k.p.stdp, k.p.unused_penalty, W, k.n, k.m, k.T, k.x[0].data(),
                             11, true, -1, nullptr),
            0);
  EXPECT_EQ(W, w);
  // A tie in spike counts goes to the earlier first spike: with inhibit_step 0 and the same
  // input, neuron 1 (P = t) spikes at 11, 25; neuron 0 at 6, 15, 24 -> 0 (3 > 2).
  Hand z;
  z.p.lif.graded = true;
  z.p.lif.inhibit_step = 0;
  StdpGuide gz(z.p, z.n, z.m, z.T);
  gz.set_weights(z.weights());
  EXPECT_EQ(gz.run_sample(z.sp, 0, false, -1, tr.data()), 0);
  EXPECT_EQ(gz.spikes_last(), 5);
  LifState s;
  s.reset(2, 0);
  s.first_spike = {9, 4};
  EXPECT_EQ(sample_winner(z.p.lif, s, {2, 2}, -1), 1);  // equal counts: the earlier first spike
  EXPECT_EQ(sample_winner(z.p.lif, s, {0, 0}, -1), -1);
}

// guide.winner = "potential" by hand: row 0 = {3, 0, ...} gives P0 = 2t (mean over 1..30: 31);
// row 1 = {1, 20, ...} gives P1 = 0, 0, then 20 from step 3 on (mean 560 / 30 = 18.67). The
// first crossing (th 11) is neuron 1's, at step 3; the whole presentation favours neuron 0, which
// is then forced: neuron 1 is inhibited at 3 and neuron 0 spikes at 6. A threshold offset of 20
// on neuron 0 (31 - 20 < 18.67) hands the sample to neuron 1.
TEST(StdpGuide, WinnerByWholePresentationPotential) {
  Hand h;
  const std::vector<double> w = {3, 0, 0.5, -1.19, 1, 20, 0.5, 0.3};
  std::vector<double> tr(static_cast<std::size_t>(h.n) * h.T);
  auto P = [&](int j, int t) { return tr[static_cast<std::size_t>(j) * h.T + t - 1]; };
  StdpGuide first(h.p, h.n, h.m, h.T);
  first.set_weights(w);
  EXPECT_EQ(first.run_sample(h.sp, 0, false, -1, tr.data()), 1);
  EXPECT_EQ(P(1, 3), 20.0);
  h.p.winner_by_potential = true;
  StdpGuide g(h.p, h.n, h.m, h.T);
  g.set_weights(w);
  EXPECT_EQ(g.run_sample(h.sp, 0, false, -1, tr.data()), 0);
  EXPECT_EQ(P(1, 3), 20.0);  // crossing step, recorded before the inhibition
  for (int t = 4; t <= h.T; ++t) EXPECT_EQ(P(1, t), -500.0) << t;
  EXPECT_EQ(P(0, 6), 12.0);
  EXPECT_EQ(P(0, 7), 0.0);  // the forced winner spiked at 6
  // Homeostatic offsets enter the score: neuron 0 learns three spikes per sample at theta_plus
  // 20 / 3, decay 1 -> offset 20 after one learning sample (weights frozen).
  h.freeze_weights();
  h.p.theta_plus = 20.0 / 3;
  StdpGuide gt(h.p, h.n, h.m, h.T);
  gt.set_weights(w);
  EXPECT_EQ(gt.run_sample(h.sp, 0, true, -1, nullptr), 0);
  EXPECT_NEAR(gt.theta()[0], 20.0, 1e-12);
  EXPECT_EQ(gt.run_sample(h.sp, 0, false, -1, tr.data()), 1);
}

// guide.normalise_by = "l2": the winner's row is scaled to Euclidean norm normalise x sqrt(m).
// Row 0 = {3, 0, 0.5, -1.19}, norm sqrt(10.6661); normalise 0.5, m = 4 -> norm 1.
TEST(StdpGuide, L2NormalisationScalesTheWinnersRow) {
  Hand h;
  h.freeze_weights();
  h.p.normalise = 0.5;
  h.p.normalise_l2 = true;
  StdpGuide g(h.p, h.n, h.m, h.T);
  g.set_weights(h.weights());
  EXPECT_EQ(g.run_sample(h.sp, 0, true, -1, nullptr), 0);
  const auto w = g.weights();
  const double f = 1.0 / std::sqrt(9 + 0.25 + 1.19 * 1.19);
  EXPECT_DOUBLE_EQ(w[0], 3 * f);
  EXPECT_DOUBLE_EQ(w[2], 0.5 * f);
  EXPECT_DOUBLE_EQ(w[3], -1.19 * f);
  EXPECT_NEAR(w[0] * w[0] + w[2] * w[2] + w[3] * w[3], 1.0, 1e-14);
  EXPECT_EQ(std::vector<double>(w.begin() + 4, w.end()), (std::vector<double>{2, 0, 0.5, 0.3}));
  std::vector<double> W = h.weights();
  guide_sample_ref(h.p.lif, h.p.stdp, 0, W, h.n, h.m, h.T, h.x[0].data(), 11, true, -1, nullptr,
                   nullptr, 0.5, true);
  for (std::size_t q = 0; q < W.size(); ++q) EXPECT_NEAR(w[q], W[q], 1e-15) << q;
}

// guide.labels = "responses": each neuron takes the class with the highest share of its wins
// per class size; a neuron that never won has none.
TEST(StdpGuide, NeuronsLabelledByTheirResponses) {
  // counts[c * n + j], n = 4: neuron 0 wins 6 of class 0 (size 10) and 5 of class 1 (size 5).
  const std::vector<long> counts = {6, 1, 0, 0, 5, 0, 2, 0, 0, 3, 2, 0};
  EXPECT_EQ(label_neurons(counts, {10, 5, 8}, 3, 4), (std::vector<int>{1, 2, 1, -1}));
  // Ties go to the lower class; an empty class is skipped.
  EXPECT_EQ(label_neurons({2, 0, 2, 0}, {4, 4}, 2, 2), (std::vector<int>{0, -1}));
  EXPECT_EQ(label_neurons({2, 0, 2, 0}, {0, 4}, 2, 2), (std::vector<int>{1, -1}));
}

TEST(StdpGuide, AssignmentIsAPermutation) {
  // counts[c*n + j]: class 0 and class 1 both prefer neuron 0; class 0 has more.
  const std::vector<long> counts = {10, 0, 1, 8, 0, 5, 0, 7, 0};
  EXPECT_EQ(assign_classes(counts, 3, 3), (std::vector<int>{0, 2, 1}));
  // A class that never wins takes the free neuron; ties go to the lower class / neuron.
  EXPECT_EQ(assign_classes({4, 4, 0, 0, 0, 0, 0, 0, 0}, 3, 3), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(assign_classes({0, 0, 3, 0, 0, 3}, 2, 3), (std::vector<int>{2, 0}));
  EXPECT_NE(test::error_of([] {
              assign_classes({1, 2}, 2, 1);
            }).find("guide.outputs"),
            std::string::npos);
}

DatasetFile small_synth() {
  SynthOptions o;
  o.height = o.width = 32;
  o.train_per_class = 12;
  o.test_per_class = 6;
  DatasetFile ds;
  ds.kind = "images";
  ds.class_names = synth_class_names(o.classes);
  for (bool test : {false, true}) {
    SynthSplit g = synth_generate(o, test);
    Split s;
    s.name = test ? "test" : "train";
    s.count = g.count;
    s.height = g.height;
    s.width = g.width;
    s.images = g.images;
    s.labels.assign(g.labels.begin(), g.labels.end());
    ds.splits.push_back(std::move(s));
  }
  return ds;
}

TEST(StdpGuide, RunIsDeterministicAndModesAgree) {
  GuideParams p;
  p.epochs = 2;
  DatasetFile a = small_synth(), b = small_synth();
  const GuideResult ra = run_guide(p, a, nullptr), rb = run_guide(p, b, nullptr);
  EXPECT_EQ(ra.weights, rb.weights);
  EXPECT_EQ(ra.assignment, rb.assignment);
  for (int s = 0; s < 2; ++s) {
    EXPECT_EQ(a.splits[s].guide_rows, 3);
    EXPECT_EQ(a.splits[s].guidance.size(), static_cast<std::size_t>(a.splits[s].count) * 3 * 70);
    EXPECT_EQ(a.splits[s].guidance, b.splits[s].guidance);
  }
  // Accuracy = fraction whose winner is the class neuron; the guidance row of the class is that
  // neuron's trace.
  long ok = 0;
  for (int q = 0; q < a.splits[0].count; ++q)
    ok += ra.train_winner[q] == ra.assignment[a.splits[0].labels[q]];
  EXPECT_DOUBLE_EQ(ra.train_accuracy, static_cast<double>(ok) / a.splits[0].count);

  // Teacher: same weights; the class row wins whenever any neuron crossed the threshold.
  GuideParams pt = p;
  pt.mode = "teacher";
  DatasetFile t = small_synth();
  const GuideResult rt = run_guide(pt, t, nullptr);
  EXPECT_EQ(rt.weights, ra.weights);
  const int T = 70;
  for (int q = 0; q < t.splits[0].count; ++q) {
    const double* gq = &t.splits[0].guidance[static_cast<std::size_t>(q) * 3 * T];
    const int c = t.splits[0].labels[q];
    if (ra.train_winner[q] < 0) continue;
    for (int r = 0; r < 3; ++r) {
      if (r != c) {
        EXPECT_EQ(gq[r * T + T - 1], -500.0) << q << " " << r;
      }
    }
    if (ra.train_winner[q] == ra.assignment[c]) {  // natural winner = class: same trace
      for (int k = 0; k < 3 * T; ++k)
        EXPECT_EQ(gq[k], a.splits[0].guidance[static_cast<std::size_t>(q) * 3 * T + k]);
    }
  }

  // Held-out validation and neurons labelled by their responses: the parts count every sample
  // once, the accuracy is the winner's label, and the guidance has one row per class, the trace
  // of the class's neuron that responds most.
  GuideParams pr = p;
  pr.outputs = 6;
  pr.labels = "responses";
  pr.validation = 0.25;
  pr.retries = 4;
  pr.theta_plus = 3;
  pr.theta_decay = 0.9;
  pr.normalise = 0.2;
  DatasetFile rs = small_synth(), rs2 = small_synth();
  const GuideResult rr = run_guide(pr, rs, nullptr);
  EXPECT_EQ(run_guide(pr, rs2, nullptr).weights, rr.weights);  // deterministic
  ASSERT_EQ(rr.parts.size(), 3u);
  EXPECT_EQ(rr.parts[0].name, "train");
  EXPECT_EQ(rr.parts[1].name, "validation");
  EXPECT_EQ(rr.parts[0].samples + rr.parts[1].samples, rs.splits[0].count);
  EXPECT_EQ(rr.parts[1].samples, 9);  // 3 of 12 per class
  EXPECT_EQ(rr.parts[2].samples, rs.splits[1].count);
  long right = 0;
  for (int q = 0; q < rs.splits[1].count; ++q) {
    const int w = rr.test_winner[q];
    right += w >= 0 && rr.label[w] == rs.splits[1].labels[q];
  }
  EXPECT_EQ(right, rr.parts[2].correct);
  EXPECT_DOUBLE_EQ(rr.test_accuracy, static_cast<double>(right) / rs.splits[1].count);
  for (const auto& s : rs.splits) {
    EXPECT_EQ(s.guide_rows, 3);
    EXPECT_EQ(s.guidance.size(), static_cast<std::size_t>(s.count) * 3 * 70);
  }

  // Class-mean: every sample of a class has the same guidance.
  GuideParams pc = p;
  pc.mode = "class-mean";
  DatasetFile cm = small_synth();
  run_guide(pc, cm, nullptr);
  for (const auto& s : cm.splits)
    for (int q = 0; q < s.count; ++q)
      for (int q2 = 0; q2 < s.count; ++q2)
        if (s.labels[q] == s.labels[q2]) {
          for (int k = 0; k < 3 * T; k += 7)
            ASSERT_EQ(s.guidance[static_cast<std::size_t>(q) * 3 * T + k],
                      s.guidance[static_cast<std::size_t>(q2) * 3 * T + k]);
        }
}

TEST(GuideCommand, EndToEndFeedsTraining) {
  test::ScratchDir dir("guide");
  const std::string X = dir.file("x.h5"), G = dir.file("g.h5");
  auto r = test::run_supsnn("synth --output " + X +
                            " --train-per-class 20 --test-per-class 10 --size 32");
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_supsnn("guide --dataset " + X + " --output " + G + " --set guide.epochs=3");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("guide accuracy: train "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(", test "), std::string::npos) << r.output;
  {
    SplitReader tr(G, "train");
    EXPECT_EQ(tr.kind(), "images");
    EXPECT_EQ(tr.header().guide_rows, 3);
    EXPECT_EQ(tr.header().count, 60);
    EXPECT_EQ(SplitReader(G, "test").header().guide_rows, 3);
    auto f = h5::open_file(G);
    auto g = h5::open_group(f, "guide");
    EXPECT_EQ(h5::shape(g, "weights"), (std::vector<hsize_t>{3, 32 * 32}));
    EXPECT_EQ(h5::read<std::int32_t>(g, "assignment").size(), 3u);
    const double acc = h5::attr_double(g, "train_accuracy");
    EXPECT_GE(acc, 0.0);
    EXPECT_LE(acc, 1.0);
    EXPECT_NE(h5::attr_string(g, "config").find("epochs = 3"), std::string::npos);
  }
  r = test::run_supsnn("train --set data.train=" + G +
                           " --set data.guidance=dataset --set train.epochs=1 --run-dir " +
                           dir.file("run"),
                       dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  // A held-out validation part, more outputs than classes labelled by their responses: one
  // guidance row per class, and accuracy with the confusion per part.
  r = test::run_supsnn("guide --dataset " + X + " --output " + dir.file("resp.h5") +
                       " --set guide.epochs=2 --set data.validation=0.2 --set guide.outputs=5 "
                       "--set guide.labels=responses --set guide.retries=2 "
                       "--set guide.theta_plus=2 --set guide.normalise=0.2");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* line : {"guide train: accuracy", "guide validation: accuracy",
                           "guide test: accuracy", ", validation "})
    EXPECT_NE(r.output.find(line), std::string::npos) << line << "\n" << r.output;
  {
    EXPECT_EQ(SplitReader(dir.file("resp.h5"), "train").header().guide_rows, 3);
    auto f = h5::open_file(dir.file("resp.h5"));
    auto g = h5::open_group(f, "guide");
    EXPECT_EQ(h5::shape(g, "weights"), (std::vector<hsize_t>{5, 32 * 32}));
    EXPECT_EQ(h5::read<std::int32_t>(g, "label").size(), 5u);
    EXPECT_EQ(h5::shape(g, "validation_confusion"), (std::vector<hsize_t>{3, 4}));
    long held = 0;
    for (long v : h5::read<std::int64_t>(g, "validation_confusion")) held += v;
    EXPECT_EQ(held, 12);  // 20 % of 20 chips per class
    EXPECT_EQ(h5::attr_string(g, "labels"), "responses");
  }
  // `supsnn report` of the guided dataset draws the weight maps, the per-class guidance traces
  // and the test confusion next to it.
  r = test::run_supsnn("report " + dir.file("resp.h5"));
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* png : {"guide_weights.png", "guide_traces.png", "guide_confusion.png"}) {
    const std::string at = dir.file("resp-figures/") + png;
    ASSERT_TRUE(std::filesystem::exists(at)) << at << "\n" << r.output;
    EXPECT_GT(std::filesystem::file_size(at), 1000u) << at;
  }
  r = test::run_supsnn("report " + X);  // a dataset without a guide group
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("nor a dataset written by supsnn guide"), std::string::npos) << r.output;
  // More classes than outputs: one-line error naming the key.
  r = test::run_supsnn("guide --dataset " + X + " --output " + dir.file("bad.h5") +
                       " --set guide.outputs=2 --set guide.epochs=1");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("guide.outputs"), std::string::npos) << r.output;
}

// The preset: without guide.* keys the stage is the seed's (seed-model.md section 2), every
// added mechanism off.
TEST(StdpGuide, DefaultsAreTheSeedsConstants) {
  const GuideParams p = guide_params(Config());
  EXPECT_EQ(p.epochs, 12);
  EXPECT_EQ(p.outputs, 0);  // one per class
  EXPECT_TRUE(p.adaptive_threshold);
  EXPECT_EQ(p.threshold_divisor, 3.0);
  EXPECT_EQ(p.lif.leak, 5.0);
  EXPECT_EQ(p.lif.t_ref, 20);
  EXPECT_EQ(p.lif.p_rest, 0.0);
  EXPECT_EQ(p.lif.p_reset, 0.0);
  EXPECT_EQ(p.lif.p_inhibit, -500.0);
  EXPECT_EQ(p.stdp.a_plus, 0.8);
  EXPECT_EQ(p.stdp.a_minus, 0.3);
  EXPECT_EQ(p.stdp.tau_plus, 8.0);
  EXPECT_EQ(p.stdp.tau_minus, 5.0);
  EXPECT_EQ(p.stdp.window, 20);
  EXPECT_EQ(p.stdp.sigma, 0.1);
  EXPECT_EQ(p.stdp.w_max, 1.5);
  EXPECT_EQ(p.stdp.w_min, -1.2);
  EXPECT_FALSE(p.stdp.lower_bound);
  EXPECT_EQ(p.init_low, 0.0);
  EXPECT_EQ(p.init_high, 0.4);
  EXPECT_EQ(p.unused_penalty, 0.06);
  EXPECT_EQ(p.raw_steps, 70);
  EXPECT_EQ(p.encoder, "rate");
  EXPECT_TRUE(p.data.receptive_field);
  // The mechanisms of issue #17: off.
  EXPECT_EQ(p.theta_plus, 0.0);
  EXPECT_EQ(p.theta_decay, 1.0);
  EXPECT_EQ(p.normalise, 0.0);
  EXPECT_EQ(p.retries, 0);
  EXPECT_EQ(p.labels, "one-per-class");
  EXPECT_FALSE(p.winner_by_potential);
  EXPECT_FALSE(p.lif.graded);
  EXPECT_EQ(p.mode, "per-sample");
}

// The seed's constants on real chips (soc3_e, prepared from shared/data as a user would): the
// stage wins almost no chip (docs/measurements.md), which is what the added mechanisms change.
TEST(GuideCommand, SeedConstantsOnSoc3eWinAlmostNothing) {
  const std::string chips = test::shared_path("data/mstar/soc3_e");
  ASSERT_FALSE(HasFailure()) << "the soc3_e chips are needed";
  test::ScratchDir dir("guide-seed");
  auto r = test::run_supsnn("prepare --input " + chips + " --output soc3_e.h5", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_supsnn("guide --dataset soc3_e.h5 --output g.h5", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("epoch 12/12: winners 1 1 1, none 695"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("guide accuracy: train 0.0029, test 0.0000 (3 outputs"),
            std::string::npos)
      << r.output;
}

// The seed's pipeline from one config (data.guidance = "stdp"): supsnn train runs the STDP stage
// on the train split first, writes RUN/guided.h5, holds out the run's own validation part in both
// stages, trains the seed-compat bilayer with the Huber loss on those traces and reports test
// accuracy against the true labels. A resumed run reuses the file.
TEST(GuideCommand, PipelineRunsBothStagesFromOneConfig) {
  test::ScratchDir dir("pipeline");
  const std::string X = dir.file("x.h5"), run = dir.file("run");
  auto r = test::run_supsnn("synth --output " + X +
                            " --train-per-class 20 --test-per-class 10 --size 32");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string keys =
      " --set data.train=" + X +
      " --set data.guidance=stdp --set guide.epochs=2 --set guide.outputs=6"
      " --set guide.labels=responses --set guide.winner=potential --set guide.normalise=0.2"
      " --set guide.seed=3 --set train.seed=5 --set data.validation=0.2"
      " --set model.dynamics=seed-compat --set loss.kind=huber --run-dir " +
      run;
  r = test::run_supsnn("train" + keys + " --set train.epochs=2");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* line : {"STDP guidance stage", "guide validation: accuracy",
                           "guide accuracy: train ", "dataset targets", "final test accuracy"})
    EXPECT_NE(r.output.find(line), std::string::npos) << line << "\n" << r.output;
  const std::string G = run + "/guided.h5";
  {
    EXPECT_EQ(SplitReader(G, "train").header().guide_rows, 3);  // responses: one row per class
    EXPECT_EQ(SplitReader(G, "test").header().guide_rows, 3);
    auto f = h5::open_file(G);
    auto g = h5::open_group(f, "guide");
    EXPECT_EQ(h5::shape(g, "weights"), (std::vector<hsize_t>{6, 32 * 32}));
    long held = 0;
    for (long v : h5::read<std::int64_t>(g, "validation_confusion")) held += v;
    EXPECT_EQ(held, 12);  // the run's validation part: 20 % of 20 chips per class
    // The STDP stage's own seed; the held-out part is drawn with the run's seed.
    EXPECT_NE(h5::attr_string(g, "config").find("seed 3, holdout seed 5"), std::string::npos)
        << h5::attr_string(g, "config");
  }
  // Same held-out chips: the training run's validation count equals the guide's.
  EXPECT_NE(r.output.find("validation: 12"), std::string::npos) << r.output;
  // `supsnn inspect` shows the guide group of the file (accuracy per part).
  r = test::run_supsnn("inspect " + G);
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* want : {"\"supsnn-dataset\"", "train/guidance", "guide (supsnn guide",
                           "validation_accuracy", "test_accuracy", "validation_unwon"})
    EXPECT_NE(r.output.find(want), std::string::npos) << want << "\n" << r.output;
  const auto written = std::filesystem::last_write_time(G);
  r = test::run_supsnn("train" + keys + " --set train.epochs=3 --resume auto");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("same settings (resumed run); reused"), std::string::npos) << r.output;
  EXPECT_EQ(std::filesystem::last_write_time(G), written);
  // guide.seed = 0 follows train.seed (so a sweep over train.seed varies the STDP stage too).
  r = test::run_supsnn("guide --dataset " + X + " --output " + dir.file("s0.h5") +
                       " --set guide.epochs=1 --set guide.seed=0 --set train.seed=4");
  ASSERT_EQ(r.status, 0) << r.output;
  {
    auto f = h5::open_file(dir.file("s0.h5"));
    EXPECT_NE(h5::attr_string(h5::open_group(f, "guide"), "config").find("seed 4, holdout seed 4"),
              std::string::npos);
  }
  // guide.encoder: the STDP stage keeps the seed's rate code while the supervised stage reads a
  // latency population code of the same chips; without it the population code is refused.
  const std::string pop = " --set data.train=" + X +
                          " --set data.guidance=stdp --set guide.epochs=1 --set train.epochs=1"
                          " --set data.encoder=latency --set data.population=3"
                          " --set data.receptive_field=false";
  r = test::run_supsnn("train" + pop + " --run-dir " + dir.file("pop0"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("guide.encoder"), std::string::npos) << r.output;
  r = test::run_supsnn("train" + pop + " --set guide.encoder=rate --run-dir " + dir.file("pop"));
  ASSERT_EQ(r.status, 0) << r.output;
  {
    auto f = h5::open_file(dir.file("pop/guided.h5"));
    const std::string text = h5::attr_string(h5::open_group(f, "guide"), "config");
    EXPECT_NE(text.find("encoder = \"rate\"\nraw_steps = 70\nreceptive_field = true"),
              std::string::npos)
        << text;
  }
  // Keys of the STDP stage are checked before the run directory exists.
  r = test::run_supsnn("train --set data.train=" + X +
                       " --set data.guidance=stdp --set guide.winner=potential"
                       " --set guide.inhibition=graded --run-dir " +
                       dir.file("bad"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("guide.inhibition"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad")));
}

}  // namespace
}  // namespace supsnn
