#include <cstdio>

#include "cli/commands.hpp"
#include "config/config.hpp"
#include "train/model_file.hpp"

namespace supsnn {

CommandRunner add_config_command(CLI::App& app, const std::string&) {
  auto* cmd = app.add_subcommand(
      "config",
      "Print the default or resolved configuration (TOML) or the reference of every key and "
      "layer key");
  auto reference = std::make_shared<bool>(false);
  auto file = std::make_shared<std::string>();
  auto sets = std::make_shared<std::vector<std::string>>();
  cmd->add_flag("--reference", *reference,
                "print the Markdown tables of every key and of the layer keys (docs/config.md)");
  cmd->add_option("-c,--config", *file, "resolve this experiment file instead of the defaults");
  auto model = std::make_shared<std::string>();
  cmd->add_option("-m,--model", *model,
                  "start from the configuration stored in this model.h5 (e.g. to fine-tune it with "
                  "train.init)")
      ->excludes("--config");
  cmd->add_option("--set", *sets, "override one key (repeatable)");
  return [reference, file, sets, model]() {
    if (*reference) {
      std::fputs(config_reference_markdown().c_str(), stdout);
      return 0;
    }
    Config cfg = !model->empty() ? read_layered_model(*model).cfg
                 : file->empty() ? Config()
                                 : Config::load(*file);
    for (const auto& s : *sets) cfg.set_override(s);
    std::fputs(cfg.to_toml().c_str(), stdout);
    return 0;
  };
}

}  // namespace supsnn
