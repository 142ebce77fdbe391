// `supsnn train`: data-parallel training of the seed bilayer. Every rank holds a model replica,
// trains its slice of each global batch, and gradients are summed over ranks once per step
// from one flat buffer before the optimiser step.
#pragma once
#include <string>
#include <vector>

#include "config/config.hpp"
#include "dist/comm.hpp"
#include "train/metrics.hpp"

namespace supsnn {

struct TrainSummary {
  std::vector<EpochMetrics> epochs;
  std::vector<double> weights;  // final W, n x m row-major; deep SNN: the flat buffer W1, W2, ...
  int outputs = 0, inputs = 0;
  bool stopped = false;  // stopped early (signal or train.max_steps) after writing a checkpoint
};

// Runs a whole training job; rank 0 writes the run directory. `command_line` is recorded.
// `resume`: "" (fresh start), "auto" (newest good checkpoint, fresh start when none) or a file.
// A fresh start needs a run directory without an earlier run's files; `overwrite` removes them
// first (train/run_dir.hpp).
TrainSummary run_training(const Config& cfg, const Comm& comm, const std::string& command_line,
                          const std::string& resume = "", bool overwrite = false);

}  // namespace supsnn
