// When to write checkpoints and when to stop: step, epoch and wall-clock intervals, the step
// limit, and SIGUSR1/SIGTERM (a scheduler's warning before preemption or the end of the time
// limit). Every decision is taken collectively, so all ranks write the same checkpoint and stop
// at the same step boundary.
#pragma once
#include <spdlog/logger.h>

#include <chrono>
#include <string>

#include "ckpt/checkpoint.hpp"
#include "config/config.hpp"
#include "dist/comm.hpp"

namespace supsnn {

// Installs handlers for SIGUSR1 and SIGTERM that only set a flag (async-signal-safe); the
// previous handlers come back when the object is destroyed.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  static bool raised();
};

class Checkpointer {
 public:
  Checkpointer(const Config& cfg, const Comm& comm, spdlog::logger& log);

  const std::string& dir() const { return dir_; }

  struct Decision {
    bool write = false, stop = false;
    std::string why;  // for the log
  };
  // Collective, at the boundary after optimiser step `global_step`: one small all-reduce makes
  // every rank agree on signals (which may reach ranks at different steps) and on rank 0's clock.
  Decision after_step(long global_step);
  // Collective, after the metrics of epoch `epoch` exist.
  Decision after_epoch(long epoch, long global_step);

  // Collective: writes `state`, logs its size and write time, rotates old checkpoints.
  void write(const TrainState& state);

 private:
  const Comm& comm_;
  spdlog::logger& log_;
  std::string dir_;
  long every_steps_, every_epochs_, max_steps_, keep_every_;
  double every_seconds_;
  int keep_last_;
  std::chrono::steady_clock::time_point last_write_;
  long last_written_step_ = -1;
};

// `--resume`: "" (none), "auto" (newest good checkpoint of the run's checkpoint folder, or a
// fresh start when there is none) or a file. Returns the file resumed from, or "", and reads it
// (once) into `state`.
std::string resolve_resume(const std::string& resume, const Checkpointer& ckpt, const Comm& comm,
                           spdlog::logger& log, TrainState* state);

}  // namespace supsnn
