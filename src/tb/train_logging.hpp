// What the trainer logs to TensorBoard: per-epoch scalars and tiled weight maps.
#pragma once
#include <cstdint>
#include <vector>

#include "tb/event_writer.hpp"
#include "train/metrics.hpp"

namespace supsnn {

// train/loss, train/accuracy, val/* and test/* (when measured), lr, samples_per_s at
// `global_step` (the optimiser step count at the end of the epoch).
void log_epoch_to_tensorboard(EventWriter& tb, const EpochMetrics& m, long global_step);

// Weight maps tiled into one grey image: `sizes` are the layer widths {inputs, ..., outputs}
// and `weights` the flat buffer of the (out x in) matrices in layer order (the bilayer: {m, n}
// and W). The bilayer shows every output neuron's weights; a deep net the first layer's
// `max_maps` most important units (largest summed |weight| path products to the outputs).
// Each map is height x width, scaled from its own min..max to 0..255. Returns false (and
// writes nothing) when inputs != height * width.
bool log_weight_maps(EventWriter& tb, long global_step, const std::vector<double>& weights,
                     const std::vector<int>& sizes, int height, int width, int max_maps = 16);

struct TiledImage {
  int height = 0, width = 0;
  std::vector<std::uint8_t> pixels;
  std::vector<int> units;  // which rows of the first matrix, in tile order
};
TiledImage tile_weight_maps(const std::vector<double>& weights, const std::vector<int>& sizes,
                            int height, int width, int max_maps = 16);

}  // namespace supsnn
