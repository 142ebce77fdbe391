// Convolutional spiking layers (kernels/conv_spike.hpp, model/deep_snn with model.conv): the
// kernels against plain CPU references and central finite differences, the whole forward pass of
// a conv deep SNN against a dense reference, the output-layer gradients against finite
// differences, the convolution's surrogate gradients as a descent direction, and a CLI run.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "io/h5.hpp"
#include "model/conv_plan.hpp"
#include "model/deep_snn.hpp"
#include "test_fixtures.hpp"
#include "test_util.hpp"

namespace supsnn {
namespace {

using test::expect_close;
using test::random_vec;
using test::to_view;
using test::to_view2;

ConvShape shape(int cin, int h, int w, int cout, int k, int st) {
  ConvShape s;
  s.in_channels = cin;
  s.height = h;
  s.width = w;
  s.out_channels = cout;
  s.kernel = k;
  s.stride = st;
  return s;
}

TEST(ConvKernels, ShapesAndPlan) {
  const auto s = shape(2, 9, 7, 3, 3, 2);
  EXPECT_EQ(s.out_height(), 4);
  EXPECT_EQ(s.out_width(), 3);
  EXPECT_EQ(s.outputs(), 36);
  EXPECT_EQ(s.taps(), 18);
  const auto plan = conv_shapes({8, 5, 2, 16, 3, 2}, 64, 64);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].outputs(), 8 * 30 * 30);
  EXPECT_EQ(plan[1].in_channels, 8);
  EXPECT_EQ(plan[1].height, 30);
  EXPECT_EQ(plan[1].outputs(), 16 * 14 * 14);
  EXPECT_THROW(conv_shapes({8, 5}, 64, 64), Error);
  EXPECT_THROW(conv_shapes({8, 65, 1}, 64, 64), Error);
}

TEST(ConvKernels, MatchReferenceForSeveralShapes) {
  for (const auto& cs : {shape(1, 7, 6, 3, 3, 1), shape(2, 9, 8, 3, 3, 2), shape(3, 6, 6, 2, 2, 3),
                         shape(1, 5, 5, 1, 5, 1)}) {
    const int B = 2, Tt = 5;
    const auto X = random_vec(B * cs.inputs() * Tt, -1, 1, 1, 6),
               W = random_vec(cs.out_channels * cs.taps(), -1, 1, 2, 6),
               dY = random_vec(B * cs.outputs() * Tt, -1, 1, 3, 6);
    View3<double> Y("Y", B, cs.outputs(), Tt), dX("dX", B, cs.inputs(), Tt);
    View2<double> dW("dW", cs.out_channels, cs.taps());
    const auto Wv = to_view2(W, cs.out_channels, cs.taps());
    conv_forward<double>(cs, to_view(X, B, cs.inputs(), Tt), Wv, Y);
    conv_backward_weights<double>(cs, to_view(dY, B, cs.outputs(), Tt),
                                  to_view(X, B, cs.inputs(), Tt), dW);
    conv_backward_input<double>(cs, Wv, to_view(dY, B, cs.outputs(), Tt), dX);
    std::vector<double> Yr(B * cs.outputs() * Tt), dWr(W.size()), dXr(X.size());
    conv_forward_ref(cs, B, Tt, X.data(), W.data(), Yr.data());
    conv_backward_ref(cs, B, Tt, X.data(), W.data(), dY.data(), dWr.data(), dXr.data());
    expect_close(test::to_host(Y), Yr, 1e-12, "Y");
    expect_close(test::to_host(dW), dWr, 1e-12, "dW");
    expect_close(test::to_host(dX), dXr, 1e-12, "dX");
  }
  // Hand case: a 1-channel 3 x 3 ramp, a 2 x 2 kernel of ones, stride 1: sums of 2 x 2 blocks.
  const auto cs = shape(1, 3, 3, 1, 2, 1);
  View3<double> X("X", 1, 9, 1), Y("Y", 1, 4, 1);
  View2<double> W("W", 1, 4);
  auto hx = Kokkos::create_mirror_view(X);
  for (int i = 0; i < 9; ++i) hx(0, i, 0) = i;
  Kokkos::deep_copy(X, hx);
  Kokkos::deep_copy(W, 1.0);
  conv_forward<double>(cs, X, W, Y);
  EXPECT_EQ(test::to_host(Y), (std::vector<double>{8, 12, 20, 24}));
}

