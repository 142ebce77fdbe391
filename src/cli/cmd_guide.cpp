#include <cmath>
#include <cstdio>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "config/config.hpp"
#include "data/dataset.hpp"
#include "dist/comm.hpp"
#include "guide/stdp_guide.hpp"
#include "io/h5.hpp"

namespace supsnn {

namespace {

void print_line(const std::string& s) {
  std::printf("%s\n", s.c_str());
  std::fflush(stdout);
}

// The [guide] section of the resolved config (plus the data keys the stage reads).
std::string guide_config_text(const Config& cfg) {
  const std::string all = cfg.to_toml();
  std::string out = "[guide]\n";
  const auto at = all.find("\n[guide]\n");
  if (at != std::string::npos) {
    const auto begin = at + 9, end = all.find("\n[", begin);
    out += all.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  }
  out += "\n[data]\nencoder = \"" + cfg.get_string("data.encoder") +
         "\"\nraw_steps = " + std::to_string(cfg.get_int("data.raw_steps")) + "\n";
  return out;
}

}  // namespace

CommandRunner add_guide_command(CLI::App& app, const std::string& command_line) {
  auto* cmd = app.add_subcommand(
      "guide", "Train the unsupervised STDP network and add its guidance traces to a dataset");
  struct Opts {
    std::string dataset, output, config;
    std::vector<std::string> sets;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("-d,--dataset", o->dataset, "input dataset (.h5) with a train split")->required();
  cmd->add_option("-o,--output", o->output, "output dataset (.h5): the input plus guidance")
      ->required();
  cmd->add_option("-c,--config", o->config, "TOML file (guide.* and data.encoder/raw_steps keys)");
  cmd->add_option("--set", o->sets, "override one key, e.g. --set guide.epochs=4 (repeatable)");
  return [o, command_line]() {
    Config cfg = o->config.empty() ? Config() : Config::load(o->config);
    for (const auto& s : o->sets) cfg.set_override(s);
    const GuideParams p = guide_params(cfg);
    if (Comm().rank() != 0) return 0;  // a sequential stage: rank 0 only
    DatasetFile ds;
    {
      SplitReader r(o->dataset, "train");
      ds.kind = r.kind();
      ds.class_names = r.class_names();
      ds.preprocessing = r.preprocessing();
    }
    for (const char* name : {"train", "test"})
      if (has_split(o->dataset, name)) ds.splits.push_back(read_split(o->dataset, name, nullptr));
    const GuideResult res = run_guide(p, ds, print_line);
    const int n = res.outputs;
    const int m = ds.splits[0].inputs();
    const std::string cfg_text = guide_config_text(cfg);
    ds.write_extra = [&](const h5::Handle& f) {
      auto g = h5::create_group(f, "guide");
      h5::write(g, "weights", {static_cast<hsize_t>(n), static_cast<hsize_t>(m)},
                res.weights.data());
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
      h5::set_attr(g, "config", cfg_text);
    };
    write_dataset(o->output, ds, command_line);
    // Per part: accuracy, per class, and the confusion (true x predicted; "none": no winner).
    const int C = static_cast<int>(ds.class_names.size());
    for (const auto& pt : res.parts) {
      std::printf("guide %s: accuracy %.4f (%ld of %ld; %ld without a labelled winner)\n",
                  pt.name.c_str(), pt.samples ? static_cast<double>(pt.correct) / pt.samples : 0.0,
                  pt.correct, pt.samples, pt.unwon);
      std::printf("  %-12s %8s", "class", "accuracy");
      for (int q = 0; q < C; ++q) std::printf(" %6.6s", ds.class_names[q].c_str());
      std::printf("   none\n");
      for (int t = 0; t < C; ++t) {
        const long* row = &pt.confusion[static_cast<std::size_t>(t) * (C + 1)];
        long total = 0;
        for (int q = 0; q <= C; ++q) total += row[q];
        std::printf("  %-12s %8.4f", ds.class_names[t].c_str(),
                    total ? static_cast<double>(row[t]) / total : 0.0);
        for (int q = 0; q <= C; ++q) std::printf(" %6ld", row[q]);
        std::printf("\n");
      }
    }
    std::printf("guide accuracy: train %.4f", res.train_accuracy);
    if (!std::isnan(res.validation_accuracy))
      std::printf(", validation %.4f", res.validation_accuracy);
    if (!std::isnan(res.test_accuracy)) std::printf(", test %.4f", res.test_accuracy);
    std::printf(" (%d outputs, mode %s, %.1f s); wrote %s\n", n, p.mode.c_str(), res.seconds,
                o->output.c_str());
    return 0;
  };
}

}  // namespace supsnn
