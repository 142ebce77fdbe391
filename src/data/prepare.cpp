#include "data/prepare.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>

#include "common/error.hpp"
#include "io/chip_reader.hpp"

namespace fs = std::filesystem;

namespace supsnn {

namespace {

void check_options(const PrepareOptions& o) {
  if (o.crop < 0) throw Error("--crop must be >= 0");
  if (o.scale != "linear" && o.scale != "db")
    throw Error("--scale must be linear or db, got " + o.scale);
  if (o.contrast != "none" && o.contrast != "stretch")
    throw Error("--contrast must be none or stretch, got " + o.contrast);
  if (o.dtype != "uint8" && o.dtype != "float32")
    throw Error("--dtype must be uint8 or float32, got " + o.dtype);
  if (!(o.db_range > 0)) throw Error("--db-range must be > 0");
  if (!(o.stretch_low >= 0 && o.stretch_low < o.stretch_high && o.stretch_high <= 1))
    throw Error("--stretch-low/--stretch-high must satisfy 0 <= low < high <= 1");
}

// Maps [lo, hi] linearly onto [0, 255], clamped (a constant chip becomes all 0).
void to_8bit_range(std::vector<float>& v, double lo, double hi) {
  const double span = hi - lo;
  for (auto& x : v)
    x = span > 0 ? static_cast<float>(std::clamp((x - lo) / span * 255.0, 0.0, 255.0)) : 0.0f;
}

double quantile(std::vector<float> v, double q) {
  const std::size_t k = static_cast<std::size_t>(std::floor(q * (v.size() - 1)));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

bool is_split_name(const std::string& s, const char* want) {
  std::string l = s;
  std::transform(l.begin(), l.end(), l.begin(), ::tolower);
  return l == want;
}

std::vector<fs::path> sorted_dirs(const fs::path& p) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(p))
    if (e.is_directory() && e.path().filename().string()[0] != '.') out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Every regular file under a class folder, sorted; dot-files (.DS_Store, ...) are skipped.
std::vector<fs::path> chip_files(const fs::path& class_dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(class_dir))
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<float> preprocess_chip(const PrepareOptions& opt, const std::string& path, int* out_h,
                                   int* out_w, Chip* chip_out) {
  Chip c = read_chip(path);
  std::vector<float> v = std::move(c.pixels);
  if (c.format == ChipFormat::MstarRaw) {
    if (opt.scale == "db") {
      float mx = -INFINITY;
      for (auto& x : v) {
        x = static_cast<float>(20.0 * std::log10(std::max(static_cast<double>(x), 1e-12)));
        mx = std::max(mx, x);
      }
      to_8bit_range(v, mx - opt.db_range, mx);
    } else {
      const auto [mn, mx] = std::minmax_element(v.begin(), v.end());
      to_8bit_range(v, *mn, *mx);  // the MSTAR tools' linear 8-bit rendering
    }
  }
  int H = c.height, W = c.width;
  if (opt.crop > 0) {
    if (H < opt.crop || W < opt.crop)
      throw Error(path + ": chip is " + std::to_string(W) + " x " + std::to_string(H) +
                  " (w x h), smaller than --crop " + std::to_string(opt.crop));
    const int y0 = (H - opt.crop) / 2, x0 = (W - opt.crop) / 2;
    std::vector<float> cropped(static_cast<std::size_t>(opt.crop) * opt.crop);
    for (int y = 0; y < opt.crop; ++y)
      std::copy_n(v.begin() + (y0 + y) * W + x0, opt.crop, cropped.begin() + y * opt.crop);
    v.swap(cropped);
    H = W = opt.crop;
  }
  if (opt.contrast == "stretch")
    to_8bit_range(v, quantile(v, opt.stretch_low), quantile(v, opt.stretch_high));
  *out_h = H;
  *out_w = W;
  if (chip_out) {
    c.pixels.clear();
    *chip_out = std::move(c);
  }
  return v;
}

DatasetFile prepare_dataset(const PrepareOptions& opt, PrepareStats* stats) {
  check_options(opt);
  const auto t0 = std::chrono::steady_clock::now();
  const fs::path root(opt.input);
  if (!fs::is_directory(root)) throw Error(opt.input + ": input folder not found");

  // Split roots: train/ and test/ subfolders when present, else the input itself.
  std::vector<std::pair<std::string, fs::path>> split_roots;
  for (const auto& d : sorted_dirs(root)) {
    if (is_split_name(d.filename().string(), "train")) split_roots.emplace_back("train", d);
    if (is_split_name(d.filename().string(), "test")) split_roots.emplace_back("test", d);
  }
  if (split_roots.empty()) split_roots.emplace_back(opt.split, root);
  std::sort(split_roots.begin(), split_roots.end(),
            [](auto& a, auto& b) { return a.first > b.first; });  // train first

  std::map<std::string, int> class_index;
  for (const auto& [name, dir] : split_roots) {
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().filename().string()[0] != '.')
        throw Error(e.path().string() + ": file outside a class folder (expected " + dir.string() +
                    "/<CLASS>/...)");
    for (const auto& c : sorted_dirs(dir)) class_index[c.filename().string()] = 0;
  }
  if (class_index.empty()) throw Error(opt.input + ": no class folders found");
  if (class_index.size() < 2)
    throw Error(opt.input + ": one class folder (" + class_index.begin()->first +
                "); at least 2 classes are needed to train a classifier");
  DatasetFile ds;
  ds.kind = "images";
  for (auto& [name, idx] : class_index) {
    idx = static_cast<int>(ds.class_names.size());
    ds.class_names.push_back(name);
  }

