// A sweep inside one MPI job (groups from MPI_Comm_split) and `supsnn sweep gather` on the same
// runs write identical bands, whose curves are the runs' own metrics. Registered at np = 1, 2, 4
// (np = 4: groups of 2 ranks).
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/h5.hpp"
#include "mpi_fixtures.hpp"
#include "sweep/sweep.hpp"
#include "test_util.hpp"

namespace supsnn {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Same numbers, NaN equal to NaN.
void expect_same(const std::vector<double>& a, const std::vector<double>& b,
                 const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))) << what << "[" << i << "]";
}

void expect_same_bands(const std::string& a, const std::string& b) {
  EXPECT_EQ(slurp(a + "/bands.csv"), slurp(b + "/bands.csv"));
  auto fa = h5::open_file(a + "/bands.h5");
  auto fb = h5::open_file(b + "/bands.h5");
  EXPECT_EQ(h5::read<std::int64_t>(fa, "seeds"), h5::read<std::int64_t>(fb, "seeds"));
  EXPECT_EQ(h5::read_strings(fa, "run_dirs"), h5::read_strings(fb, "run_dirs"));
  EXPECT_EQ(h5::attr_string(fa, "config_toml"), h5::attr_string(fb, "config_toml"));
  for (const char* g :
       {"train_loss", "train_accuracy", "test_loss", "test_accuracy", "final_test_accuracy"})
    for (const char* d :
         {"runs", "mean", "std", "min", "max", "median", "p10", "p90", "ci95_low", "ci95_high"}) {
      const std::string name = std::string(g) + "/" + d;
      expect_same(h5::read<double>(fa, name), h5::read<double>(fb, name), a + " " + name);
    }
}

TEST(SweepMpi, InJobSweepAndGatherWriteTheSameBands) {
  const Comm world;
  const std::string dir = shared_temp_dir();
  const std::string data = make_dataset(dir, 8);
  SweepOptions o;
  o.sets = {"data.train=" + data,        "train.epochs=2",     "train.batch_size=4",
            "checkpoint.every_epochs=0", "run.log_level=warn", "run.tensorboard=false"};
  o.grid = {"optim.lr=0.01,0.03"};
  o.seeds = {1, 2, 3};
  o.output = dir + "/sweep";
  o.group_size = world.size() == 4 ? 2 : 1;
  o.command_line = "test_sweep_mpi";
  EXPECT_EQ(run_sweep(o, world), 0);
  if (world.rank() == 0) {
    const std::string a = o.output + "/optim.lr=0.01";
    // The bands hold each run's own curve, in seed order.
    auto f = h5::open_file(a + "/bands.h5");
    std::vector<hsize_t> dims;
    const auto runs = h5::read<double>(f, "test_accuracy/runs", &dims);
    ASSERT_EQ(dims, (std::vector<hsize_t>{3, 2}));
    double sum = 0;
    for (int s = 0; s < 3; ++s) {
      auto m = h5::open_file(a + "/seed-" + std::to_string(s + 1) + "/metrics.h5");
      const auto acc = h5::read<double>(m, "test_accuracy");
      EXPECT_EQ(acc[0], runs[s * 2]);
      EXPECT_EQ(acc[1], runs[s * 2 + 1]);
      sum += acc[1];
    }
    EXPECT_NEAR(h5::read<double>(f, "test_accuracy/mean")[1], sum / 3, 1e-15);
    EXPECT_NEAR(h5::read<double>(f, "final_test_accuracy/mean")[0], sum / 3, 1e-15);

    // The SLURM way: the same run directories gathered in a copy without bands.
    const std::string copy = dir + "/gathered";
    fs::copy(o.output, copy, fs::copy_options::recursive);
    for (const auto& e : fs::recursive_directory_iterator(copy))
      if (e.path().filename() == "bands.h5" || e.path().filename() == "bands.csv")
        fs::remove(e.path());
    const auto r = test::run_supsnn("sweep gather " + copy + " --repeats 3");
    EXPECT_EQ(r.status, 0) << r.output;
    for (const char* c : {"/optim.lr=0.01", "/optim.lr=0.03"})
      expect_same_bands(o.output + c, copy + c);
    EXPECT_EQ(slurp(o.output + "/summary.csv"), slurp(copy + "/summary.csv"));

    // An unfinished repetition (no model.h5) is reported and left out of the bands.
    fs::remove(copy + "/optim.lr=0.03/seed-2/model.h5");
    const auto r2 = test::run_supsnn("sweep gather " + copy + " --repeats 3");
    EXPECT_EQ(r2.status, 2) << r2.output;
    EXPECT_NE(r2.output.find("seed-2: unfinished or failed (no model.h5)"), std::string::npos)
        << r2.output;
    auto g = h5::open_file(copy + "/optim.lr=0.03/bands.h5");
    EXPECT_EQ(h5::read<std::int64_t>(g, "seeds"), (std::vector<std::int64_t>{1, 3}));
  }
  // A second sweep over the same folder trains nothing (every run has model.h5).
  const auto before = fs::last_write_time(o.output + "/optim.lr=0.01/seed-1/model.h5");
  EXPECT_EQ(run_sweep(o, world), 0);
  EXPECT_EQ(fs::last_write_time(o.output + "/optim.lr=0.01/seed-1/model.h5"), before);
  MPI_Barrier(MPI_COMM_WORLD);
  if (world.rank() == 0) fs::remove_all(dir);
}

}  // namespace
}  // namespace supsnn
