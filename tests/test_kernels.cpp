// Every kernel against its plain CPU reference, in double and float, on random inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "kernels/adam.hpp"
#include "kernels/batch_metrics.hpp"
#include "kernels/event_current.hpp"
#include "kernels/interp.hpp"
#include "kernels/seed_integrate.hpp"
#include "kernels/trace_loss.hpp"
#include "kernels/weight_average.hpp"
#include "test_fixtures.hpp"

namespace supsnn {
namespace {

template <class Real>
class KernelTest : public ::testing::Test {
 protected:
  static double tol() { return sizeof(Real) == 8 ? 1e-12 : 2e-5; }
  static void expect_near_rel(const std::vector<double>& got, const std::vector<double>& want,
                              double tol) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i)
      ASSERT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << "at index " << i;
  }
};
using RealTypes = ::testing::Types<double, float>;
TYPED_TEST_SUITE(KernelTest, RealTypes);

// Host-only loops are chosen by where kernels run, not by whether memory is host-accessible
// (CUDA UVM memory is, yet kernels run on the GPU).
TEST(ExecutionSpace, HostLoopsFollowTheExecutionSpaceNotTheMemory) {
  static_assert(kRunsOnHost<Kokkos::DefaultHostExecutionSpace>);
#ifdef KOKKOS_ENABLE_SERIAL
  static_assert(kRunsOnHost<Kokkos::Serial>);
#endif
#ifdef KOKKOS_ENABLE_CUDA
  static_assert(!kRunsOnHost<Kokkos::Cuda>);
  static_assert(Kokkos::SpaceAccessibility<Kokkos::HostSpace, Kokkos::CudaUVMSpace>::accessible,
                "UVM memory is host-accessible, which is why memory cannot decide");
#endif
  EXPECT_EQ(kHostExec, kRunsOnHost<ExecSpace>);
  EXPECT_EQ(kKernelsReadInputOrder, !kHostExec);
  // This build's execution space, by name: the host backends are the ones that run host loops.
  const std::string name = ExecSpace::name();
  EXPECT_EQ(kHostExec, name == "Serial" || name == "OpenMP" || name == "Threads") << name;
}

template <class Real>
View2<Real> random_weights(int n, int m, std::uint64_t seed, std::vector<Real>* host) {
  View2<Real> W("W", n, m);
  auto h = Kokkos::create_mirror_view(W);
  host->resize(n * m);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i)
      (*host)[j * m + i] = h(j, i) = static_cast<Real>(uniform01(seed, 3, j * m + i) - 0.3);
  Kokkos::deep_copy(W, h);
  return W;
}

TYPED_TEST(KernelTest, EventCurrentForwardAndBackwardMatchDense) {
  using Real = TypeParam;
  // n = 3 keeps the outputs' sums in registers; n = 20 walks the events once per output.
  // n = 1, 3: compile-time output counts (event_current_forward_n).
  for (const int n : {1, 3, 20}) {
    const int B = 4, H = 5, Wd = 7, T = 9, m = H * Wd, T1 = T + 1;
    const Split s = test::random_split(6, H, Wd, T, n, 0.2, 11);
    const std::vector<int> idx = {5, 0, 3, 3};  // repeated sample on purpose
    BatchBuilder<Real> bb;
    bb.set_input_order(true);  // the GPU gather runs here too
    bb.build(s, idx);
    std::vector<Real> Wh;
    auto W = random_weights<Real>(n, m, 5, &Wh);
    const auto x = test::dense_spikes<Real>(s, idx);

    View3<Real> c("c", B, n, T1);
    event_current_forward<Real>(bb.events(), W, c);
    std::vector<Real> cref(B * n * T1);
    event_current_forward_ref<Real>(B, n, m, T1, Wh.data(), x.data(), cref.data());
    this->expect_near_rel(test::to_host(c), std::vector<double>(cref.begin(), cref.end()),
                          this->tol());

    // Backward with a random upstream gradient.
    View3<Real> dc("dc", B, n, T1);
    auto hdc = Kokkos::create_mirror_view(dc);
    std::vector<Real> dch(B * n * T1);
    for (int q = 0; q < B * n * T1; ++q)
      dch[q] = hdc.data()[q] = static_cast<Real>(uniform01(9, 9, q) - 0.5);
    Kokkos::deep_copy(dc, hdc);
    View2<Real> dW("dW", n, m);
    event_current_backward<Real>(bb.events(), dc, dW);
    // Both paths (CPU rows, GPU gather) run on every backend here and agree bit for bit.
    View2<Real> dW_rows("dW_rows", n, m), dW_gather("dW_gather", n, m);
    event_current_backward_rows<Real>(bb.events(), dc, dW_rows);
    event_current_backward_gather<Real>(bb.events(), dc, dW_gather);
    EXPECT_EQ(test::to_host(dW_rows), test::to_host(dW_gather)) << "n = " << n;
    EXPECT_EQ(test::to_host(dW), test::to_host(dW_rows)) << "n = " << n;
    std::vector<Real> dWref(n * m);
    event_current_backward_ref<Real>(B, n, m, T1, dch.data(), x.data(), dWref.data());
    this->expect_near_rel(test::to_host(dW), std::vector<double>(dWref.begin(), dWref.end()),
                          this->tol());
  }
}

