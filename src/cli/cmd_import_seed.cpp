#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "data/dataset.hpp"
#include "data/seed_import.hpp"
#include "dist/comm.hpp"

namespace supsnn {

CommandRunner add_import_seed_command(CLI::App& app, const std::string& command_line) {
  auto* cmd = app.add_subcommand(
      "import-seed", "Turn the seed's .npy spike trains and guidance traces into a supsnn dataset");
  struct Opts {
    std::string input, output, on_bad = "error";
    std::vector<std::string> class_names;
    int height = 0, width = 0;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("-i,--input", o->input,
                  "folder with Train/ and/or Test/, each holding Spikes/k.npy and Labels/k.npy")
      ->required();
  cmd->add_option("-o,--output", o->output, "output dataset file (.h5)")->required();
  cmd->add_option("--on-bad-file", o->on_bad,
                  "error: stop at a malformed file; skip: leave that sample out, with a warning")
      ->check(CLI::IsMember({"error", "skip"}))
      ->capture_default_str();
  cmd->add_option("--class-names", o->class_names,
                  "names of the guidance rows (default class0, class1, ...)")
      ->delimiter(',');
  cmd->add_option("--height", o->height, "image height (default: square root of the input count)");
  cmd->add_option("--width", o->width, "image width (default: square root of the input count)");
  return [o, command_line]() {
    SeedImportOptions opt;
    opt.skip_bad_files = o->on_bad == "skip";
    opt.height = o->height;
    opt.width = o->width;
    opt.class_names = o->class_names;
    DatasetFile ds = import_seed_folder(o->input, opt);
    if (Comm().rank() == 0) {
      write_dataset(o->output, ds, command_line);
      std::printf("wrote %s:", o->output.c_str());
      for (const auto& s : ds.splits) std::printf(" %s %d samples;", s.name.c_str(), s.count);
      std::printf(" %zu classes\n", ds.class_names.size());
    }
    return 0;
  };
}

}  // namespace supsnn
