// Experiment configuration: a fixed schema of `section.key` entries (type, default, allowed
// values, meaning), loaded from TOML, overridden by `--set section.key=value`, validated, and
// written back resolved into the run directory. Unknown keys and bad values are errors.
#pragma once
#include <map>
#include <string>
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
  std::vector<std::string> choices;  // strings only; empty = any
  double min = -1e308, max = 1e308;  // numbers (and list elements)
};

const std::vector<ConfigKey>& config_schema();

class Config {
 public:
  Config();                                                // all defaults
  static Config load(const std::string& toml_path);        // defaults + file
  void set_override(const std::string& assignment);        // "section.key=value"
  void set(const std::string& key, const ConfigValue& v);  // validated

  long get_int(const std::string& key) const;
  double get_float(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  const std::string& get_string(const std::string& key) const;
  const std::vector<long>& get_int_list(const std::string& key) const;

  std::string to_toml() const;  // resolved config, every key, schema order

 private:
  std::map<std::string, ConfigValue> values_;
};

// Markdown table of every key (used to check docs/config.md stays complete).
std::string config_reference_markdown();

}  // namespace supsnn
