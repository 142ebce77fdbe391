#include "cli/commands.hpp"
#include "config/config.hpp"
#include "dist/comm.hpp"
#include "train/trainer.hpp"

namespace supsnn {

CommandRunner add_train_command(CLI::App& app, const std::string& command_line) {
  auto* cmd = app.add_subcommand(
      "train", "Train the supervised SNN on a dataset (run under mpirun/srun for several ranks)");
  struct Opts {
    std::string config;
    std::vector<std::string> sets;
    std::string run_dir;
    std::string resume;
    bool overwrite = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("-c,--config", o->config,
                  "experiment TOML file (configs/*.toml); defaults apply without one");
  cmd->add_option("--set", o->sets, "override one key, e.g. --set train.epochs=10 (repeatable)");
  cmd->add_option("--run-dir", o->run_dir, "run directory (same as --set run.dir=...)");
  cmd->add_option("--resume", o->resume,
                  "continue from a checkpoint: auto (the newest good one in the run's checkpoint "
                  "folder; a fresh start when there is none) or a checkpoint file");
  cmd->add_flag("--overwrite", o->overwrite,
                "start over in a run directory that holds an earlier run: remove that run's "
                "files (config, log, metrics, model, checkpoints) first");
  return [o, command_line]() {
    Config cfg = o->config.empty() ? Config() : Config::load(o->config);
    for (const auto& s : o->sets) cfg.set_override(s);
    if (!o->run_dir.empty()) cfg.set("run.dir", o->run_dir);
    run_training(cfg, Comm(), command_line, o->resume, o->overwrite);
    return 0;
  };
}

}  // namespace supsnn
