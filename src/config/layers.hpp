// The layers of a layered network (`[[model.layers]]`, docs/model.md "Layered networks"), read
// from the configuration once into typed specs. Which keys each kind takes, their defaults and
// ranges live in layer_schema() (src/config/layers.cpp); Config stores the layers as resolved
// key/value tables and layer_specs() turns them into these structs.
#pragma once
#include <string>
#include <vector>

namespace supsnn {

class Config;

enum class LayerKind : int { Conv = 0, Dense = 1, Pool = 2, Dropout = 3, Norm = 4, Readout = 5 };
enum class NeuronKind : int { None = 0, Lif = 1, If = 2 };  // what ends a conv/dense/norm layer
enum class ResetKind : int { Hard = 0, Soft = 1 };
enum class PoolMode : int { Max = 0, Avg = 1 };

// The spiking neuron that ends a conv, dense or norm layer (declared once in
// kernels/lif_layer.hpp): H = V + (I - V) / tau (lif) or V + I (if), S = [H >= threshold],
// V = H (1 - S) (hard reset) or H - threshold S (soft).
struct LayerNeuron {
  NeuronKind kind = NeuronKind::Lif;
  double tau = 2.0;
  double threshold = 1.0;
  ResetKind reset = ResetKind::Hard;
  int surrogate = 1;  // Surrogate of kernels/neuron_model.hpp (0 fast-sigmoid, 1 arctan, 2 triangle)
  double surrogate_width = 0.5;
};

struct LayerSpec {
  LayerKind kind = LayerKind::Dense;
  // conv: output channels; dense and readout: units (readout: 0 = one per class)
  int channels = 0;
  int units = 0;
  int kernel = 3, stride = 1, padding = 1;  // conv
  int size = 2, pool_stride = 0;            // pool (stride 0 = size)
  PoolMode mode = PoolMode::Max;            // pool
  double p = 0.5;                           // dropout: probability of dropping
  bool bias = true;                         // conv, dense, readout
  LayerNeuron neuron;                       // conv, dense, norm
};

const char* layer_kind_name(LayerKind k);

// The typed layers of a configuration (empty when model.layers is not set).
std::vector<LayerSpec> layer_specs(const Config& cfg);

}  // namespace supsnn
