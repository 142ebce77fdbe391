#include "cli/commands.hpp"
#include "common/error.hpp"
#include "dist/comm.hpp"
#include "sweep/sweep.hpp"

namespace supsnn {

CommandRunner add_sweep_command(CLI::App& app, const std::string& command_line) {
  auto* cmd = app.add_subcommand(
      "sweep",
      "Repeat an experiment over seeds (and a grid of overrides) and write accuracy bands; "
      "`sweep gather DIR` collects the runs of a SLURM job array");
  struct Opts {
    SweepOptions s;
    long repeats = 0, seed_base = 1;
    std::string gather_dir;
    long gather_repeats = 0;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("-c,--config", o->s.config, "experiment TOML file; defaults apply without one");
  cmd->add_option("--repeats", o->repeats, "repetitions (seeds) per configuration")
      ->check(CLI::PositiveNumber);
  auto* seeds =
      cmd->add_option("--seeds", o->s.seeds, "explicit seeds, e.g. --seeds 1,2,3")->delimiter(',');
  cmd->add_option("--seed-base", o->seed_base, "seeds S, S+1, ..., S+K-1 (default 1)")
      ->excludes(seeds);
  cmd->add_option("--grid", o->s.grid,
                  "grid axis key=v1,v2,... (repeatable; the cartesian product is swept)");
  cmd->add_option("--set", o->s.sets, "override one key for every run (repeatable)");
  cmd->add_option("-o,--output", o->s.output, "sweep directory: DIR/<config>/seed-<k>");
  cmd->add_option("--group-size", o->s.group_size,
                  "MPI ranks per repetition; the world is split into groups of this size that "
                  "train repetitions in parallel (default 1)")
      ->check(CLI::PositiveNumber);
  auto* gather = cmd->add_subcommand(
      "gather",
      "Collect finished runs below DIR (e.g. slurm/sweep.sbatch's seed-<k> folders), write "
      "their bands and list missing or unfinished repetitions (exit 2 when any)");
  gather->add_option("dir", o->gather_dir, "sweep directory")->required();
  gather->add_option("--repeats", o->gather_repeats, "expected repetitions per configuration")
      ->check(CLI::PositiveNumber);
  return [o, gather, command_line]() {
    if (gather->parsed()) {
      int rank = 0;
      MPI_Comm_rank(MPI_COMM_WORLD, &rank);
      return rank == 0 ? gather_sweep(o->gather_dir, o->gather_repeats) : 0;
    }
    SweepOptions s = o->s;
    if (s.output.empty()) throw Error("sweep: --output DIR is required");
    if (s.seeds.empty()) {
      if (o->repeats <= 0) throw Error("sweep: --repeats K (or --seeds 1,2,3) is required");
      for (long k = 0; k < o->repeats; ++k) s.seeds.push_back(o->seed_base + k);
    } else if (o->repeats > 0 && o->repeats != static_cast<long>(s.seeds.size())) {
      throw Error("sweep: --repeats " + std::to_string(o->repeats) + " but --seeds lists " +
                  std::to_string(s.seeds.size()) + " seeds");
    }
    s.command_line = command_line;
    return run_sweep(s, Comm());
  };
}

}  // namespace supsnn
