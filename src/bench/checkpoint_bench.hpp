// Checkpoint I/O benchmark: writes and reads a checkpoint of a synthetic training state through
// the real code path (parallel HDF5, all ranks), and prints size, seconds and MB/s.
#pragma once
#include <cstddef>
#include <string>

#include "ckpt/checkpoint.hpp"
#include "dist/comm.hpp"

namespace supsnn {

struct CheckpointBenchOptions {
  std::string dir;         // where the checkpoint is written (removed afterwards unless keep)
  double megabytes = 300;  // params + both moments in the stored type (MB = 1e6 bytes)
  bool single_precision = false;
  int repeats = 3;  // write+read passes; best and mean are reported
  bool keep = false;
};

// A deterministic state with `params` parameters: values depend only on the index, are
// float-representable when single_precision, and include no NaN.
TrainState synthetic_train_state(std::size_t params, bool single_precision);

// Collective; rank 0 prints. Fails when a read does not return the state written.
void run_checkpoint_bench(const Comm& comm, const CheckpointBenchOptions& o);

}  // namespace supsnn
