// Which settings a resumed run may change. A checkpoint records the resolved configuration
// (Config::to_toml); a resume compares it key by key with the configuration it is given and
// refuses differences outside the keys listed here (docs/checkpoints.md, "What a resume may
// change").
#pragma once
#include <string>
#include <vector>

namespace supsnn {

// Keys (or "section.*") whose values may differ between a run and its resume: they change how
// long, how fast or where a run goes, or what it logs, not what a training step computes.
const std::vector<std::string>& keys_a_resume_may_change();

struct ConfigDifference {
  std::string key, before, after;  // values as written in the resolved TOML
};

// Differences between two resolved configurations (texts of Config::to_toml, comment lines
// allowed) in keys both hold and a resume may not change. Keys only one side holds (written by
// another supsnn version) are not compared.
std::vector<ConfigDifference> config_differences(const std::string& before_toml,
                                                 const std::string& after_toml);

// "train.seed 3 -> 4, model.hidden [] -> [128]"
std::string join_differences(const std::vector<ConfigDifference>& diff);

}  // namespace supsnn