TYPED_TEST(KernelTest, SeedForwardFromEventsMatchesDenseInterpolatedInputs) {
  using Real = TypeParam;
  const int n = 2, H = 4, Wd = 4, T = 7, m = H * Wd;
  for (int steps : {7, 10, 23}) {  // equal, finer and non-multiple grids
    const TimeGrid grid{T, steps};
    const Split s = test::random_split(3, H, Wd, T, n, 0.3, 21 + steps);
    const std::vector<int> idx = {0, 1, 2};
    BatchBuilder<Real> bb;
    bb.build(s, idx);
    std::vector<Real> Wh;
    auto W = random_weights<Real>(n, m, 6, &Wh);
    View3<Real> c("c", 3, n, T + 1), P("P", 3, n, steps + 1);
    View2<Real> psum("psum", 3, n);
    event_current_forward<Real>(bb.events(), W, c);
    seed_integrate_forward<Real>(grid, Real(0.005), c, P, psum);
    const auto x = test::dense_spikes<Real>(s, idx);
    std::vector<Real> Pref(3 * n * (steps + 1));
    seed_forward_dense_ref<Real>(grid, Real(0.005), 3, n, m, Wh.data(), x.data(), Pref.data());
    this->expect_near_rel(test::to_host(P), std::vector<double>(Pref.begin(), Pref.end()),
                          this->tol());
    const auto ps = test::to_host(psum);
    for (int r = 0; r < 3 * n; ++r) {
      double sum = 0;
      for (int t = 0; t <= steps; ++t) sum += Pref[r * (steps + 1) + t];
      EXPECT_NEAR(ps[r], sum, this->tol() * (1 + std::fabs(sum)) * 10);
    }
  }
}

TYPED_TEST(KernelTest, InterpolationMatchesReferenceAndHitsRawSamples) {
  using Real = TypeParam;
  const TimeGrid grid{70, 100};
  const int B = 2, R = 3, T1 = 71, S1 = 101;
  View3<Real> raw("raw", B, R, T1), out("out", B, R, S1);
  auto h = Kokkos::create_mirror_view(raw);
  std::vector<Real> flat(B * R * T1);
  for (int q = 0; q < B * R * T1; ++q)
    flat[q] = h.data()[q] = static_cast<Real>(100 * uniform01(4, 4, q));
  Kokkos::deep_copy(raw, h);
  interp_time<Real>(grid, raw, out);
  std::vector<Real> ref(B * R * S1);
  interp_time_ref<Real>(grid, flat.data(), B * R, ref.data());
  const auto got = test::to_host(out);
  this->expect_near_rel(got, std::vector<double>(ref.begin(), ref.end()), this->tol());
  // Points 0, 10, 20, ... of the 101-point grid fall exactly on raw samples 0, 7, 14, ...
  for (int s = 0; s < S1; s += 10) EXPECT_EQ(got[s], static_cast<double>(flat[s * 7 / 10]));
}

