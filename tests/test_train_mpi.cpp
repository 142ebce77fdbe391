// Data parallelism: R ranks with the global batch split between them train the same model as
// one rank with the whole batch (up to summation order), and the same seed on the same world
// size gives bit-identical weights. Registered at np = 1, 2, 3 and 4.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <filesystem>

#include "config/config.hpp"
#include "dist/comm.hpp"
#include "mpi_fixtures.hpp"
#include "train/trainer.hpp"

namespace supsnn {
namespace {

Config config_for(const std::string& data, const std::string& run_dir,
                  const std::string& precision) {
  Config c;
  c.set("data.train", data);
  c.set("run.dir", run_dir);
  c.set("run.log_level", std::string("warn"));
  c.set("train.epochs", 3L);
  c.set("train.batch_size", 12L);  // local batch 12, 6, 4 or 3
  c.set("model.precision", precision);
  c.set("train.eval_batch_size", 5L);
  return c;
}

TEST(TrainMpi, ShardedBatchEqualsSingleRankBatch) {
  const Comm world;
  const std::string dir = shared_temp_dir();
  const std::string data = make_dataset(dir);
  const TrainSummary dist = run_training(config_for(data, dir + "/dist", "double"), world, "test");
  // Every rank computes the single-rank reference alone on MPI_COMM_SELF.
  const TrainSummary single =
      run_training(config_for(data, dir + "/self" + std::to_string(world.rank()), "double"),
                   Comm(MPI_COMM_SELF), "test");
  ASSERT_EQ(dist.weights.size(), single.weights.size());
  double max_rel = 0;
  for (std::size_t i = 0; i < dist.weights.size(); ++i)
    max_rel = std::max(max_rel, std::fabs(dist.weights[i] - single.weights[i]) /
                                    (1e-12 + std::fabs(single.weights[i])));
  EXPECT_LT(max_rel, 1e-9) << "world size " << world.size();
  ASSERT_EQ(dist.epochs.size(), 3u);
  for (std::size_t e = 0; e < 3; ++e) {
    EXPECT_NEAR(dist.epochs[e].train_loss, single.epochs[e].train_loss,
                1e-9 * single.epochs[e].train_loss);
    EXPECT_DOUBLE_EQ(dist.epochs[e].train_accuracy, single.epochs[e].train_accuracy);
    EXPECT_DOUBLE_EQ(dist.epochs[e].test_accuracy, single.epochs[e].test_accuracy);
  }
  // Training changed the weights (the comparison above is not between two untouched models).
  const TrainSummary zero = [&] {
    Config c = config_for(data, dir + "/zero" + std::to_string(world.rank()), "double");
    // The initial weights: one epoch whose steps move no weight (lr * update is far below half
    // an ulp of every weight), since a run of 0 epochs is refused.
    c.set("train.epochs", 1L);
    c.set("optim.lr", 1e-300);
    return run_training(c, Comm(MPI_COMM_SELF), "test");
  }();
  double moved = 0;
  for (std::size_t i = 0; i < zero.weights.size(); ++i)
    moved = std::max(moved, std::fabs(zero.weights[i] - single.weights[i]));
  EXPECT_GT(moved, 1e-3);
  MPI_Barrier(MPI_COMM_WORLD);
  if (world.rank() == 0) std::filesystem::remove_all(dir);
}

// The batch semantics in float: np = 1 with global batch 8, np = 2 with 4 each and np = 4
// with 2 each (np = 3: global batch 6) train the same weights up to float summation order.
TEST(TrainMpi, GlobalBatchSplitOverRanksInFloat) {
  const Comm world;
  const std::string dir = shared_temp_dir();
  const std::string data = make_dataset(dir);
  auto cfg = [&](const std::string& run) {
    Config c = config_for(data, run, "float");
    c.set("train.batch_size", 8 % world.size() == 0 ? 8L : 6L);
    c.set("train.epochs", 2L);  // 12 (or 16) optimiser steps
    return c;
  };
  const auto dist = run_training(cfg(dir + "/fd"), world, "test");
  const auto single =
      run_training(cfg(dir + "/fs" + std::to_string(world.rank())), Comm(MPI_COMM_SELF), "test");
  ASSERT_EQ(dist.weights.size(), single.weights.size());
  double max_rel = 0;
  for (std::size_t i = 0; i < dist.weights.size(); ++i)
    max_rel = std::max(max_rel, std::fabs(dist.weights[i] - single.weights[i]) /
                                    (1e-6 + std::fabs(single.weights[i])));
  EXPECT_LT(max_rel, 1e-5) << "world size " << world.size();
  MPI_Barrier(MPI_COMM_WORLD);
  if (world.rank() == 0) std::filesystem::remove_all(dir);
}

// Random spike codes and augmentation draw from counter-based keys of (seed, epoch, sample, ...),
// never from the rank, so they too give the same model at every world size.
TEST(TrainMpi, PoissonAndAugmentationDoNotDependOnRanks) {
  const Comm world;
  const std::string dir = shared_temp_dir();
  const std::string data = make_dataset(dir);
  auto cfg = [&](const std::string& run) {
    Config c = config_for(data, run, "double");
    c.set("data.encoder", std::string("poisson"));
    c.set("data.crop", 28L);
    c.set("data.flip", true);
    c.set("data.speckle", 0.1);
    c.set("train.epochs", 2L);
    return c;
  };
  const auto dist = run_training(cfg(dir + "/pd"), world, "test");
  const auto single =
      run_training(cfg(dir + "/ps" + std::to_string(world.rank())), Comm(MPI_COMM_SELF), "test");
  ASSERT_EQ(dist.weights.size(), 3u * 28 * 28);
  double max_rel = 0;
  for (std::size_t i = 0; i < dist.weights.size(); ++i)
    max_rel = std::max(max_rel, std::fabs(dist.weights[i] - single.weights[i]) /
                                    (1e-12 + std::fabs(single.weights[i])));
  EXPECT_LT(max_rel, 1e-9);
  MPI_Barrier(MPI_COMM_WORLD);
  if (world.rank() == 0) std::filesystem::remove_all(dir);
}

TEST(TrainMpi, SameSeedSameWorldIsBitIdentical) {
  const Comm world;
  const std::string dir = shared_temp_dir();
  const std::string data = make_dataset(dir);
  for (const char* precision : {"double", "float"}) {
    const std::string p = dir + "/" + precision;  // one run directory per run
    const auto a = run_training(config_for(data, p + "-a", precision), world, "test");
    const auto b = run_training(config_for(data, p + "-b", precision), world, "test");
    EXPECT_EQ(a.weights, b.weights) << precision;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world.rank() == 0) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace supsnn
