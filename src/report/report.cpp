#include "report/report.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "common/error.hpp"
#include "config/config.hpp"
#include "data/dataset.hpp"
#include "io/h5.hpp"
#include "report/raster.hpp"

namespace fs = std::filesystem;

namespace supsnn {

namespace {

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

bool can_plot(const std::string& python) {
  const std::string cmd =
      shell_quote(python) + " -c 'import matplotlib, h5py, numpy' >/dev/null 2>&1";
  const int st = std::system(cmd.c_str());
  return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

// Whether an HDF5 file holds a guide/ group (a dataset written by `supsnn guide`).
bool has_guide_group(const std::string& path) {
  const h5::Handle f = h5::open_file(path);
  return h5::exists(f, "guide");
}

}  // namespace

std::string find_report_python() {
  const char* env = std::getenv("SUPSNN_PYTHON");
  if (env && *env) {
    if (!can_plot(env))
      throw Error(std::string("SUPSNN_PYTHON=") + env +
                  " cannot import matplotlib, h5py and numpy (install python3-matplotlib "
                  "python3-h5py python3-numpy, or point SUPSNN_PYTHON at a Python that has them)");
    return env;
  }
  for (const char* py : {"python3", "/usr/bin/python3"})
    if (can_plot(py)) return py;
  throw Error(
      "supsnn report needs a Python 3 with matplotlib, h5py and numpy: none of python3 (on PATH) "
      "and /usr/bin/python3 has them; install python3-matplotlib python3-h5py python3-numpy "
      "(Debian) or set SUPSNN_PYTHON");
}

int run_report(const std::string& dir, int raster_index, const std::string& epochs) {
  std::error_code ec;
  // A dataset written by `supsnn guide` (a file with a guide/ group): its figures go to
  // <file without .h5>-figures/.
  const bool guided = fs::is_regular_file(dir, ec) && has_guide_group(dir);
  if (!guided && !fs::is_directory(dir, ec))
    throw Error(dir +
                ": neither a directory (a run or sweep) nor a dataset written by supsnn guide "
                "(an .h5 file with a guide group)");
  const bool run_dir = !guided && fs::exists(fs::path(dir) / "metrics.h5");
  if (!run_dir && !guided) {
    bool bands = false;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec))
      bands = bands || it->path().filename() == "bands.h5";
    if (!bands)
      throw Error(dir +
                  ": neither a run directory (metrics.h5) nor a sweep directory (bands.h5 "
                  "below; run `supsnn sweep gather " +
                  dir + "` first)");
  }
  const std::string python = find_report_python();
  const fs::path figures =
      guided ? fs::path(dir).replace_extension("").concat("-figures") : fs::path(dir) / "figures";
  fs::create_directories(figures, ec);
  if (ec) throw Error(figures.string() + ": cannot create: " + ec.message());

  // The raster of one test sample (train when there is no test split) of a run's data.
  std::string raster;
  if (run_dir && raster_index >= 0 && fs::exists(fs::path(dir) / "config.toml")) {
    const Config cfg = Config::load((fs::path(dir) / "config.toml").string());
    const std::string data = cfg.get_string("data.test").empty() ? cfg.get_string("data.train")
                                                                 : cfg.get_string("data.test");
    // The direct code has no input spikes to draw.
    if (!data.empty() && fs::exists(data) && cfg.get_string("data.encoder") != "direct") {
      const std::string split = has_split(data, "test") ? "test" : "train";
      raster = (figures / ".raster.h5").string();
      write_spike_raster(cfg, data, split, raster_index, raster);
    }
  }

  // The script goes to a temporary file beside the figures (the binary carries its text).
  const std::string script = (figures / ".report.py").string();
  {
    std::FILE* f = std::fopen(script.c_str(), "w");
    if (!f) throw Error(script + ": cannot write");
    std::fputs(report_script(), f);
    std::fclose(f);
  }
  std::string cmd = shell_quote(python) + " " + shell_quote(script) + " " + shell_quote(dir);
  if (guided) cmd += " --figures " + shell_quote(figures.string());
  if (!raster.empty()) cmd += " --raster " + shell_quote(raster);
  if (!epochs.empty()) cmd += " --epochs " + shell_quote(epochs);
  std::fflush(stdout);
  const int st = std::system(cmd.c_str());
  fs::remove(script, ec);
  if (!raster.empty()) fs::remove(raster, ec);
  if (st == -1 || !WIFEXITED(st)) throw Error("supsnn report: cannot run " + python);
  return WEXITSTATUS(st);
}

}  // namespace supsnn
