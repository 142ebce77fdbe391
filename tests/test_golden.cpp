// Seed-compat forward pass, Huber loss and BPTT gradient on the seed's three training samples
// against ../shared/golden/seed_compat.json (independent float64 autodiff), for the
// deterministic weights W[j][i] = 0.5 + 0.5 sin(0.001 (i+1)(j+1)).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/batch.hpp"
#include "data/seed_import.hpp"
#include "io/npy.hpp"
#include "model/seed_bilayer.hpp"
#include "test_fixtures.hpp"
#include "test_util.hpp"

namespace supsnn {
namespace {

Split load_seed_train() {
  Split s;
  s.name = "train";
  for (int k = 0; k < 3; ++k) {
    int m = 0, T = 0;
    read_seed_spikes(test::shared_path("data/seed/Train/Spikes/" + std::to_string(k) + ".npy"),
                     s.events, &m, &T);
    const NpyArray g =
        read_npy(test::shared_path("data/seed/Train/Labels/" + std::to_string(k) + ".npy"));
    s.guidance.insert(s.guidance.end(), g.data.begin(), g.data.end());
    s.guide_rows = static_cast<int>(g.shape[0]);
    s.labels.push_back(guidance_winner(g.data.data(), s.guide_rows, T));
    s.height = s.width = 128;
    s.raw_steps = T;
    ++s.count;
  }
  return s;
}

std::vector<double> sine_weights(int n, int m) {
  std::vector<double> w(static_cast<std::size_t>(n) * m);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i)
      w[static_cast<std::size_t>(j) * m + i] = 0.5 + 0.5 * std::sin(0.001 * (i + 1) * (j + 1));
  return w;
}

void expect_rel(double got, double want, double rel, const std::string& what) {
  EXPECT_LE(std::fabs(got - want), rel * std::fabs(want) + 1e-300)
      << what << ": got " << got << ", golden " << want;
}

template <class Real>
class GoldenTest : public ::testing::Test {};
using RealTypes = ::testing::Types<double, float>;
TYPED_TEST_SUITE(GoldenTest, RealTypes);

TYPED_TEST(GoldenTest, SeedCompatMatchesGoldenValues) {
  using Real = TypeParam;
  const double rel = sizeof(Real) == 8 ? 1e-9 : 1e-4;
  std::ifstream f(test::shared_path("golden/seed_compat.json"));
  ASSERT_TRUE(f.good());
  const auto golden = nlohmann::json::parse(f);
  const Split s = load_seed_train();
  const int n = s.guide_rows, m = s.inputs();
  ASSERT_EQ(n, 3);
  ASSERT_EQ(m, 16384);

  for (int k = 0; k < 3; ++k) {
    SCOPED_TRACE("Train/" + std::to_string(k));
    const auto& g = golden["samples"]["Train/" + std::to_string(k)];
    SeedBilayer<Real> model(n, m, TimeGrid{s.raw_steps, g["steps"].get<int>()},
                            static_cast<Real>(g["D"].get<double>()));
    model.set_weights_host(sine_weights(n, m));
    BatchBuilder<Real> bb;
    bb.build(s, {k});
    model.forward(bb.events());
    const auto loss = model.loss(bb.guidance_raw(), bb.labels(), LossKind::Huber, Real(1), Real(1));
    model.backward(bb.events());

    const int gt = s.labels[k];
    EXPECT_EQ(gt, g["gt"].get<int>());
    EXPECT_EQ(model.predictions()[0], g["pred"].get<int>());
    expect_rel(loss[0], g["loss"].get<double>(), rel, "loss");
    const auto P = model.potentials_host();
    const auto sums = model.potential_sums_host();
    const int S1 = g["steps"].get<int>() + 1;
    for (int j = 0; j < n; ++j) {
      expect_rel(P[j * S1 + S1 - 1], g["potential_final"][j].get<double>(), rel, "potential_final");
      expect_rel(sums[j], g["potential_sum"][j].get<double>(), rel, "potential_sum");
    }
    const auto grad = test::to_host(model.grads());
    double norm = 0, row = 0;
    for (double v : grad) norm += v * v;
    for (int i = 0; i < m; ++i) row += grad[gt * m + i];
    expect_rel(std::sqrt(norm), g["grad_norm"].get<double>(), rel, "grad_norm");
    expect_rel(row, g["grad_row_gt_sum"].get<double>(), rel, "grad_row_gt_sum");
    for (const auto& [idx, val] : g["grad_samples"].items()) {
      const double want = val.template get<double>();
      const double got = grad[gt * m + std::stoi(idx)];
      EXPECT_NEAR(got, want, rel * std::fabs(want) + (sizeof(Real) == 8 ? 1e-13 : 1e-6))
          << "grad[gt][" << idx << "]";
    }
  }
}

// A batch of the three samples gives the per-sample results side by side, and its gradient is
// the scaled sum of the per-sample gradients: batch > 1 is the same computation, not a new one.
TEST(GoldenBatch, BatchOfThreeEqualsThreeSingles) {
  const Split s = load_seed_train();
  const int n = s.guide_rows, m = s.inputs();
  const TimeGrid grid{s.raw_steps, 100};
  SeedBilayer<double> model(n, m, grid, 0.005);
  model.set_weights_host(sine_weights(n, m));
  BatchBuilder<double> bb;
  std::vector<double> sum_grad(static_cast<std::size_t>(n) * m, 0.0), single_losses;
  for (int k = 0; k < 3; ++k) {
    bb.build(s, {k});
    model.forward(bb.events());
    single_losses.push_back(
        model.loss(bb.guidance_raw(), bb.labels(), LossKind::Huber, 1.0, 1.0 / 3)[0]);
    model.backward(bb.events());
    const auto g = test::to_host(model.grads());
    for (std::size_t i = 0; i < g.size(); ++i) sum_grad[i] += g[i];
  }
  bb.build(s, {0, 1, 2});
  model.forward(bb.events());
  const auto losses = model.loss(bb.guidance_raw(), bb.labels(), LossKind::Huber, 1.0, 1.0 / 3);
  model.backward(bb.events());
  const auto g = test::to_host(model.grads());
  for (int k = 0; k < 3; ++k) EXPECT_DOUBLE_EQ(losses[k], single_losses[k]);
  for (std::size_t i = 0; i < g.size(); ++i)
    ASSERT_NEAR(g[i], sum_grad[i], 1e-12 * (1 + std::fabs(sum_grad[i])));
}

}  // namespace
}  // namespace supsnn
