// Per-epoch metrics of a run, written (rank 0) as metrics.csv and metrics.h5 after every epoch,
// each through a temporary file so that a reader never sees a half-written file.
#pragma once
#include <cmath>
#include <string>
#include <vector>

namespace supsnn {

struct EpochMetrics {
  long epoch = 0;
  double train_loss = 0, train_accuracy = 0;
  double val_loss = NAN, val_accuracy = NAN;    // NaN without data.validation
  double test_loss = NAN, test_accuracy = NAN;  // NaN without a test split
  std::vector<double> test_confusion;           // classes x classes (true x predicted) counts
  double lr = 0, samples_per_s = 0, seconds = 0;
};

class MetricsLog {
 public:
  MetricsLog(std::string run_dir, std::vector<std::string> classes)
      : dir_(std::move(run_dir)), classes_(std::move(classes)) {}
  void append(const EpochMetrics& m);  // and rewrite both files
  // Resume: the rows of the epochs before the checkpoint (rewritten with the next append).
  void restore(std::vector<EpochMetrics> rows) { rows_ = std::move(rows); }
  const std::vector<EpochMetrics>& rows() const { return rows_; }

 private:
  std::string dir_;
  std::vector<std::string> classes_;
  std::vector<EpochMetrics> rows_;
};

}  // namespace supsnn
