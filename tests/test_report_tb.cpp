// End to end through the supsnn binary: a short `supsnn train` writes TensorBoard events that an
// independent stdlib-only decoder (tests/tb_decode.py) checks against metrics.csv; `supsnn
// report` draws valid PNGs of that run and of a tiny `supsnn sweep`; `supsnn sweep gather`
// reports a missing repetition.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "mpi_fixtures.hpp"
#include "test_util.hpp"

namespace supsnn {
namespace {

namespace fs = std::filesystem;

const std::string kTiny =
    " --set train.batch_size=6 --set checkpoint.every_epochs=0 --set run.log_level=warn"
    " --set train.eval_batch_size=6";

// A PNG file: the 8-byte signature and more than 1 kB.
void expect_png(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  ASSERT_TRUE(f.good()) << path << " missing";
  char sig[8] = {};
  f.read(sig, 8);
  EXPECT_EQ(std::string(sig, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << path;
  EXPECT_GT(fs::file_size(path), 1024u) << path;
}

class ReportTb : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::ScratchDir("report");
    data_ = make_dataset(dir_->str());  // 48 train samples (batch 6: 8 steps/epoch), 32 x 32
  }
  static void TearDownTestSuite() { delete dir_; }
  static test::ScratchDir* dir_;
  static std::string data_;
};
test::ScratchDir* ReportTb::dir_ = nullptr;
std::string ReportTb::data_;

TEST_F(ReportTb, TensorBoardEventsDecodeIndependentlyAndReportDrawsRun) {
  const std::string run = dir_->file("run");
  auto r = test::run_supsnn("train --set data.train=" + data_ + " --run-dir " + run +
                            " --set train.epochs=3" + kTiny);
  ASSERT_EQ(r.status, 0) << r.output;
  // Any python3 will do: the decoder needs the standard library only.
  r = test::run_command("python3 " + test::source_dir() + "/tests/tb_decode.py " + run +
                        " --steps-per-epoch 8 --image 65x65");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("tb_decode OK: 18 scalars"), std::string::npos) << r.output;

  r = test::run_supsnn("report " + run + " --epochs 1,3");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* png : {"accuracy.png", "loss.png", "confusion.png", "weights.png",
                          "weights_epochs.png", "raster.png"})
    expect_png(run + "/figures/" + png);
  EXPECT_FALSE(fs::exists(run + "/figures/.report.py"));
}

TEST_F(ReportTb, SweepThenGatherThenReport) {
  const std::string out = dir_->file("sweep");
  auto r =
      test::run_supsnn("sweep --repeats 2 --set data.train=" + data_ +
                       " --set train.epochs=2 --grid optim.lr=0.01,0.02 --output " + out + kTiny);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("optim.lr=0.01"), std::string::npos) << r.output;
  for (const char* c : {"optim.lr=0.01", "optim.lr=0.02"}) {
    EXPECT_TRUE(fs::exists(out + "/" + c + "/bands.h5"));
    EXPECT_TRUE(fs::exists(out + "/" + c + "/bands.csv"));
  }
  // Gather with one more expected repetition than there is: bands written, seed 3 reported.
  r = test::run_supsnn("sweep gather " + out + " --repeats 3");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("1 of 3 repetitions have no run directory (seeds 3)"), std::string::npos)
      << r.output;
  r = test::run_supsnn("sweep gather " + out + " --repeats 2");
  EXPECT_EQ(r.status, 0) << r.output;

  r = test::run_supsnn("report " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* png : {"optim.lr=0.01_accuracy_band.png", "optim.lr=0.01_loss_band.png",
                          "optim.lr=0.02_accuracy_band.png", "comparison.png"})
    expect_png(out + "/figures/" + png);
}

// slurm/sweep.sbatch's layout: DIR/seed-<k>, one configuration, bands in DIR itself.
TEST_F(ReportTb, GatherSlurmArrayLayout) {
  const std::string out = dir_->file("lr001");
  for (int seed : {1, 2}) {
    auto r = test::run_supsnn("train --set data.train=" + data_ + " --run-dir " + out + "/seed-" +
                              std::to_string(seed) + " --set train.seed=" + std::to_string(seed) +
                              " --set train.epochs=2" + kTiny);
    ASSERT_EQ(r.status, 0) << r.output;
  }
  auto r = test::run_supsnn("sweep gather " + out + "/ --repeats 2");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("lr001 "), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(out + "/bands.h5"));
  std::ifstream f(out + "/summary.csv");
  std::string header, row;
  std::getline(f, header);
  std::getline(f, row);
  EXPECT_EQ(row.rfind("\"lr001\",2,", 0), 0u) << row;
}

TEST_F(ReportTb, ClearErrors) {
  fs::create_directories(dir_->file("empty"));
  auto r = test::run_supsnn("report " + dir_->file("empty"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("neither a run directory"), std::string::npos) << r.output;
  r = test::run_command("SUPSNN_PYTHON=/bin/false " + test::supsnn_binary() + " report " +
                        dir_->file("run"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("install python3-matplotlib python3-h5py"), std::string::npos)
      << r.output;
  r = test::run_supsnn("sweep --repeats 2 --grid optim.lr --output " + dir_->file("bad"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--grid 'optim.lr': expected key=value1,value2"), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir_->file("bad")));
}

}  // namespace
}  // namespace supsnn
