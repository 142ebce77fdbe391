#include "sweep/bands.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "io/h5.hpp"

namespace supsnn {

const std::vector<std::string>& band_metrics() {
  static const std::vector<std::string> m{"train_loss",   "train_accuracy", "val_loss",
                                          "val_accuracy", "test_loss",      "test_accuracy"};
  return m;
}

RunCurves read_run_curves(const std::string& run_dir, long seed) {
  const std::string path = run_dir + "/metrics.h5";
  auto f = h5::open_file(path);
  RunCurves r;
  r.dir = run_dir;
  r.seed = seed;
  for (auto e : h5::read<std::int64_t>(f, "epoch")) r.epochs.push_back(static_cast<long>(e));
  for (const auto& name : band_metrics()) {
    if (!h5::exists(f, name)) throw Error(path + ": dataset '" + name + "' missing");
    auto v = h5::read<double>(f, name);
    if (v.size() != r.epochs.size())
      throw Error(path + ": dataset '" + name + "' has " + std::to_string(v.size()) +
                  " rows, 'epoch' has " + std::to_string(r.epochs.size()));
    r.metrics.emplace_back(name, std::move(v));
  }
  return r;
}

Bands compute_bands(std::string name, std::string config_toml, std::vector<RunCurves> runs) {
  std::sort(runs.begin(), runs.end(), [](const RunCurves& a, const RunCurves& b) {
    return a.seed != b.seed ? a.seed < b.seed : a.dir < b.dir;
  });
  Bands b;
  b.name = std::move(name);
  b.config_toml = std::move(config_toml);
  std::map<long, std::size_t> column;
  for (const auto& r : runs) {
    b.seeds.push_back(r.seed);
    b.run_dirs.push_back(r.dir);
    for (long e : r.epochs) column[e] = 0;
  }
  for (auto& [e, c] : column) {
    c = b.epochs.size();
    b.epochs.push_back(e);
  }
  for (std::size_t k = 0; k < band_metrics().size(); ++k) {
    MetricBand mb;
    mb.name = band_metrics()[k];
    bool any = false;
    for (const auto& r : runs) {
      std::vector<double> row(b.epochs.size(), NAN);
      for (std::size_t i = 0; i < r.epochs.size(); ++i) {
        const double v = r.metrics[k].second[i];
        row[column[r.epochs[i]]] = v;
        any = any || std::isfinite(v);
      }
      mb.runs.push_back(std::move(row));
    }
    // Train metrics always; validation and test only when measured.
    if (!any && mb.name.rfind("train_", 0) != 0) continue;
    for (std::size_t e = 0; e < b.epochs.size(); ++e) {
      std::vector<double> col;
      for (const auto& row : mb.runs) col.push_back(row[e]);
      mb.per_epoch.push_back(sample_stats(col));
    }
    b.metrics.push_back(std::move(mb));
  }
  for (const auto& r : runs) {
    const auto& acc = r.metrics[5].second;  // test_accuracy
    b.final_test_accuracy.push_back(acc.empty() ? NAN : acc.back());
  }
  b.final_test = sample_stats(b.final_test_accuracy);
  return b;
}

namespace {

void stats_csv_row(std::string& csv, const std::string& metric, long epoch, const SampleStats& s) {
  char line[512];
  std::snprintf(line, sizeof line,
                "%s,%ld,%ld,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g\n",
                metric.c_str(), epoch, s.count, s.mean, s.std, s.min, s.max, s.median, s.p10, s.p90,
                s.ci95_low, s.ci95_high);
  csv += line;
}

void write_stats_datasets(const h5::Handle& g, const std::vector<SampleStats>& v) {
  const hsize_t n = v.size();
  auto column = [&](const char* name, double SampleStats::*field) {
    std::vector<double> x;
    for (const auto& s : v) x.push_back(s.*field);
    h5::write(g, name, {n}, x.data());
  };
  std::vector<std::int64_t> count;
  for (const auto& s : v) count.push_back(s.count);
  h5::write(g, "count", {n}, count.data());
  column("mean", &SampleStats::mean);
  column("std", &SampleStats::std);
  column("min", &SampleStats::min);
  column("max", &SampleStats::max);
  column("median", &SampleStats::median);
  column("p10", &SampleStats::p10);
  column("p90", &SampleStats::p90);
  column("ci95_low", &SampleStats::ci95_low);
  column("ci95_high", &SampleStats::ci95_high);
}

}  // namespace

void write_bands(const std::string& dir, const Bands& b) {
  std::string csv = "metric,epoch,count,mean,std,min,max,median,p10,p90,ci95_low,ci95_high\n";
  for (const auto& m : b.metrics)
    for (std::size_t e = 0; e < b.epochs.size(); ++e)
      stats_csv_row(csv, m.name, b.epochs[e], m.per_epoch[e]);
  stats_csv_row(csv, "final_test_accuracy", b.epochs.empty() ? 0 : b.epochs.back(), b.final_test);
  write_text_atomic(dir + "/bands.csv", csv);

  AtomicFile out(dir + "/bands.h5");
  {
    auto f = h5::create_file(out.temp_path());
    h5::set_attr(f, "schema", std::string("supsnn-bands"));
    h5::set_attr(f, "schema_version", static_cast<std::int64_t>(1));
    h5::set_attr(f, "name", b.name);
    h5::set_attr(f, "config_toml", b.config_toml);
    const hsize_t R = b.seeds.size(), E = b.epochs.size();
    std::vector<std::int64_t> seeds(b.seeds.begin(), b.seeds.end());
    std::vector<std::int64_t> epochs(b.epochs.begin(), b.epochs.end());
    h5::write(f, "seeds", {R}, seeds.data());
    h5::write_strings(f, "run_dirs", b.run_dirs);
    h5::write(f, "epoch", {E}, epochs.data());
    for (const auto& m : b.metrics) {
      auto g = h5::create_group(f, m.name);
      std::vector<double> runs;
      for (const auto& row : m.runs) runs.insert(runs.end(), row.begin(), row.end());
      h5::write(g, "runs", {R, E}, runs.data());
      write_stats_datasets(g, m.per_epoch);
    }
    auto g = h5::create_group(f, "final_test_accuracy");
    h5::write(g, "runs", {R}, b.final_test_accuracy.data());
    write_stats_datasets(g, {b.final_test});
    const double t = b.final_test.count >= 2
                         ? student_t_quantile(0.975, static_cast<double>(b.final_test.count - 1))
                         : NAN;
    h5::set_attr(g, "t_quantile_0975", t);
  }
  out.commit();
}

}  // namespace supsnn
