#include "data/dataset.hpp"

#include <algorithm>
#include <cmath>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "io/h5.hpp"

namespace supsnn {

namespace {

std::string dims_text(const std::vector<hsize_t>& d) {
  std::string t;
  for (std::size_t i = 0; i < d.size(); ++i) t += (i ? " x " : "") + std::to_string(d[i]);
  return t;
}

void expect_shape(const h5::Handle& g, const std::string& name, const std::vector<hsize_t>& want) {
  const auto got = h5::shape(g, name);
  if (got != want)
    throw Error(g.file() + ": dataset " + name + " has shape " + dims_text(got) + ", expected " +
                dims_text(want));
}

void write_split(const h5::Handle& file, const Split& s, const std::string& kind) {
  auto g = h5::create_group(file, s.name);
  const hsize_t N = static_cast<hsize_t>(s.count);
  h5::set_attr(g, "count", static_cast<std::int64_t>(s.count));
  h5::set_attr(g, "height", static_cast<std::int64_t>(s.height));
  h5::set_attr(g, "width", static_cast<std::int64_t>(s.width));
  h5::set_attr(g, "raw_steps", static_cast<std::int64_t>(s.raw_steps));
  h5::write(g, "labels", {N}, s.labels.data());
  const std::vector<hsize_t> img_dims{N, static_cast<hsize_t>(s.height),
                                      static_cast<hsize_t>(s.width)};
  if (kind == "images" && !s.images_f32.empty())
    h5::write(g, "images", img_dims, s.images_f32.data(), 1);  // chunk = one image, gzip
  else if (kind == "images")
    h5::write(g, "images", img_dims, s.images.data(), 1);
  else {
    const hsize_t E = s.events.neuron.size();
    h5::write(g, "spike_offsets", {N + 1}, s.events.offsets.data());
    h5::write(g, "spike_neuron", {E}, s.events.neuron.data(), 1 << 16);
    h5::write(g, "spike_step", {E}, s.events.step.data(), 1 << 16);
  }
  if (s.guide_rows > 0)
    h5::write(g, "guidance",
              {N, static_cast<hsize_t>(s.guide_rows), static_cast<hsize_t>(s.raw_steps)},
              s.guidance.data(), 64);
  if (!s.source.empty()) h5::write_strings(g, "source", s.source);
  if (!s.serial.empty()) h5::write_strings(g, "serial", s.serial);
  if (!s.azimuth_deg.empty()) h5::write(g, "azimuth_deg", {N}, s.azimuth_deg.data());
  if (!s.depression_deg.empty()) h5::write(g, "depression_deg", {N}, s.depression_deg.data());
}

}  // namespace

void write_dataset(const std::string& path, const DatasetFile& ds, const std::string& created_by) {
  if (ds.kind != "images" && ds.kind != "spikes")
    throw Error(path + ": unknown dataset kind " + ds.kind);
  AtomicFile out(path);
  {
    auto f = h5::create_file(out.temp_path());
    h5::set_attr(f, "schema", std::string("supsnn-dataset"));
    h5::set_attr(f, "schema_version", kDatasetSchemaVersion);
    h5::set_attr(f, "kind", ds.kind);
    h5::set_attr(f, "created_by", created_by);
    h5::set_attr(f, "preprocessing", ds.preprocessing);
    h5::write_strings(f, "class_names", ds.class_names);
    for (const auto& s : ds.splits) write_split(f, s, ds.kind);
    if (ds.write_extra) ds.write_extra(f);
  }
  out.commit();
}

struct SplitReader::Impl {
  h5::Handle file, group;
  std::string path, kind, preprocessing;
  std::vector<std::string> classes;
  Split header;
  bool float_images = false;
  std::vector<std::int64_t> offsets;  // spikes: all N+1 offsets (small), events are read by range
};

SplitReader::SplitReader(const std::string& path, const std::string& split)
    : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  d.path = path;
  d.file = h5::open_file(path);
  if (!h5::has_attr(d.file, "schema") || h5::attr_string(d.file, "schema") != "supsnn-dataset")
    throw Error(path + ": not a supsnn dataset (no schema=\"supsnn-dataset\" attribute)");
  const auto version = h5::attr_int(d.file, "schema_version");
  if (version != kDatasetSchemaVersion)
    throw Error(path + ": dataset schema version " + std::to_string(version) +
                ", this supsnn reads version " + std::to_string(kDatasetSchemaVersion) +
                " (re-create it with supsnn prepare/synth/import-seed)");
  d.kind = h5::attr_string(d.file, "kind");
  d.preprocessing =
      h5::has_attr(d.file, "preprocessing") ? h5::attr_string(d.file, "preprocessing") : "{}";
  d.classes = h5::read_strings(d.file, "class_names");
  if (!h5::exists(d.file, split)) throw Error(path + ": dataset has no '" + split + "' split");
  d.group = h5::open_group(d.file, split);
  const auto& g = d.group;
  Split& s = d.header;
  s.name = split;
  s.count = static_cast<int>(h5::attr_int(g, "count"));
  s.height = static_cast<int>(h5::attr_int(g, "height"));
  s.width = static_cast<int>(h5::attr_int(g, "width"));
  s.raw_steps = static_cast<int>(h5::attr_int(g, "raw_steps"));
  if (s.count < 0 || s.height <= 0 || s.width <= 0 || s.raw_steps < 1 || s.raw_steps > 255)
    throw Error(path + ": split " + split + " has invalid count/height/width/raw_steps attributes");
  const hsize_t N = static_cast<hsize_t>(s.count);
  expect_shape(g, "labels", {N});
  s.labels = h5::read<std::int32_t>(g, "labels");
  for (auto l : s.labels)
    if (l < 0 || l >= static_cast<int>(d.classes.size()))
      throw Error(path + ": " + split + "/labels holds class " + std::to_string(l) +
                  ", expected 0.." + std::to_string(static_cast<int>(d.classes.size()) - 1));
  if (d.kind == "images") {
    expect_shape(g, "images", {N, static_cast<hsize_t>(s.height), static_cast<hsize_t>(s.width)});
    h5::Handle ds(H5Dopen2(g.id(), "images", H5P_DEFAULT), H5Dclose, path);
    h5::Handle type(H5Dget_type(ds.id()), H5Tclose, path);
    d.float_images = H5Tget_class(type.id()) == H5T_FLOAT;
  } else if (d.kind == "spikes") {
    expect_shape(g, "spike_offsets", {N + 1});
    d.offsets = h5::read<std::int64_t>(g, "spike_offsets");
    const auto E = h5::shape(g, "spike_neuron");
    if (E.size() != 1 || h5::shape(g, "spike_step") != E || d.offsets.front() != 0 ||
        d.offsets.back() != static_cast<std::int64_t>(E[0]))
      throw Error(path + ": " + split + ": spike_offsets/spike_neuron/spike_step sizes disagree");
    for (std::size_t i = 0; i + 1 < d.offsets.size(); ++i)
      if (d.offsets[i + 1] < d.offsets[i])
        throw Error(path + ": " + split + ": spike_offsets not sorted");
  } else {
    throw Error(path + ": unknown dataset kind '" + d.kind + "' (expected images or spikes)");
  }
  if (h5::exists(g, "guidance")) {
    const auto gd = h5::shape(g, "guidance");
    if (gd.size() != 3 || gd[0] != N || gd[2] != static_cast<hsize_t>(s.raw_steps))
      throw Error(path + ": " + split + "/guidance: expected shape " + std::to_string(N) +
                  " x n x " + std::to_string(s.raw_steps) + ", found " + dims_text(gd));
    s.guide_rows = static_cast<int>(gd[1]);
  }
}

