// Output-layer lif / lif-wta dynamics: exact event logic on hand-made currents (threshold
// crossing, reset value, refractory count, inhibition timing), the surrogate backward step,
// agreement with the integrator below threshold, and BPTT = finite differences there.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/lif_output.hpp"
#include "kernels/seed_integrate.hpp"
#include "model/seed_bilayer.hpp"
#include "test_fixtures.hpp"

namespace supsnn {
namespace {

// Runs lif_forward on a constant-per-neuron current with steps == raw steps (no interpolation).
struct LifRun {
  std::vector<double> P, V;
  std::vector<int> state;
  int S1;
  double at(const std::vector<double>& x, int j, int s) const { return x[j * S1 + s]; }
  int st(int j, int s) const { return state[j * S1 + s]; }
};

LifRun run_lif(const NeuronParams& p, const std::vector<std::vector<double>>& current, int T) {
  const int n = static_cast<int>(current.size());
  const TimeGrid grid{T, T};
  View3<double> c("c", 1, n, T + 1), P("P", 1, n, T + 1), V("V", 1, n, T + 1);
  View3<unsigned char> state("state", 1, n, T + 1);
  View2<double> psum("psum", 1, n);
  auto h = Kokkos::create_mirror_view(c);
  for (int j = 0; j < n; ++j)
    for (int k = 0; k <= T; ++k) h(0, j, k) = current[j][k];
  Kokkos::deep_copy(c, h);
  lif_forward<double>(grid, p, c, P, V, state, psum);
  LifRun r;
  r.S1 = T + 1;
  r.P = test::to_host(P);
  r.V = test::to_host(V);
  auto hs = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), state);
  for (int j = 0; j < n; ++j)
    for (int s = 0; s <= T; ++s) r.state.push_back(hs(0, j, s));
  return r;
}

NeuronParams lif_params(Dynamics d) {
  NeuronParams p;
  p.dynamics = d;
  p.leak = 1.0;
  p.threshold = 20.0;
  p.reset = 0.0;
  p.refractory = 3;
  p.inhibit = -500.0;
  return p;
}

TEST(Lif, ThresholdResetAndRefractoryCount) {
  // Current 6 per point, leak 1: V = 5, 10, 15, 20 -> spike at s = 4, reset to 0, held for
  // s = 5, 6, 7, integrating again from s = 8: 5, 10, 15, 20 -> spike at s = 11.
  const int T = 14;
  const LifRun r = run_lif(lif_params(Dynamics::Lif), {std::vector<double>(T + 1, 6.0)}, T);
  EXPECT_EQ(r.at(r.P, 0, 3), 15.0);
  EXPECT_EQ(r.st(0, 4), kSpike);
  EXPECT_EQ(r.at(r.V, 0, 4), 20.0);
  EXPECT_EQ(r.at(r.P, 0, 4), 0.0);
  for (int s = 5; s <= 7; ++s) {
    EXPECT_EQ(r.st(0, s), kHold) << s;
    EXPECT_EQ(r.at(r.P, 0, s), 0.0) << s;
  }
  EXPECT_EQ(r.st(0, 8), kIntegrate);
  EXPECT_EQ(r.at(r.P, 0, 8), 5.0);
  EXPECT_EQ(r.st(0, 11), kSpike);
  EXPECT_EQ(r.at(r.P, 0, 12), 0.0);
  // A non-zero reset value is used as is.
  NeuronParams p = lif_params(Dynamics::Lif);
  p.reset = -7.5;
  const LifRun q = run_lif(p, {std::vector<double>(T + 1, 6.0)}, T);
  EXPECT_EQ(q.at(q.P, 0, 4), -7.5);
  EXPECT_EQ(q.at(q.P, 0, 7), -7.5);
  EXPECT_EQ(q.at(q.P, 0, 8), -7.5 + 5.0);
}

TEST(Lif, WinnerTakeAllInhibitsTheOthersFromTheFirstSpike) {
  const int T = 12;
  // Neuron 1 reaches 20 at s = 2 (11 per point), neuron 0 at s = 4, neuron 2 never.
  const LifRun r = run_lif(lif_params(Dynamics::LifWta),
                           {std::vector<double>(T + 1, 6.0), std::vector<double>(T + 1, 11.0),
                            std::vector<double>(T + 1, 1.5)},
                           T);
  EXPECT_EQ(r.st(1, 2), kSpike);
  EXPECT_EQ(r.at(r.P, 1, 2), 0.0);
  EXPECT_EQ(r.at(r.P, 0, 1), 5.0);  // before the first spike everyone integrates
  for (int s = 2; s <= T; ++s) {
    EXPECT_EQ(r.at(r.P, 0, s), -500.0) << s;
    EXPECT_EQ(r.at(r.P, 2, s), -500.0) << s;
    EXPECT_EQ(r.st(0, s), kInhibited) << s;
  }
  // The winner goes on: held for 3 points, then integrates and spikes again.
  EXPECT_EQ(r.st(1, 5), kHold);
  EXPECT_EQ(r.st(1, 6), kIntegrate);
  EXPECT_EQ(r.at(r.P, 1, 6), 10.0);
  EXPECT_EQ(r.st(1, 7), kSpike);
  // Plain lif: no inhibition, neuron 0 spikes at s = 4.
  const LifRun q = run_lif(lif_params(Dynamics::Lif),
                           {std::vector<double>(T + 1, 6.0), std::vector<double>(T + 1, 11.0)}, T);
  EXPECT_EQ(q.st(0, 4), kSpike);
}

