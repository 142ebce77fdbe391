// Subcommands of the supsnn executable. Each registers itself on the CLI11 app and returns the
// function that runs it after parsing (exit code).
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace supsnn {

using CommandRunner = std::function<int()>;

CommandRunner add_train_command(CLI::App& app, const std::string& command_line);
CommandRunner add_import_seed_command(CLI::App& app, const std::string& command_line);
CommandRunner add_synth_command(CLI::App& app, const std::string& command_line);
CommandRunner add_prepare_command(CLI::App& app, const std::string& command_line);
CommandRunner add_bench_command(CLI::App& app, const std::string& command_line);
CommandRunner add_config_command(CLI::App& app, const std::string& command_line);
CommandRunner add_guide_command(CLI::App& app, const std::string& command_line);
CommandRunner add_inspect_command(CLI::App& app, const std::string& command_line);
CommandRunner add_sweep_command(CLI::App& app, const std::string& command_line);
CommandRunner add_report_command(CLI::App& app, const std::string& command_line);
CommandRunner add_encode_command(CLI::App& app, const std::string& command_line);
CommandRunner add_evaluate_command(CLI::App& app, const std::string& command_line);
CommandRunner add_export_command(CLI::App& app, const std::string& command_line);
CommandRunner add_import_command(CLI::App& app, const std::string& command_line);

}  // namespace supsnn