SplitReader::~SplitReader() = default;
SplitReader::SplitReader(SplitReader&&) noexcept = default;
SplitReader& SplitReader::operator=(SplitReader&&) noexcept = default;

const std::string& SplitReader::kind() const {
  return impl_->kind;
}
const std::vector<std::string>& SplitReader::class_names() const {
  return impl_->classes;
}
const std::string& SplitReader::preprocessing() const {
  return impl_->preprocessing;
}
const std::vector<std::int32_t>& SplitReader::labels() const {
  return impl_->header.labels;
}
const Split& SplitReader::header() const {
  return impl_->header;
}

Split SplitReader::read(const std::vector<int>& idx, bool pixels) const {
  const Impl& d = *impl_;
  const Split& h = d.header;
  const std::string where = d.path + ": " + h.name;
  Split s;
  s.name = h.name;
  s.count = static_cast<int>(idx.size());
  s.height = h.height;
  s.width = h.width;
  s.raw_steps = h.raw_steps;
  s.guide_rows = h.guide_rows;
  std::vector<hsize_t> rows;
  for (int i : idx) {
    if (i < 0 || i >= h.count)
      throw Error(where + ": sample " + std::to_string(i) + " out of range");
    rows.push_back(static_cast<hsize_t>(i));
    s.labels.push_back(h.labels[i]);
  }
  if (!pixels) {
  } else if (d.kind == "images") {
    if (d.float_images) {
      // float32 images hold 0..255 grey values; the encoders work on 8-bit pixels.
      const auto f = h5::read_row_set<float>(d.group, "images", rows);
      s.images.resize(f.size());
      for (std::size_t q = 0; q < f.size(); ++q) {
        if (!std::isfinite(f[q]))
          throw Error(where + "/images: sample " + std::to_string(idx[q / h.pixels()]) +
                      " holds NaN or Inf");
        if (f[q] < 0.0f || f[q] > 255.0f)
          throw Error(where + "/images: sample " + std::to_string(idx[q / h.pixels()]) +
                      " holds the value " + std::to_string(f[q]) +
                      ", outside the 0..255 grey-value range of float32 images");
        s.images[q] =
            static_cast<std::uint8_t>(std::lround(std::min(255.0f, std::max(0.0f, f[q]))));
      }
    } else {
      s.images = h5::read_row_set<std::uint8_t>(d.group, "images", rows);
    }
  } else {
    std::vector<std::pair<hsize_t, hsize_t>> ranges;
    for (int i : idx) {
      ranges.emplace_back(d.offsets[i], d.offsets[i + 1]);
      s.events.offsets.push_back(s.events.offsets.back() + d.offsets[i + 1] - d.offsets[i]);
    }
    s.events.neuron = h5::read_ranges<std::int32_t>(d.group, "spike_neuron", ranges);
    s.events.step = h5::read_ranges<std::uint8_t>(d.group, "spike_step", ranges);
    for (std::size_t e = 0; e < s.events.neuron.size(); ++e)
      if (s.events.neuron[e] < 0 || s.events.neuron[e] >= h.inputs() ||
          s.events.step[e] > h.raw_steps)
        throw Error(where + ": spike event out of range (neuron " +
                    std::to_string(s.events.neuron[e]) + ", step " +
                    std::to_string(s.events.step[e]) + ")");
  }
  if (h.guide_rows > 0) {
    s.guidance = h5::read_row_set<double>(d.group, "guidance", rows);
    for (double v : s.guidance)
      if (!std::isfinite(v)) throw Error(where + "/guidance holds NaN or Inf");
  }
  return s;
}