// L = sum dY * conv(X, W): the kernel gradients equal central finite differences of L.
TEST(ConvKernels, GradientsEqualFiniteDifferences) {
  const auto cs = shape(2, 7, 6, 3, 3, 2);
  const int B = 2, Tt = 3;
  auto X = random_vec(B * cs.inputs() * Tt, -1, 1, 4, 6),
       W = random_vec(cs.out_channels * cs.taps(), -1, 1, 5, 6);
  const auto dY = random_vec(B * cs.outputs() * Tt, -1, 1, 6, 6);
  auto loss = [&] {
    std::vector<double> Y(dY.size());
    conv_forward_ref(cs, B, Tt, X.data(), W.data(), Y.data());
    double l = 0;
    for (std::size_t q = 0; q < Y.size(); ++q) l += dY[q] * Y[q];
    return l;
  };
  View3<double> dX("dX", B, cs.inputs(), Tt);
  View2<double> dW("dW", cs.out_channels, cs.taps());
  conv_backward_weights<double>(cs, to_view(dY, B, cs.outputs(), Tt),
                                to_view(X, B, cs.inputs(), Tt), dW);
  conv_backward_input<double>(cs, to_view2(W, cs.out_channels, cs.taps()),
                              to_view(dY, B, cs.outputs(), Tt), dX);
  const auto gW = test::to_host(dW), gX = test::to_host(dX);
  const double h = 1e-5;
  for (auto [v, g, what] : {std::tuple{&W, &gW, "dW"}, std::tuple{&X, &gX, "dX"}}) {
    for (std::size_t q = 0; q < v->size(); ++q) {
      const double v0 = (*v)[q];
      (*v)[q] = v0 + h;
      const double lp = loss();
      (*v)[q] = v0 - h;
      const double lm = loss();
      (*v)[q] = v0;
      ASSERT_NEAR((*g)[q], (lp - lm) / (2 * h), 1e-7) << what << " " << q;
    }
  }
  // Inputs that no output reads (right edge with stride 2: column 5 of 6) get no gradient.
  for (int b = 0; b < B; ++b)
    for (int y = 0; y < 7; ++y)
      for (int t = 0; t < Tt; ++t) EXPECT_EQ(gX[(b * cs.inputs() + y * 6 + 5) * Tt + t], 0.0);
}

TEST(ConvKernels, EventsToDense) {
  const Split split = test::random_split(3, 4, 5, 6, 3, 0.3, 11);
  const std::vector<int> idx{0, 1, 2};
  BatchBuilder<double> bb;
  bb.build(split, idx);
  View3<double> X("X", 3, 20, 7);
  events_to_dense<double>(bb.events(), X);
  const auto want = test::dense_spikes<double>(split, idx);
  EXPECT_EQ(test::to_host(X), want);
}

TEST(ConvKernels, EventFormsEqualTheDenseForms) {
  for (const auto& cs :
       {shape(1, 7, 6, 3, 3, 1), shape(1, 9, 8, 4, 3, 2), shape(1, 8, 8, 2, 2, 3)}) {
    const int B = 3, T = 6;
    const Split split = test::random_split(B, cs.height, cs.width, T, 3, 0.3, 12);
    const std::vector<int> idx{0, 1, 2};
    BatchBuilder<double> bb;
    bb.build(split, idx);
    const auto W = random_vec(cs.out_channels * cs.taps(), -1, 1, 13, 6);
    const auto dY = random_vec(B * cs.outputs() * (T + 1), -1, 1, 14, 6);
    const auto X = test::dense_spikes<double>(split, idx);
    View3<double> Y("Y", B, cs.outputs(), T + 1);
    View2<double> dW("dW", cs.out_channels, cs.taps());
    conv_event_forward<double>(cs, bb.events(), to_view2(W, cs.out_channels, cs.taps()), Y);
    conv_event_backward_weights<double>(cs, bb.events(), to_view(dY, B, cs.outputs(), T + 1), dW);
    std::vector<double> Yr(dY.size()), dWr(W.size()), dXr(X.size());
    conv_forward_ref(cs, B, T + 1, X.data(), W.data(), Yr.data());
    conv_backward_ref(cs, B, T + 1, X.data(), W.data(), dY.data(), dWr.data(), dXr.data());
    expect_close(test::to_host(Y), Yr, 1e-12, "Y");
    expect_close(test::to_host(dW), dWr, 1e-12, "dW");
  }
}

