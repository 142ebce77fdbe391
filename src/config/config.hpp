// Experiment configuration: a fixed schema of `section.key` entries (type, default, allowed
// values, meaning), loaded from TOML, overridden by `--set section.key=value`, validated, and
// written back resolved into the run directory. Unknown keys and bad values are errors. A layered
// network is a list of `[[model.layers]]` tables whose keys depend on their kind (layer_schema()
// in config/layers.hpp).
#pragma once
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace supsnn {

using ConfigValue = std::variant<long, double, bool, std::string, std::vector<long>>;

struct ConfigKey {
  ConfigKey(std::string k, ConfigValue d, std::string doc_, std::vector<std::string> ch = {},
            double lo = -1e308, double hi = 1e308)
      : key(std::move(k)),
        def(std::move(d)),
        doc(std::move(doc_)),
        choices(std::move(ch)),
        min(lo),
        max(hi) {}
  std::string key;  // "section.name"
  ConfigValue def;
  std::string doc;
  std::vector<std::string> choices;         // strings only; empty = any
  double min = -1e308, max = 1e308;         // numbers (and list elements)
  bool min_open = false, max_open = false;  // the bound itself is out of range (tau > 1, p < 1)
};

const std::vector<ConfigKey>& config_schema();

// One `[[model.layers]]` table, resolved: every key its kind takes, in layer_schema() order
// ("kind" first), defaults filled in.
struct ConfigLayer {
  std::vector<std::pair<std::string, ConfigValue>> values;
  const std::string& kind() const;
  const ConfigValue& at(const std::string& name) const;  // std::out_of_range if the kind lacks it
};

class Config {
 public:
  Config();                                          // all defaults
  static Config load(const std::string& toml_path);  // defaults + file
  // Defaults + TOML text (a resolved config stored in a file); `where` names it in errors.
  static Config from_text(const std::string& text, const std::string& where);
  // "section.key=value", "model.layers.N.key=value" (N from 1) or "model.layers=[{...}, ...]"
  void set_override(const std::string& assignment);
  void set(const std::string& key, const ConfigValue& v);  // validated

  long get_int(const std::string& key) const;
  double get_float(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  const std::string& get_string(const std::string& key) const;
  const std::vector<long>& get_int_list(const std::string& key) const;
  // The [[model.layers]] of a layered network; empty for the bilayer and the model.hidden SNN.
  const std::vector<ConfigLayer>& layers() const { return layers_; }

  // Resolved config, every key, schema order; the layers as [[model.layers]] after [model].
  std::string to_toml() const;

 private:
  // Throws Error(where + ...) when the layers break check_layer_structure() or meet the old
  // deep-SNN keys (model.hidden, model.conv, model.conv_pool).
  void check_layers(const std::string& where) const;
  void set_layer_override(const std::string& key, const std::string& text);

  std::map<std::string, ConfigValue> values_;
  std::vector<ConfigLayer> layers_;
};

// Markdown tables of every key and of the layer keys per kind (docs/config.md).
std::string config_reference_markdown();
// A value as TOML text that reads back exactly (floats: shortest round-trip form, "2.0").
std::string config_value_text(const ConfigValue& v);
// The second of those tables alone: layer keys, the kinds that take them, defaults, ranges.
std::string layer_reference_markdown();

}  // namespace supsnn
