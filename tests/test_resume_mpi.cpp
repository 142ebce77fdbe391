// Checkpoint and resume through the trainer: stopping after E steps and resuming gives the same
// weights bit for bit as the straight run at the same world size, and a checkpoint written by 2
// ranks continues at 1 and 4 ranks with the same global batch. Registered at np = 4; the smaller
// worlds are sub-communicators of it.
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

constexpr long kStopStep = 17;  // mid-epoch: 48 samples / global batch 4 = 12 steps per epoch

Config config_for(const std::string& data, const std::string& run_dir, const char* precision) {
  Config c;
  c.set("data.train", data);
  c.set("run.dir", run_dir);
  c.set("run.log_level", std::string("warn"));
  c.set("train.epochs", 3L);
  c.set("train.batch_size", 4L);
  c.set("train.eval_batch_size", 5L);
  c.set("model.precision", std::string(precision));
  c.set("data.encoder", std::string("poisson"));  // random streams must resume exactly too
  c.set("data.flip", true);
  return c;
}

TrainSummary stop_at(Config c, long step, const Comm& comm) {
  c.set("train.max_steps", step);
  return run_training(c, comm, "test");
}

double max_rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    m = std::max(m, std::fabs(a[i] - b[i]) / (1e-12 + std::fabs(b[i])));
  return m;
}

// The communicator of world ranks [0, n); MPI_COMM_NULL on the others.
MPI_Comm first_ranks(int n) {
  MPI_Comm sub;
  MPI_Comm_split(MPI_COMM_WORLD, Comm().rank() < n ? 0 : MPI_UNDEFINED, 0, &sub);
  return sub;
}

TEST(ResumeMpi, StopAndResumeIsBitIdentical) {
  const Comm world;
  const std::string dir = shared_temp_dir();
  const std::string data = make_dataset(dir);
  for (const char* precision : {"double", "float"}) {
    const std::string p = dir + "/" + precision;
    const auto straight = run_training(config_for(data, p + "-straight", precision), world, "t");
    const auto first = stop_at(config_for(data, p + "-stopped", precision), kStopStep, world);
    EXPECT_TRUE(first.stopped);
    EXPECT_EQ(first.epochs.size(), 1u);  // epoch 1 finished, epoch 2 interrupted
    EXPECT_NE(first.weights, straight.weights);
    const auto resumed =
        run_training(config_for(data, p + "-stopped", precision), world, "t", "auto");
    EXPECT_FALSE(resumed.stopped);
    EXPECT_EQ(resumed.weights, straight.weights) << precision;
    ASSERT_EQ(resumed.epochs.size(), 3u);
    for (int e = 0; e < 3; ++e) {
      EXPECT_EQ(resumed.epochs[e].test_accuracy, straight.epochs[e].test_accuracy);
      EXPECT_NEAR(resumed.epochs[e].train_loss, straight.epochs[e].train_loss,
                  1e-5 * std::fabs(straight.epochs[e].train_loss));
      EXPECT_EQ(resumed.epochs[e].train_accuracy, straight.epochs[e].train_accuracy);
    }
    // A finished run resumed again has nothing left to do and keeps its weights.
    const auto again =
        run_training(config_for(data, p + "-stopped", precision), world, "t", "auto");
    EXPECT_EQ(again.weights, straight.weights);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world.rank() == 0) std::filesystem::remove_all(dir);
}

TEST(ResumeMpi, WrittenAtTwoRanksContinuesAtOneAndFour) {
  const Comm world;
  ASSERT_EQ(world.size(), 4) << "registered at np = 4";
  const std::string dir = shared_temp_dir();
  const std::string data = make_dataset(dir);
  std::vector<double> straight;
  std::string ckpt;
  if (MPI_Comm two = first_ranks(2); two != MPI_COMM_NULL) {
    const Comm c2(two);
    straight = run_training(config_for(data, dir + "/straight2", "double"), c2, "t").weights;
    const auto stopped = stop_at(config_for(data, dir + "/two", "double"), kStopStep, c2);
    ASSERT_TRUE(stopped.stopped);
    MPI_Comm_free(&two);
  }
  ckpt = dir + "/two/ckpt/step-00000017.h5";
  MPI_Barrier(MPI_COMM_WORLD);
  // The straight reference of the 2-rank world, on every rank.
  int n = static_cast<int>(straight.size());
  MPI_Bcast(&n, 1, MPI_INT, 0, MPI_COMM_WORLD);
  straight.resize(n);
  MPI_Bcast(straight.data(), n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  ASSERT_TRUE(std::filesystem::exists(ckpt));

  if (world.rank() == 0) {
    const auto one =
        run_training(config_for(data, dir + "/one", "double"), Comm(MPI_COMM_SELF), "t", ckpt);
    EXPECT_LT(max_rel_diff(one.weights, straight), 1e-9);
    EXPECT_EQ(one.epochs.size(), 3u);
  }
  const auto four = run_training(config_for(data, dir + "/four", "double"), world, "t", ckpt);
  EXPECT_LT(max_rel_diff(four.weights, straight), 1e-9);
  EXPECT_EQ(four.epochs.size(), 3u);

  // Another global batch cannot continue the step position: refused with a clear message.
  Config other = config_for(data, dir + "/other", "double");
  other.set("train.batch_size", 8L);
  try {
    run_training(other, world, "t", ckpt);
    ADD_FAILURE() << "resuming with another global batch was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("global batch"), std::string::npos) << e.what();
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world.rank() == 0) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace supsnn