  std::string first_path;
  int first_h = 0, first_w = 0;
  long chips = 0;
  for (const auto& [name, dir] : split_roots) {
    Split s;
    s.name = name;
    for (const auto& cdir : sorted_dirs(dir)) {
      const auto files = chip_files(cdir);
      if (files.empty()) throw Error(cdir.string() + ": empty class folder (no chip files)");
      for (const auto& f : files) {
        int h = 0, w = 0;
        Chip meta;
        std::vector<float> px = preprocess_chip(opt, f.string(), &h, &w, &meta);
        if (first_path.empty()) {
          first_path = f.string();
          first_h = h;
          first_w = w;
        } else if (h != first_h || w != first_w) {
          throw Error(f.string() + ": " + std::to_string(w) + " x " + std::to_string(h) +
                      " (w x h) differs from " + std::to_string(first_w) + " x " +
                      std::to_string(first_h) + " of " + first_path +
                      " (pass --crop N to centre-crop all chips to N x N)");
        }
        if (opt.dtype == "float32") {
          s.images_f32.insert(s.images_f32.end(), px.begin(), px.end());
        } else {
          for (float x : px)
            s.images.push_back(static_cast<std::uint8_t>(std::lround(std::clamp(x, 0.0f, 255.0f))));
        }
        s.labels.push_back(class_index.at(cdir.filename().string()));
        s.source.push_back(fs::relative(f, root).string());
        s.serial.push_back(meta.serial_number);
        s.azimuth_deg.push_back(meta.azimuth_deg);
        s.depression_deg.push_back(meta.depression_deg);
        ++s.count;
        ++chips;
      }
    }
    s.height = first_h;
    s.width = first_w;
    ds.splits.push_back(std::move(s));
  }
  for (auto& s : ds.splits) {
    s.height = first_h;
    s.width = first_w;
  }
  nlohmann::json pre = {{"input", opt.input},
                        {"crop", opt.crop},
                        {"scale", opt.scale},
                        {"db_range", opt.db_range},
                        {"contrast", opt.contrast},
                        {"stretch_low", opt.stretch_low},
                        {"stretch_high", opt.stretch_high},
                        {"dtype", opt.dtype}};
  ds.preprocessing = pre.dump();
  if (stats) {
    stats->chips = chips;
    stats->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return ds;
}

}  // namespace supsnn
