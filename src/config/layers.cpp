#include "config/layers.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace supsnn {

namespace {

constexpr LayerKind kConv = LayerKind::Conv, kDense = LayerKind::Dense, kPool = LayerKind::Pool,
                    kDropout = LayerKind::Dropout, kNorm = LayerKind::Norm,
                    kReadout = LayerKind::Readout;

ConfigKey open_min(ConfigKey k) {
  k.min_open = true;
  return k;
}

ConfigKey open_max(ConfigKey k) {
  k.max_open = true;
  return k;
}

std::string layer_label(const std::vector<ConfigLayer>& layers, std::size_t i) {
  return supsnn::layer_label(i, layers[i].kind());
}

}  // namespace

std::string layer_label(std::size_t index, const std::string& kind) {
  return "model.layers[" + std::to_string(index + 1) + "] (" + kind + ")";
}

const char* layer_kind_name(LayerKind k) {
  switch (k) {
    case LayerKind::Conv:
      return "conv";
    case LayerKind::Dense:
      return "dense";
    case LayerKind::Pool:
      return "pool";
    case LayerKind::Dropout:
      return "dropout";
    case LayerKind::Norm:
      return "norm";
    case LayerKind::Readout:
      return "readout";
  }
  return "?";
}

bool layer_kind_from_name(const std::string& name, LayerKind* k) {
  for (int i = 0; i <= static_cast<int>(LayerKind::Readout); ++i)
    if (name == layer_kind_name(static_cast<LayerKind>(i))) {
      *k = static_cast<LayerKind>(i);
      return true;
    }
  return false;
}

const std::vector<LayerKey>& layer_schema() {
  static const std::vector<LayerKind> all = {kConv, kDense, kPool, kDropout, kNorm, kReadout};
  static const std::vector<LayerKind> neuron = {kConv, kDense, kNorm};
  static const std::vector<LayerKey> schema = {
      {all,
       {"kind",
        std::string(),
        "conv (2-D convolution), dense (fully connected), pool, dropout, norm (batch "
        "normalisation) or readout (the output layer)",
        {"conv", "dense", "pool", "dropout", "norm", "readout"}},
       true},
      {{kConv}, {"channels", 0L, "output channels", {}, 1, 65536}, true},
      {{kConv}, {"kernel", 3L, "kernel x kernel window", {}, 1, 1024}},
      {{kConv}, {"stride", 1L, "step of the window", {}, 1}},
      {{kConv}, {"padding", 1L, "zeros added on every side of the map", {}, 0}},
      {{kDense}, {"units", 0L, "output neurons", {}, 1, 1e7}, true},
      {{kReadout}, {"units", 0L, "output neurons; 0 = one per class", {}, 0}},
      {{kConv, kDense, kReadout}, {"bias", true, "learn a bias per output channel or unit"}},
      {neuron,
       {"neuron",
        std::string("lif"),
        "spiking neuron ending the layer: lif (leaky), if (no leak) or none (the layer passes "
        "its currents on, e.g. to a norm)",
        {"lif", "if", "none"}}},
      {neuron, open_min({"tau", 2.0, "membrane time constant of lif, in steps", {}, 1})},
      {neuron, open_min({"threshold", 1.0, "firing threshold", {}, 0})},
      {neuron,
       {"reset",
        std::string("hard"),
        "after a spike: hard (potential to 0) or soft (threshold subtracted)",
        {"hard", "soft"}}},
      {neuron,
       {"surrogate",
        std::string("arctan"),
        "surrogate of dS/dV at the threshold (as model.surrogate)",
        {"fast-sigmoid", "arctan", "triangle"}}},
      {neuron, open_min({"surrogate_width", 0.5, "w of the surrogate", {}, 0})},
      {{kPool}, {"mode", std::string("max"), "pooling of each window", {"max", "avg"}}},
      {{kPool}, {"size", 2L, "size x size window", {}, 1}},
      {{kPool}, {"stride", 0L, "step of the window; 0 = size", {}, 0}},
      {{kDropout},
       open_max({"p", 0.5, "probability of dropping each value in training", {}, 0, 1})},
  };
  return schema;
}

std::vector<const LayerKey*> layer_keys(LayerKind k) {
  std::vector<const LayerKey*> out;
  for (const auto& key : layer_schema())
    if (std::find(key.kinds.begin(), key.kinds.end(), k) != key.kinds.end()) out.push_back(&key);
  return out;
}

