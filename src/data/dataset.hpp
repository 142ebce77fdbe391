// In-memory dataset splits and their HDF5 file format (docs/formats.md). A split holds either
// 8-bit images (encoded into spikes at training time) or spike events, plus labels and
// optional guidance traces for the supervised trace-matching loss.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace supsnn {

constexpr std::int64_t kDatasetSchemaVersion = 1;

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
  int height = 0, width = 0;  // one input neuron per pixel: m = height * width
  int raw_steps = 70;         // T: spike trains have samples 0..T
  std::vector<std::int32_t> labels;
  std::vector<std::uint8_t> images;  // count*H*W, kind "images"
  SpikeEvents events;                // kind "spikes"
  int guide_rows = 0;                // n; 0 when the split has no guidance
  std::vector<double> guidance;      // count * n * T (steps 1..T)

  int inputs() const { return height * width; }
  bool has_images() const { return !images.empty(); }
};

struct DatasetFile {
  std::string kind;  // "images" or "spikes"
  std::vector<std::string> class_names;
  std::vector<Split> splits;
};

// Writes through a temporary file renamed on success (no partial output on failure).
void write_dataset(const std::string& path, const DatasetFile& ds, const std::string& created_by);

// Reads one split; checks schema version, kind and every shape, failing with the file named.
Split read_split(const std::string& path, const std::string& split,
                 std::vector<std::string>* class_names);
bool has_split(const std::string& path, const std::string& split);

// Class of a sample under the seed's convention: the guidance row with the largest sum.
int guidance_winner(const double* guidance, int rows, int raw_steps);

}  // namespace supsnn
