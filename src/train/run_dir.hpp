// The rules of a run directory (docs/checkpoints.md, "Run directories"): one training process
// at a time (an exclusive lock that the OS releases when the holder dies), a fresh run only where
// no earlier run left its files (or after --overwrite removed them), every output location
// checked writable before the first step, and nothing left behind by a run refused before it.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "dist/comm.hpp"

namespace supsnn {

// An exclusive lock on `dir`/.supsnn.lock (an open-file-description fcntl lock: released when
// the process ends in any way, and honoured over NFS). The file records the holder's host and
// PID for the message of whoever is refused.
class RunDirLock {
 public:
  explicit RunDirLock(const std::string& dir);  // throws Error naming the holder when held
  ~RunDirLock();
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;
  static std::string file_of(const std::string& dir) { return dir + "/.supsnn.lock"; }

 private:
  int fd_ = -1;
};

// Files of an earlier training run in `dir` and in `checkpoint_dir` (config.toml, train.log,
// metrics, model, TensorBoard events, checkpoints), as paths; other files (a SLURM job's output,
// the user's notes) are not a run's and never count or get removed.
std::vector<std::string> earlier_run_files(const std::string& dir,
                                           const std::string& checkpoint_dir);

// The run directory of one `supsnn train`, set up by rank 0 before the first step.
class RunDir {
 public:
  // Collective. Rank 0 creates and locks the run directory, refuses one that holds an earlier
  // run's files unless `resume` continues it ("auto", or a checkpoint file of its own) or
  // `overwrite` removes them, and checks that the run and checkpoint directories take files.
  // Every rank throws the same Error when rank 0 refuses.
  RunDir(const Config& cfg, const Comm& comm, const std::string& resume, bool overwrite);
  // Rank 0, when the run was refused before its first step: removes what this run created
  // (the directories it made, its log and config) so no run directory is left behind.
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;

  const std::string& path() const { return dir_; }
  const std::string& checkpoint_dir() const { return ckpt_dir_; }
  // From here on the run directory is the run's record, kept whatever happens.
  void started() { started_ = true; }

 private:
  void remove_created();
  std::string dir_, ckpt_dir_;
  bool root_ = false, started_ = false;
  bool made_dir_ = false, made_ckpt_dir_ = false;
  std::vector<std::string> before_, ckpt_before_;  // entries present when the run began
  std::unique_ptr<RunDirLock> lock_;
};

// Rank 0 runs `check`; an Error it throws is thrown on every rank of `comm` (same message), so
// a check that only one rank makes stops all of them, and the job prints the error once.
void check_on_rank0(const Comm& comm, const std::function<void()>& check);

}  // namespace supsnn
