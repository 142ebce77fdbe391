#include "guide/guide_dataset.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>

#include "config/config.hpp"
#include "data/dataset.hpp"
#include "io/h5.hpp"

namespace supsnn {

std::string guide_config_text(const Config& cfg, const GuideParams& p) {
  const std::string all = cfg.to_toml();
  std::string out = "[guide]\n";
  const auto at = all.find("\n[guide]\n");
  if (at != std::string::npos) {
    const auto begin = at + 9, end = all.find("\n[", begin);
    out += all.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  }
  // The resolved seeds: guide.seed = 0 follows train.seed, and the held-out part is drawn with
  // the seed the caller set (the training run's split in the pipeline).
  out += "\n# resolved: seed " + std::to_string(p.seed) + ", holdout seed " +
         std::to_string(p.holdout_seed) + "\n[data]\nencoder = \"" + p.encoder +
         "\"\nraw_steps = " + std::to_string(cfg.get_int("data.raw_steps")) +
         "\nreceptive_field = " + (p.data.receptive_field ? "true" : "false") +
         "\nvalidation = " + std::to_string(p.validation) + "\n";
  return out;
}

GuideResult guide_dataset(const GuideParams& p, const std::string& config_text,
                          const std::string& train_path, const std::string& test_path,
                          const std::string& output, const std::string& created_by,
                          const GuideLog& log, std::vector<std::string>* class_names) {
  DatasetFile ds;
  {
    SplitReader r(train_path, "train");
    ds.kind = r.kind();
    ds.class_names = r.class_names();
    ds.preprocessing = r.preprocessing();
  }
  ds.splits.push_back(read_split(train_path, "train", nullptr));
  if (has_split(test_path, "test")) ds.splits.push_back(read_split(test_path, "test", nullptr));
  const GuideResult res = run_guide(p, ds, log);
  const int n = res.outputs;
  const int m = ds.splits[0].inputs();
  ds.write_extra = [&](const h5::Handle& f) {
    auto g = h5::create_group(f, "guide");
    h5::write(g, "weights", {static_cast<hsize_t>(n), static_cast<hsize_t>(m)}, res.weights.data());
    h5::write(g, "assignment", {static_cast<hsize_t>(res.assignment.size())},
              res.assignment.data());
    if (!res.row_neuron.empty())
      h5::write(g, "row_neuron", {static_cast<hsize_t>(res.row_neuron.size())},
                res.row_neuron.data());
    h5::write(g, "label", {static_cast<hsize_t>(n)}, res.label.data());
    h5::set_attr(g, "labels", p.labels);
    for (const auto& pt : res.parts) {
      const hsize_t C = ds.class_names.size();
      h5::write(g, pt.name + "_confusion", {C, C + 1}, pt.confusion.data());
      h5::set_attr(g, pt.name + "_unwon", static_cast<std::int64_t>(pt.unwon));
    }
    if (!std::isnan(res.validation_accuracy))
      h5::set_attr(g, "validation_accuracy", res.validation_accuracy);
    h5::set_attr(g, "train_accuracy", res.train_accuracy);
    h5::set_attr(g, "test_accuracy", res.test_accuracy);
    h5::set_attr(g, "mode", p.mode);
    h5::set_attr(g, "config", config_text);
  };
  write_dataset(output, ds, created_by);
  if (class_names) *class_names = ds.class_names;
  return res;
}

std::vector<std::string> guide_report_lines(const GuideResult& res,
                                            const std::vector<std::string>& classes) {
  std::vector<std::string> out;
  const int C = static_cast<int>(classes.size());
  char buf[256];
  for (const auto& pt : res.parts) {
    std::snprintf(buf, sizeof buf,
                  "guide %s: accuracy %.4f (%ld of %ld; %ld without a labelled winner)",
                  pt.name.c_str(), pt.samples ? static_cast<double>(pt.correct) / pt.samples : 0.0,
                  pt.correct, pt.samples, pt.unwon);
    out.emplace_back(buf);
    std::snprintf(buf, sizeof buf, "  %-12s %8s", "class", "accuracy");
    std::string line = buf;
    for (int q = 0; q < C; ++q) {
      std::snprintf(buf, sizeof buf, " %6.6s", classes[q].c_str());
      line += buf;
    }
    out.push_back(line + "   none");
    for (int t = 0; t < C; ++t) {
      const long* row = &pt.confusion[static_cast<std::size_t>(t) * (C + 1)];
      long total = 0;
      for (int q = 0; q <= C; ++q) total += row[q];
      std::snprintf(buf, sizeof buf, "  %-12s %8.4f", classes[t].c_str(),
                    total ? static_cast<double>(row[t]) / total : 0.0);
      line = buf;
      for (int q = 0; q <= C; ++q) {
        std::snprintf(buf, sizeof buf, " %6ld", row[q]);
        line += buf;
      }
      out.push_back(line);
    }
  }
  return out;
}

std::string guided_config_of(const std::string& path) {
  const auto f = h5::open_file(path);
  if (!h5::exists(f, "guide")) return "";
  const auto g = h5::open_group(f, "guide");
  return h5::has_attr(g, "config") ? h5::attr_string(g, "config") : "";
}

}  // namespace supsnn
