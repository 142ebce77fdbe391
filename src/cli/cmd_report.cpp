#include <mpi.h>

#include "cli/commands.hpp"
#include "config/config.hpp"
#include "report/raster.hpp"
#include "report/report.hpp"

namespace supsnn {

CommandRunner add_report_command(CLI::App& app, const std::string&) {
  auto* cmd = app.add_subcommand(
      "report", "PNG figures of a run or sweep directory into DIR/figures/ (needs matplotlib)");
  struct Opts {
    std::string dir;
    int raster_index = 0;
    std::string epochs;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("dir", o->dir, "run directory (metrics.h5) or sweep directory (bands.h5 below)")
      ->required();
  cmd->add_option("--raster-index", o->raster_index,
                  "test sample whose input spike raster is drawn (-1: none)");
  cmd->add_option("--epochs", o->epochs,
                  "epochs whose TensorBoard weight images are drawn, e.g. 1,10,25 (default: "
                  "first, middle, last)");
  return [o]() {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank == 0 ? run_report(o->dir, o->raster_index, o->epochs) : 0;
  };
}

// Hidden helper: the input spikes of one sample as the trainer encodes them.
CommandRunner add_encode_command(CLI::App& app, const std::string&) {
  auto* cmd = app.add_subcommand("encode", "Write one sample's input spike raster (HDF5)");
  cmd->group("");  // hidden from --help
  struct Opts {
    std::string dataset, split = "test", output, config;
    std::vector<std::string> sets;
    int index = 0;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--dataset", o->dataset, "dataset file")->required();
  cmd->add_option("--split", o->split, "split (default test)");
  cmd->add_option("--index", o->index, "sample index in the split");
  cmd->add_option("--output", o->output, "raster file to write")->required();
  cmd->add_option("-c,--config", o->config, "TOML whose data.* settings encode (e.g. a run's)");
  cmd->add_option("--set", o->sets, "override one key (repeatable)");
  return [o]() {
    Config cfg = o->config.empty() ? Config() : Config::load(o->config);
    for (const auto& s : o->sets) cfg.set_override(s);
    write_spike_raster(cfg, o->dataset, o->split, o->index, o->output);
    return 0;
  };
}

}  // namespace supsnn
