// In-memory dataset splits and their HDF5 file format (docs/formats.md). A split holds either
// 8-bit images (encoded into spikes at training time) or spike events, plus labels, optional
// guidance traces for the trace-matching loss, and optional per-sample provenance.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace supsnn {

namespace h5 {
class Handle;
}

constexpr std::int64_t kDatasetSchemaVersion = 2;

// Binary spike trains of many samples as events, sorted per sample by (step, neuron).
struct SpikeEvents {
  std::vector<std::int64_t> offsets{0};  // samples + 1
  std::vector<std::int32_t> neuron;
  std::vector<std::uint8_t> step;  // 0..T (T <= 255)
  std::size_t samples() const { return offsets.size() - 1; }
};

struct Split {
  std::string name;  // "train" or "test"
  int count = 0;
  int height = 0, width = 0;  // m = channels * height * width input neurons
  // Input neurons per pixel: 1 in files; K for in-memory batches of the population code.
  int channels = 1;
  int raw_steps = 70;  // T: spike trains have samples 0..T
  std::vector<std::int32_t> labels;
  std::vector<std::uint8_t> images;  // count*H*W, kind "images" (float32 files are rounded on read)
  std::vector<float> images_f32;     // written instead of `images` when the file stores float32
  SpikeEvents events;                // kind "spikes"
  int guide_rows = 0;                // n; 0 when the split has no guidance
  std::vector<double> guidance;      // count * n * T (steps 1..T)
  // Provenance, empty when unknown: source file (relative to the input root), target serial
  // number, azimuth and depression in degrees (NaN when unknown).
  std::vector<std::string> source, serial;
  std::vector<double> azimuth_deg, depression_deg;

  int inputs() const { return channels * height * width; }
  int pixels() const { return height * width; }
  bool has_images() const { return !images.empty() || !images_f32.empty(); }
};

struct DatasetFile {
  std::string kind;  // "images" or "spikes"
  std::vector<std::string> class_names;
  std::string preprocessing = "{}";  // JSON: how the images were made (recorded, not interpreted)
  std::vector<Split> splits;
  // Optional: writes extra groups/attributes into the open file after the splits (e.g. the
  // `guide` group of supsnn guide); part of the same atomic write.
  std::function<void(const h5::Handle& file)> write_extra;
};

// Writes through a temporary file renamed on success (no partial output on failure).
void write_dataset(const std::string& path, const DatasetFile& ds, const std::string& created_by);

// Reads the samples of one split that a rank needs (hyperslab reads; the file stays open).
// Schema version, kind and every shape are checked on open, failing with the file named.
class SplitReader {
 public:
  SplitReader(const std::string& path, const std::string& split);
  ~SplitReader();
  SplitReader(SplitReader&&) noexcept;
  SplitReader& operator=(SplitReader&&) noexcept;

  const std::string& kind() const;
  const std::vector<std::string>& class_names() const;
  const std::string& preprocessing() const;
  const std::vector<std::int32_t>& labels() const;  // all labels of the split
  // Shape of the split (count, height, width, raw_steps, guide_rows), no sample data.
  const Split& header() const;
  // Samples idx (in that order, repeats allowed) as a split of idx.size() samples; without
  // `pixels`, images and spike events are left out (labels and guidance only).
  Split read(const std::vector<int>& idx, bool pixels = true) const;
  Split read_all() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Split read_split(const std::string& path, const std::string& split,
                 std::vector<std::string>* class_names);
bool has_split(const std::string& path, const std::string& split);
// Reads every sample of a split in chunks and throws Error on the first value a reader refuses
// (NaN/Inf or out-of-range float pixels, guidance, spike events): run before training so bad
// data stops a run before its first step, not when a batch or the test split reaches it.
void check_split_values(const std::string& path, const std::string& split, int chunk = 256);

// Class of a sample under the seed's convention: the guidance row with the largest sum.
int guidance_winner(const double* guidance, int rows, int raw_steps);

}  // namespace supsnn
