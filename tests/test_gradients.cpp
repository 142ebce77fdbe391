// BPTT gradients of the seed-compat model equal central finite differences of the loss, for
// Huber (both branches) and MSE, on small random problems in double precision.
#include <gtest/gtest.h>

#include <cmath>

#include "model/seed_bilayer.hpp"
#include "test_fixtures.hpp"

namespace supsnn {
namespace {

struct Case {
  LossKind kind;
  double delta;
  int steps;
  Readout readout = Readout::Sum;
  double temperature = 1.0;
};

class GradientTest : public ::testing::TestWithParam<Case> {};

TEST_P(GradientTest, BpttEqualsFiniteDifferences) {
  const Case c = GetParam();
  const int n = 3, H = 3, W = 4, T = 6, m = H * W, B = 3;
  const Split s = test::random_split(B, H, W, T, n, 0.35, 77);
  const std::vector<int> idx = {0, 1, 2};
  SeedBilayer<double> model(n, m, TimeGrid{T, c.steps}, 0.05);
  model.init_uniform(3, -1.0, 1.0);
  BatchBuilder<double> bb;
  bb.build(s, idx);

  auto total_loss = [&]() {
    model.forward(bb.events());
    double sum = 0;
    LossParams lp;
    lp.kind = c.kind;
    lp.delta = c.delta;
    lp.readout = c.readout;
    lp.temperature = c.temperature;
    for (double l : model.loss(bb.guidance_raw(), bb.labels(), lp, 1.0 / B)) sum += l;
    return sum / B;
  };
  const int nonzero =
      test::expect_gradients_match_finite_differences(model, bb.events(), total_loss);
  EXPECT_GT(nonzero, m / 2) << "the check must exercise many weights";
}

INSTANTIATE_TEST_SUITE_P(Losses, GradientTest,
                         ::testing::Values(Case{LossKind::Huber, 1.0, 10},
                                           Case{LossKind::Huber, 0.2, 13},
                                           Case{LossKind::Huber, 50.0, 6},
                                           Case{LossKind::MSE, 1.0, 10},
                                           Case{LossKind::MSE, 1.0, 17},
                                           Case{LossKind::CrossEntropy, 0, 10, Readout::Sum, 0.5},
                                           Case{LossKind::CrossEntropy, 0, 11, Readout::Max, 2.0}));

}  // namespace
}  // namespace supsnn
