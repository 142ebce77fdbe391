// The model.h5 of a layered network (what `supsnn train` writes, docs/formats.md "model.h5"):
// read once into typed form for `supsnn evaluate` and `supsnn export`, and written by
// `supsnn import`.
#pragma once
#include <hdf5.h>

#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/layers.hpp"

namespace supsnn {

struct LayeredModelFile {
  Config cfg;
  std::vector<LayerSpec> specs;
  std::vector<std::string> classes;
  int channels = 1, height = 1, width = 1, steps = 1;
  bool single = true;  // model.precision = "float": parameters stored as floats
  // Every parameter block ("layer1.W") and buffer block ("layer2.running_mean") by name.
  std::map<std::string, std::vector<double>> data;
};

// Throws one line naming the file for a file that is not a layered model.h5, or a block that is
// missing or of the wrong size.
LayeredModelFile read_layered_model(const std::string& path);

template <class Real>
class LayeredSnn;

// Sets the network's parameters and batch-norm statistics from m (evaluate, train.init). Throws
// one line naming `path` when a block of the network is missing from m or has another size.
template <class Real>
void load_layered_into(LayeredSnn<Real>& net, const LayeredModelFile& m, const std::string& path);

// Writes m to `path` (through a temporary file: nothing is left at `path` on failure): the
// attributes train writes (schema, input shape, network, config), class_names and every block the
// configuration's network has, parameters in the model's precision. `attrs`: extra string
// attributes (provenance).
void write_layered_model(const std::string& path, const LayeredModelFile& m,
                         const std::map<std::string, std::string>& attrs);

}  // namespace supsnn
