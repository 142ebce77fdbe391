#include "train/checkpointing.hpp"

#include <csignal>
#include <filesystem>

#include "common/error.hpp"

namespace supsnn {

namespace {
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_stop_signal(int sig) {
  g_signal = sig;
}
struct sigaction g_old_usr1, g_old_term;
}  // namespace

StopSignals::StopSignals() {
  g_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // a signal must not make an MPI or file call fail with EINTR
  sigaction(SIGUSR1, &sa, &g_old_usr1);
  sigaction(SIGTERM, &sa, &g_old_term);
}

StopSignals::~StopSignals() {
  sigaction(SIGUSR1, &g_old_usr1, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

bool StopSignals::raised() {
  return g_signal != 0;
}

Checkpointer::Checkpointer(const Config& cfg, const Comm& comm, spdlog::logger& log)
    : comm_(comm),
      log_(log),
      dir_(cfg.get_string("checkpoint.dir").empty() ? cfg.get_string("run.dir") + "/ckpt"
                                                    : cfg.get_string("checkpoint.dir")),
      every_steps_(cfg.get_int("checkpoint.every_steps")),
      every_epochs_(cfg.get_int("checkpoint.every_epochs")),
      max_steps_(cfg.get_int("train.max_steps")),
      keep_every_(cfg.get_int("checkpoint.keep_every")),
      every_seconds_(cfg.get_float("checkpoint.every_seconds")),
      keep_last_(static_cast<int>(cfg.get_int("checkpoint.keep_last"))),
      last_write_(std::chrono::steady_clock::now()) {}

Checkpointer::Decision Checkpointer::after_step(long global_step) {
  // flags[0]: a stop signal reached this rank; flags[1]: rank 0's clock says a timed checkpoint
  // is due. MAX over ranks: one rank's signal stops everyone at this same step.
  long flags[2] = {StopSignals::raised() ? 1L : 0L, 0L};
  if (comm_.rank() == 0 && every_seconds_ > 0)
    flags[1] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - last_write_).count() >=
                every_seconds_
            ? 1
            : 0;
  comm_.allreduce_max(flags, 2);
  Decision d;
  if (flags[0]) {
    d.write = d.stop = true;
    d.why = "stop signal received";
  } else if (max_steps_ > 0 && global_step >= max_steps_) {
    d.write = d.stop = true;
    d.why = "train.max_steps = " + std::to_string(max_steps_) + " reached";
  } else if (every_steps_ > 0 && global_step % every_steps_ == 0) {
    d.write = true;
    d.why = "checkpoint.every_steps";
  } else if (flags[1]) {
    d.write = true;
    d.why = "checkpoint.every_seconds";
  }
  return d;
}

Checkpointer::Decision Checkpointer::after_epoch(long epoch, long global_step) {
  Decision d;
  if (every_epochs_ > 0 && epoch % every_epochs_ == 0 && global_step != last_written_step_) {
    d.write = true;
    d.why = "checkpoint.every_epochs";
  }
  return d;
}

void Checkpointer::write(const TrainState& state) {
  if (comm_.rank() == 0) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) throw Error(dir_ + ": cannot create checkpoint folder: " + ec.message());
  }
  MPI_Barrier(comm_.raw());  // the folder exists before any rank opens the file
  const auto t0 = std::chrono::steady_clock::now();
  const std::string path = checkpoint_path(dir_, state.global_step);
  const std::uint64_t bytes = write_checkpoint(comm_, path, state);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  log_.info("checkpoint {} ({:.2f} MB, written in {:.3f} s, {:.1f} MB/s)", path, bytes / 1e6, s,
            bytes / 1e6 / std::max(s, 1e-9));
  if (comm_.rank() == 0) rotate_checkpoints(dir_, keep_last_, keep_every_);
  last_write_ = std::chrono::steady_clock::now();
  last_written_step_ = state.global_step;
}

std::string resolve_resume(const std::string& resume, const Checkpointer& ckpt, const Comm& comm,
                           spdlog::logger& log, TrainState* state) {
  if (resume.empty()) return "";
  if (resume != "auto") {
    if (!std::filesystem::is_regular_file(resume))
      throw Error("--resume " + resume + ": no such checkpoint file");
    *state = read_checkpoint(comm, resume);
    return resume;
  }
  const std::string path = find_latest_checkpoint(
      comm, ckpt.dir(),
      [&](const std::string& why) {
        if (comm.rank() == 0) log.warn("{}", why);  // every rank is told; say it once
      },
      state);
  if (path.empty())
    log.info("--resume auto: no checkpoint in {}; starting from scratch", ckpt.dir());
  return path;
}

}  // namespace supsnn
