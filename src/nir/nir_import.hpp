// `supsnn import --format nir`: a NIR graph that supsnn's layered network can represent, as a
// model.h5 that `supsnn evaluate` runs and `supsnn train` fine-tunes (docs/formats.md "NIR").
// Graphs outside it (branches, recurrence, other neuron models) are refused with one line naming
// the node.
#pragma once
#include <string>
#include <vector>

#include "nir/nir_graph.hpp"
#include "train/model_file.hpp"

namespace supsnn::nir {

struct ImportOptions {
  double dt = 0;                     // seconds per step; 0: the graph's metadata, else 1e-4
  int steps = 0;                     // time steps; 0: the graph's metadata (required otherwise)
  std::vector<std::string> classes;  // empty: the graph's metadata (required otherwise)
  std::vector<std::string> sets;     // config overrides ("data.crop=64"), applied last
};

LayeredModelFile from_graph(const Graph& g, const std::string& file, const ImportOptions& o);

}  // namespace supsnn::nir
