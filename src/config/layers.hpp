// The layers of a layered network (`[[model.layers]]`, docs/model.md "Layered networks"), read
// from the configuration once into typed specs. Which keys each kind takes, their defaults and
// ranges live in layer_schema() (src/config/layers.cpp); Config stores the layers as resolved
// key/value tables and layer_specs() turns them into these structs.
#pragma once
#include <string>
#include <vector>

#include "config/config.hpp"

namespace supsnn {

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
  // Surrogate of kernels/neuron_model.hpp (0 fast-sigmoid, 1 arctan, 2 triangle)
  int surrogate = 1;
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

const char* layer_kind_name(LayerKind k);  // the `kind` value: conv, dense, pool, ...
// "model.layers[N] (kind)" for messages, N = index + 1.
std::string layer_label(std::size_t index, const std::string& kind);

// One key of a [[model.layers]] table. spec.key is the name inside the table ("channels");
// spec.def gives the type and, unless required, the default.
struct LayerKey {
  std::vector<LayerKind> kinds;  // the kinds that take it
  ConfigKey spec;
  bool required = false;  // no default: a layer of these kinds must set it
};

// Every layer key, "kind" first; a kind's keys are the entries listing it, in this order. A name
// may appear twice with different meanings (stride of conv and pool, units of dense and readout).
const std::vector<LayerKey>& layer_schema();
std::vector<const LayerKey*> layer_keys(LayerKind k);
// false when `name` is no kind.
bool layer_kind_from_name(const std::string& name, LayerKind* k);

// Throws Error(where + "model.layers[N] (kind): ...") for the first layer that breaks the order
// rules: exactly one readout, last; no conv or pool after a dense layer; a norm directly after a
// conv or dense layer with neuron = "none"; no dropout first. Shapes are the model's to check.
void check_layer_structure(const std::string& where, const std::vector<ConfigLayer>& layers);

// The typed layers of a configuration (empty when model.layers is not set).
std::vector<LayerSpec> layer_specs(const Config& cfg);

}  // namespace supsnn
