// How images become input spikes: the spike code and the augmentation of a run, read from the
// data.* keys of a configuration in one place (train, guide, bench and encode all use it).
#pragma once
#include <cstdint>

#include "config/config.hpp"
#include "data/augment.hpp"
#include "kernels/encode_events.hpp"

namespace supsnn {

struct DataOptions {
  SpikeCode code = SpikeCode::Rate;
  bool direct = false;  // data.encoder = "direct": images are the first layer's input, no spikes
  bool receptive_field = true;  // data.receptive_field
  PopulationCode population;    // data.population*: K input neurons per pixel
  int raw_steps = 70;
  bool template_guidance = false;  // targets from labels instead of the file's guidance
  int outputs = 0;                 // n: rows of the guidance / output neurons
  AugmentOptions augment;          // crop, pool (both); the rest training only
  std::uint64_t seed = 1;
  bool prefetch = true;
  int chunk = 256;  // samples per read (rounded to whole batches)
};

// The data.* keys of a configuration as encoder and augmentation options: the one place where
// train, guide, bench and encode read them (targets, template_guidance and outputs depend on
// the dataset and are left to the caller).
DataOptions data_options(const Config& cfg);

// The spike code of `opt` for spike trains of `raw_steps` steps; `seed` keys the Poisson draws.
SpikeCodeParams spike_code_params(const DataOptions& opt, int raw_steps, std::uint64_t seed);

}  // namespace supsnn
