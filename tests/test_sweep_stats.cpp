// Statistics of sweeps against hand-computed values and known Student t quantiles; bands of
// synthetic curves; grid expansion; progress lines; CRC32C and protobuf varints of the
// TensorBoard writer.
#include <gtest/gtest.h>

#include <cmath>

#include "common/progress.hpp"
#include "sweep/bands.hpp"
#include "sweep/stats.hpp"
#include "sweep/sweep.hpp"
#include "tb/crc32c.hpp"
#include "tb/event_writer.hpp"
#include "tb/train_logging.hpp"
#include "test_util.hpp"

namespace supsnn {
namespace {

TEST(SweepStats, SampleStatsByHand) {
  // 1, 2, 3, 4, 10: mean 4, squared deviations 9+4+1+0+36 = 50, std = sqrt(50/4).
  const SampleStats s = sample_stats({10, 2, NAN, 1, 4, 3});
  EXPECT_EQ(s.count, 5);
  EXPECT_DOUBLE_EQ(s.mean, 4.0);
  EXPECT_NEAR(s.std, std::sqrt(12.5), 1e-14);
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 10);
  EXPECT_DOUBLE_EQ(s.median, 3);
  // numpy.quantile linear: p10 at position 0.4 -> 1 + 0.4 * (2 - 1); p90 at 3.6 -> 4 + 0.6 * 6.
  EXPECT_NEAR(s.p10, 1.4, 1e-14);
  EXPECT_NEAR(s.p90, 7.6, 1e-14);
  // 95 % CI: 4 -/+ t_{0.975,4} * sqrt(12.5) / sqrt(5) = 4 -/+ 4.389945165425.
  EXPECT_NEAR(s.ci95_low, 4 - 4.389945165425, 1e-9);
  EXPECT_NEAR(s.ci95_high, 4 + 4.389945165425, 1e-9);
}

TEST(SweepStats, EvenCountMedianAndSmallSamples) {
  const SampleStats s = sample_stats({0.5, 0.7, 0.6, 0.9});
  EXPECT_NEAR(s.median, 0.65, 1e-12);
  EXPECT_NEAR(s.p10, 0.53, 1e-12);  // position 0.3 between 0.5 and 0.6
  EXPECT_NEAR(s.p90, 0.84, 1e-12);  // position 2.7 between 0.7 and 0.9
  const SampleStats one = sample_stats({0.42});
  EXPECT_EQ(one.count, 1);
  EXPECT_DOUBLE_EQ(one.mean, 0.42);
  EXPECT_DOUBLE_EQ(one.median, 0.42);
  EXPECT_TRUE(std::isnan(one.std));
  EXPECT_TRUE(std::isnan(one.ci95_low));
  const SampleStats none = sample_stats({NAN, NAN});
  EXPECT_EQ(none.count, 0);
  EXPECT_TRUE(std::isnan(none.mean));
}

TEST(SweepStats, StudentTQuantilesMatchTables) {
  // scipy.stats.t.ppf(0.975, dof)
  EXPECT_NEAR(student_t_quantile(0.975, 1), 12.706204736174696, 1e-9);
  EXPECT_NEAR(student_t_quantile(0.975, 2), 4.302652729749464, 1e-10);
  EXPECT_NEAR(student_t_quantile(0.975, 4), 2.7764451051977987, 1e-10);
  EXPECT_NEAR(student_t_quantile(0.975, 9), 2.2621571628540993, 1e-10);
  EXPECT_NEAR(student_t_quantile(0.975, 30), 2.0422724563012373, 1e-10);
  EXPECT_NEAR(student_t_quantile(0.95, 3), 2.3533634348018264, 1e-10);
  EXPECT_NEAR(student_t_quantile(0.025, 4), -2.7764451051977987, 1e-10);
  EXPECT_NEAR(student_t_cdf(0, 7), 0.5, 1e-12);
  EXPECT_FALSE(test::error_of([] { student_t_quantile(1.0, 3); }).empty());
}

RunCurves curves(long seed, std::vector<double> test_acc) {
  RunCurves r;
  r.dir = "seed-" + std::to_string(seed);
  r.seed = seed;
  for (std::size_t e = 0; e < test_acc.size(); ++e) r.epochs.push_back(long(e) + 1);
  for (const auto& name : band_metrics()) {
    std::vector<double> v(test_acc.size(), NAN);
    if (name == "test_accuracy") v = test_acc;
    if (name == "train_loss" || name == "train_accuracy") v.assign(test_acc.size(), 0.1 * seed);
    r.metrics.emplace_back(name, v);
  }
  return r;
}

TEST(SweepBands, PerEpochStatisticsAndRunsInSeedOrder) {
  // Given out of seed order: the bands sort the runs by seed.
  const Bands b =
      compute_bands("x", "", {curves(3, {0.3, 0.9}), curves(1, {0.1, 0.5}), curves(2, {0.2, 0.7})});
  EXPECT_EQ(b.seeds, (std::vector<long>{1, 2, 3}));
  EXPECT_EQ(b.epochs, (std::vector<long>{1, 2}));
  // train_loss, train_accuracy and test_accuracy; val_* and test_loss are never measured.
  ASSERT_EQ(b.metrics.size(), 3u);
  const MetricBand& t = b.metrics[2];
  EXPECT_EQ(t.name, "test_accuracy");
  EXPECT_EQ(t.runs[0], (std::vector<double>{0.1, 0.5}));
  EXPECT_NEAR(t.per_epoch[1].mean, 0.7, 1e-12);
  EXPECT_NEAR(t.per_epoch[1].std, 0.2, 1e-12);
  EXPECT_NEAR(t.per_epoch[0].p90, 0.28, 1e-12);
  EXPECT_EQ(b.final_test_accuracy, (std::vector<double>{0.5, 0.7, 0.9}));
  EXPECT_NEAR(b.final_test.ci95_high, 0.7 + 4.302652729749464 * 0.2 / std::sqrt(3.0), 1e-9);
  // A run with fewer epochs leaves NaN in its row and a smaller count.
  const Bands c = compute_bands("y", "", {curves(1, {0.1, 0.5}), curves(2, {0.2})});
  EXPECT_EQ(c.metrics[2].per_epoch[1].count, 1);
  EXPECT_TRUE(std::isnan(c.metrics[2].runs[1][1]));
}

TEST(SweepGrid, CartesianProductAndNames) {
  const auto p = expand_grid({"optim.lr=0.001,0.01", "model.hidden=[8,4],[16]"});
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].name, "optim.lr=0.001,model.hidden=[8,4]");
  EXPECT_EQ(p[3].assignments, (std::vector<std::string>{"optim.lr=0.01", "model.hidden=[16]"}));
  EXPECT_EQ(expand_grid({}).at(0).name, "base");
  EXPECT_NE(test::error_of([] { expand_grid({"optim.lr"}); }).find("key=value1,value2"),
            std::string::npos);
}

