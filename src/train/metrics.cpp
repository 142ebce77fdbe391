#include "train/metrics.hpp"

#include <cmath>
#include <cstdio>

#include "common/atomic_file.hpp"
#include "io/h5.hpp"

namespace supsnn {

namespace {
// Recall of class c from a confusion matrix (NaN when the class has no samples).
double class_accuracy(const std::vector<double>& conf, int C, int c) {
  if (conf.empty()) return NAN;
  double row = 0;
  for (int p = 0; p < C; ++p) row += conf[c * C + p];
  return row > 0 ? conf[c * C + c] / row : NAN;
}
}  // namespace

void MetricsLog::append(const EpochMetrics& m) {
  rows_.push_back(m);
  const int C = static_cast<int>(classes_.size());
  std::string csv =
      "epoch,train_loss,train_accuracy,val_loss,val_accuracy,test_loss,test_accuracy,lr,samples_"
      "per_s,seconds";
  for (const auto& c : classes_) csv += ",test_accuracy_" + c;
  csv += "\n";
  for (const auto& r : rows_) {
    char line[512];
    std::snprintf(line, sizeof line, "%ld,%.10g,%.6f,%.10g,%.6f,%.10g,%.6f,%.6g,%.3f,%.6f", r.epoch,
                  r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy, r.test_loss,
                  r.test_accuracy, r.lr, r.samples_per_s, r.seconds);
    csv += line;
    for (int c = 0; c < C; ++c) {
      std::snprintf(line, sizeof line, ",%.6f", class_accuracy(r.test_confusion, C, c));
      csv += line;
    }
    csv += "\n";
  }
  write_text_atomic(dir_ + "/metrics.csv", csv);

  AtomicFile out(dir_ + "/metrics.h5");
  {
    auto f = h5::create_file(out.temp_path());
    h5::set_attr(f, "schema", std::string("supsnn-metrics"));
    h5::set_attr(f, "schema_version", static_cast<std::int64_t>(2));
    h5::write_strings(f, "class_names", classes_);
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
    column("val_loss", &EpochMetrics::val_loss);
    column("val_accuracy", &EpochMetrics::val_accuracy);
    column("test_loss", &EpochMetrics::test_loss);
    column("test_accuracy", &EpochMetrics::test_accuracy);
    column("lr", &EpochMetrics::lr);
    column("samples_per_s", &EpochMetrics::samples_per_s);
    column("seconds", &EpochMetrics::seconds);
    // Per epoch: confusion matrix (true x predicted counts) and per-class test accuracy; NaN
    // rows when there is no test split.
    std::vector<double> conf, per_class;
    for (const auto& r : rows_) {
      for (int q = 0; q < C * C; ++q)
        conf.push_back(r.test_confusion.empty() ? NAN : r.test_confusion[q]);
      for (int c = 0; c < C; ++c) per_class.push_back(class_accuracy(r.test_confusion, C, c));
    }
    h5::write(f, "test_confusion", {n, static_cast<hsize_t>(C), static_cast<hsize_t>(C)},
              conf.data());
    h5::write(f, "test_class_accuracy", {n, static_cast<hsize_t>(C)}, per_class.data());
  }
  out.commit();
}

}  // namespace supsnn
