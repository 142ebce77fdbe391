// Preemption through the command line: SIGUSR1 or SIGTERM makes `supsnn train` write a
// checkpoint at the next step boundary and exit 0; `--resume auto` then finishes the run with
// the same weights, bit for bit, as a run never interrupted. A damaged newest checkpoint is
// detected and `auto` falls back to the previous one.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "io/h5.hpp"
#include "test_util.hpp"

namespace supsnn {
namespace {

using test::run_bash;
using test::run_supsnn;
using test::ScratchDir;

std::string train_args(const ScratchDir& d, const std::string& run, int epochs) {
  return "train --set data.train=" + d.file("synth.h5") +
         " --set train.epochs=" + std::to_string(epochs) +
         " --set train.batch_size=2 --set run.dir=" + d.file(run);
}

std::vector<double> final_weights(const std::string& run_dir) {
  return h5::read<double>(h5::open_file(run_dir + "/model.h5"), "W");
}

class SignalResume : public ::testing::TestWithParam<const char*> {};

TEST_P(SignalResume, CheckpointsStopsAndResumesExactly) {
  const std::string sig = GetParam();
  ScratchDir d("signal");
  ASSERT_EQ(run_supsnn("synth --output " + d.file("synth.h5") +
                       " --train-per-class 30 --test-per-class 5 --size 32")
                .status,
            0);
  const int epochs = 30;
  const auto straight =
      run_supsnn(train_args(d, "straight", epochs) + " --set checkpoint.every_epochs=0");
  ASSERT_EQ(straight.status, 0) << straight.output;

  // Signal the run once its first epoch is done (metrics.csv appears), well before its end.
  const std::string run = d.file("stopped");
  const auto stopped = run_bash("$SUPSNN " + train_args(d, "stopped", epochs) +
                                " --set checkpoint.every_epochs=0 & pid=$!\n"
                                "until [ -f " +
                                run +
                                "/metrics.csv ]; do sleep 0.02; done\n"
                                "kill -" +
                                sig + " $pid\nwait $pid\necho \"exit=$?\"");
  EXPECT_NE(stopped.output.find("exit=0"), std::string::npos) << stopped.output;
  EXPECT_NE(stopped.output.find("stop signal received"), std::string::npos) << stopped.output;
  EXPECT_FALSE(std::filesystem::exists(run + "/model.h5")) << "an interrupted run wrote a model";
  int checkpoints = 0;
  for (const auto& e : std::filesystem::directory_iterator(run + "/ckpt"))
    checkpoints += e.path().filename().string().rfind("step-", 0) == 0;
  EXPECT_EQ(checkpoints, 1);

  const auto resumed = run_supsnn(train_args(d, "stopped", epochs) + " --resume auto");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resumed from " + run + "/ckpt/step-"), std::string::npos)
      << resumed.output;
  EXPECT_EQ(final_weights(run), final_weights(d.file("straight")));
}

INSTANTIATE_TEST_SUITE_P(Signals, SignalResume, ::testing::Values("USR1", "TERM"));

TEST(SignalResume, DamagedNewestCheckpointFallsBackToThePreviousOne) {
  ScratchDir d("fallback");
  ASSERT_EQ(run_supsnn("synth --output " + d.file("synth.h5") +
                       " --train-per-class 10 --test-per-class 5 --size 32")
                .status,
            0);
  // Checkpoints after epochs 1, 2 and 3 (steps 15, 30, 45).
  const auto full = run_supsnn(train_args(d, "run", 3));
  ASSERT_EQ(full.status, 0) << full.output;
  const std::vector<double> expected = final_weights(d.file("run"));
  const std::string newest = d.file("run/ckpt/step-00000045.h5");
  ASSERT_TRUE(std::filesystem::exists(newest)) << full.output;
  std::filesystem::resize_file(newest, std::filesystem::file_size(newest) / 2);
  std::filesystem::remove(d.file("run/model.h5"));

  const auto resumed = run_supsnn(train_args(d, "run", 3) + " --resume auto");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("step-00000045.h5"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("falling back"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("resumed from " + d.file("run/ckpt/step-00000030.h5")),
            std::string::npos)
      << resumed.output;
  EXPECT_EQ(final_weights(d.file("run")), expected);

  // An explicit damaged file is an error naming it, not a silent fresh start (the resumed run
  // above wrote step 45 anew, so damage it again).
  std::filesystem::resize_file(newest, std::filesystem::file_size(newest) / 2);
  const auto bad = run_supsnn(train_args(d, "run", 3) + " --resume " + newest);
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find(newest), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace supsnn
