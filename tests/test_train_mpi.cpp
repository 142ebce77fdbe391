// Data parallelism: R ranks with the global batch split between them train the same model as
// one rank with the whole batch (up to summation order), and the same seed on the same world
// size gives bit-identical weights. Registered at np = 1, 2 and 3.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <filesystem>

#include "config/config.hpp"
#include "data/dataset.hpp"
#include "data/synth.hpp"
#include "data/template_guidance.hpp"
#include "dist/comm.hpp"
#include "train/trainer.hpp"

namespace supsnn {
namespace {

std::string shared_temp_dir() {
  // Rank 0 names the directory; every rank uses the same one (one node).
  char buf[512] = {};
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) {
    const auto p =
        std::filesystem::temp_directory_path() / ("supsnn-mpi-" + std::to_string(::getpid()));
    std::filesystem::create_directories(p);
    std::snprintf(buf, sizeof buf, "%s", p.c_str());
  }
  MPI_Bcast(buf, sizeof buf, MPI_CHAR, 0, MPI_COMM_WORLD);
  return buf;
}

std::string make_dataset(const std::string& dir) {
  const std::string path = dir + "/synth.h5";
  if (Comm().rank() == 0) {
    SynthOptions o;
    o.train_per_class = 10;  // 30 samples: divisible by 1, 2 and 3 ranks (no padding)
    o.test_per_class = 4;
    o.height = o.width = 32;
    DatasetFile ds;
    ds.kind = "images";
    ds.class_names = synth_class_names(3);
    for (bool test : {false, true}) {
      const SynthSplit g = synth_generate(o, test);
      Split s;
      s.name = test ? "test" : "train";
      s.count = g.count;
      s.height = s.width = 32;
      s.images = g.images;
      s.labels.assign(g.labels.begin(), g.labels.end());
      s.guide_rows = 3;
      for (int l : s.labels) {
        const auto tr = template_guidance(l, 3, 70);
        s.guidance.insert(s.guidance.end(), tr.begin(), tr.end());
      }
      ds.splits.push_back(s);
    }
    write_dataset(path, ds, "test_train_mpi");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return path;
}

Config config_for(const std::string& data, const std::string& run_dir,
                  const std::string& precision) {
  Config c;
  c.set("data.train", data);
  c.set("run.dir", run_dir);
  c.set("run.log_level", std::string("warn"));
  c.set("train.epochs", 3L);
  c.set("train.batch_size", 6L);  // local batch 6, 3 or 2
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
    c.set("train.epochs", 0L);
    return run_training(c, Comm(MPI_COMM_SELF), "test");
  }();
  double moved = 0;
  for (std::size_t i = 0; i < zero.weights.size(); ++i)
    moved = std::max(moved, std::fabs(zero.weights[i] - single.weights[i]));
  EXPECT_GT(moved, 1e-3);
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
    const auto a = run_training(config_for(data, dir + "/a", precision), world, "test");
    const auto b = run_training(config_for(data, dir + "/b", precision), world, "test");
    EXPECT_EQ(a.weights, b.weights) << precision;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world.rank() == 0) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace supsnn