TEST(Lif, SimultaneousCrossingGoesToTheLargerPotential) {
  const int T = 5;
  const LifRun r = run_lif(lif_params(Dynamics::LifWta),
                           {std::vector<double>(T + 1, 21.0), std::vector<double>(T + 1, 25.0)}, T);
  EXPECT_EQ(r.st(1, 1), kSpike);
  EXPECT_EQ(r.st(0, 1), kInhibited);
  EXPECT_EQ(r.at(r.P, 0, 1), -500.0);
}

TEST(Lif, SurrogateBackwardAtASpike) {
  // One spike at s = 4 (V = 20 = threshold); loss gradient 1 at s = 4 only.
  const int T = 6;
  for (Surrogate sg : {Surrogate::FastSigmoid, Surrogate::Arctan, Surrogate::Triangle}) {
    NeuronParams p = lif_params(Dynamics::Lif);
    p.surrogate = sg;
    p.width = 4.0;
    p.reset = 2.0;
    const TimeGrid grid{T, T};
    View3<double> c("c", 1, 1, T + 1), P("P", 1, 1, T + 1), V("V", 1, 1, T + 1),
        dP("dP", 1, 1, T + 1), dc("dc", 1, 1, T + 1);
    View3<unsigned char> state("state", 1, 1, T + 1);
    View2<double> psum("psum", 1, 1);
    Kokkos::deep_copy(c, 6.0);
    lif_forward<double>(grid, p, c, P, V, state, psum);
    auto h = Kokkos::create_mirror_view(dP);
    h(0, 0, 4) = 1.0;
    Kokkos::deep_copy(dP, h);
    lif_backward<double>(grid, p, V, state, dP, dc);
    const auto g = test::to_host(dc);
    // dP(4)/dV(4) = (reset - V) * surrogate(0) = (2 - 20) * 1; it flows to I(1..4) unchanged.
    for (int k = 1; k <= 4; ++k) EXPECT_DOUBLE_EQ(g[k], -18.0) << static_cast<int>(sg);
    EXPECT_EQ(g[5], 0.0);
    EXPECT_EQ(g[0], 0.0);
    EXPECT_DOUBLE_EQ(surrogate_grad(sg, 0.0, 4.0), 1.0);
    EXPECT_LT(surrogate_grad(sg, 3.0, 4.0), 1.0);
    EXPECT_DOUBLE_EQ(surrogate_grad(sg, 3.0, 4.0), surrogate_grad(sg, -3.0, 4.0));
  }
  EXPECT_DOUBLE_EQ(surrogate_grad(Surrogate::Triangle, 5.0, 4.0), 0.0);
}

// Below the threshold lif is the integrator: same potentials, and BPTT equals finite differences.
TEST(Lif, BelowThresholdEqualsIntegratorAndFiniteDifferences) {
  const int n = 3, H = 3, W = 4, T = 6, m = H * W, B = 3;
  const Split s = test::random_split(B, H, W, T, n, 0.35, 5);
  BatchBuilder<double> bb;
  bb.build(s, {0, 1, 2});
  NeuronParams lif = lif_params(Dynamics::LifWta);
  lif.threshold = 1e9;
  lif.leak = 0.05;
  SeedBilayer<double> a(n, m, TimeGrid{T, 13}, lif), b(n, m, TimeGrid{T, 13}, 0.05);
  a.init_uniform(4, -1.0, 1.0);
  b.init_uniform(4, -1.0, 1.0);
  a.forward(bb.events());
  b.forward(bb.events());
  const auto pa = a.potentials_host(), pb = b.potentials_host();
  for (std::size_t i = 0; i < pa.size(); ++i)
    ASSERT_NEAR(pa[i], pb[i], 1e-12 * (1 + std::fabs(pb[i])));

  auto total_loss = [&]() {
    a.forward(bb.events());
    double sum = 0;
    for (double l : a.loss(bb.guidance_raw(), bb.labels(), LossKind::Huber, 1.0, 1.0 / B)) sum += l;
    return sum / B;
  };
  EXPECT_GT(test::expect_gradients_match_finite_differences(a, bb.events(), total_loss), m);
}

}  // namespace
}  // namespace supsnn
