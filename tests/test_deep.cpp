// Deep SNN (model/deep_snn.hpp, kernels/hidden_lif.hpp): each new kernel against a plain CPU
// reference, the whole forward pass against a dense reference, the threshold extremes, the
// output-layer BPTT gradients against finite differences, the hidden-layer surrogate gradients
// as a descent direction, and end-to-end training through the CLI.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "io/h5.hpp"
#include "model/deep_snn.hpp"
#include "test_fixtures.hpp"
#include "test_util.hpp"

namespace supsnn {
namespace {

using test::expect_close;
using test::random_vec;
using test::to_view;
using test::to_view2;

TEST(DeepKernels, InterpBackwardMatchesReferenceAndIsTheTranspose) {
  const TimeGrid grid{7, 17};
  const int B = 2, R = 3, T1 = 8, S1 = 18;
  const auto dI = random_vec(B * R * S1, -1, 1, 1, 5), x = random_vec(B * R * T1, -1, 1, 2, 5);
  View3<double> d("d", B, R, T1), y("y", B, R, S1);
  interp_time_backward<double>(grid, to_view(dI, B, R, S1), d);
  std::vector<double> ref(B * R * T1);
  interp_time_backward_ref(grid, dI.data(), B * R, ref.data());
  const auto got = test::to_host(d);
  expect_close(got, ref, 1e-12, "interp_time_backward");
  // <interp(x), dI> = <x, interp^T(dI)>
  interp_time<double>(grid, to_view(x, B, R, T1), y);
  const auto yh = test::to_host(y);
  double lhs = 0, rhs = 0;
  for (std::size_t i = 0; i < yh.size(); ++i) lhs += yh[i] * dI[i];
  for (std::size_t i = 0; i < x.size(); ++i) rhs += x[i] * got[i];
  EXPECT_NEAR(lhs, rhs, 1e-10);
}

TEST(DeepKernels, HiddenLifMatchesReference) {
  const int B = 3, h = 5, S1 = 40;
  HiddenParams p;
  p.threshold = 0.7;
  p.leak = 0.02;
  p.width = 0.3;
  for (Surrogate sg : {Surrogate::FastSigmoid, Surrogate::Arctan, Surrogate::Triangle}) {
    p.surrogate = sg;
    const auto I = random_vec(B * h * S1, -0.2, 0.5, 3, 5),
               dS = random_vec(B * h * S1, -1, 1, 4, 5);
    View3<double> V("V", B, h, S1), S("S", B, h, S1), dI("dI", B, h, S1);
    SpikeBits bits("bits", B, h, spike_words(S1));  // S1 = 40: two words, the second partial
    hidden_lif_forward<double>(p, to_view(I, B, h, S1), V, bits);
    hidden_lif_backward<double>(p, V, bits, to_view(dS, B, h, S1), dI);
    unpack_spikes<double>(bits, S);
    std::vector<double> Vr(I.size()), Sr(I.size()), dIr(I.size());
    hidden_lif_forward_ref(p, B, h, S1, I.data(), Vr.data(), Sr.data());
    hidden_lif_backward_ref(p, B, h, S1, Vr.data(), Sr.data(), dS.data(), dIr.data());
    expect_close(test::to_host(V), Vr, 1e-12, "V");
    expect_close(test::to_host(S), Sr, 0, "S");
    expect_close(test::to_host(dI), dIr, 1e-12, "dI");
    double spikes = 0;
    for (double s : Sr) spikes += s;
    EXPECT_GT(spikes, 10) << "the case must spike";
    EXPECT_LT(spikes, 0.5 * B * h * S1) << "the case must also integrate";
  }
  // Hand case: constant current 0.3, threshold 0.7, no leak: spikes at points 3, 6, 9, ...
  HiddenParams q;
  q.threshold = 0.7;
  View3<double> I("I", 1, 1, 10), V("V", 1, 1, 10), S("S", 1, 1, 10);
  SpikeBits bits("bits", 1, 1, 1);
  Kokkos::deep_copy(I, 0.3);
  hidden_lif_forward<double>(q, I, V, bits);
  // One word: bits 3, 6, 9 set and nothing else (point 0 and the unused bits stay clear).
  EXPECT_EQ(test::to_host(bits)[0], double((1u << 3) | (1u << 6) | (1u << 9)));
  unpack_spikes<double>(bits, S);
  const auto sh = test::to_host(S), vh = test::to_host(V);
  for (int s = 0; s < 10; ++s) EXPECT_EQ(sh[s], (s > 0 && s % 3 == 0) ? 1.0 : 0.0) << s;
  EXPECT_NEAR(vh[3], 0.9, 1e-12);
  EXPECT_NEAR(vh[4], 0.3, 1e-12);  // reset to 0 after the spike
}

TEST(DeepKernels, SpikeCurrentMatchesReference) {
  const int B = 2, n = 4, h = 6, S1 = 37;  // two words of spike bits
  const auto W = random_vec(n * h, -1, 1, 6, 5), dI = random_vec(B * n * S1, -1, 1, 7, 5);
  std::vector<double> S = random_vec(B * h * S1, 0, 1, 8, 5);
  for (double& s : S) s = s < 0.4 ? 1 : 0;
  const auto Wv = to_view2(W, n, h);
  View3<double> I("I", B, n, S1), dS("dS", B, h, S1);
  View2<double> dW("dW", n, h);
  spike_current_forward<double>(Wv, to_view(S, B, h, S1), I);
  spike_current_backward_weights<double>(to_view(dI, B, n, S1), to_view(S, B, h, S1), dW);
  spike_current_backward_input<double>(Wv, to_view(dI, B, n, S1), dS);
  std::vector<double> Ir(B * n * S1), dWr(n * h), dSr(B * h * S1);
  spike_current_forward_ref(B, n, h, S1, W.data(), S.data(), Ir.data());
  spike_current_backward_ref(B, n, h, S1, W.data(), S.data(), dI.data(), dWr.data(), dSr.data());
  expect_close(test::to_host(I), Ir, 1e-12, "I");
  expect_close(test::to_host(dW), dWr, 1e-12, "dW");
  expect_close(test::to_host(dS), dSr, 1e-12, "dS");
  // From bit-packed spikes: the same sums bit for bit.
  SpikeBits bits("bits", B, h, spike_words(S1));
  auto hb = Kokkos::create_mirror_view(bits);
  for (int r = 0; r < B * h; ++r)
    for (int s = 0; s < S1; ++s)
      if (S[r * S1 + s] != 0) hb(r / h, r % h, s >> 5) |= 1u << (s & 31);
  Kokkos::deep_copy(bits, hb);
  View3<double> Ib("Ib", B, n, S1);
  View2<double> dWb("dWb", n, h);
  spike_current_forward<double>(Wv, bits, Ib);
  spike_current_backward_weights<double>(to_view(dI, B, n, S1), bits, dWb);
  EXPECT_EQ(test::to_host(Ib), test::to_host(I));
  EXPECT_EQ(test::to_host(dWb), test::to_host(dW));
}

// A small deep net: 4x4 inputs -> hidden {12, 8} -> 3 integrator outputs.
struct Net {
  static constexpr int H = 4, Wd = 4, T = 8, steps = 13, n = 3, B = 6;
  Split split = test::random_split(B, H, Wd, T, n, 0.4, 21);
  std::vector<int> idx{0, 1, 2, 3, 4, 5};
  BatchBuilder<double> bb;
  DeepSnn<double> model;
  LossParams lp;
  explicit Net(double threshold, std::vector<int> hidden = {12, 8}, double init = 1.5)
      : model(sizes(hidden), TimeGrid{T, steps}, out_neuron(), hidden_p(threshold)) {
    bb.build(split, idx);
    model.init_scaled(9, init);
    lp.kind = LossKind::CrossEntropy;
    lp.temperature = 0.5;
  }
  static std::vector<int> sizes(std::vector<int> hidden) {
    hidden.insert(hidden.begin(), H * Wd);
    hidden.push_back(n);
    return hidden;
  }
  static NeuronParams out_neuron() {
    NeuronParams p;
    p.leak = 0.01;
    return p;
  }
  static HiddenParams hidden_p(double th) {
    HiddenParams p;
    p.threshold = th;
    p.leak = 0.01;
    p.width = 0.5;
    return p;
  }
  double loss() {
    model.forward(bb.events());
    double sum = 0;
    for (double l : model.loss(bb.guidance_raw(), bb.labels(), lp, 1.0 / B)) sum += l;
    return sum / B;
  }
};

TEST(DeepSnn, ForwardMatchesDenseReference) {
  Net net(0.6);
  net.model.forward(net.bb.events());
  const int B = Net::B, m = Net::H * Net::Wd, T1 = Net::T + 1, S1 = Net::steps + 1;
  const TimeGrid grid{Net::T, Net::steps};
  const auto x = test::dense_spikes<double>(net.split, net.idx);
  const auto w = net.model.weights_host();
  // Layer 1: dense current on the raw grid, interpolated; then hidden LIF and dense spike currents.
  const auto& sz = net.model.sizes();
  std::vector<double> c(B * sz[1] * T1), I(B * sz[1] * S1);
  event_current_forward_ref(B, sz[1], m, T1, w.data(), x.data(), c.data());
  interp_time_ref(grid, c.data(), B * sz[1], I.data());
  for (int l = 1; l + 1 < static_cast<int>(sz.size()); ++l) {
    std::vector<double> V(I.size()), S(I.size()), next(B * sz[l + 1] * S1);
    hidden_lif_forward_ref(net.model.hidden(), B, sz[l], S1, I.data(), V.data(), S.data());
    expect_close(net.model.spikes_host(l - 1), S, 0, "hidden spikes");
    double count = 0;
    for (double s : S) count += s;
    EXPECT_GT(count, 0.05 * S.size()) << "layer " << l << " must spike";
    EXPECT_LT(count, 0.6 * S.size()) << "layer " << l << " must not spike everywhere";
    spike_current_forward_ref(B, sz[l + 1], sz[l], S1, w.data() + net.model.offset(l), S.data(),
                              next.data());
    I = next;
  }
  std::vector<double> P(B * Net::n * S1);
  for (int r = 0; r < B * Net::n; ++r) {
    double p = 0;
    P[r * S1] = 0;
    for (int s = 1; s < S1; ++s) P[r * S1 + s] = p = p + I[r * S1 + s] - 0.01;
  }
  expect_close(net.model.potentials_host(), P, 1e-10, "output potentials");
}

TEST(DeepSnn, SilentHiddenLayersGiveConstantOutputs) {
  Net net(1e9);
  net.model.forward(net.bb.events());
  const auto P = net.model.potentials_host();
  const int S1 = Net::steps + 1;
  for (std::size_t q = 0; q < P.size(); ++q)
    ASSERT_NEAR(P[q], -0.01 * static_cast<double>(q % S1), 1e-12) << q;
  net.loss();
  net.model.backward(net.bb.events());
  const auto g = test::to_host(net.model.grads());
  for (std::size_t q = net.model.offset(1); q < g.size(); ++q)
    ASSERT_EQ(g[q], 0.0) << "no spike, no gradient";
  // Threshold 0+: every neuron with a positive potential spikes, so the outputs depend on the
  // input.
  Net hot(1e-9);
  hot.model.forward(hot.bb.events());
  const auto Q = hot.model.potentials_host();
  double spread = 0;
  for (std::size_t q = 0; q < Q.size(); ++q)
    spread = std::max(spread, std::fabs(Q[q] + 0.01 * (q % S1)));
  EXPECT_GT(spread, 1.0);
  const auto rates = hot.model.spike_rates();
  EXPECT_GT(rates[0], 2.0);
}

TEST(DeepSnn, OutputLayerGradientsEqualFiniteDifferences) {
  for (LossKind kind : {LossKind::CrossEntropy, LossKind::Huber}) {
    Net net(0.6);
    net.lp.kind = kind;
    net.lp.delta = 5.0;
    const int nonzero = test::expect_gradients_match_finite_differences(
        net.model, net.bb.events(), [&] { return net.loss(); },
        net.model.offset(net.model.layers() - 1));
    EXPECT_GT(nonzero, 12);
  }
}

TEST(DeepSnn, HiddenGradientsAreADescentDirection) {
  Net net(0.6);
  const double L0 = net.loss();
  net.model.backward(net.bb.events());
  const auto g = test::to_host(net.model.grads());
  const auto w = net.model.weights_host();
  const std::size_t out0 = net.model.offset(net.model.layers() - 1);
  for (int l = 0; l + 1 < net.model.layers(); ++l) {
    const auto [rows, cols] = net.model.shape(l);
    int nonzero = 0;
    for (std::size_t q = net.model.offset(l); q < net.model.offset(l) + rows * cols; ++q)
      nonzero += g[q] != 0;
    EXPECT_GT(nonzero, rows * cols / 4) << "hidden layer " << l;
  }
  // Move only the hidden weights along -grad and +grad (output weights fixed).
  const auto [down, up] =
      test::descent_counts(net.model, w, g, out0, L0, [&] { return net.loss(); });
  EXPECT_GE(down, 3) << "L0 " << L0;
  EXPECT_GE(up, 3) << "L0 " << L0;
}

TEST(DeepSnn, TrainsEndToEndThroughTheCli) {
  test::ScratchDir dir("deep");
  auto r = test::run_supsnn("synth --output X.h5 --train-per-class 10 --test-per-class 5 --size 32",
                            dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_supsnn(
      "train --set data.train=X.h5 --set model.hidden=[16] --set loss.kind=\\\"cross-entropy\\\" "
      "--set train.epochs=2 --run-dir run",
      dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("deep SNN: 1024 -> 16 -> 3"), std::string::npos) << r.output;
  auto f = h5::open_file(dir.file("run/model.h5"));
  EXPECT_EQ(h5::shape(f, "W1"), (std::vector<hsize_t>{16, 1024}));
  EXPECT_EQ(h5::shape(f, "W2"), (std::vector<hsize_t>{3, 16}));
  EXPECT_FALSE(h5::exists(f, "W"));
  const auto w2 = h5::read<double>(f, "W2");
  double norm = 0;
  for (double v : w2) norm += std::fabs(v);
  EXPECT_GT(norm, 0);
  EXPECT_TRUE(std::filesystem::exists(dir.file("run/metrics.csv")));
}

}  // namespace
}  // namespace supsnn