TYPED_TEST(KernelTest, TraceLossMatchesReferenceForBothKinds) {
  using Real = TypeParam;
  const int B = 3, n = 3, S1 = 17;
  View3<Real> P("P", B, n, S1), G("G", B, n, S1), dP("dP", B, n, S1);
  View1<int> label("label", B);
  View1<Real> loss("loss", B);
  auto hP = Kokkos::create_mirror_view(P), hG = Kokkos::create_mirror_view(G);
  auto hl = Kokkos::create_mirror_view(label);
  for (int q = 0; q < B * n * S1; ++q) {
    hP.data()[q] = static_cast<Real>(6 * uniform01(1, 1, q) - 3);  // both Huber branches
    hG.data()[q] = static_cast<Real>(6 * uniform01(1, 2, q) - 3);
  }
  for (int b = 0; b < B; ++b) hl(b) = (b * 2) % n;
  Kokkos::deep_copy(P, hP);
  Kokkos::deep_copy(G, hG);
  Kokkos::deep_copy(label, hl);
  for (const bool all_rows : {false, true})
    for (LossKind kind : {LossKind::Huber, LossKind::MSE}) {
      const Real scale = Real(0.25), delta = Real(1.3);
      trace_loss<Real>(kind, delta, scale, P, G, label, loss, dP, all_rows);
      const auto l = test::to_host(loss), d = test::to_host(dP);
      for (int b = 0; b < B; ++b) {
        // Reference: the label row alone, or the sum of every row's loss (loss.rows = "all").
        std::vector<Real> dref(static_cast<std::size_t>(n) * S1, Real(0));
        Real lref = 0;
        for (int j = 0; j < n; ++j)
          if (all_rows || j == hl(b))
            lref += trace_loss_ref<Real>(kind, delta, S1, &hP(b, j, 0), &hG(b, j, 0),
                                         &dref[static_cast<std::size_t>(j) * S1]);
        EXPECT_NEAR(l[b], lref, this->tol() * (1 + std::fabs(lref)));
        for (int j = 0; j < n; ++j)
          for (int s = 0; s < S1; ++s)
            EXPECT_NEAR(d[(b * n + j) * S1 + s], scale * dref[static_cast<std::size_t>(j) * S1 + s],
                        this->tol())
                << all_rows << " " << j;
      }
    }
}

TYPED_TEST(KernelTest, AdamMatchesReferenceOverSeveralSteps) {
  using Real = TypeParam;
  const int N = 2 * kAdamHostChunk + 77;  // full host chunks, a partial one, a vector remainder
  AdamParams p;
  p.lr = 0.01;
  View1<Real> w("w", N), g("g", N), m("m", N), v("v", N);
  auto hw = Kokkos::create_mirror_view(w), hg = Kokkos::create_mirror_view(g);
  std::vector<Real> rw(N), rg(N), rm(N, 0), rv(N, 0);
  for (int i = 0; i < N; ++i) rw[i] = hw(i) = static_cast<Real>(uniform01(2, 2, i));
  Kokkos::deep_copy(w, hw);
  for (long t = 1; t <= 5; ++t) {
    for (int i = 0; i < N; ++i) rg[i] = hg(i) = static_cast<Real>(uniform01(2, 3 + t, i) - 0.5);
    Kokkos::deep_copy(g, hg);
    adam_update<Real>(p, t, w, g, m, v);
    adam_update_ref<Real>(p, t, N, rw.data(), rg.data(), rm.data(), rv.data());
  }
  this->expect_near_rel(test::to_host(w), std::vector<double>(rw.begin(), rw.end()), this->tol());
  // On CPUs the update runs in the widest vector variant the machine has (kernels/adam_host.hpp);
  // the reference here is compiled for baseline x86-64. Same rounding: the same bits.
  if (Kokkos::SpaceAccessibility<Kokkos::HostSpace, MemSpace>::accessible) {
    EXPECT_EQ(test::to_host(w), std::vector<double>(rw.begin(), rw.end()));
  }
  // First step of Adam moves every weight by about lr (sign of the gradient).
  EXPECT_NEAR(adam_step_size(p, 1), p.lr * std::sqrt(1 - p.beta2) / (1 - p.beta1), 1e-15);
}

