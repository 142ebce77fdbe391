#include "bench/checkpoint_bench.hpp"
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
  auto c = std::make_shared<CheckpointBenchOptions>();
  cmd->add_option("--checkpoint", c->dir,
                  "instead: write and read a synthetic checkpoint in this folder (all MPI ranks)");
  cmd->add_option("--checkpoint-mb", c->megabytes, "checkpoint size: parameters + Adam moments, MB")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--checkpoint-float", c->single_precision, "checkpoint stored as float32");
  cmd->add_option("--checkpoint-repeats", c->repeats, "checkpoint write+read passes")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--checkpoint-keep", c->keep, "keep the checkpoint file");
  return [o, c]() {
    if (!c->dir.empty())
      run_checkpoint_bench(Comm(), *c);
    else
      run_data_bench(*o);
    return 0;
  };
}

}  // namespace supsnn
