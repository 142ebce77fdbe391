// The supsnn command end to end: help, synth -> train (run directory contents), training on the
// seed's samples, and bad inputs failing with one clear line, exit 1 and no partial output.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/dataset.hpp"
#include "io/h5.hpp"
#include "npy_writer.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

namespace supsnn {
namespace {

std::string read_file(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int count_lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

// Exit 1 and exactly one line "supsnn: error: ..." containing `needle`.
void expect_clean_failure(const test::CommandResult& r, const std::string& needle) {
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("supsnn: error: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
  EXPECT_EQ(count_lines(r.output), 1) << r.output;
}

TEST(Cli, HelpOnEverySubcommand) {
  auto r = test::run_supsnn("--help");
  EXPECT_EQ(r.status, 0);
  for (const char* sub : {"train", "import-seed", "synth", "config"}) {
    EXPECT_NE(r.output.find(sub), std::string::npos) << r.output;
    auto h = test::run_supsnn(std::string(sub) + " --help");
    EXPECT_EQ(h.status, 0) << sub << ": " << h.output;
    EXPECT_NE(h.output.find("Usage"), std::string::npos) << h.output;
  }
  EXPECT_NE(test::run_supsnn("").status, 0);
  EXPECT_NE(test::run_supsnn("frobnicate").status, 0);
}

TEST(Cli, SynthThenTrainWritesRunDirectory) {
  test::ScratchDir dir("cli");
  auto r = test::run_supsnn(
      "synth --output data.h5 --train-per-class 30 --test-per-class 10 --size 64", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_supsnn(
      "train --set data.train=data.h5 --set train.epochs=3 --set train.batch_size=4 "
      "--set data.validation=0.2 --run-dir run --set optim.schedule=\\\"step\\\" --set "
      "optim.milestones=[3]",
      dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("final test accuracy"), std::string::npos) << r.output;
  for (const char* f : {"config.toml", "train.log", "metrics.csv", "metrics.h5", "model.h5"})
    EXPECT_TRUE(fs::exists(dir.file(std::string("run/") + f))) << f;
  const std::string cfg = read_file(dir.file("run/config.toml"));
  EXPECT_NE(cfg.find("epochs = 3"), std::string::npos) << cfg;
  EXPECT_NE(cfg.find("batch_size = 4"), std::string::npos) << cfg;
  const std::string csv = read_file(dir.file("run/metrics.csv"));
  EXPECT_EQ(count_lines(csv), 4) << csv;  // header + 3 epochs
  EXPECT_EQ(
      csv.rfind("epoch,train_loss,train_accuracy,val_loss,val_accuracy,test_loss,test_accuracy,lr,"
                "samples_per_s,seconds,test_accuracy_tank,test_accuracy_apc,test_accuracy_truck\n",
                0),
      0u)
      << csv;
  EXPECT_NE(csv.find("\n3,"), std::string::npos);
  EXPECT_NE(csv.find(",0.001,"), std::string::npos) << "lr decayed at the milestone: " << csv;
  auto f = h5::open_file(dir.file("run/metrics.h5"));
  const auto acc = h5::read<double>(f, "test_accuracy");
  ASSERT_EQ(acc.size(), 3u);
  std::vector<hsize_t> dims;
  const auto conf = h5::read<double>(f, "test_confusion", &dims);
  EXPECT_EQ(dims, (std::vector<hsize_t>{3, 3, 3}));
  double total = 0, diag = 0;
  for (int q = 0; q < 9; ++q) total += conf[18 + q];
  for (int c = 0; c < 3; ++c) diag += conf[18 + c * 3 + c];
  EXPECT_EQ(total, 30.0) << "every test sample counted once";
  EXPECT_NEAR(diag / total, acc[2], 1e-12) << "confusion diagonal = accuracy";
  for (const auto& entry : fs::directory_iterator(dir.file("run")))
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << "leftover " << entry.path();
}

TEST(Cli, ImportSeedAndTrainOnIt) {
  test::ScratchDir dir("cli");
  const std::string seed = test::shared_path("data/seed");
  // Default: the truncated sample stops the import, naming the file, and nothing is written.
  auto r = test::run_supsnn("import-seed --input " + seed + " --output seed.h5", dir.str());
  expect_clean_failure(r,
                       "Test/Spikes/0.npy: truncated .npy: expected 16384 x 71 = 1163264 values");
  EXPECT_FALSE(fs::exists(dir.file("seed.h5")));
  EXPECT_TRUE(fs::is_empty(dir.str())) << "no partial or temporary output";
  r = test::run_supsnn("import-seed --input " + seed + " --output seed.h5 --on-bad-file skip",
                       dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("skipping sample"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("train 3 samples; test 2 samples"), std::string::npos) << r.output;
  r = test::run_supsnn("train --set data.train=seed.h5 --set train.epochs=2 --run-dir run",
                       dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("train: 3 samples (3 per rank), validation: 0, test: 2 samples"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(count_lines(read_file(dir.file("run/metrics.csv"))), 3);
  // Image options on a file of stored spikes are refused, naming the file.
  expect_clean_failure(
      test::run_supsnn("train --set data.train=seed.h5 --set data.encoder=latency "
                       "--set data.population=4 --run-dir bad",
                       dir.str()),
      "seed.h5: data.crop, data.max_shift, data.pool, data.flip, data.speckle, data.rotate, "
      "data.scale, data.receptive_field and data.population apply to image datasets");
  EXPECT_FALSE(fs::exists(dir.file("bad")));
}

TEST(Cli, PrepareThenTrainWithAugmentation) {
  test::ScratchDir dir("cli");
  const std::string odd = test::shared_path("data/mstar/odd-sizes");
  auto r = test::run_supsnn("prepare --input " + odd + " --output odd.h5 --crop 128", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("train 10 chips; 5 classes, 128 x 128"), std::string::npos) << r.output;
  r = test::run_supsnn(
      "train --set data.train=odd.h5 --set data.crop=96 --set data.flip=true "
      "--set data.speckle=0.1 --set data.encoder=poisson --set train.epochs=2 "
      "--set train.batch_size=2 --run-dir run",
      dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("10 samples (10 per rank)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("9216 inputs"), std::string::npos) << "96 x 96 crops: " << r.output;
  EXPECT_NE(r.output.find("template targets"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("no 'test' split"), std::string::npos) << r.output;
  auto f = h5::open_file(dir.file("run/model.h5"));
  EXPECT_EQ(h5::attr_int(f, "width"), 96);
  EXPECT_EQ(h5::shape(f, "W"), (std::vector<hsize_t>{5, 9216}));
  // A crop larger than the images, or a batch that does not divide over the ranks, is refused.
  r = test::run_supsnn("train --set data.train=odd.h5 --set data.crop=200 --run-dir run2",
                       dir.str());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("data.crop = 200 is larger than the 128 x 128 images"), std::string::npos)
      << r.output;
  r = test::run_supsnn("train --set data.train=odd.h5 --set data.guidance=dataset --run-dir run3",
                       dir.str());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("has no guidance traces"), std::string::npos) << r.output;
}

// train.select = "best-val": selection.csv names the epoch with the best validation accuracy and
// model.h5 holds that epoch's weights (equal to a run stopped there); with max_shift, rotation,
// zoom, pooling and weight decay on.
TEST(Cli, BestValidationSelectionWithShiftPoolAndDecay) {
  test::ScratchDir dir("cli");
  auto r = test::run_supsnn(
      "synth --output data.h5 --train-per-class 20 --test-per-class 8 --size 64", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string common =
      "train --set data.train=data.h5 --set train.batch_size=4 --set data.validation=0.3 "
      "--set data.crop=32 --set data.max_shift=3 --set data.pool=2 --set optim.weight_decay=0.1 "
      "--set data.rotate=10 --set data.scale=0.1 --set loss.kind=\"cross-entropy\" --set "
      "loss.temperature=10 --set optim.lr=0.003 ";
  r = test::run_supsnn(common +
                           "--set train.epochs=6 --set train.select=\"best-val\" "
                           "--run-dir best",
                       dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("256 inputs"), std::string::npos) << "32 x 32 crops pooled by 2";
  const std::string csv = read_file(dir.file("best/metrics.csv"));
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  long best_epoch = 0;
  double best_val = -1, best_loss = 0, best_test = 0;
  while (std::getline(lines, line)) {
    std::vector<double> v;
    std::stringstream ls(line);
    for (std::string cell; std::getline(ls, cell, ',');) v.push_back(std::stod(cell));
    if (v[4] > best_val || (v[4] == best_val && v[3] < best_loss)) {
      best_epoch = static_cast<long>(v[0]);
      best_val = v[4];
      best_loss = v[3];
      best_test = v[6];
    }
  }
  const std::string sel = read_file(dir.file("best/selection.csv"));
  ASSERT_EQ(count_lines(sel), 2) << sel;
  std::stringstream ss(sel.substr(sel.find('\n') + 1));
  std::vector<std::string> cells;
  for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
  ASSERT_EQ(cells.size(), 6u) << sel;
  EXPECT_EQ(std::stol(cells[0]), best_epoch) << sel << csv;
  EXPECT_NEAR(std::stod(cells[2]), best_val, 1e-6);  // metrics.csv has 6 digits
  EXPECT_NEAR(std::stod(cells[4]), best_test, 1e-6);
  EXPECT_EQ(cells[5], "best-val\n");
  // The same run stopped at the chosen epoch saves the same weights.
  r = test::run_supsnn(
      common + "--set train.epochs=" + std::to_string(best_epoch) + " --run-dir stopped",
      dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(read_file(dir.file("stopped/selection.csv")).find(",last"), std::string::npos);
  const auto w_best = h5::read<double>(h5::open_file(dir.file("best/model.h5")), "W");
  const auto w_stop = h5::read<double>(h5::open_file(dir.file("stopped/model.h5")), "W");
  EXPECT_EQ(w_best, w_stop);
  // train.test_every: the test split only every k-th epoch, at the last epoch and where best-val
  // is about to choose; the same training, choice, figures and weights, NaN elsewhere.
  auto rows = [&](const std::string& run) {
    std::istringstream in(read_file(dir.file(run + "/metrics.csv")));
    std::vector<std::vector<double>> out;
    std::string row;
    std::getline(in, row);
    while (std::getline(in, row)) {
      std::vector<double> v;
      std::stringstream ls(row);
      for (std::string cell; std::getline(ls, cell, ',');) v.push_back(std::stod(cell));
      out.push_back(v);
    }
    return out;
  };
  r = test::run_supsnn(common +
                           "--set train.epochs=6 --set train.select=\"best-val\" "
                           "--set train.test_every=0 --run-dir sparse",
                       dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("test not evaluated (train.test_every)"), std::string::npos) << r.output;
  r = test::run_supsnn(common +
                           "--set train.epochs=6 --set train.select=\"best-val\" "
                           "--set train.test_every=4 --run-dir every4",
                       dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_file(dir.file("sparse/selection.csv")), sel);
  EXPECT_EQ(read_file(dir.file("every4/selection.csv")), sel);
  EXPECT_EQ(h5::read<double>(h5::open_file(dir.file("sparse/model.h5")), "W"), w_best);
  const auto all = rows("best"), sparse = rows("sparse"), every4 = rows("every4");
  ASSERT_EQ(all.size(), 6u);
  ASSERT_EQ(sparse.size(), 6u);
  ASSERT_EQ(every4.size(), 6u);
  double top = -1, top_loss = 0;
  int skipped = 0;
  for (std::size_t e = 0; e < all.size(); ++e) {
    const bool chosen_now = all[e][4] > top || (all[e][4] == top && all[e][3] < top_loss);
    if (chosen_now) top = all[e][4], top_loss = all[e][3];
    const bool last = e + 1 == all.size();
    for (int k : {0, 4}) {
      const auto& v = k == 0 ? sparse[e] : every4[e];
      EXPECT_EQ(v[4], all[e][4]) << "epoch " << e + 1;  // validation: every epoch
      const bool tested = chosen_now || last || (k > 0 && (e + 1) % k == 0);
      if (tested) {
        EXPECT_EQ(v[6], all[e][6]) << "epoch " << e + 1 << ", test_every " << k;
      } else {
        EXPECT_TRUE(std::isnan(v[6])) << "epoch " << e + 1 << ", test_every " << k;
        ++skipped;
      }
    }
  }
  std::printf("train.test_every: %d of 12 epoch rows without a test evaluation\n", skipped);
  // best-val needs a validation split.
  r = test::run_supsnn(
      "train --set data.train=data.h5 --set train.select=\"best-val\" --run-dir noval", dir.str());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("needs a validation split"), std::string::npos) << r.output;
}

// The population code end to end on real MSTAR chips (soc3_e, 64 x 64 centre crops): K latency
// neurons per pixel make K x H x W inputs for the bilayer and K input channels for a
// convolutional first layer (model.h5 records them); the bilayer learns the three classes (test
// split at 15 deg, majority class 43 %); another spike code with it is refused, naming the key.
TEST(Cli, PopulationCodeTrainsBilayerAndConv) {
  test::ScratchDir dir("cli");
  auto r = test::run_supsnn(
      "prepare --input " + test::shared_path("data/mstar/soc3_e") + " --output soc3e.h5",
      dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string common =
      "train --set data.train=soc3e.h5 --set data.crop=64 --set data.random_shift=false "
      "--set train.batch_size=8 --set data.encoder=latency --set data.population=6 "
      "--set data.receptive_field=false --set loss.kind=cross-entropy --set loss.temperature=10 "
      "--set optim.lr=0.003 --set data.validation=0 ";
  r = test::run_supsnn(common + "--set train.epochs=6 --run-dir bilayer", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("24576 inputs"), std::string::npos) << "6 x 64 x 64: " << r.output;
  auto f = h5::open_file(dir.file("bilayer/model.h5"));
  EXPECT_EQ(h5::attr_int(f, "channels"), 6);
  EXPECT_EQ(h5::shape(f, "W"), (std::vector<hsize_t>{3, 24576}));
  const auto acc = h5::read<double>(h5::open_file(dir.file("bilayer/metrics.h5")), "test_accuracy");
  ASSERT_EQ(acc.size(), 6u);
  EXPECT_GT(acc.back(), 0.8) << "1365 test chips";
  r = test::run_supsnn(common +
                           "--set train.epochs=1 --set data.pool=4 --set model.conv=[2,3,1] "
                           "--run-dir conv",
                       dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  f = h5::open_file(dir.file("conv/model.h5"));
  EXPECT_EQ(h5::shape(f, "W1"), (std::vector<hsize_t>{2, 6 * 3 * 3})) << "6 input channels";
  expect_clean_failure(
      test::run_supsnn("train --set data.train=soc3e.h5 --set data.population=4 --run-dir bad",
                       dir.str()),
      "data.population = 4 needs data.encoder = \"latency\"");
  EXPECT_FALSE(fs::exists(dir.file("bad")));
}

TEST(Cli, BadInputsFailCleanly) {
  test::ScratchDir dir("cli");
  std::ofstream(dir.file("bad.toml")) << "[train]\nepoch = 3\n";
  auto r = test::run_supsnn("train --config bad.toml --run-dir run", dir.str());
  expect_clean_failure(r, "bad.toml: unknown config key 'train.epoch'");
  EXPECT_FALSE(fs::exists(dir.file("run")));
  r = test::run_supsnn("train --set train.lr=1 --run-dir run", dir.str());
  expect_clean_failure(r, "unknown config key 'train.lr'");
  r = test::run_supsnn("train --set optim.lr=-1 --run-dir run", dir.str());
  expect_clean_failure(r, "'optim.lr': value -1 out of range");
  r = test::run_supsnn("train --set data.train=missing.h5 --run-dir run", dir.str());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("missing.h5: file not found"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("run"))) << "no run directory for a run that could not start";
  // A diverging run stops at the first non-finite loss instead of training on.
  ASSERT_EQ(test::run_supsnn("synth --output d.h5 --train-per-class 5 --test-per-class 2 --size 32",
                             dir.str())
                .status,
            0);
  r = test::run_supsnn(
      "train --set data.train=d.h5 --set model.precision=float --set optim.lr=1e38 --run-dir div",
      dir.str());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("supsnn: error: training diverged: loss of train sample"),
            std::string::npos)
      << r.output;
  // srun without an MPI plugin: each task is a singleton MPI world of 1 under SLURM_NTASKS=2.
  r = test::run_command("SLURM_NTASKS=2 SLURM_STEP_ID=0 " + test::supsnn_binary() +
                            " train --set data.train=d.h5 --run-dir slurm",
                        dir.str());
  expect_clean_failure(r,
                       "MPI world has 1 ranks but SLURM_NTASKS=2: srun started independent "
                       "processes instead of one MPI job; launch with srun --mpi=pmix");
  EXPECT_FALSE(fs::exists(dir.file("slurm")));
  r = test::run_supsnn("train --config nothere.toml", dir.str());
  expect_clean_failure(r, "nothere.toml");
  r = test::run_supsnn("import-seed --input nowhere --output x.h5", dir.str());
  expect_clean_failure(r, "nowhere: no Train/Spikes or Test/Spikes folder found");
  EXPECT_FALSE(fs::exists(dir.file("x.h5")));
  r = test::run_supsnn("synth --output sub/dir/x.h5", dir.str());
  expect_clean_failure(r, "output directory sub/dir does not exist");

  // NaN guidance in a seed-style folder: the import fails and names the file.
  fs::create_directories(dir.file("s/Train/Spikes"));
  fs::create_directories(dir.file("s/Train/Labels"));
  const std::vector<double> spikes = {0, 1, 1, 0, 0, 0, 1, 1}, guide = {1, NAN, 2};
  test::write_npy(dir.file("s/Train/Spikes/0.npy"), "<f8", {4, 2}, spikes.data(), 64);
  test::write_npy(dir.file("s/Train/Labels/0.npy"), "<f8", {3, 1}, guide.data(), 24);
  r = test::run_supsnn("import-seed --input s --output s.h5", dir.str());
  expect_clean_failure(r, "s/Train/Labels/0.npy: guidance holds NaN");
  EXPECT_FALSE(fs::exists(dir.file("s.h5")));
}

}  // namespace
}  // namespace supsnn

namespace supsnn {
namespace {

// A layered network from a config file: trains through the CLI, model.h5 holds every parameter
// block, the normalisation statistics and the config, and `supsnn evaluate` of it reproduces the
// test accuracy the run reported; a bilayer's model.h5 is refused by evaluate with one line.
TEST(Cli, LayeredNetworkTrainsAndEvaluates) {
  test::ScratchDir dir("cli-layered");
  auto r = test::run_supsnn(
      "synth --output data.h5 --train-per-class 30 --test-per-class 10 --size 48", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  {
    std::ofstream cfg(dir.file("net.toml"));
    cfg << "[data]\ntrain = \"data.h5\"\nencoder = \"direct\"\ncrop = 32\nrandom_shift = false\n"
           "validation = 0.2\n[model]\nsteps = 3\nprecision = \"float\"\n"
           "[[model.layers]]\nkind = \"conv\"\nchannels = 4\nkernel = 3\nneuron = \"none\"\n"
           "bias = false\n[[model.layers]]\nkind = \"norm\"\n[[model.layers]]\nkind = \"pool\"\n"
           "[[model.layers]]\nkind = \"dense\"\nunits = 16\n[[model.layers]]\nkind = \"dropout\"\n"
           "p = 0.2\n[[model.layers]]\nkind = \"readout\"\n"
           "[loss]\nkind = \"cross-entropy\"\n[optim]\nlr = 0.01\n"
           "[train]\nepochs = 3\nbatch_size = 8\nselect = \"best-val\"\n[run]\ndir = \"run\"\n";
  }
  r = test::run_supsnn("train --config net.toml", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("layered SNN, T = 3 steps"), std::string::npos) << r.output;
  // Which product each hidden layer took, and the run's wall time, as the log lines users read.
  EXPECT_NE(r.output.find("hidden products (last batch):  layer 4 gemm"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("run time "), std::string::npos) << r.output;
  const auto at = r.output.find("final test accuracy: ");
  ASSERT_NE(at, std::string::npos) << r.output;
  const std::string reported = r.output.substr(at + 21, 6);
  auto f = h5::open_file(dir.file("run/model.h5"));
  EXPECT_EQ(h5::attr_string(f, "network"), "layered");
  for (const char* name : {"layer1.W", "layer2.gamma", "layer2.beta", "layer2.running_mean",
                           "layer2.running_var", "layer4.W", "layer4.b", "layer6.W", "layer6.b"})
    EXPECT_TRUE(h5::exists(f, name)) << name;
  {
    // A float network's parameters are stored as floats; the chosen epoch's figures go with them.
    const hid_t d = H5Dopen2(f.id(), "layer1.W", H5P_DEFAULT);
    const hid_t t = H5Dget_type(d);
    EXPECT_EQ(H5Tget_class(t), H5T_FLOAT);
    EXPECT_EQ(H5Tget_size(t), 4U);
    H5Tclose(t);
    H5Dclose(d);
  }
  EXPECT_EQ(h5::attr_string(f, "select"), "best-val");
  EXPECT_GE(h5::attr_int(f, "epoch"), 1);
  char stored[32];
  std::snprintf(stored, sizeof stored, "%.4f", h5::attr_double(f, "test_accuracy"));
  EXPECT_EQ(stored, reported);
  r = test::run_supsnn("evaluate --model run/model.h5", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("on split 'test': accuracy " + reported), std::string::npos)
      << "reported " << reported << "\n"
      << r.output;
  EXPECT_NE(r.output.find("tank"), std::string::npos) << "per-class rows: " << r.output;
  // The benchmark of this network on both paths, and its hidden products alone by density.
  r = test::run_supsnn(
      "bench --train --layers net.toml --batches 2 --seconds 0.05 --input-path events,dense",
      dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("T=3:events>e"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("T=3:dense>g,g"), std::string::npos) << r.output;
  r = test::run_supsnn("bench --train --layers net.toml --batches 2 --seconds 0.01 --density 0.1",
                       dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("gemm/ev"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1x1x1024 k1 -> 16"), std::string::npos) << r.output;  // the dense layer
  // The report draws the first conv layer's kernels as the weight maps.
  r = test::run_supsnn("report run", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir.file("run/figures/weights.png"))) << r.output;
  // The bilayer's model.h5 is not a layered network.
  r = test::run_supsnn("train --set data.train=data.h5 --set train.epochs=1 --run-dir bilayer",
                       dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::run_supsnn("evaluate --model bilayer/model.h5", dir.str());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("bilayer/model.h5: not the model.h5 of a layered network"),
            std::string::npos)
      << r.output;
  // Direct input without layers is refused before anything is written.
  r = test::run_supsnn(
      "train --set data.train=data.h5 --set data.encoder=direct --run-dir nolayers", dir.str());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("\"direct\" feeds a layered network"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("nolayers")));
}

}  // namespace
}  // namespace supsnn
