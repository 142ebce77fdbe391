// supsnn: one executable, one subcommand per stage (supsnn <command> --help).
#include <Kokkos_Core.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "common/error_log.hpp"
#include "dist/comm.hpp"
#include "dist/reducer.hpp"

#ifdef KOKKOS_ENABLE_CUDA
#include <cuda_runtime.h>

// The Kokkos flag that picks the GPU for this rank (node-local rank % visible devices), or ""
// when the user chose already (flag or environment) or no device is visible (Kokkos reports it).
// A flag rather than InitializationSettings: Kokkos::initialize takes either argv or settings,
// and only the argv form parses and removes the user's other --kokkos-* flags.
static std::string device_flag(int argc, char** argv) {
  // Every rank reaches this point, so node_info's shared-memory split (collective) is safe; it
  // runs before the early returns below so that ranks whose environment differs still all join.
  const supsnn::NodeInfo node = supsnn::node_info(MPI_COMM_WORLD);
  for (const char* var : {"KOKKOS_DEVICE_ID", "KOKKOS_MAP_DEVICE_ID_BY", "KOKKOS_NUM_DEVICES"})
    if (const char* v = std::getenv(var); v && *v) return "";
  for (int i = 1; i < argc; ++i)
    for (const char* flag : {"--kokkos-device", "--kokkos-map-device-id-by", "--kokkos-num-devices",
                             "--kokkos-ndevices"})
      if (std::strncmp(argv[i], flag, std::strlen(flag)) == 0) return "";
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) return "";
#if KOKKOS_VERSION >= 30700
  const char* name = "--kokkos-device-id=";
#else
  const char* name = "--kokkos-device=";
#endif
  return name + std::to_string(node.local_rank % count);
}
#endif

#ifndef SUPSNN_VERSION
#define SUPSNN_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  supsnn::MpiSession mpi(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  // supsnn's command line is parsed before Kokkos starts, so `--help` shows supsnn's help alone
  // and a bad option costs no device set-up; Kokkos sees only its own `--kokkos-*` flags.
  std::vector<char*> cli_args{argv[0]}, kokkos_args{argv[0]};
  bool kokkos_help = false;
  for (int i = 1; i < argc; ++i) {
    const bool ours = std::strncmp(argv[i], "--kokkos-", 9) != 0;
    (ours ? cli_args : kokkos_args).push_back(argv[i]);
    kokkos_help |= std::strcmp(argv[i], "--kokkos-help") == 0;
  }
  std::string command_line;
  for (char* a : cli_args) command_line += (command_line.empty() ? "" : " ") + std::string(a);

  CLI::App app{"supsnn: spiking neural network trainer for SAR target recognition"};
  app.set_version_flag("--version", std::string("supsnn ") + SUPSNN_VERSION);
  app.footer("Kokkos options (--kokkos-*) pass through to Kokkos; --kokkos-help lists them.");
  if (!kokkos_help) app.require_subcommand(1);
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
  add(supsnn::add_inspect_command);
  add(supsnn::add_sweep_command);
  add(supsnn::add_report_command);
  add(supsnn::add_encode_command);
  add(supsnn::add_evaluate_command);
  add(supsnn::add_export_command);
  add(supsnn::add_import_command);
  try {
    app.parse(static_cast<int>(cli_args.size()), cli_args.data());
  } catch (const CLI::ParseError& e) {  // also --help and --version (exit code 0)
    return rank == 0 ? app.exit(e) : e.get_exit_code();
  }

  // Kokkos sees its own flags plus, on GPU builds, the device flag.
#ifdef KOKKOS_ENABLE_CUDA
  std::string flag;
  try {
    flag = device_flag(static_cast<int>(kokkos_args.size()), kokkos_args.data());
  } catch (const std::exception& e) {
    supsnn::report_fatal_error(e.what(), rank, size);
    if (size > 1) MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
  }
  if (!flag.empty()) kokkos_args.insert(kokkos_args.begin() + 1, flag.data());
#endif
  int kokkos_argc = static_cast<int>(kokkos_args.size());
  kokkos_args.push_back(nullptr);
  int code = 0;
  {
    Kokkos::ScopeGuard kokkos(kokkos_argc, kokkos_args.data());
    try {
      for (auto& [sub, run] : commands)
        if (sub->parsed()) code = run();
    } catch (const std::exception& e) {
      supsnn::report_fatal_error(e.what(), rank, size);
      // One failing rank must not leave the others waiting in a collective.
      if (size > 1) MPI_Abort(MPI_COMM_WORLD, 1);
      code = 1;
    }
  }
  return code;
}