Split SplitReader::read_all() const {
  std::vector<int> idx(impl_->header.count);
  for (int i = 0; i < impl_->header.count; ++i) idx[i] = i;
  Split s = read(idx);
  const auto& g = impl_->group;
  if (h5::exists(g, "source")) s.source = h5::read_strings(g, "source");
  if (h5::exists(g, "serial")) s.serial = h5::read_strings(g, "serial");
  if (h5::exists(g, "azimuth_deg")) s.azimuth_deg = h5::read<double>(g, "azimuth_deg");
  if (h5::exists(g, "depression_deg")) s.depression_deg = h5::read<double>(g, "depression_deg");
  return s;
}

void check_split_values(const std::string& path, const std::string& split, int chunk) {
  const SplitReader r(path, split);
  const Split& h = r.header();
  // 8-bit pixels cannot be out of range: only float images and spike events need reading (labels
  // were checked on open, guidance is read either way).
  bool pixels = r.kind() == "spikes";
  if (!pixels) {
    const auto file = h5::open_file(path);
    const h5::Handle ds(H5Dopen2(h5::open_group(file, split).id(), "images", H5P_DEFAULT), H5Dclose,
                        path);
    const h5::Handle type(H5Dget_type(ds.id()), H5Tclose, path);
    pixels = H5Tget_class(type.id()) == H5T_FLOAT;
  }
  if (!pixels && h.guide_rows == 0) return;
  std::vector<int> idx;
  for (int begin = 0; begin < h.count; begin += chunk) {
    idx.clear();
    for (int i = begin; i < std::min(h.count, begin + chunk); ++i) idx.push_back(i);
    r.read(idx, pixels);  // throws on the first bad value, naming the file, split and sample
  }
}

bool has_split(const std::string& path, const std::string& split) {
  auto f = h5::open_file(path);
  return h5::exists(f, split);
}

Split read_split(const std::string& path, const std::string& split,
                 std::vector<std::string>* class_names) {
  SplitReader r(path, split);
  if (class_names) *class_names = r.class_names();
  return r.read_all();
}

int guidance_winner(const double* guidance, int rows, int raw_steps) {
  int best = 0;
  double best_sum = -INFINITY;
  for (int r = 0; r < rows; ++r) {
    double sum = 0;
    for (int t = 0; t < raw_steps; ++t) sum += guidance[r * raw_steps + t];
    if (sum > best_sum) {
      best_sum = sum;
      best = r;
    }
  }
  return best;
}

}  // namespace supsnn
