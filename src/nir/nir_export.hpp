// `supsnn export --format nir`: a layered network's model.h5 as a NIR graph (docs/formats.md
// "NIR"). Every layer maps onto NIR primitives that compute what supsnn computes; what has no
// exact form (soft reset, max pooling of currents) is refused with one line naming the layer.
#pragma once
#include <string>

#include "nir/nir_graph.hpp"
#include "train/model_file.hpp"

namespace supsnn::nir {

enum class ReadoutForm {
  Current,     // Affine -> Output: the readout's current at each step (its sum over steps decides)
  Integrator,  // Affine -> I (r = 1/dt) -> Output: the running sum itself
};

struct ExportOptions {
  double dt = 1e-4;  // seconds per supsnn step (snnTorch's NIR importer assumes 1e-4)
  ReadoutForm readout = ReadoutForm::Current;
};

// The graph of a model (the file's name for messages).
Graph to_graph(const LayeredModelFile& m, const std::string& file, const ExportOptions& o);

}  // namespace supsnn::nir
