// Run directories (docs/checkpoints.md, "Run directories"): a fresh run never mixes with an
// earlier one, two processes never share one, a resume cannot change what a step computes,
// every sample and output location is checked before the first step, and a fatal error is
// printed once and ends train.log. Each case runs the supsnn binary as a user would.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "ckpt/checkpoint.hpp"
#include "data/dataset.hpp"
#include "io/h5.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

namespace supsnn {
namespace {

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int count_of(const std::string& s, const std::string& needle) {
  int n = 0;
  for (auto p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

// Exit 1 and exactly one line, "supsnn: error: ...", containing `needle`.
void expect_refused(const test::CommandResult& r, const std::string& needle) {
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(count_of(r.output, "supsnn: error: "), 1) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << "expected '" << needle << "' in\n"
                                                      << r.output;
}

// A small image dataset with float32 pixels: 2 classes, `per_class` train and test samples
// each, 16 x 16 (or `classes` classes); `bad` (split, sample, value) puts one value in.
struct BadPixel {
  std::string split;
  int sample = -1;
  float value = 0;
};
void write_float_dataset(const std::string& path, int classes = 2, BadPixel bad = {}) {
  DatasetFile ds;
  ds.kind = "images";
  for (int c = 0; c < classes; ++c) ds.class_names.push_back("class" + std::to_string(c));
  for (const char* name : {"train", "test"}) {
    Split s;
    s.name = name;
    s.count = 8 * classes;
    s.height = s.width = 16;
    for (int i = 0; i < s.count; ++i) {
      s.labels.push_back(i % classes);
      for (int q = 0; q < 256; ++q)
        s.images_f32.push_back(static_cast<float>((q * (1 + i % classes) * 37 + i) % 256));
    }
    if (bad.split == name) s.images_f32[static_cast<std::size_t>(bad.sample) * 256 + 7] = bad.value;
    ds.splits.push_back(s);
  }
  write_dataset(path, ds, "test_run_dir");
}

const std::string kTrain =
    "train --set data.train=d.h5 --set train.batch_size=4 --set run.log_level=\\\"warn\\\" ";

TEST(RunDir, FreshRunInAUsedDirectoryIsRefusedAndNothingIsLost) {
  test::ScratchDir dir("rundir");
  write_float_dataset(dir.file("d.h5"));
  auto r =
      test::run_supsnn(kTrain + "--set train.epochs=2 --set train.seed=3 --run-dir x", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string metrics = slurp(dir.file("x/metrics.csv"));
  const std::string config = slurp(dir.file("x/config.toml"));
  const std::string model = slurp(dir.file("x/model.h5"));
  ASSERT_TRUE(fs::exists(dir.file("x/ckpt/step-00000008.h5")));
  // Files of other tools (a SLURM job's output) are not a run's: they never count or go.
  std::ofstream(dir.file("x/slurm-77.out")) << "job output\n";

  r = test::run_supsnn(kTrain + "--set train.epochs=1 --set train.seed=4 --run-dir x", dir.str());
  expect_refused(r, "x: the run directory holds an earlier run (");
  EXPECT_NE(r.output.find("--resume auto"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--overwrite"), std::string::npos) << r.output;
  EXPECT_EQ(slurp(dir.file("x/metrics.csv")), metrics);
  EXPECT_EQ(slurp(dir.file("x/config.toml")), config);
  EXPECT_EQ(slurp(dir.file("x/model.h5")), model);
  // The earlier run's checkpoints still read and verify (checksum included).
  EXPECT_EQ(read_checkpoint(Comm(), dir.file("x/ckpt/step-00000008.h5")).global_step, 8);

  // A checkpoint folder elsewhere (checkpoint.dir) that holds checkpoints counts too.
  r = test::run_supsnn(kTrain + "--set checkpoint.dir=\\\"x/ckpt\\\" --run-dir y", dir.str());
  expect_refused(r, "y: the run directory holds an earlier run (");
  EXPECT_FALSE(fs::exists(dir.file("y"))) << "a refused run leaves no run directory";

  // --overwrite removes the earlier run's files (only those) and starts over.
  r = test::run_supsnn(kTrain +
                           "--set train.epochs=1 --set train.seed=4 --set checkpoint.keep_last=9 "
                           "--run-dir x --overwrite",
                       dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("x/ckpt/step-00000008.h5"))) << "old checkpoints removed";
  EXPECT_TRUE(fs::exists(dir.file("x/ckpt/step-00000004.h5")));
  const std::string fresh_metrics = slurp(dir.file("x/metrics.csv"));
  EXPECT_EQ(std::count(fresh_metrics.begin(), fresh_metrics.end(), '\n'), 2)
      << "one epoch: header + 1 row";
  EXPECT_NE(slurp(dir.file("x/config.toml")).find("seed = 4"), std::string::npos);
  EXPECT_EQ(slurp(dir.file("x/slurm-77.out")), "job output\n");
  // --overwrite and --resume auto contradict each other.
  expect_refused(test::run_supsnn(kTrain + "--run-dir x --overwrite --resume auto", dir.str()),
                 "--overwrite starts x over and --resume auto continues it");
}

TEST(RunDir, SecondProcessIsRefusedByTheLockWhichDiesWithItsHolder) {
  test::ScratchDir dir("rundir");
  write_float_dataset(dir.file("d.h5"));
  // The holder trains "forever"; once its first checkpoint exists, a second process (a requeued
  // job, say) tries the same directory; after kill -9 of the holder the directory is free.
  const auto r = test::run_bash(
      "$SUPSNN " + kTrain +
          "--set train.epochs=1000000 --run-dir x > holder.txt 2>&1 & holder=$!\n"
          "for i in $(seq 600); do ls x/ckpt/step-*.h5 >/dev/null 2>&1 && break; sleep 0.1; done\n"
          "echo holder=$holder\n"
          "$SUPSNN " +
          kTrain +
          "--set train.epochs=1000000 --run-dir x --resume auto; echo second=$?\n"
          "kill -9 $holder; wait $holder 2>/dev/null\n"
          "$SUPSNN " +
          kTrain + "--set train.epochs=1 --run-dir x --overwrite; echo third=$?\n",
      dir.str());
  const auto pid_at = r.output.find("holder=");
  ASSERT_NE(pid_at, std::string::npos) << r.output;
  const std::string pid = r.output.substr(pid_at + 7, r.output.find('\n', pid_at) - pid_at - 7);
  EXPECT_NE(r.output.find("x: the run directory is in use by another supsnn train (host "),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(", PID " + pid + ", lock x/.supsnn.lock)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("second=1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("third=0"), std::string::npos) << "stale lock after kill -9:\n"
                                                         << r.output;
}

TEST(RunDir, ResumeRefusesOtherSettingsAndSaysWhenThereIsNothingToTrain) {
  test::ScratchDir dir("rundir");
  write_float_dataset(dir.file("d.h5"));
  const std::string run = kTrain + "--set train.seed=3 --run-dir x ";
  ASSERT_EQ(
      test::run_supsnn(run + "--set train.max_steps=6 --set train.epochs=2", dir.str()).status, 0);
  const std::string config = slurp(dir.file("x/config.toml"));
  auto r = test::run_supsnn(
      run + "--set train.epochs=2 --set train.seed=4 --set model.steps=50 --resume auto",
      dir.str());
  expect_refused(r,
                 "the checkpoint's run has other settings (model.steps 100 -> 50, "
                 "train.seed 3 -> 4)");
  EXPECT_EQ(slurp(dir.file("x/config.toml")), config) << "a refused resume keeps the config";
  EXPECT_NE(slurp(dir.file("x/train.log")).find("supsnn: error: --resume "), std::string::npos)
      << "the error ends train.log";
  // Epochs, learning rate, log level and checkpoint intervals may change.
  r = test::run_supsnn(run +
                           "--set train.epochs=3 --set optim.lr=0.0005 --set "
                           "checkpoint.every_steps=5 --set run.log_level=\\\"info\\\" "
                           "--resume auto",
                       dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("resumed from"), std::string::npos) << r.output;
  const std::string model = slurp(dir.file("x/model.h5"));
  // Finished: nothing to train, said, and nothing rewritten.
  r = test::run_supsnn(run + "--set train.epochs=3 --resume auto", dir.str());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("the run has finished all train.epochs = 3 epochs; nothing to train"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(slurp(dir.file("x/model.h5")), model);
  const std::string newest = dir.file("x/ckpt/step-00000012.h5");
  EXPECT_EQ(read_checkpoint(Comm(), newest).epoch, 4) << "still verifies";
  // Past train.epochs: a run cannot be shortened.
  expect_refused(test::run_supsnn(run + "--set train.epochs=2 --resume auto", dir.str()),
                 "the checkpoint has finished 3 epochs, past train.epochs = 2");
  // A run directory without a checkpoint yet: --resume auto compares its config.toml.
  ASSERT_EQ(test::run_supsnn(kTrain + "--set checkpoint.every_epochs=0 --set train.epochs=1 "
                                      "--run-dir nock",
                             dir.str())
                .status,
            0);
  expect_refused(test::run_supsnn(kTrain + "--set checkpoint.every_epochs=0 --set train.seed=9 "
                                           "--run-dir nock --resume auto",
                                  dir.str()),
                 "nock/config.toml: the run in this directory has other settings (train.seed 1 -> "
                 "9)");
}

TEST(RunDir, BadDataAndUnwritableOutputsStopBeforeTheFirstStep) {
  test::ScratchDir dir("rundir");
  // NaN in the test split and an out-of-range pixel in train: found before anything is written.
  write_float_dataset(dir.file("nan.h5"), 2, {"test", 13, NAN});
  expect_refused(test::run_supsnn("train --set data.train=nan.h5 --run-dir r1", dir.str()),
                 "nan.h5: test/images: sample 13 holds NaN or Inf");
  EXPECT_FALSE(fs::exists(dir.file("r1")));
  write_float_dataset(dir.file("big.h5"), 2, {"train", 5, 300.0f});
  expect_refused(test::run_supsnn("train --set data.train=big.h5 --run-dir r2", dir.str()),
                 "big.h5: train/images: sample 5 holds the value 300.000000, outside the 0..255 "
                 "grey-value range");
  EXPECT_FALSE(fs::exists(dir.file("r2")));
  // One class is no classification task.
  write_float_dataset(dir.file("one.h5"), 1);
  expect_refused(test::run_supsnn("train --set data.train=one.h5 --run-dir r3", dir.str()),
                 "one.h5: the dataset has 1 class (class0); classification needs at least 2");
  EXPECT_FALSE(fs::exists(dir.file("r3")));
  // No epochs is no training run.
  write_float_dataset(dir.file("d.h5"));
  expect_refused(test::run_supsnn("train --set data.train=d.h5 --set train.epochs=0", dir.str()),
                 "'train.epochs': value 0 out of range, expected >= 1");
  // An unusable checkpoint folder (under a regular file) is found before the first step, and
  // the refused run leaves no run directory behind.
  std::ofstream(dir.file("plain")) << "x";
  expect_refused(
      test::run_supsnn(kTrain + "--set checkpoint.dir=\\\"plain/ckpt\\\" --run-dir r4", dir.str()),
      "plain/ckpt: cannot create the checkpoint directory (checkpoint.dir)");
  EXPECT_FALSE(fs::exists(dir.file("r4")));
  // A run refused after the run directory was set up (crop larger than the images) leaves
  // nothing either; a pre-existing empty directory stays, empty.
  fs::create_directories(dir.file("r5"));
  expect_refused(test::run_supsnn(kTrain + "--set data.crop=64 --run-dir r5", dir.str()),
                 "data.crop = 64 is larger than the 16 x 16 images");
  EXPECT_TRUE(fs::exists(dir.file("r5")));
  EXPECT_TRUE(fs::is_empty(dir.file("r5")));
}

TEST(RunDir, AFatalErrorEndsTrainLogAndIsPrintedOnce) {
  test::ScratchDir dir("rundir");
  write_float_dataset(dir.file("d.h5"));
  const auto r = test::run_supsnn(
      kTrain + "--set model.precision=\\\"float\\\" --set optim.lr=1e38 --run-dir div", dir.str());
  expect_refused(r, "training diverged");
  const std::string log = slurp(dir.file("div/train.log"));
  const auto last = log.rfind('\n', log.size() - 2);
  EXPECT_NE(log.substr(last + 1).find("] supsnn: error: training diverged"), std::string::npos)
      << log;
#ifdef SUPSNN_TEST_MPIEXEC
  // Under MPI an error that every rank meets is printed once, not once per rank.
  const auto m = test::run_command(test::mpiexec() + " -np 2 " + test::mpiexec_flags() + " " +
                                       test::supsnn_binary() +
                                       " train --set data.train=missing.h5 --run-dir mpi",
                                   dir.str());
  EXPECT_NE(m.status, 0) << m.output;
  EXPECT_EQ(count_of(m.output, "supsnn: error: missing.h5: file not found"), 1) << m.output;
  EXPECT_FALSE(fs::exists(dir.file("mpi")));
#endif
}

TEST(RunDir, HelpIsSupsnnsOwnAndKokkosHelpIsKokkos) {
  for (const char* args : {"--help", "train --help", "sweep --help", "encode --help"}) {
    const auto r = test::run_supsnn(args);
    EXPECT_EQ(r.status, 0) << args << ": " << r.output;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("--kokkos-disable-warnings"), std::string::npos)
        << args << " printed Kokkos' options:\n"
        << r.output;
  }
  const auto k = test::run_supsnn("--kokkos-help");
  EXPECT_EQ(k.status, 0) << k.output;
  EXPECT_NE(k.output.find("--kokkos-disable-warnings"), std::string::npos) << k.output;
}

// `supsnn encode` draws what training feeds the network: the population code's K channels,
// the receptive-field switch, pooling and cropping of the config.
TEST(RunDir, EncodeFollowsTheConfigsDataKeys) {
  test::ScratchDir dir("rundir");
  write_float_dataset(dir.file("d.h5"));
  const std::string base = "encode --dataset d.h5 --split train --index 3 ";
  auto r = test::run_supsnn(base + "--output plain.h5", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_supsnn(base +
                           "--output pop.h5 --set data.encoder=\\\"latency\\\" --set "
                           "data.population=4 --set data.receptive_field=false --set data.crop=12 "
                           "--set data.pool=2",
                       dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  auto plain = h5::open_file(dir.file("plain.h5"));
  auto pop = h5::open_file(dir.file("pop.h5"));
  EXPECT_EQ(h5::attr_int(plain, "height"), 16);
  EXPECT_EQ(h5::attr_int(plain, "channels"), 1);
  EXPECT_EQ(h5::attr_int(pop, "height"), 6) << "crop 12, pooled by 2";
  EXPECT_EQ(h5::attr_int(pop, "width"), 6);
  EXPECT_EQ(h5::attr_int(pop, "channels"), 4);
  EXPECT_EQ(h5::attr_string(pop, "encoder"), "latency");
  const auto neuron = h5::read<std::int32_t>(pop, "neuron");
  ASSERT_FALSE(neuron.empty());
  const int top = *std::max_element(neuron.begin(), neuron.end());
  EXPECT_LT(top, 4 * 36);
  EXPECT_GE(top, 36) << "spikes of the population's later channels";
  // Each pixel spikes at most once per population neuron under the latency code.
  EXPECT_LE(neuron.size(), 4u * 36u);
}

}  // namespace
}  // namespace supsnn