// 6 x 6 inputs -> conv (3 channels, 3 x 3, stride 1: 3 x 4 x 4) -> conv (2 channels, 2 x 2,
// stride 2: 2 x 2 x 2) -> dense 5 -> 3 integrator outputs. Pooled variant: 8 x 8 inputs -> conv
// (3 channels, 3 x 3, stride 1: 3 x 6 x 6, sum-pooled by 2: 3 x 3 x 3) -> conv (2 channels,
// 2 x 2, stride 1: 2 x 2 x 2) -> dense 5 -> 3.
struct ConvNet {
  static constexpr int T = 8, steps = 13, n = 3, B = 5;
  int H, Wd;
  Split split;
  std::vector<int> idx{0, 1, 2, 3, 4};
  BatchBuilder<double> bb;
  std::vector<ConvShape> conv;
  DeepSnn<double> model;
  LossParams lp;
  explicit ConvNet(double threshold, bool pooled = false, double init = 1.5)
      : H(pooled ? 8 : 6),
        Wd(H),
        split(test::random_split(B, H, Wd, T, n, 0.4, 31)),
        conv(pooled ? conv_shapes({3, 3, 1, 2, 2, 1}, H, Wd, {2, 1})
                    : conv_shapes({3, 3, 1, 2, 2, 2}, H, Wd)),
        model(sizes(), TimeGrid{T, steps}, out_neuron(), hidden_p(threshold), conv) {
    bb.build(split, idx);
    model.init_scaled(9, init);
    lp.kind = LossKind::CrossEntropy;
    lp.temperature = 0.5;
  }
  std::vector<int> sizes() const { return {H * Wd, conv[0].outputs(), conv[1].outputs(), 5, n}; }
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

TEST(ConvKernels, SumPoolMatchesReferenceAndIsTheTranspose) {
  PoolShape ps;
  ps.channels = 2;
  ps.height = 7;
  ps.width = 6;
  ps.pool = 3;  // 2 x 2 blocks; row 6 is dropped
  const int B = 2, Tt = 4;
  const auto X = random_vec(B * ps.inputs() * Tt, -1, 1, 21, 6),
             dP = random_vec(B * ps.outputs() * Tt, -1, 1, 22, 6);
  View3<double> P("P", B, ps.outputs(), Tt), dX("dX", B, ps.inputs(), Tt);
  sum_pool_forward<double>(ps, to_view(X, B, ps.inputs(), Tt), P);
  sum_pool_backward<double>(ps, to_view(dP, B, ps.outputs(), Tt), dX);
  std::vector<double> Pr(dP.size());
  sum_pool_forward_ref(ps, B, Tt, X.data(), Pr.data());
  const auto Ph = test::to_host(P), dXh = test::to_host(dX);
  expect_close(Ph, Pr, 1e-12, "P");
  double lhs = 0, rhs = 0;  // <pool(X), dP> = <X, pool^T(dP)>
  for (std::size_t q = 0; q < Ph.size(); ++q) lhs += Ph[q] * dP[q];
  for (std::size_t q = 0; q < X.size(); ++q) rhs += X[q] * dXh[q];
  EXPECT_NEAR(lhs, rhs, 1e-10);
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < 2; ++c)
      for (int x = 0; x < 6; ++x)
        for (int t = 0; t < Tt; ++t)
          EXPECT_EQ(dXh[((b * 2 + c) * 42 + 6 * 6 + x) * Tt + t], 0.0) << "dropped row";
}

TEST(ConvSnn, LayoutAndForwardMatchDenseReference) {
  ConvNet plain(0.5);
  EXPECT_EQ(plain.model.layers(), 4);
  EXPECT_EQ(plain.model.conv_layers(), 2);
  EXPECT_EQ(plain.model.shape(0), (std::pair<int, int>{3, 9}));
  EXPECT_EQ(plain.model.shape(1), (std::pair<int, int>{2, 12}));
  EXPECT_EQ(plain.model.shape(2), (std::pair<int, int>{5, 8}));
  EXPECT_EQ(plain.model.params().extent(0), 27u + 24u + 40u + 15u);
  ConvNet pooled(0.5, true);
  EXPECT_EQ(pooled.model.sizes(), (std::vector<int>{64, 108, 8, 5, 3}));
  EXPECT_EQ(pooled.model.in_size(1), 27);
  EXPECT_EQ(pooled.model.shape(1), (std::pair<int, int>{2, 12}));
  for (ConvNet* netp : {&plain, &pooled}) {
    ConvNet& net = *netp;
    net.model.forward(net.bb.events());
    const int B = ConvNet::B, T1 = ConvNet::T + 1, S1 = ConvNet::steps + 1;
    const TimeGrid grid{ConvNet::T, ConvNet::steps};
    const auto x = test::dense_spikes<double>(net.split, net.idx);
    const auto w = net.model.weights_host();
    const auto& sz = net.model.sizes();
    std::vector<double> c(B * sz[1] * T1), I(B * sz[1] * S1);
    conv_forward_ref(net.conv[0], B, T1, x.data(), w.data(), c.data());
    interp_time_ref(grid, c.data(), B * sz[1], I.data());
    for (int l = 1; l + 1 < static_cast<int>(sz.size()); ++l) {
      std::vector<double> V(I.size()), S(I.size()), next(B * sz[l + 1] * S1);
      hidden_lif_forward_ref(net.model.hidden(), B, sz[l], S1, I.data(), V.data(), S.data());
      expect_close(net.model.spikes_host(l - 1), S, 0, "hidden spikes");
      double count = 0;
      for (double s : S) count += s;
      EXPECT_GT(count, 0.03 * S.size()) << "layer " << l << " must spike";
      EXPECT_LT(count, 0.7 * S.size()) << "layer " << l << " must not spike everywhere";
      std::vector<double> src = S;  // what the next layer reads
      if (l - 1 < net.model.conv_layers() && net.conv[l - 1].pool > 1) {
        src.assign(B * net.conv[l - 1].pooled_outputs() * S1, 0);
        sum_pool_forward_ref(net.conv[l - 1].pool_shape(), B, S1, S.data(), src.data());
      }
      if (l < net.model.conv_layers())
        conv_forward_ref(net.conv[l], B, S1, src.data(), w.data() + net.model.offset(l),
                         next.data());
      else
        spike_current_forward_ref(B, sz[l + 1], net.model.in_size(l), S1,
                                  w.data() + net.model.offset(l), src.data(), next.data());
      I = next;
    }
    std::vector<double> P(B * ConvNet::n * S1);
    for (int r = 0; r < B * ConvNet::n; ++r) {
      double p = 0;
      P[r * S1] = 0;
      for (int s = 1; s < S1; ++s) P[r * S1 + s] = p = p + I[r * S1 + s] - 0.01;
    }
    expect_close(net.model.potentials_host(), P, 1e-10, "output potentials");
  }
}

