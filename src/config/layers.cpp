// PLACEHOLDER (not committed): replaced by the config helper's implementation.
#include "config/layers.hpp"
namespace supsnn {
const char* layer_kind_name(LayerKind k) {
  static const char* n[] = {"conv", "dense", "pool", "dropout", "norm", "readout"};
  return n[static_cast<int>(k)];
}
std::vector<LayerSpec> layer_specs(const Config&) { return {}; }
}  // namespace supsnn
