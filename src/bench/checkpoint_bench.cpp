#include "bench/checkpoint_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "common/error.hpp"

namespace supsnn {

TrainState synthetic_train_state(std::size_t params, bool single_precision) {
  TrainState s;
  s.single_precision = single_precision;
  s.params.resize(params);
  s.adam_m.resize(params);
  s.adam_v.resize(params);
  for (std::size_t i = 0; i < params; ++i) {
    // A cheap hash of i, so that the bytes do not repeat (no accidental compression anywhere).
    std::uint64_t h = (i + 1) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    const double u = static_cast<double>(h >> 11) * 0x1p-53;  // [0, 1)
    double p = u - 0.5, m = 1e-3 * (0.5 - u), v = 1e-6 * u;
    if (single_precision) {
      p = static_cast<float>(p);
      m = static_cast<float>(m);
      v = static_cast<float>(v);
    }
    s.params[i] = p;
    s.adam_m[i] = m;
    s.adam_v[i] = v;
  }
  s.adam_steps = 1000;
  s.epoch = 3;
  s.step_in_epoch = 17;
  s.global_step = 1017;
  s.seed = 42;
  s.epoch_loss_sum = 12.5;
  s.epoch_correct_sum = 99;
  s.class_names = {"a", "b", "c"};
  s.config_toml = "# supsnn bench --checkpoint\n[train]\nepochs = 10\n";
  s.version = "bench";
  s.git_commit = "none";
  for (int e = 1; e <= 2; ++e) {
    EpochMetrics m;
    m.epoch = e;
    m.train_loss = 1.0 / e;
    m.test_confusion.assign(9, e);
    s.history.push_back(m);
  }
  return s;
}

void run_checkpoint_bench(const Comm& comm, const CheckpointBenchOptions& o) {
  using Clock = std::chrono::steady_clock;
  if (!std::filesystem::is_directory(o.dir))
    throw Error(o.dir + ": checkpoint benchmark folder does not exist");
  const std::size_t elem = o.single_precision ? 4 : 8;
  const auto n = static_cast<std::size_t>(o.megabytes * 1e6 / (3 * elem));
  TrainState s = synthetic_train_state(n, o.single_precision);
  s.world_size = comm.size();
  const std::string path = checkpoint_path(o.dir, s.global_step);
  // Slowest rank's time of one collective call.
  auto timed = [&](auto&& f) {
    MPI_Barrier(comm.raw());
    const auto t0 = Clock::now();
    f();
    double t = std::chrono::duration<double>(Clock::now() - t0).count();
    MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, comm.raw());
    return t;
  };
  std::uint64_t bytes = 0;
  double wbest = 1e300, wsum = 0, rbest = 1e300, rsum = 0;
  for (int r = 0; r < o.repeats; ++r) {
    const double w = timed([&] { bytes = write_checkpoint(comm, path, s); });
    TrainState back;
    const double rd = timed([&] { back = read_checkpoint(comm, path); });
    if (back.params != s.params || back.adam_m != s.adam_m || back.adam_v != s.adam_v)
      throw Error(path + ": benchmark read returned other parameters than it wrote");
    if (comm.rank() == 0) std::printf("  pass %d: write %.3f s, read %.3f s\n", r + 1, w, rd);
    wbest = std::min(wbest, w);
    rbest = std::min(rbest, rd);
    wsum += w;
    rsum += rd;
  }
  if (!o.keep && comm.rank() == 0) std::filesystem::remove(path);
  if (comm.rank() == 0) {
    const double mb = bytes / 1e6;
    std::printf("checkpoint %zu parameters + 2 Adam moments, %s, %d rank%s: file %.1f MB (%s)\n", n,
                o.single_precision ? "float32" : "float64", comm.size(), comm.size() > 1 ? "s" : "",
                mb, path.c_str());
    std::printf("  write  best %7.3f s = %8.1f MB/s   mean %7.3f s = %8.1f MB/s  (%d passes)\n",
                wbest, mb / wbest, wsum / o.repeats, mb * o.repeats / wsum, o.repeats);
    std::printf("  read   best %7.3f s = %8.1f MB/s   mean %7.3f s = %8.1f MB/s  (verified)\n",
                rbest, mb / rbest, rsum / o.repeats, mb * o.repeats / rsum);
    std::fflush(stdout);
  }
}

}  // namespace supsnn
