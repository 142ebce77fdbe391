// Accuracy/loss bands of repeated runs of one configuration: per epoch and metric the summary
// statistics over the runs, every run's own curve, and the final test accuracy with a 95 %
// confidence interval. Written as bands.h5 and bands.csv (layout: docs/sweeps.md).
#pragma once
#include <string>
#include <vector>

#include "sweep/stats.hpp"

namespace supsnn {

// The per-epoch curves of one finished run (read from its metrics.h5).
struct RunCurves {
  std::string dir;
  long seed = 0;
  std::vector<long> epochs;
  std::vector<std::pair<std::string, std::vector<double>>> metrics;  // name -> per epoch
};

// Metrics that bands cover, in file order; val_* and test_* only when some run has them.
const std::vector<std::string>& band_metrics();

// Reads `run_dir`/metrics.h5; `seed` is recorded as given.
RunCurves read_run_curves(const std::string& run_dir, long seed);

struct MetricBand {
  std::string name;
  std::vector<std::vector<double>> runs;  // runs x epochs (NaN where a run has no such epoch)
  std::vector<SampleStats> per_epoch;
};

struct Bands {
  std::string name, config_toml;
  std::vector<long> seeds;
  std::vector<std::string> run_dirs;
  std::vector<long> epochs;  // union of the runs' epochs, ascending
  std::vector<MetricBand> metrics;
  std::vector<double> final_test_accuracy;  // each run's last test accuracy
  SampleStats final_test;
};

// Runs are ordered by seed (then directory), so the result does not depend on the input order.
Bands compute_bands(std::string name, std::string config_toml, std::vector<RunCurves> runs);

// `dir`/bands.h5 and `dir`/bands.csv, each written atomically.
void write_bands(const std::string& dir, const Bands& b);

}  // namespace supsnn
