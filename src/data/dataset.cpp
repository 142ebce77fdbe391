#include "data/dataset.hpp"

#include <cmath>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "io/h5.hpp"

namespace supsnn {

namespace {

void write_split(const h5::Handle& file, const Split& s, const std::string& kind) {
  auto g = h5::create_group(file, s.name);
  const hsize_t N = static_cast<hsize_t>(s.count);
  h5::set_attr(g, "count", static_cast<std::int64_t>(s.count));
  h5::set_attr(g, "height", static_cast<std::int64_t>(s.height));
  h5::set_attr(g, "width", static_cast<std::int64_t>(s.width));
  h5::set_attr(g, "raw_steps", static_cast<std::int64_t>(s.raw_steps));
  h5::write(g, "labels", {N}, s.labels.data());
  if (kind == "images") {
    h5::write(g, "images", {N, static_cast<hsize_t>(s.height), static_cast<hsize_t>(s.width)},
              s.images.data(), 1);
  } else {
    const hsize_t E = s.events.neuron.size();
    h5::write(g, "spike_offsets", {N + 1}, s.events.offsets.data());
    h5::write(g, "spike_neuron", {E}, s.events.neuron.data(), 1 << 16);
    h5::write(g, "spike_step", {E}, s.events.step.data(), 1 << 16);
  }
  if (s.guide_rows > 0)
    h5::write(g, "guidance",
              {N, static_cast<hsize_t>(s.guide_rows), static_cast<hsize_t>(s.raw_steps)},
              s.guidance.data(), 64);
}

void expect_shape(const h5::Handle& g, const std::string& name, const std::vector<hsize_t>& want) {
  const auto got = h5::shape(g, name);
  auto text = [](const std::vector<hsize_t>& d) {
    std::string t;
    for (std::size_t i = 0; i < d.size(); ++i) t += (i ? " x " : "") + std::to_string(d[i]);
    return t;
  };
  if (got != want)
    throw Error(g.file() + ": dataset " + name + " has shape " + text(got) + ", expected " +
                text(want));
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
    h5::write_strings(f, "class_names", ds.class_names);
    for (const auto& s : ds.splits) write_split(f, s, ds.kind);
  }
  out.commit();
}

bool has_split(const std::string& path, const std::string& split) {
  auto f = h5::open_file(path);
  return h5::exists(f, split);
}

Split read_split(const std::string& path, const std::string& split,
                 std::vector<std::string>* class_names) {
  auto f = h5::open_file(path);
  if (!h5::has_attr(f, "schema") || h5::attr_string(f, "schema") != "supsnn-dataset")
    throw Error(path + ": not a supsnn dataset (no schema=\"supsnn-dataset\" attribute)");
  const auto version = h5::attr_int(f, "schema_version");
  if (version != kDatasetSchemaVersion)
    throw Error(path + ": dataset schema version " + std::to_string(version) +
                ", this supsnn reads version " + std::to_string(kDatasetSchemaVersion));
  const std::string kind = h5::attr_string(f, "kind");
  const auto names = h5::read_strings(f, "class_names");
  if (class_names) *class_names = names;
  if (!h5::exists(f, split)) throw Error(path + ": dataset has no '" + split + "' split");
  auto g = h5::open_group(f, split);

  Split s;
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
    if (l < 0 || l >= static_cast<int>(names.size()))
      throw Error(path + ": " + split + "/labels holds class " + std::to_string(l) +
                  ", expected 0.." + std::to_string(names.size() - 1));
  if (kind == "images") {
    expect_shape(g, "images", {N, static_cast<hsize_t>(s.height), static_cast<hsize_t>(s.width)});
    s.images = h5::read<std::uint8_t>(g, "images");
  } else if (kind == "spikes") {
    expect_shape(g, "spike_offsets", {N + 1});
    s.events.offsets = h5::read<std::int64_t>(g, "spike_offsets");
    s.events.neuron = h5::read<std::int32_t>(g, "spike_neuron");
    s.events.step = h5::read<std::uint8_t>(g, "spike_step");
    const auto E = static_cast<std::int64_t>(s.events.neuron.size());
    if (s.events.step.size() != s.events.neuron.size() || s.events.offsets.front() != 0 ||
        s.events.offsets.back() != E)
      throw Error(path + ": " + split + ": spike_offsets/spike_neuron/spike_step sizes disagree");
    for (std::size_t i = 0; i + 1 < s.events.offsets.size(); ++i)
      if (s.events.offsets[i + 1] < s.events.offsets[i])
        throw Error(path + ": " + split + ": spike_offsets not sorted");
    for (std::size_t e = 0; e < s.events.neuron.size(); ++e)
      if (s.events.neuron[e] < 0 || s.events.neuron[e] >= s.inputs() ||
          s.events.step[e] > s.raw_steps)
        throw Error(path + ": " + split + ": spike event " + std::to_string(e) + " out of range");
  } else {
    throw Error(path + ": unknown dataset kind '" + kind + "' (expected images or spikes)");
  }
  if (h5::exists(g, "guidance")) {
    const auto d = h5::shape(g, "guidance");
    if (d.size() != 3 || d[0] != N || d[2] != static_cast<hsize_t>(s.raw_steps))
      throw Error(path + ": " + split + "/guidance: expected shape " + std::to_string(N) +
                  " x n x " + std::to_string(s.raw_steps));
    s.guide_rows = static_cast<int>(d[1]);
    s.guidance = h5::read<double>(g, "guidance");
    for (double v : s.guidance)
      if (!std::isfinite(v)) throw Error(path + ": " + split + "/guidance holds NaN or Inf");
  }
  return s;
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
