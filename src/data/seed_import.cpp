#include "data/seed_import.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <tuple>

#include "common/error.hpp"
#include "io/npy.hpp"

namespace fs = std::filesystem;

namespace supsnn {

void read_seed_spikes(const std::string& path, SpikeEvents& events, int* inputs, int* raw_steps) {
  const NpyArray a = read_npy(path);
  if (a.shape.size() != 2 || a.shape[1] < 2 || a.shape[1] > 256 ||
      a.shape[0] > static_cast<std::size_t>(std::numeric_limits<int>::max()) / 256)
    throw Error(path + ": expected a 2-D spike array inputs x (T+1) with 2 <= T+1 <= 256 (found " +
                std::to_string(a.shape.size()) + "-D)");
  if (a.data.size() != a.shape[0] * a.shape[1])  // read_npy guarantees it; never index past data
    throw Error(path + ": spike array holds " + std::to_string(a.data.size()) +
                " values, expected " + std::to_string(a.shape[0] * a.shape[1]));
  const int m = static_cast<int>(a.shape[0]), T1 = static_cast<int>(a.shape[1]);
  std::vector<std::int32_t> neuron;
  std::vector<std::uint8_t> step;
  for (int k = 0; k < T1; ++k)
    for (int i = 0; i < m; ++i) {
      const double v = a.data[static_cast<std::size_t>(i) * T1 + k];
      if (v == 1.0) {
        neuron.push_back(i);
        step.push_back(static_cast<std::uint8_t>(k));
      } else if (v != 0.0) {
        throw Error(path + ": value " + std::to_string(v) + " at [" + std::to_string(i) + ", " +
                    std::to_string(k) + "], expected binary spikes (0 or 1)");
      }
    }
  events.neuron.insert(events.neuron.end(), neuron.begin(), neuron.end());
  events.step.insert(events.step.end(), step.begin(), step.end());
  events.offsets.push_back(static_cast<std::int64_t>(events.neuron.size()));
  *inputs = m;
  *raw_steps = T1 - 1;
}

namespace {

// k.npy files of a folder in numeric order of k (then by name for other stems).
std::vector<fs::path> npy_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".npy") files.push_back(e.path());
  // Numeric stems compare by value without converting (a 30-digit name must not overflow):
  // leading zeros dropped, then shorter first, then digit by digit.
  auto key = [](const fs::path& p) {
    const std::string s = p.stem().string();
    const bool numeric =
        !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    std::string digits = numeric ? s.substr(std::min(s.find_first_not_of('0'), s.size())) : "";
    return std::make_tuple(numeric ? 0 : -1, digits.size(), digits, s);
  };
  std::sort(files.begin(), files.end(),
            [&](const fs::path& a, const fs::path& b) { return key(a) < key(b); });
  return files;
}

}  // namespace

DatasetFile import_seed_folder(const std::string& dir, const SeedImportOptions& opt) {
  DatasetFile ds;
  ds.kind = "spikes";
  int m = -1, T = -1, n = -1;
  for (const auto& [folder, name] : {std::pair{"Train", "train"}, std::pair{"Test", "test"}}) {
    const fs::path spikes_dir = fs::path(dir) / folder / "Spikes",
                   labels_dir = fs::path(dir) / folder / "Labels";
    if (!fs::is_directory(spikes_dir)) continue;
    if (!fs::is_directory(labels_dir))
      throw Error(labels_dir.string() + ": missing guidance folder (expected next to " +
                  spikes_dir.string() + ")");
    Split s;
    s.name = name;
    for (const auto& spath : npy_files(spikes_dir)) {
      const fs::path gpath = labels_dir / spath.filename();
      try {
        if (!fs::exists(gpath))
          throw Error(gpath.string() + ": guidance file missing for " + spath.string());
        SpikeEvents ev;
        int mi = 0, Ti = 0;
        read_seed_spikes(spath.string(), ev, &mi, &Ti);
        if (m >= 0 && (mi != m || Ti != T))
          throw Error(spath.string() + ": shape " + std::to_string(mi) + " x " +
                      std::to_string(Ti + 1) + " differs from earlier files (" + std::to_string(m) +
                      " x " + std::to_string(T + 1) + ")");
        const NpyArray g = read_npy(gpath.string());
        if (g.shape.size() != 2 || g.shape[1] != static_cast<std::size_t>(Ti) || g.shape[0] < 1 ||
            g.shape[0] > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
            (n >= 0 && g.shape[0] != static_cast<std::size_t>(n)))
          throw Error(gpath.string() + ": expected guidance of shape " +
                      (n >= 0 ? std::to_string(n) : "n") + " x " + std::to_string(Ti) +
                      " (rows x steps 1..T)");
        for (double v : g.data)
          if (!std::isfinite(v)) throw Error(gpath.string() + ": guidance holds NaN or Inf");
        m = mi;
        T = Ti;
        n = static_cast<int>(g.shape[0]);
        const std::int64_t base = s.events.neuron.size();
        s.events.neuron.insert(s.events.neuron.end(), ev.neuron.begin(), ev.neuron.end());
        s.events.step.insert(s.events.step.end(), ev.step.begin(), ev.step.end());
        s.events.offsets.push_back(base + static_cast<std::int64_t>(ev.neuron.size()));
        s.guidance.insert(s.guidance.end(), g.data.begin(), g.data.end());
        s.labels.push_back(guidance_winner(g.data.data(), n, T));
        ++s.count;
      } catch (const Error& e) {
        if (!opt.skip_bad_files) throw;
        spdlog::warn("skipping sample: {}", e.what());
      }
    }
    s.guide_rows = n;
    s.raw_steps = T;
    ds.splits.push_back(std::move(s));
  }
  if (ds.splits.empty()) throw Error(dir + ": no Train/Spikes or Test/Spikes folder found");
  if (m < 0) throw Error(dir + ": no readable samples");
  int H = opt.height, W = opt.width;
  if (H == 0 && W == 0) {
    H = W = static_cast<int>(std::lround(std::sqrt(static_cast<double>(m))));
    if (H * W != m)
      throw Error(dir + ": " + std::to_string(m) +
                  " inputs is not a square image; pass --height and --width");
  }
  if (H * W != m)
    throw Error(dir + ": --height x --width = " + std::to_string(H * W) + " but files have " +
                std::to_string(m) + " inputs");
  for (auto& s : ds.splits) {
    s.height = H;
    s.width = W;
    s.raw_steps = T;
    s.guide_rows = n;
  }
  ds.class_names = opt.class_names;
  if (ds.class_names.empty())
    for (int r = 0; r < n; ++r) ds.class_names.push_back("class" + std::to_string(r));
  if (static_cast<int>(ds.class_names.size()) != n)
    throw Error("--class-names: " + std::to_string(ds.class_names.size()) + " names for " +
                std::to_string(n) + " guidance rows");
  return ds;
}

}  // namespace supsnn
