#include "config/config_diff.hpp"

#include <map>
#include <sstream>

namespace supsnn {

const std::vector<std::string>& keys_a_resume_may_change() {
  static const std::vector<std::string> keys = {
      "train.epochs",        "train.max_steps", "train.eval_batch_size", "train.test_every",
      "train.comm",          "optim.lr",        "optim.schedule",        "optim.milestones",
      "optim.gamma",         "optim.ema",       "checkpoint.*",          "run.*",
      "data.train",          "data.test",       "data.prefetch",         "model.input_path",
      "model.dense_density", "guide.*"};
  return keys;
}

namespace {

bool may_change(const std::string& key) {
  for (const auto& k : keys_a_resume_may_change()) {
    if (k == key) return true;
    if (k.size() > 2 && k.compare(k.size() - 2, 2, ".*") == 0 &&
        key.compare(0, k.size() - 1, k, 0, k.size() - 1) == 0)
      return true;
  }
  return false;
}

const std::string kLayers = "model.layers";

std::string layer_count(long n) {
  return "(" + std::to_string(n) + (n == 1 ? " layer)" : " layers)");
}

// section.key -> value text of a resolved configuration: "[section]" headers and one
// "key = value" line per key (the form Config::to_toml writes). The N-th "[[model.layers]]"
// block's keys become model.layers.N.key (N from 1), and model.layers holds the count.
std::map<std::string, std::string> flatten(const std::string& toml) {
  std::map<std::string, std::string> out;
  std::istringstream in(toml);
  std::string line, section;
  long layers = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line == "[[" + kLayers + "]]") {
      section = kLayers + "." + std::to_string(++layers);
      continue;
    }
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      continue;
    }
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    out[section + "." + line.substr(0, eq)] = line.substr(eq + 3);
  }
  out[kLayers] = layer_count(layers);
  return out;
}

bool is_layer_key(const std::string& key) {
  return key.compare(0, kLayers.size() + 1, kLayers + ".") == 0;
}

}  // namespace

std::vector<ConfigDifference> config_differences(const std::string& before_toml,
                                                 const std::string& after_toml) {
  const auto before = flatten(before_toml), after = flatten(after_toml);
  // Layers are compared key by key only when both sides have as many; else the count differs.
  const bool same_count = before.at(kLayers) == after.at(kLayers);
  std::vector<ConfigDifference> diff;
  for (const auto& [key, value] : before) {
    if (!same_count && is_layer_key(key)) continue;
    const auto it = after.find(key);
    if (it != after.end() && it->second != value && !may_change(key))
      diff.push_back({key, value, it->second});
  }
  return diff;
}

std::string join_differences(const std::vector<ConfigDifference>& diff) {
  std::string s;
  for (const auto& d : diff)
    s += (s.empty() ? "" : ", ") + d.key + " " + d.before + " -> " + d.after;
  return s;
}

}  // namespace supsnn
