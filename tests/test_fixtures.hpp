// Small random problems shared by kernel, gradient and batch tests: dense binary spikes and the
// event batch built from them through the production BatchBuilder.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "common/rng.hpp"
#include "data/batch.hpp"
#include "data/dataset.hpp"
#include "data/synth.hpp"

namespace supsnn::test {

// A split of `count` samples with random binary spikes (density p) and random guidance.
inline Split random_split(int count, int height, int width, int raw_steps, int rows, double p,
                          std::uint64_t seed) {
  return random_spike_split(count, height, width, raw_steps, rows, p, seed);
}

// Dense (B, m, T+1) copy of samples idx of a split.
template <class Real>
std::vector<Real> dense_spikes(const Split& s, const std::vector<int>& idx) {
  const int m = s.inputs(), T1 = s.raw_steps + 1;
  std::vector<Real> x(idx.size() * m * T1, Real(0));
  for (std::size_t b = 0; b < idx.size(); ++b)
    for (auto e = s.events.offsets[idx[b]]; e < s.events.offsets[idx[b] + 1]; ++e)
      x[(b * m + s.events.neuron[e]) * T1 + s.events.step[e]] = 1;
  return x;
}

// Uniform values in [lo, hi), a pure function of (seed, stream, index).
inline std::vector<double> random_vec(std::size_t size, double lo, double hi, std::uint64_t seed,
                                      std::uint64_t stream) {
  std::vector<double> v(size);
  for (std::size_t i = 0; i < size; ++i) v[i] = lo + (hi - lo) * uniform01(seed, stream, i);
  return v;
}

// Device copies of row-major host arrays.
inline View3<double> to_view(const std::vector<double>& v, int a, int b, int c) {
  View3<double> out("v", a, b, c);
  auto h = Kokkos::create_mirror_view(out);
  std::size_t q = 0;
  for (int i = 0; i < a; ++i)
    for (int j = 0; j < b; ++j)
      for (int k = 0; k < c; ++k) h(i, j, k) = v[q++];
  Kokkos::deep_copy(out, h);
  return out;
}

inline View2<double> to_view2(const std::vector<double>& v, int a, int b) {
  View2<double> out("w", a, b);
  auto h = Kokkos::create_mirror_view(out);
  for (int i = 0; i < a; ++i)
    for (int j = 0; j < b; ++j) h(i, j) = v[i * b + j];
  Kokkos::deep_copy(out, h);
  return out;
}

// Elementwise |got - want| <= tol (1 + |want|).
inline void expect_close(const std::vector<double>& got, const std::vector<double>& want,
                         double tol, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << what << " index " << i;
}

template <class V>
std::vector<double> to_host(const V& v) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  std::vector<double> out(h.data(), h.data() + h.span());
  return out;
}

// Checks the model's BPTT gradient against central finite differences of loss_fn() (which runs
// forward + loss on the model's current weights) for the flat weights [first, end); returns the
// number of non-zero gradients among them.
template <class Model, class LossFn>
int expect_gradients_match_finite_differences(Model& model, const EventBatch& ev, LossFn&& loss_fn,
                                              std::size_t first = 0) {
  loss_fn();
  model.backward(ev);
  const auto grad = to_host(model.grads());
  auto w = model.weights_host();
  const double h = 1e-6;
  int nonzero = 0;
  for (std::size_t q = first; q < w.size(); ++q) {
    const double w0 = w[q];
    w[q] = w0 + h;
    model.set_weights_host(w);
    const double lp = loss_fn();
    w[q] = w0 - h;
    model.set_weights_host(w);
    const double lm = loss_fn();
    w[q] = w0;
    model.set_weights_host(w);
    const double fd = (lp - lm) / (2 * h);
    nonzero += grad[q] != 0;
    EXPECT_NEAR(grad[q], fd, 1e-6 * (1 + std::fabs(fd))) << "dL/dW flat index " << q;
  }
  return nonzero;
}

// For surrogate gradients, which are not exact: moves the flat weights [0, end) from w along -g
// and +g by steps of 0.05, 0.1, 0.2 and 0.4 (relative to |g|) and returns how many steps lowered
// (first) and raised (second) loss_fn() from L0. Leaves the model's weights at the last step.
template <class Model, class LossFn>
std::pair<int, int> descent_counts(Model& model, const std::vector<double>& w,
                                   const std::vector<double>& g, std::size_t end, double L0,
                                   LossFn&& loss_fn) {
  auto moved = [&](double eta) {
    auto v = w;
    for (std::size_t q = 0; q < end; ++q) v[q] -= eta * g[q];
    model.set_weights_host(v);
    return loss_fn();
  };
  double gn = 0;
  for (std::size_t q = 0; q < end; ++q) gn += g[q] * g[q];
  gn = std::sqrt(gn);
  EXPECT_GT(gn, 0) << "the gradient must not vanish";
  int down = 0, up = 0;
  for (double len : {0.05, 0.1, 0.2, 0.4}) {
    const double eta = gn > 0 ? len / gn : 0;
    down += moved(eta) < L0;
    up += moved(-eta) > L0;
  }
  return {down, up};
}

}  // namespace supsnn::test
