// supsnn: one executable, one subcommand per stage (supsnn <command> --help).
#include <Kokkos_Core.hpp>

#include <cstdio>
#include <exception>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "dist/comm.hpp"

#ifndef SUPSNN_VERSION
#define SUPSNN_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  supsnn::MpiSession mpi(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int code = 0;
  {
    Kokkos::ScopeGuard kokkos(argc, argv);
    std::string command_line;
    for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);

    CLI::App app{"supsnn: spiking neural network trainer for SAR target recognition"};
    app.set_version_flag("--version", std::string("supsnn ") + SUPSNN_VERSION);
    app.require_subcommand(1);
    std::vector<std::pair<CLI::App*, supsnn::CommandRunner>> commands;
    auto add = [&](supsnn::CommandRunner (*fn)(CLI::App&, const std::string&)) {
      const auto before = app.get_subcommands({}).size();
      auto run = fn(app, command_line);
      commands.emplace_back(app.get_subcommands({})[before], std::move(run));
    };
    add(supsnn::add_train_command);
    add(supsnn::add_import_seed_command);
    add(supsnn::add_prepare_command);
    add(supsnn::add_synth_command);
    add(supsnn::add_guide_command);
    add(supsnn::add_config_command);
    add(supsnn::add_bench_command);
    add(supsnn::add_sweep_command);
    add(supsnn::add_report_command);
    add(supsnn::add_encode_command);
    bool parsed = false;
    try {
      app.parse(argc, argv);
      parsed = true;
    } catch (const CLI::ParseError& e) {  // also --help and --version (exit code 0)
      code = rank == 0 ? app.exit(e) : e.get_exit_code();
    }
    if (parsed) {
      try {
        for (auto& [sub, run] : commands)
          if (sub->parsed()) code = run();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "supsnn: error: %s\n", e.what());
        std::fflush(stderr);
        // One failing rank must not leave the others waiting in a collective.
        if (size > 1) MPI_Abort(MPI_COMM_WORLD, 1);
        code = 1;
      }
    }
  }
  return code;
}
