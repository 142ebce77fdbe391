#include "common/error_log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

namespace supsnn {

namespace {
std::string& log_path() {
  static std::string path;
  return path;
}
}  // namespace

void set_error_log(const std::string& path) {
  log_path() = path;
}

const std::string& error_log() {
  return log_path();
}

void report_fatal_error(const std::string& what, int world_rank, int world_size,
                        double grace_seconds) {
  // Rank 0 of a failing job calls MPI_Abort right after reporting, which ends this process too.
  if (world_size > 1 && world_rank != 0)
    std::this_thread::sleep_for(std::chrono::duration<double>(grace_seconds));
  const std::string line = "supsnn: error: " + what;
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
  if (log_path().empty()) return;
  // Append mode: the trainer's own log sink is closed by now (rank 0), or belongs to rank 0
  // (another rank), and O_APPEND keeps each line whole.
  if (std::FILE* f = std::fopen(log_path().c_str(), "a")) {
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&now));
    if (world_rank == 0)
      std::fprintf(f, "[%s] %s\n", stamp, line.c_str());
    else
      std::fprintf(f, "[%s rank %d] %s\n", stamp, world_rank, line.c_str());
    std::fclose(f);
  }
}

}  // namespace supsnn
