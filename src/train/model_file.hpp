// The model.h5 of a layered network (what `supsnn train` writes, docs/formats.md "model.h5"):
// read once into typed form for `supsnn evaluate` and `supsnn export`, and written by
// `supsnn import`.
#pragma once
#include <hdf5.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/layers.hpp"
#include "io/h5.hpp"

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
// one line naming `path` when m describes another network (input map, a block's name or shape).
template <class Real>
void load_layered_into(LayeredSnn<Real>& net, const LayeredModelFile& m, const std::string& path);

// What every model.h5 starts with (bilayer, deep SNN, layered): schema, input shape, classes.
void write_model_header(const h5::Handle& f, int channels, int height, int width,
                        const std::vector<std::string>& classes);

// Writes m to `path` (through a temporary file: nothing is left at `path` on failure): the
// header, the network kind and configuration, and every block the configuration's network has,
// parameters in the model's precision. `extra` adds attributes (provenance).
void write_layered_model(const std::string& path, const LayeredModelFile& m,
                         const std::function<void(const h5::Handle&)>& extra = {});

}  // namespace supsnn