TYPED_TEST(KernelTest, AdamWeightDecayIsDecoupled) {
  using Real = TypeParam;
  const int N = 40;
  AdamParams p;
  p.lr = 0.02;
  p.weight_decay = 0.5;
  View1<Real> w("w", N), g("g", N), m("m", N), v("v", N);
  auto hw = Kokkos::create_mirror_view(w), hg = Kokkos::create_mirror_view(g);
  std::vector<Real> rw(N), rg(N), rm(N, 0), rv(N, 0), w0(N);
  for (int i = 0; i < N; ++i) w0[i] = rw[i] = hw(i) = static_cast<Real>(uniform01(4, 2, i) - 0.5);
  Kokkos::deep_copy(w, hw);
  // With zero gradients (and moments) only the decay acts: w_t = (1 - lr wd)^t w_0 exactly.
  for (long t = 1; t <= 3; ++t) adam_update<Real>(p, t, w, g, m, v);
  auto h = test::to_host(w);
  for (int i = 0; i < N; ++i) EXPECT_NEAR(h[i], std::pow(1 - 0.01, 3) * w0[i], this->tol());
  // With gradients the kernel equals the reference, and differs from plain Adam by the decay.
  for (int i = 0; i < N; ++i) hw(i) = w0[i];  // hw may alias w on host backends
  Kokkos::deep_copy(w, hw);
  Kokkos::deep_copy(m, Real(0));
  Kokkos::deep_copy(v, Real(0));
  std::vector<Real> pw(rw), pm(N, 0), pv(N, 0);
  AdamParams plain = p;
  plain.weight_decay = 0;
  for (long t = 1; t <= 4; ++t) {
    for (int i = 0; i < N; ++i) rg[i] = hg(i) = static_cast<Real>(uniform01(4, 5 + t, i) - 0.5);
    Kokkos::deep_copy(g, hg);
    adam_update<Real>(p, t, w, g, m, v);
    adam_update_ref<Real>(p, t, N, rw.data(), rg.data(), rm.data(), rv.data());
    adam_update_ref<Real>(plain, t, N, pw.data(), rg.data(), pm.data(), pv.data());
  }
  this->expect_near_rel(test::to_host(w), std::vector<double>(rw.begin(), rw.end()), this->tol());
  double diff = 0;
  for (int i = 0; i < N; ++i) diff = std::max(diff, std::abs(double(rw[i]) - double(pw[i])));
  EXPECT_GT(diff, 1e-3);
}

TYPED_TEST(KernelTest, WeightAverageMatchesReferenceAndWarmsUp) {
  using Real = TypeParam;
  // The decay schedule by hand: (1 + t) / (10 + t) until it reaches the configured decay.
  EXPECT_DOUBLE_EQ(ema_decay(0.99, 1), 2.0 / 11.0);
  EXPECT_DOUBLE_EQ(ema_decay(0.99, 80), 81.0 / 90.0);
  EXPECT_DOUBLE_EQ(ema_decay(0.99, 1000), 0.99);
  EXPECT_DOUBLE_EQ(ema_decay(0.5, 9), 0.5);  // 10 / 19 > 0.5
  const int N = 1000;
  View1<Real> a("a", N), w("w", N);
  auto ha = Kokkos::create_mirror_view(a), hw = Kokkos::create_mirror_view(w);
  std::vector<Real> ra(N), rw(N);
  for (int i = 0; i < N; ++i) ra[i] = ha(i) = static_cast<Real>(uniform01(6, 1, i) - 0.5);
  Kokkos::deep_copy(a, ha);
  for (long t = 1; t <= 4; ++t) {
    for (int i = 0; i < N; ++i) rw[i] = hw(i) = static_cast<Real>(uniform01(6, 1 + t, i) - 0.5);
    Kokkos::deep_copy(w, hw);
    ema_update<Real>(0.9, t, a, w);
    ema_update_ref<Real>(0.9, t, N, ra.data(), rw.data());
  }
  this->expect_near_rel(test::to_host(a), std::vector<double>(ra.begin(), ra.end()), this->tol());
  // A constant sequence is a fixed point, and one step moves by 1 - d_1 of the way to w.
  for (int i = 0; i < N; ++i) ha(i) = hw(i) = static_cast<Real>(0.25);
  Kokkos::deep_copy(a, ha);
  Kokkos::deep_copy(w, hw);
  ema_update<Real>(0.9, 7, a, w);
  for (double x : test::to_host(a)) ASSERT_EQ(x, 0.25);
  Kokkos::deep_copy(a, Real(0));
  Kokkos::deep_copy(w, Real(1));
  ema_update<Real>(0.9, 1, a, w);
  for (double x : test::to_host(a)) ASSERT_NEAR(x, 1 - 2.0 / 11.0, this->tol());
}

