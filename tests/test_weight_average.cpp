// optim.ema through the trainer: the saved weights and every checkpoint's average are the
// exponential moving average of the training weights after each step, computed here by hand from
// a plain run's per-step checkpoints; averaging leaves training itself unchanged, evaluation uses
// the average, a stopped run resumes with it exactly, and a checkpoint without an average is
// refused for a run with one. Registered at np = 1 and 2 (every rank holds the same average).
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <filesystem>

#include "ckpt/checkpoint.hpp"
#include "config/config.hpp"
#include "dist/comm.hpp"
#include "kernels/weight_average.hpp"
#include "mpi_fixtures.hpp"
#include "train/trainer.hpp"

namespace supsnn {
namespace {

constexpr double kDecay = 0.8;
constexpr long kSteps = 6;  // 12 samples, global batch 4: 3 steps per epoch, 2 epochs

Config config_for(const std::string& data, const std::string& run_dir, double ema) {
  Config c;
  c.set("data.train", data);
  c.set("run.dir", run_dir);
  c.set("run.log_level", std::string("warn"));
  c.set("train.epochs", 2L);
  c.set("train.batch_size", 4L);
  c.set("train.eval_batch_size", 5L);
  c.set("optim.lr", 0.05);
  c.set("optim.ema", ema);
  c.set("checkpoint.every_steps", 1L);
  c.set("checkpoint.keep_last", 100L);
  return c;
}

TrainState at_step(const std::string& run_dir, long step) {
  return read_checkpoint(Comm(), checkpoint_path(run_dir + "/ckpt", step));
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

TEST(WeightAverage, SavedWeightsAreTheAverageOfTheTrajectory) {
  const Comm world;
  const std::string dir = shared_temp_dir();
  const std::string data = make_dataset(dir, 4);
  Config zero = config_for(data, dir + "/zero", 0);
  // The initial weights: one epoch whose steps move no weight (lr * update is far below half an
  // ulp of every weight), since a run of 0 epochs is refused.
  zero.set("train.epochs", 1L);
  zero.set("optim.lr", 1e-300);
  const std::vector<double> w0 = run_training(zero, world, "t").weights;
  const auto plain = run_training(config_for(data, dir + "/plain", 0), world, "t");
  const auto avg = run_training(config_for(data, dir + "/avg", kDecay), world, "t");

  // Training is the same with and without averaging (same losses, same training weights).
  ASSERT_EQ(avg.epochs.size(), 2u);
  for (int e = 0; e < 2; ++e) {
    EXPECT_EQ(avg.epochs[e].train_loss, plain.epochs[e].train_loss);
    EXPECT_EQ(avg.epochs[e].train_accuracy, plain.epochs[e].train_accuracy);
  }
  EXPECT_EQ(at_step(dir + "/avg", kSteps).params, plain.weights);

  // The average by hand from the plain run's weights after each step.
  std::vector<double> a = w0;
  for (long t = 1; t <= kSteps; ++t) {
    const TrainState p = at_step(dir + "/plain", t);
    EXPECT_TRUE(p.ema.empty());
    ema_update_ref<double>(kDecay, t, static_cast<int>(a.size()), a.data(), p.params.data());
    EXPECT_LT(max_abs_diff(at_step(dir + "/avg", t).ema, a), 1e-13) << "step " << t;
  }
  EXPECT_LT(max_abs_diff(avg.weights, a), 1e-13);
  EXPECT_GT(max_abs_diff(avg.weights, plain.weights), 1e-3);  // the average is not the last step
  // Evaluation reads the average: other test losses than the plain run's training weights.
  EXPECT_NE(avg.epochs[1].test_loss, plain.epochs[1].test_loss);
  MPI_Barrier(MPI_COMM_WORLD);
  if (world.rank() == 0) std::filesystem::remove_all(dir);
}

TEST(WeightAverage, StoppedRunResumesExactlyAndMismatchesAreRefused) {
  const Comm world;
  const std::string dir = shared_temp_dir();
  const std::string data = make_dataset(dir, 4);
  const auto straight = run_training(config_for(data, dir + "/straight", kDecay), world, "t");
  Config stop = config_for(data, dir + "/stopped", kDecay);
  stop.set("train.max_steps", 4L);  // mid-epoch 2
  ASSERT_TRUE(run_training(stop, world, "t").stopped);
  const auto resumed = run_training(config_for(data, dir + "/stopped", kDecay), world, "t", "auto");
  EXPECT_EQ(resumed.weights, straight.weights);
  ASSERT_EQ(resumed.epochs.size(), 2u);
  EXPECT_EQ(resumed.epochs[1].test_loss, straight.epochs[1].test_loss);

  // A plain checkpoint for an averaging run, and the other way round: refused, naming the key.
  const std::string plain_ckpt = checkpoint_path(dir + "/plain/ckpt", 2);
  Config plain = config_for(data, dir + "/plain", 0);
  plain.set("train.max_steps", 2L);
  ASSERT_TRUE(run_training(plain, world, "t").stopped);
  for (const auto& [cfg_ema, ckpt] :
       {std::pair<double, std::string>{kDecay, plain_ckpt},
        std::pair<double, std::string>{0.0, checkpoint_path(dir + "/stopped/ckpt", 4)}}) {
    try {
      run_training(config_for(data, dir + "/other", cfg_ema), world, "t", ckpt);
      ADD_FAILURE() << "resumed " << ckpt << " with optim.ema = " << cfg_ema;
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("optim.ema"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(ckpt), std::string::npos) << e.what();
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world.rank() == 0) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace supsnn
