// Layered networks through the trainer at several MPI sizes: R ranks with the global batch split
// between them train what one rank trains with the whole batch (synchronised batch
// normalisation, dropout keyed by sample), and a run stopped mid-epoch and resumed ends with the
// same weights and normalisation statistics bit for bit. Registered at np = 1, 2 and 4.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <filesystem>

#include "config/config.hpp"
#include "dist/comm.hpp"
#include "io/h5.hpp"
#include "mpi_fixtures.hpp"
#include "train/trainer.hpp"

namespace supsnn {
namespace {

Config layered_config(const std::string& data, const std::string& run_dir) {
  Config c;
  c.set("data.train", data);
  c.set("run.dir", run_dir);
  c.set("run.log_level", std::string("warn"));
  c.set("train.epochs", 2L);
  c.set("train.batch_size", 8L);  // local batch 8, 4 or 2
  c.set("train.eval_batch_size", 5L);
  c.set("model.precision", std::string("double"));
  c.set("model.steps", 3L);
  c.set("data.encoder", std::string("direct"));
  c.set("data.crop", 24L);
  c.set("data.flip", true);  // random augmentation must not depend on the rank either
  c.set("loss.kind", std::string("cross-entropy"));
  c.set("optim.lr", 0.01);
  c.set_override(
      R"(model.layers=[{kind="conv", channels=4, kernel=3, neuron="none", bias=false}, {kind="norm"},)"
      R"( {kind="pool"}, {kind="conv", channels=6, kernel=3, stride=2}, {kind="dense", units=16,)"
      R"( neuron="none", bias=false}, {kind="norm", neuron="if"}, {kind="dropout", p=0.25}, {kind="readout"}])");
  return c;
}

double max_rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    m = std::max(m, std::fabs(a[i] - b[i]) / (1e-12 + std::fabs(b[i])));
  return m;
}

// The normalisation statistics a run saved in its model.h5.
std::vector<double> running_stats(const std::string& run_dir) {
  auto f = h5::open_file(run_dir + "/model.h5");
  std::vector<double> out;
  for (const char* name :
       {"layer2.running_mean", "layer2.running_var", "layer6.running_mean", "layer6.running_var"}) {
    const auto v = h5::read<double>(f, name);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

TEST(LayeredMpi, ShardedBatchEqualsSingleRankBatch) {
  const Comm world;
  const std::string dir = shared_temp_dir();
  const std::string data = make_dataset(dir);
  const TrainSummary dist = run_training(layered_config(data, dir + "/dist"), world, "test");
  const std::string self_dir = dir + "/self" + std::to_string(world.rank());
  const TrainSummary single =
      run_training(layered_config(data, self_dir), Comm(MPI_COMM_SELF), "test");
  ASSERT_EQ(dist.weights.size(), single.weights.size());
  EXPECT_LT(max_rel_diff(dist.weights, single.weights), 1e-8) << "world size " << world.size();
  ASSERT_EQ(dist.epochs.size(), 2u);
  for (std::size_t e = 0; e < 2; ++e) {
    EXPECT_NEAR(dist.epochs[e].train_loss, single.epochs[e].train_loss,
                1e-8 * single.epochs[e].train_loss);
    EXPECT_DOUBLE_EQ(dist.epochs[e].test_accuracy, single.epochs[e].test_accuracy);
  }
  if (world.rank() == 0) {
    EXPECT_LT(max_rel_diff(running_stats(dir + "/dist"), running_stats(self_dir)), 1e-8);
  }
  // Training moved the weights: the comparison is not between two untouched models.
  Config c = layered_config(data, dir + "/zero" + std::to_string(world.rank()));
  c.set("train.epochs", 1L);
  c.set("optim.lr", 1e-300);
  const TrainSummary zero = run_training(c, Comm(MPI_COMM_SELF), "test");
  EXPECT_GT(max_rel_diff(single.weights, zero.weights), 1e-3);
  MPI_Barrier(MPI_COMM_WORLD);
  if (world.rank() == 0) std::filesystem::remove_all(dir);
}

TEST(LayeredMpi, StopAndResumeIsBitIdentical) {
  const Comm world;
  const std::string dir = shared_temp_dir();
  const std::string data = make_dataset(dir);
  const TrainSummary straight =
      run_training(layered_config(data, dir + "/straight"), world, "test");
  Config c = layered_config(data, dir + "/resumed");
  c.set("train.max_steps", 9L);  // mid-epoch 2 (6 steps per epoch)
  run_training(c, world, "test");
  const TrainSummary resumed =
      run_training(layered_config(data, dir + "/resumed"), world, "test", "auto");
  EXPECT_EQ(max_rel_diff(resumed.weights, straight.weights), 0.0);
  if (world.rank() == 0) {
    EXPECT_EQ(running_stats(dir + "/resumed"), running_stats(dir + "/straight"));
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (world.rank() == 0) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace supsnn