TEST(ConvSnn, OutputLayerGradientsEqualFiniteDifferences) {
  ConvNet net(0.5);
  const int nonzero = test::expect_gradients_match_finite_differences(
      net.model, net.bb.events(), [&] { return net.loss(); },
      net.model.offset(net.model.layers() - 1));
  EXPECT_GT(nonzero, 8);
}

// The convolution weights get surrogate gradients (not exact ones); a step along them lowers
// the loss and a step against them raises it.
TEST(ConvSnn, ConvGradientsAreADescentDirection) {
  for (bool pooled : {false, true}) {
    ConvNet net(0.5, pooled);
    const double L0 = net.loss();
    net.model.backward(net.bb.events());
    const auto g = test::to_host(net.model.grads());
    const auto w = net.model.weights_host();
    for (int l = 0; l < net.model.conv_layers(); ++l) {
      const auto [rows, cols] = net.model.shape(l);
      int nonzero = 0;
      for (std::size_t q = net.model.offset(l); q < net.model.offset(l) + rows * cols; ++q)
        nonzero += g[q] != 0;
      EXPECT_GT(nonzero, rows * cols / 2) << "conv layer " << l;
    }
    // Move only the convolution weights along -grad and +grad.
    const std::size_t end = net.model.offset(net.model.conv_layers());
    const auto [down, up] =
        test::descent_counts(net.model, w, g, end, L0, [&] { return net.loss(); });
    EXPECT_GE(down, 3) << "L0 " << L0 << (pooled ? " pooled" : "");
    EXPECT_GE(up, 3) << "L0 " << L0 << (pooled ? " pooled" : "");
  }
}

TEST(ConvSnn, TrainsEndToEndThroughTheCli) {
  test::ScratchDir dir("conv");
  auto r = test::run_supsnn("synth --output X.h5 --train-per-class 8 --test-per-class 4 --size 32",
                            dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_supsnn(
      "train --set data.train=X.h5 --set data.pool=2 --set model.conv=[4,5,2] "
      "--set loss.kind=\\\"cross-entropy\\\" --set train.epochs=2 --set train.batch_size=4 "
      "--run-dir run",
      dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("deep SNN: 256 -> 144 -> 3"), std::string::npos) << r.output;
  auto f = h5::open_file(dir.file("run/model.h5"));
  EXPECT_EQ(h5::shape(f, "W1"), (std::vector<hsize_t>{4, 25}));
  EXPECT_EQ(h5::shape(f, "W2"), (std::vector<hsize_t>{3, 144}));
  r = test::run_supsnn(
      "train --set data.train=X.h5 --set data.pool=2 --set model.conv=[4,5,1] "
      "--set model.conv_pool=[4] --set model.hidden=[6] --set train.epochs=1 --run-dir pooled",
      dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("deep SNN: 256 -> 576 -> 6 -> 3"), std::string::npos) << r.output;
  auto g = h5::open_file(dir.file("pooled/model.h5"));
  EXPECT_EQ(h5::shape(g, "W2"), (std::vector<hsize_t>{6, 4 * 3 * 3}));
  r = test::run_supsnn("train --set data.train=X.h5 --set model.conv=[4,40,1] --run-dir bad",
                       dir.str());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("model.conv: layer 1 has kernel 40"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace supsnn
