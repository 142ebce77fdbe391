// Repeated experiments: K seeds of every point of a grid of config overrides, trained inside one
// MPI job by groups of ranks (MPI_Comm_split) working through the (point, seed) list round-robin,
// or by a SLURM job array and collected afterwards (`supsnn sweep gather`). Both ways end in the
// same function that reads the finished run directories and writes the bands.
#pragma once
#include <string>
#include <vector>

#include "config/config.hpp"
#include "dist/comm.hpp"

namespace supsnn {

struct GridPoint {
  std::string name;                      // "base", or "optim.lr=0.001,train.batch_size=8"
  std::vector<std::string> assignments;  // "key=value" for Config::set_override
};

// Cartesian product of "key=v1,v2,..." options (commas inside [...] belong to a list value).
std::vector<GridPoint> expand_grid(const std::vector<std::string>& grid);

struct SweepOptions {
  std::string config;  // TOML file, "" for defaults
  std::vector<std::string> sets, grid;
  std::vector<long> seeds;
  std::string output;
  int group_size = 1;
  std::string command_line;
};

// Collective over `world`. Trains every missing repetition (a run dir that already has model.h5
// is kept; an unfinished one resumes from its newest checkpoint), then rank 0 writes the bands.
// Returns the exit code: 0, or 2 when some repetition failed.
int run_sweep(const SweepOptions& o, const Comm& world);

// What a run directory holds.
struct RunInfo {
  std::string dir;
  long seed = 0;
  std::string identity;   // config.toml without train.seed and run.dir, resolved
  bool finished = false;  // model.h5 and metrics.h5 present
};
RunInfo inspect_run(const std::string& dir);

// The bands of one configuration from its runs (finished ones used), written into `dir`.
// Returns the number of finished runs.
long write_config_bands(const std::string& dir, const std::string& name,
                        const std::vector<RunInfo>& runs);

// `supsnn sweep gather DIR`: finds the run directories below `dir` (those with a config.toml),
// groups them by configuration, writes each group's bands into the folder that holds its runs
// and `dir`/summary.csv, and prints which repetitions are missing (`expected` > 0) or
// unfinished. Returns 0 when all are complete, 2 otherwise.
int gather_sweep(const std::string& dir, long expected);

}  // namespace supsnn
