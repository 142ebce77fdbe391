#include "train/metrics.hpp"

#include <cstdio>

#include "common/atomic_file.hpp"
#include "io/h5.hpp"

namespace supsnn {

void MetricsLog::append(const EpochMetrics& m) {
  rows_.push_back(m);
  std::string csv =
      "epoch,train_loss,train_accuracy,test_loss,test_accuracy,lr,samples_per_s,seconds\n";
  for (const auto& r : rows_) {
    char line[512];
    std::snprintf(line, sizeof line, "%ld,%.10g,%.6f,%.10g,%.6f,%.6g,%.3f,%.6f\n", r.epoch,
                  r.train_loss, r.train_accuracy, r.test_loss, r.test_accuracy, r.lr,
                  r.samples_per_s, r.seconds);
    csv += line;
  }
  write_text_atomic(dir_ + "/metrics.csv", csv);

  AtomicFile out(dir_ + "/metrics.h5");
  {
    auto f = h5::create_file(out.temp_path());
    h5::set_attr(f, "schema", std::string("supsnn-metrics"));
    h5::set_attr(f, "schema_version", static_cast<std::int64_t>(1));
    const hsize_t n = rows_.size();
    std::vector<std::int64_t> epoch;
    for (const auto& r : rows_) epoch.push_back(r.epoch);
    h5::write(f, "epoch", {n}, epoch.data());
    auto column = [&](const char* name, double EpochMetrics::*field) {
      std::vector<double> v;
      for (const auto& r : rows_) v.push_back(r.*field);
      h5::write(f, name, {n}, v.data());
    };
    column("train_loss", &EpochMetrics::train_loss);
    column("train_accuracy", &EpochMetrics::train_accuracy);
    column("test_loss", &EpochMetrics::test_loss);
    column("test_accuracy", &EpochMetrics::test_accuracy);
    column("lr", &EpochMetrics::lr);
    column("samples_per_s", &EpochMetrics::samples_per_s);
    column("seconds", &EpochMetrics::seconds);
  }
  out.commit();
}

}  // namespace supsnn
