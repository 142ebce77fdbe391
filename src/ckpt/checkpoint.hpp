// Training checkpoints: one HDF5 file per checkpoint (ckpt/step-NNNNNNNN.h5), written by all
// ranks together through MPI-IO and committed atomically (temporary name, collective close,
// rename by rank 0). Layout: docs/formats.md, "Checkpoint".
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dist/comm.hpp"
#include "train/metrics.hpp"

namespace supsnn {

// Identity of one input data file, so that a resume on other data is noticed.
struct DataFileId {
  std::string role;  // "train" or "test"
  std::string path;
  std::uint64_t bytes = 0;
  std::uint64_t checksum = 0;  // checksum of the file's first and last MiB and its size
};

// Everything needed to continue a run exactly where it stopped.
struct TrainState {
  // Parameters and Adam moments, each one flat buffer. Held as double in memory; stored in the
  // run's precision (float <-> double round trips are exact, so resume stays bit-identical).
  bool single_precision = false;
  std::vector<double> params, adam_m, adam_v;
  long adam_steps = 0;
  std::vector<double> ema;  // optim.ema: the averaged weights (as params); empty: no averaging
  // Model state besides the parameters (batch normalisation's running statistics), in the
  // model's order; empty for models without any. Stored in the run's precision like params.
  std::vector<double> buffers;
  // Position: the next step to run is step `step_in_epoch` (0-based) of epoch `epoch` (1-based);
  // `global_step` counts optimiser steps since the start of the run.
  long epoch = 1, step_in_epoch = 0, global_step = 0;
  // Random streams are counter-based on (seed, epoch, sample): the seed and the position above
  // are the whole RNG state.
  std::uint64_t seed = 0;
  // Train loss and correct-prediction sums of the current epoch's steps already run (this is
  // what makes the epoch's metrics identical after a mid-epoch resume), summed over ranks.
  double epoch_loss_sum = 0, epoch_correct_sum = 0;
  std::vector<EpochMetrics> history;  // metrics of the finished epochs
  std::vector<std::string> class_names;
  // Identity of the run.
  std::string config_toml;
  int world_size = 1;
  long global_batch = 1;
  std::string version, git_commit;
  std::vector<DataFileId> data_files;
};

// Checksum of a file's size and its first and last MiB (cheap enough for multi-GB datasets).
DataFileId identify_data_file(const std::string& role, const std::string& path);

// Collective over `comm`: writes `state` (identical on every rank) to `path` via a temporary
// name in the same folder; returns the file size in bytes. Parameters and moments are written
// in parallel, each rank its own contiguous slice, with collective transfers.
std::uint64_t write_checkpoint(const Comm& comm, const std::string& path, const TrainState& state);

// Collective: reads and verifies `path` (HDF5 errors, missing fields and a parameter checksum
// mismatch all throw supsnn::Error naming the file and what is wrong).
TrainState read_checkpoint(const Comm& comm, const std::string& path);

// `dir`/step-NNNNNNNN.h5 for an optimiser step.
std::string checkpoint_path(const std::string& dir, long global_step);

// The newest checkpoint of `dir` that reads and verifies, trying older ones when the newest is
// damaged; `warn` is told about each one skipped and why. Empty when there is none. Collective.
// The file is read in full to verify it; `state`, when given, receives what was read.
std::string find_latest_checkpoint(const Comm& comm, const std::string& dir,
                                   const std::function<void(const std::string&)>& warn,
                                   TrainState* state = nullptr);

// Rank 0: removes complete checkpoints of `dir` except the newest `keep_last` and every one whose
// step is a multiple of `keep_every_steps` (0: none kept for that reason); removes stale
// temporary files of crashed writers too.
void rotate_checkpoints(const std::string& dir, int keep_last, long keep_every_steps);

}  // namespace supsnn
