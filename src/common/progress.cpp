#include "common/progress.hpp"

#include <mpi.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>

namespace supsnn {

Progress::Progress(std::string unit, long total, long start, bool enabled, double samples_per_unit,
                   std::FILE* out)
    : unit_(std::move(unit)),
      total_(total),
      start_(start),
      enabled_(enabled),
      tty_(::isatty(::fileno(out)) != 0),
      samples_per_unit_(samples_per_unit),
      out_(out),
      interval_(tty_ ? 0.5 : 30.0),
      t0_(std::chrono::steady_clock::now()),
      last_(t0_) {
  if (const char* s = std::getenv("SUPSNN_PROGRESS_SECONDS"); s && *s) interval_ = std::atof(s);
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  char buf[64];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm%02lds", t / 3600, t / 60 % 60, t % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

std::string Progress::format(long done, const std::string& label, double seconds) const {
  std::string line = label.empty() ? "" : label + "  ";
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s %ld/%ld (%.0f%%)", unit_.c_str(), done, total_,
                total_ > 0 ? 100.0 * done / total_ : 100.0);
  line += buf;
  const long here = done - start_;  // units done by this process (a resume skipped the rest)
  if (samples_per_unit_ > 0 && here > 0 && seconds > 0) {
    std::snprintf(buf, sizeof buf, "  %.1f samples/s", here * samples_per_unit_ / seconds);
    line += buf;
  }
  // ETA from this process's own pace.
  if (here > 0 && done < total_)
    line += "  ETA " + format_duration(seconds / here * (total_ - done));
  return line;
}

void Progress::update(long done, const std::string& label) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_).count() < interval_ && done < total_) return;
  last_ = now;
  const std::string line = format(done, label, std::chrono::duration<double>(now - t0_).count());
  if (tty_) {
    std::fprintf(out_, "\r%s\033[K", line.c_str());  // rewrite the line, erase what was longer
    line_open_ = true;
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

void Progress::clear() {
  if (!line_open_) return;
  std::fprintf(out_, "\r\033[K");
  std::fflush(out_);
  line_open_ = false;
}

bool progress_rank() {
  int init = 0, rank = 0;
  MPI_Initialized(&init);
  if (init) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank == 0;
}

}  // namespace supsnn