void check_layer_structure(const std::string& where, const std::vector<ConfigLayer>& layers) {
  const std::size_t n = layers.size();
  if (n == 0) return;
  auto fail = [&](std::size_t i, const std::string& what) {
    throw Error(where + layer_label(layers, i) + ": " + what);
  };
  auto number = [](std::size_t i) { return "model.layers[" + std::to_string(i + 1) + "]"; };
  std::vector<std::size_t> readouts;
  for (std::size_t i = 0; i < n; ++i)
    if (layers[i].kind() == "readout") readouts.push_back(i);
  if (readouts.size() > 1)
    fail(readouts[0], "one of " + std::to_string(readouts.size()) + " readouts (also " +
                          number(readouts[1]) + "), expected exactly one, the last layer");
  if (readouts.empty())
    fail(n - 1, "the last layer must be the readout (kind = \"readout\"), and there is none");
  if (readouts[0] != n - 1)
    fail(readouts[0], "the readout must be the last layer (of " + std::to_string(n) + ")");

  std::size_t first_dense = n;  // the spatial map is flattened there
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& kind = layers[i].kind();
    if (kind == "dense" && first_dense == n) first_dense = i;
    if ((kind == "conv" || kind == "pool") && first_dense < n)
      fail(i, "a " + kind + " layer cannot follow a dense layer (" + number(first_dense) +
                  "): the spatial map is gone there");
    if (kind == "dropout" && i == 0)
      fail(i, "dropout cannot be the first layer, expected it after a conv, dense, pool or norm");
    if (kind == "norm") {
      // A norm normalises currents, so the layer before must not have spiked them away.
      const std::string prev = i == 0 ? "" : layers[i - 1].kind();
      const bool weights = prev == "conv" || prev == "dense";
      const std::string prev_neuron =
          weights ? std::get<std::string>(layers[i - 1].at("neuron")) : "";
      if (prev_neuron != "none")
        fail(i, "a norm must directly follow a conv or dense layer with neuron = \"none\" (" +
                    (i == 0 ? std::string("it is the first layer")
                     : !weights
                         ? layer_label(layers, i - 1) + " is neither"
                         : layer_label(layers, i - 1) + " has neuron = \"" + prev_neuron + "\"") +
                    ")");
    }
  }
}

// The typed form of the resolved tables; Config has checked every value and the order already.
std::vector<LayerSpec> layer_specs(const Config& cfg) {
  std::vector<LayerSpec> out;
  for (const ConfigLayer& l : cfg.layers()) {
    LayerSpec s;
    layer_kind_from_name(l.kind(), &s.kind);
    auto has = [&](const char* name) {
      return std::any_of(l.values.begin(), l.values.end(),
                         [&](const auto& kv) { return kv.first == name; });
    };
    auto integer = [&](const char* name) { return static_cast<int>(std::get<long>(l.at(name))); };
    auto text = [&](const char* name) -> const std::string& {
      return std::get<std::string>(l.at(name));
    };
    switch (s.kind) {
      case LayerKind::Conv:
        s.channels = integer("channels");
        s.kernel = integer("kernel");
        s.stride = integer("stride");
        s.padding = integer("padding");
        break;
      case LayerKind::Dense:
      case LayerKind::Readout:
        s.units = integer("units");
        break;
      case LayerKind::Pool:
        s.mode = text("mode") == "avg" ? PoolMode::Avg : PoolMode::Max;
        s.size = integer("size");
        s.pool_stride = integer("stride");
        break;
      case LayerKind::Dropout:
        s.p = std::get<double>(l.at("p"));
        break;
      case LayerKind::Norm:
        break;
    }
    if (has("bias")) s.bias = std::get<bool>(l.at("bias"));
    if (has("neuron")) {
      const std::string& kind = text("neuron");
      s.neuron.kind = kind == "none" ? NeuronKind::None
                      : kind == "if" ? NeuronKind::If
                                     : NeuronKind::Lif;
      s.neuron.tau = std::get<double>(l.at("tau"));
      s.neuron.threshold = std::get<double>(l.at("threshold"));
      s.neuron.reset = text("reset") == "soft" ? ResetKind::Soft : ResetKind::Hard;
      const std::string& sg = text("surrogate");
      s.neuron.surrogate = sg == "fast-sigmoid" ? 0 : sg == "arctan" ? 1 : 2;
      s.neuron.surrogate_width = std::get<double>(l.at("surrogate_width"));
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace supsnn
