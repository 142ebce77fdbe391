// Deterministic synthetic SAR-like target chips (no external data), for tests, demos and smoke
// runs. Each class is a vehicle made of bright point scatterers on a faint hull, with a radar
// shadow, rotated to a random azimuth and placed on speckled clutter, then mapped to 8 bits like
// MSTAR's linear-magnitude chips. The generator uses its own PRNG and libm-free math, so the bytes
// are identical on every platform for the same options.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "data/dataset.hpp"

namespace supsnn {

struct SynthOptions {
  int classes = 3;  // 2..10
  int train_per_class = 100;
  int test_per_class = 50;
  int height = 128, width = 128;  // >= 16 each; geometry scales with min(height, width) / 128
  uint64_t seed = 1;
};

struct SynthSplit {
  int count = 0, height = 0, width = 0;
  std::vector<uint8_t> images;  // count*height*width, row-major
  std::vector<int> labels;      // class index 0..classes-1
  std::vector<double> azimuth_deg;
};

// Stable names of the first `classes` synthetic classes ("tank", "apc", "truck", ...).
std::vector<std::string> synth_class_names(int classes);

// Chip k has label k % classes (classes interleaved, equal counts). Train and test splits use
// different random streams derived from seed; each chip has its own stream, so chip k does not
// depend on how many chips are generated. Throws std::invalid_argument on bad options.
SynthSplit synth_generate(const SynthOptions& opt, bool test_split);

// A spikes-kind split of `count` samples (height x width inputs, steps 0..raw_steps) with
// independent Bernoulli(p) spikes, uniform random labels in [0, rows) and random guidance traces:
// test and benchmark input of a chosen spike density.
Split random_spike_split(int count, int height, int width, int raw_steps, int rows, double p,
                         std::uint64_t seed);

}  // namespace supsnn