// Loss sums, correct counts and confusion accumulated on the device over several batches equal
// the host reference exactly: ties (first index wins), means over K steps, predictions beyond the
// classes, and the non-finite check of each batch.
TYPED_TEST(KernelTest, BatchMetricsMatchTheHostReference) {
  using Real = TypeParam;
  const int B = 7, n = 4, C = 3;
  for (int K : {1, 4}) {
    View1<double> sums("sums", 2 + C * C), check("check", 3);
    std::vector<double> ref_sums(2 + C * C, 0.0), ref_check;
    for (int batch = 0; batch < 3; ++batch) {
      View1<Real> loss("loss", B);
      View3<Real> scores("scores", B, n, K);
      View1<int> labels("labels", B);
      auto hl = Kokkos::create_mirror_view(loss);
      auto hs = Kokkos::create_mirror_view(scores);
      auto hy = Kokkos::create_mirror_view(labels);
      std::vector<double> l(B), sc(static_cast<std::size_t>(B) * n * K);
      std::vector<int> y(B);
      for (int b = 0; b < B; ++b) {
        l[b] = hl(b) = static_cast<Real>(uniform01(7, batch, b));
        y[b] = hy(b) = b % C;
        for (int j = 0; j < n; ++j)
          for (int k = 0; k < K; ++k) {
            // Coarse values: ties between outputs happen; sample 3 of batch 1 prefers output 3,
            // beyond the 3 classes.
            Real v =
                static_cast<Real>(std::floor(4 * uniform01(8 + K, batch, (b * n + j) * K + k)));
            if (batch == 1 && b == 3 && j == 3) v = 10;
            sc[(static_cast<std::size_t>(b) * n + j) * K + k] = hs(b, j, k) = v;
          }
      }
      if (batch == 2) l[5] = hl(5) = std::numeric_limits<Real>::quiet_NaN();
      Kokkos::deep_copy(loss, hl);
      Kokkos::deep_copy(scores, hs);
      Kokkos::deep_copy(labels, hy);
      accumulate_batch_metrics<Real>(loss, scores, labels, C, sums, check);
      for (double& v : l) v = static_cast<double>(static_cast<Real>(v));
      accumulate_batch_metrics_ref(l, sc, n, K, y, C, ref_sums, ref_check);
      const auto got_check = test::to_host(check);
      EXPECT_EQ(got_check[0], ref_check[0]) << "K " << K << " batch " << batch;
      EXPECT_EQ(got_check[1], ref_check[1]);
      EXPECT_EQ(got_check[0], batch == 2 ? 1 : 0);
      if (batch == 2) {
        EXPECT_EQ(got_check[1], 5);
      }
    }
    const auto got = test::to_host(sums);
    for (std::size_t i = 1; i < got.size(); ++i) EXPECT_EQ(got[i], ref_sums[i]) << "entry " << i;
    EXPECT_TRUE(std::isnan(got[0]));  // the NaN loss reached the sum, as on the host
    double cells = 0;
    for (std::size_t i = 2; i < got.size(); ++i) cells += got[i];
    EXPECT_LT(cells, 3 * B);  // the prediction beyond the classes is in no cell
  }
}

// Without a loss (supsnn evaluate): the counts alone, the loss sum stays 0.
TYPED_TEST(KernelTest, BatchMetricsWithoutALoss) {
  using Real = TypeParam;
  const int B = 5, n = 3, C = 3;
  View3<Real> scores("scores", B, n, 1);
  View1<int> labels("labels", B);
  auto hs = Kokkos::create_mirror_view(scores);
  auto hy = Kokkos::create_mirror_view(labels);
  std::vector<double> sc(B * n), zero(B, 0.0), ref(2 + C * C, 0.0), ref_check;
  std::vector<int> y(B);
  for (int b = 0; b < B; ++b) {
    y[b] = hy(b) = (b + 1) % C;
    for (int j = 0; j < n; ++j)
      sc[b * n + j] = hs(b, j, 0) = static_cast<Real>((b * 7 + j * 5) % 4);
  }
  Kokkos::deep_copy(scores, hs);
  Kokkos::deep_copy(labels, hy);
  View1<double> sums("sums", 2 + C * C), check("check", 3);
  accumulate_batch_metrics<Real>(View1<const Real>(), scores, labels, C, sums, check);
  accumulate_batch_metrics_ref(zero, sc, n, 1, y, C, ref, ref_check);
  EXPECT_EQ(test::to_host(sums), ref);
  EXPECT_EQ(test::to_host(check)[0], 0);
}

// count_nonfinite_into leaves the count in the given slot and touches no other.
TYPED_TEST(KernelTest, NonFiniteCountGoesToItsSlot) {
  using Real = TypeParam;
  View1<Real> g("g", 100);
  auto h = Kokkos::create_mirror_view(g);
  for (int i = 0; i < 100; ++i) h(i) = static_cast<Real>(i);
  h(3) = std::numeric_limits<Real>::infinity();
  h(77) = std::numeric_limits<Real>::quiet_NaN();
  Kokkos::deep_copy(g, h);
  View1<double> out("out", 4);
  Kokkos::deep_copy(out, -1.0);
  count_nonfinite_into<Real>(g, out, 2);
  EXPECT_EQ(test::to_host(out), (std::vector<double>{-1, -1, 2, -1}));
  EXPECT_EQ(count_nonfinite<Real>(g), 2);
}

}  // namespace
}  // namespace supsnn
