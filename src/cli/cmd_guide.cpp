#include <cmath>
#include <cstdio>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "config/config.hpp"
#include "dist/comm.hpp"
#include "guide/guide_dataset.hpp"

namespace supsnn {

namespace {

void print_line(const std::string& s) {
  std::printf("%s\n", s.c_str());
  std::fflush(stdout);
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
    std::vector<std::string> class_names;
    const GuideResult res = guide_dataset(p, guide_config_text(cfg, p), o->dataset, o->dataset,
                                          o->output, command_line, print_line, &class_names);
    for (const auto& line : guide_report_lines(res, class_names)) print_line(line);
    std::printf("%s; wrote %s\n", guide_accuracy_line(res, p).c_str(), o->output.c_str());
    return 0;
  };
}

}  // namespace supsnn
