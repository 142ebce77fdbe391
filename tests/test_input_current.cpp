// The dense input path (kernels/dense_current.hpp, KokkosKernels gemm) against the CPU references
// and the event path, the per-batch choice of src/model/input_current.hpp, and both models on
// either path. Runs on the build's default Kokkos backend, float and double.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernels/dense_current.hpp"
#include "kernels/event_current.hpp"
#include "model/deep_snn.hpp"
#include "model/input_current.hpp"
#include "model/seed_bilayer.hpp"
#include "test_fixtures.hpp"
#include "test_util.hpp"

namespace supsnn {
namespace {

template <class Real>
class InputCurrentTest : public ::testing::Test {
 protected:
  // The two paths add the same terms in another order: rounding differences only.
  static double tol() { return sizeof(Real) == 8 ? 1e-12 : 1e-5; }
};
using RealTypes = ::testing::Types<double, float>;
TYPED_TEST_SUITE(InputCurrentTest, RealTypes);

template <class Real>
View2<Real> weights(int n, int m, std::vector<Real>* host) {
  View2<Real> W("W", n, m);
  auto h = Kokkos::create_mirror_view(W);
  host->resize(static_cast<std::size_t>(n) * m);
  for (int q = 0; q < n * m; ++q)
    (*host)[q] = h.data()[q] = static_cast<Real>(uniform01(5, 3, q) - 0.3);
  Kokkos::deep_copy(W, h);
  return W;
}

template <class Real>
View3<Real> upstream(int B, int n, int T1, std::vector<Real>* host) {
  View3<Real> dc("dc", B, n, T1);
  auto h = Kokkos::create_mirror_view(dc);
  host->resize(static_cast<std::size_t>(B) * n * T1);
  for (int q = 0; q < B * n * T1; ++q)
    (*host)[q] = h.data()[q] = static_cast<Real>(uniform01(9, 9, q) - 0.5);
  Kokkos::deep_copy(dc, h);
  return dc;
}

std::vector<double> widen(const std::vector<float>& v) {
  return {v.begin(), v.end()};
}
std::vector<double> widen(const std::vector<double>& v) {
  return v;
}

TYPED_TEST(InputCurrentTest, DenseKernelsMatchReferenceAndLeaveTheBufferZero) {
  using Real = TypeParam;
  for (const int n : {3, 20}) {
    const int B = 4, H = 5, Wd = 7, T = 9, m = H * Wd, T1 = T + 1;
    const Split s = test::random_split(6, H, Wd, T, n, 0.2, 11);
    const std::vector<int> idx = {5, 0, 3, 3};  // a repeated sample on purpose
    BatchBuilder<Real> bb;
    bb.build(s, idx);
    std::vector<Real> Wh, dch;
    const auto W = weights<Real>(n, m, &Wh);
    const auto x = test::dense_spikes<Real>(s, idx);

    // Two samples per buffer fill: samples 0-1, then 2-3 (b0 = 2).
    View1<Real> X("X", 2 * static_cast<std::size_t>(m) * T1);
    View3<Real> c("c", B, n, T1);
    for (int b0 = 0; b0 < B; b0 += 2) {
      densify_events<Real>(bb.events(), b0, 2, X);
      const auto Xh = test::to_host(X);
      const std::vector<double> want(x.begin() + static_cast<std::ptrdiff_t>(b0) * m * T1,
                                     x.begin() + static_cast<std::ptrdiff_t>(b0 + 2) * m * T1);
      EXPECT_EQ(Xh, want) << "densified samples " << b0 << ".." << b0 + 1;
      dense_current_forward<Real>(X, b0, 2, W, c);
      clear_events<Real>(bb.events(), b0, 2, X);
    }
    for (double v : test::to_host(X)) ASSERT_EQ(v, 0) << "clear_events left a spike behind";
    std::vector<Real> cref(static_cast<std::size_t>(B) * n * T1);
    event_current_forward_ref<Real>(B, n, m, T1, Wh.data(), x.data(), cref.data());
    test::expect_close(test::to_host(c), widen(cref), this->tol(), "dense forward");

    const auto dc = upstream<Real>(B, n, T1, &dch);
    View2<Real> dW("dW", n, m);
    for (int b0 = 0; b0 < B; b0 += 2) {
      densify_events<Real>(bb.events(), b0, 2, X);
      dense_current_backward<Real>(X, b0, 2, dc, dW, b0 > 0);
      clear_events<Real>(bb.events(), b0, 2, X);
    }
    std::vector<Real> dWref(static_cast<std::size_t>(n) * m);
    event_current_backward_ref<Real>(B, n, m, T1, dch.data(), x.data(), dWref.data());
    test::expect_close(test::to_host(dW), widen(dWref), this->tol(), "dense backward");
  }
}

TYPED_TEST(InputCurrentTest, PathsAgreeAndChunksGiveTheSameBits) {
  using Real = TypeParam;
  const int n = 5, B = 5, H = 6, Wd = 6, T = 7, m = H * Wd, T1 = T + 1;
  const Split s = test::random_split(B, H, Wd, T, n, 0.3, 4);
  BatchBuilder<Real> bb;
  bb.build(s, {0, 1, 2, 3, 4});
  std::vector<Real> Wh, dch;
  const auto W = weights<Real>(n, m, &Wh);
  const auto dc = upstream<Real>(B, n, T1, &dch);
  auto run = [&](InputPath path, int chunk, bool* dense) {
    InputCurrent<Real> ic;
    InputPathOptions o;
    o.path = path;
    o.dense_chunk = chunk;
    ic.set_options(o);
    View3<Real> c("c", B, n, T1);
    View2<Real> dW("dW", n, m);
    ic.forward(bb.events(), W, c);
    *dense = ic.last_dense();
    ic.backward(bb.events(), dc, dW);
    return std::make_pair(test::to_host(c), test::to_host(dW));
  };
  bool dense = false;
  const auto events = run(InputPath::Events, 0, &dense);
  EXPECT_FALSE(dense);
  const auto whole = run(InputPath::Dense, 0, &dense);
  EXPECT_TRUE(dense);
  test::expect_close(whole.first, events.first, this->tol(), "current, dense vs events");
  test::expect_close(whole.second, events.second, this->tol(), "dW, dense vs events");
  // Per-sample products in sample order: the chunking does not change a single bit.
  for (const int chunk : {1, 2, 3}) {
    const auto part = run(InputPath::Dense, chunk, &dense);
    EXPECT_EQ(part.first, whole.first) << "chunk " << chunk;
    EXPECT_EQ(part.second, whole.second) << "chunk " << chunk;
  }
}

TEST(InputCurrent, AutoChoosesByTheBatchDensity) {
  const int n = 3, T = 9;
  const Split s = test::random_split(4, 5, 5, T, n, 0.2, 7);
  BatchBuilder<double> bb;
  bb.build(s, {0, 1, 2, 3});
  // The builder knows E on the host (no device-to-host copy per batch); it is fwd_offsets' last.
  long long E = 0;
  for (int b = 0; b < 4; ++b) E += s.events.offsets[b + 1] - s.events.offsets[b];
  EXPECT_EQ(bb.events().events, E);
  EventBatch unknown = bb.events();
  unknown.events = -1;  // the device copy gives the same count
  EXPECT_EQ(event_count(unknown), E);
  bb.build(s, {2});  // a smaller batch after a larger one: only its own events
  EXPECT_EQ(bb.events().events, s.events.offsets[3] - s.events.offsets[2]);
  unknown = bb.events();
  unknown.events = -1;
  EXPECT_EQ(event_count(unknown), bb.events().events);
  bb.build(s, {0, 1, 2, 3});
  const double density = static_cast<double>(event_count(bb.events())) / (4.0 * 25 * (T + 1));
  ASSERT_GT(density, 0.15);
  ASSERT_LT(density, 0.25);
  std::vector<double> Wh;
  const auto W = weights<double>(n, 25, &Wh);
  View3<double> c("c", 4, n, T + 1);
  InputCurrent<double> ic;
  InputPathOptions o;
  o.dense_density = density;  // at the threshold: dense
  ic.set_options(o);
  ic.forward(bb.events(), W, c);
  EXPECT_TRUE(ic.last_dense());
  EXPECT_DOUBLE_EQ(ic.last_density(), density);
  o.dense_density = density * 1.01;  // just above: events
  ic.set_options(o);
  ic.forward(bb.events(), W, c);
  EXPECT_FALSE(ic.last_dense());
  EXPECT_DOUBLE_EQ(ic.last_density(), density);
  o.path = InputPath::Events;  // forced: the events are not even counted
  ic.set_options(o);
  ic.forward(bb.events(), W, c);
  EXPECT_FALSE(ic.last_dense());
  EXPECT_EQ(ic.last_density(), -1);
  // The built-in estimate falls with the layer width; on CPUs the bilayer's 3 outputs never pay.
  EXPECT_GT(default_dense_density(3), default_dense_density(128));
  EXPECT_GT(default_dense_density(128), 0.0);
  EXPECT_LT(default_dense_density(128), 0.2);
  if (Kokkos::SpaceAccessibility<Kokkos::HostSpace, MemSpace>::accessible) {
    EXPECT_GT(default_dense_density(3), 1.0);
  }
  EXPECT_THROW(parse_input_path("gemm"), Error);
}

// Whole models: losses and gradients on the dense path equal the event path's to rounding.
TYPED_TEST(InputCurrentTest, ModelsTrainTheSameOnBothPaths) {
  using Real = TypeParam;
  const int n = 3, H = 6, Wd = 6, T = 8, B = 4;
  const Split s = test::random_split(B, H, Wd, T, n, 0.3, 17);
  BatchBuilder<Real> bb;
  bb.build(s, {0, 1, 2, 3});
  const TimeGrid grid{T, 13};
  auto check = [&](auto& model, const LossParams& lp, const char* what) {
    std::vector<std::vector<double>> out;
    for (const InputPath path : {InputPath::Events, InputPath::Dense}) {
      InputPathOptions o;
      o.path = path;
      model.set_input_path(o);
      model.forward(bb.events());
      const auto loss = model.loss(bb.guidance_raw(), bb.labels(), lp, Real(1) / B);
      model.backward(bb.events());
      EXPECT_EQ(model.input_current().last_dense(), path == InputPath::Dense) << what;
      out.push_back(loss);
      out.push_back(test::to_host(model.grads()));
    }
    test::expect_close(out[2], out[0], this->tol(), what);
    test::expect_close(out[3], out[1], this->tol() * 10, what);
    double norm = 0;
    for (double g : out[1]) norm += std::fabs(g);
    EXPECT_GT(norm, 0) << what << ": gradients must not vanish";
  };
  SeedBilayer<Real> bilayer(n, H * Wd, grid, Real(0.01));
  bilayer.init_uniform(3, 0, 1);
  check(bilayer, LossParams{}, "bilayer, Huber");
  HiddenParams hp;
  hp.threshold = 0.5;
  DeepSnn<Real> deep({H * Wd, 10, n}, grid, NeuronParams{}, hp);
  deep.init_scaled(3, 1.5);
  LossParams ce;
  ce.kind = LossKind::CrossEntropy;
  check(deep, ce, "deep, cross-entropy");
}

TEST(InputCurrent, TrainCommandLogsItsChoice) {
  test::ScratchDir dir("input-path");
  auto r = test::run_supsnn("synth --output X.h5 --train-per-class 4 --test-per-class 2 --size 32",
                            dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_supsnn(
      "train --set data.train=X.h5 --set model.input_path=\\\"dense\\\" --set train.epochs=1 "
      "--run-dir run",
      dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("input current: dense"), std::string::npos) << r.output;
  r = test::run_supsnn(
      "train --set data.train=X.h5 --set model.input_path=\\\"gemm\\\" --run-dir r2", dir.str());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("model.input_path"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace supsnn
