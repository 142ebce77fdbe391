// Progress of long work on one rank: done/total, rate and ETA on stderr. On a terminal a single
// line rewritten in place ('\r'); otherwise (CI logs, SLURM output files) one line at most every
// `interval` seconds, so that logs stay readable.
#pragma once
#include <chrono>
#include <cstdio>
#include <string>

namespace supsnn {

class Progress {
 public:
  // `total` units of work (steps, repetitions), `start` of them already done before this
  // process (resume), `enabled` false: silent, `samples_per_unit` > 0 adds samples/s (e.g. the
  // global batch per step). Interval: SUPSNN_PROGRESS_SECONDS when set, else 0.5 s on a
  // terminal and 30 s otherwise.
  Progress(std::string unit, long total, long start = 0, bool enabled = true,
           double samples_per_unit = 0, std::FILE* out = stderr);
  ~Progress() { clear(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `done` units finished in all; `label` leads the line (e.g. "epoch 3/10"). Prints only when
  // the interval has passed since the last line, and always at done == total.
  void update(long done, const std::string& label = "");
  // Ends a terminal line in progress, so that a log line can follow; no-op otherwise.
  void clear();

  // The line update() would print (tests).
  std::string format(long done, const std::string& label, double seconds) const;

 private:
  std::string unit_;
  long total_, start_;
  bool enabled_, tty_;
  double samples_per_unit_;
  std::FILE* out_;
  double interval_;
  std::chrono::steady_clock::time_point t0_, last_;
  bool line_open_ = false;
};

// True on rank 0 of MPI_COMM_WORLD (several groups of a sweep must not all draw progress).
bool progress_rank();

// "1h02m03s", "4m05s", "6s".
std::string format_duration(double seconds);

}  // namespace supsnn