TEST(Progress, LineHasCountRateAndEta) {
  Progress p("step", 100, 20, false, 8.0);
  // 30 steps done here in 15 s: 2 steps/s -> 16 samples/s, 50 left -> 25 s.
  EXPECT_EQ(p.format(50, "epoch 2/4", 15.0),
            "epoch 2/4  step 50/100 (50%)  16.0 samples/s  ETA 25s");
  EXPECT_EQ(format_duration(3723), "1h02m03s");
  EXPECT_EQ(format_duration(245), "4m05s");
}

TEST(TensorBoard, Crc32cCheckValueAndVarints) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c("", 0), 0u);
  std::string v;
  pb::varint(v, 300);
  EXPECT_EQ(v, std::string("\xAC\x02", 2));
  v.clear();
  pb::tag(v, 5, 2);
  EXPECT_EQ(v, std::string("\x2A", 1));
}

TEST(TensorBoard, WeightMapTilesOfBilayerAndDeepNet) {
  // Bilayer: 3 outputs of 2 x 2 inputs -> a 2 x 2 grid of 2 x 2 tiles with 1-pixel gaps.
  std::vector<double> w{0, 1, 2, 3, 3, 2, 1, 0, 5, 5, 5, 5};
  const TiledImage t = tile_weight_maps(w, {4, 3}, 2, 2);
  EXPECT_EQ(t.height, 5);
  EXPECT_EQ(t.width, 5);
  EXPECT_EQ(t.pixels[0], 0);
  EXPECT_EQ(t.pixels[1 * 5 + 1], 255);  // row 0's largest weight (3) at (1, 1)
  EXPECT_EQ(t.pixels[3 * 5 + 0], 0);    // a constant map is all 0
  EXPECT_EQ(t.pixels[2 * 5 + 0], 128);  // gap
  // Deep: 4 inputs -> 2 hidden -> 1 output; hidden unit 1 has the larger |W2| weight.
  std::vector<double> d{1, 2, 3, 4, 4, 3, 2, 1, 0.5, -2};
  const TiledImage u = tile_weight_maps(d, {4, 2, 1}, 2, 2, 1);
  EXPECT_EQ(u.units, (std::vector<int>{1}));
  EXPECT_EQ(u.pixels[0], 255);  // unit 1's first weight (4) is its largest
  EXPECT_TRUE(tile_weight_maps(w, {5, 3}, 2, 2).pixels.empty());  // inputs != height * width
}

}  // namespace
}  // namespace supsnn
