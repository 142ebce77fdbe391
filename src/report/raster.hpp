// The spike raster of one input sample as the trainer encodes it (for `supsnn report` and the
// hidden `supsnn encode` command): runs the same BatchSource/EventEncoder path as evaluation.
#pragma once
#include <string>

#include "config/config.hpp"

namespace supsnn {

// Encodes sample `index` of split `split` of `dataset` with the data.* settings of `cfg` and
// writes `out` (HDF5: int32 datasets neuron and step, one entry per spike; attributes height,
// width, raw_steps, label, class_name, index, split, encoder).
void write_spike_raster(const Config& cfg, const std::string& dataset, const std::string& split,
                        int index, const std::string& out);

}  // namespace supsnn
