#include <cstdio>
#include <filesystem>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "data/prepare.hpp"
#include "dist/comm.hpp"

namespace supsnn {

CommandRunner add_prepare_command(CLI::App& app, const std::string& command_line) {
  auto* cmd = app.add_subcommand(
      "prepare", "Turn class folders of chips (JPEG, PNG, MSTAR raw) into a supsnn dataset");
  struct Opts {
    PrepareOptions p;
    std::string output;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("-i,--input", o->p.input,
                  "folder of <CLASS>/**/<chip> (or train/ and test/ folders of those)")
      ->required();
  cmd->add_option("-o,--output", o->output, "output dataset file (.h5)")->required();
  cmd->add_option("--split", o->p.split, "split name when --input holds class folders directly")
      ->check(CLI::IsMember({"train", "test"}))
      ->capture_default_str();
  cmd->add_option("--crop", o->p.crop,
                  "centre crop to N x N (0: keep sizes, which must then all agree)")
      ->capture_default_str();
  cmd->add_option("--scale", o->p.scale, "raw magnitude to 8 bit: linear (min-max) or db")
      ->check(CLI::IsMember({"linear", "db"}))
      ->capture_default_str();
  cmd->add_option("--db-range", o->p.db_range, "dB below the chip maximum mapped to 0 (--scale db)")
      ->capture_default_str();
  cmd->add_option("--contrast", o->p.contrast, "none, or stretch: per-chip quantiles to 0..255")
      ->check(CLI::IsMember({"none", "stretch"}))
      ->capture_default_str();
  cmd->add_option("--stretch-low", o->p.stretch_low, "lower quantile of --contrast stretch")
      ->capture_default_str();
  cmd->add_option("--stretch-high", o->p.stretch_high, "upper quantile of --contrast stretch")
      ->capture_default_str();
  cmd->add_option("--dtype", o->p.dtype, "stored image type")
      ->check(CLI::IsMember({"uint8", "float32"}))
      ->capture_default_str();
  return [o, command_line]() {
    // Before the (long) preprocessing: an output that cannot be a file fails now.
    std::error_code ec;
    if (std::filesystem::is_directory(o->output, ec))
      throw Error(o->output + ": --output is a directory; give a file name, e.g. " +
                  (std::filesystem::path(o->output) / "dataset.h5").string());
    const auto parent = std::filesystem::path(o->output).parent_path();
    if (!parent.empty() && !std::filesystem::is_directory(parent, ec))
      throw Error(o->output + ": output directory " + parent.string() + " does not exist");
    PrepareStats st;
    DatasetFile ds = prepare_dataset(o->p, &st);
    if (Comm().rank() == 0) {
      write_dataset(o->output, ds, command_line);
      std::printf("wrote %s:", o->output.c_str());
      for (const auto& s : ds.splits) std::printf(" %s %d chips;", s.name.c_str(), s.count);
      std::printf(" %zu classes, %d x %d; %.0f chips/s\n", ds.class_names.size(),
                  ds.splits[0].height, ds.splits[0].width, st.chips / st.seconds);
    }
    return 0;
  };
}

}  // namespace supsnn
