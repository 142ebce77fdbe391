#include "bench/checkpoint_bench.hpp"
#include "bench/data_bench.hpp"
#include "bench/train_bench.hpp"
#include "cli/commands.hpp"

namespace supsnn {

CommandRunner add_bench_command(CLI::App& app, const std::string&) {
  auto* cmd = app.add_subcommand(
      "bench", "Print throughput figures: prepare (chips/s) and spike encoding (samples/s)");
  auto o = std::make_shared<DataBenchOptions>();
  cmd->add_option("-i,--input", o->input,
                  "chip folder to prepare and encode (e.g. ../shared/data/mstar/soc3)");
  cmd->add_option("-d,--dataset", o->dataset, "existing image dataset to encode (its train split)");
  cmd->add_option("--also", o->more_datasets, "training: further datasets to benchmark");
  cmd->add_option("--batch", o->batch, "images per encoder call")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--repeats", o->repeats, "passes per code; the best is reported")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--raw-steps", o->raw_steps, "T of the spike trains")
      ->capture_default_str()
      ->check(CLI::Range(1, 255));
  auto t = std::make_shared<TrainBenchOptions>();
  auto train = std::make_shared<bool>(false);
  auto precision = std::make_shared<std::string>("float");
  cmd->add_flag("--train", *train,
                "training throughput instead: samples/s of forward + backward + reduce + "
                "optimiser with the time split, on the --dataset files (repeatable), under mpirun "
                "for several ranks");
  cmd->add_option("--batches", t->batches, "training: local batch sizes")
      ->capture_default_str()
      ->delimiter(',');
  cmd->add_option("--hidden", t->hidden, "training: hidden layer sizes of the deep case")
      ->capture_default_str()
      ->delimiter(',');
  cmd->add_option("--density", t->densities,
                  "training: also random 128 x 128 spike inputs of these densities, e.g. "
                  "0.007,0.25; with --layers: the hidden layers' products alone (events "
                  "against gemm) at these input densities")
      ->delimiter(',');
  cmd->add_option(
         "--input-path", t->input_paths,
         "training: first-layer input current, each of auto, events, dense (model.input_path)")
      ->capture_default_str()
      ->delimiter(',')
      ->check(CLI::IsMember({"auto", "events", "dense"}));
  cmd->add_option("--layers", t->layers,
                  "training: the layered network of this config (direct input; random images, or "
                  "--dataset's) instead of the bilayer and deep cases");
  cmd->add_option("--seconds", t->seconds, "training: timed seconds per case")
      ->capture_default_str();
  cmd->add_option("--precision", *precision, "training: float or double")
      ->capture_default_str()
      ->check(CLI::IsMember({"float", "double"}));
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
  return [o, t, train, precision, c]() {
    if (!c->dir.empty()) {
      run_checkpoint_bench(Comm(), *c);
      return 0;
    }
    if (*train) {
      t->datasets.clear();
      if (!o->dataset.empty()) t->datasets.push_back(o->dataset);
      for (const auto& d : o->more_datasets) t->datasets.push_back(d);
      t->single = *precision == "float";
      run_train_bench(*t);
      return 0;
    }
    run_data_bench(*o);
    return 0;
  };
}

}  // namespace supsnn
