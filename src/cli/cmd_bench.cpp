#include "bench/data_bench.hpp"
#include "cli/commands.hpp"

namespace supsnn {

CommandRunner add_bench_command(CLI::App& app, const std::string&) {
  auto* cmd = app.add_subcommand("bench", "Print throughput figures: prepare (chips/s) and spike encoding (samples/s)");
  auto o = std::make_shared<DataBenchOptions>();
  cmd->add_option("-i,--input", o->input, "chip folder to prepare and encode (e.g. ../shared/data/mstar/soc3)");
  cmd->add_option("-d,--dataset", o->dataset, "existing image dataset to encode (its train split)");
  cmd->add_option("--batch", o->batch, "images per encoder call")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--repeats", o->repeats, "passes per code; the best is reported")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--raw-steps", o->raw_steps, "T of the spike trains")->capture_default_str()->check(CLI::Range(1, 255));
  return [o]() {
    run_data_bench(*o);
    return 0;
  };
}

}  // namespace supsnn
