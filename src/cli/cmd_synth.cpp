#include <cstdio>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "data/dataset.hpp"
#include "data/synth.hpp"
#include "data/template_guidance.hpp"
#include "dist/comm.hpp"

namespace supsnn {

CommandRunner add_synth_command(CLI::App& app, const std::string& command_line) {
  auto* cmd = app.add_subcommand(
      "synth", "Write a deterministic synthetic SAR-like dataset (no external data needed)");
  struct Opts {
    std::string output;
    SynthOptions synth;
    int size = 128;
    int raw_steps = 70;
  };
  auto o = std::make_shared<Opts>();
  o->synth.train_per_class = 300;
  o->synth.test_per_class = 100;
  cmd->add_option("-o,--output", o->output, "output dataset file (.h5)")->required();
  cmd->add_option("--classes", o->synth.classes, "number of vehicle classes (2..10)")
      ->capture_default_str();
  cmd->add_option("--train-per-class", o->synth.train_per_class, "training chips per class")
      ->capture_default_str();
  cmd->add_option("--test-per-class", o->synth.test_per_class, "test chips per class")
      ->capture_default_str();
  cmd->add_option("--size", o->size, "chip height and width in pixels")->capture_default_str();
  cmd->add_option("--seed", o->synth.seed, "random seed")->capture_default_str();
  cmd->add_option("--raw-steps", o->raw_steps, "T of the template guidance traces")
      ->capture_default_str();
  return [o, command_line]() {
    o->synth.height = o->synth.width = o->size;
    DatasetFile ds;
    ds.kind = "images";
    ds.class_names = synth_class_names(o->synth.classes);
    for (bool test : {false, true}) {
      SynthSplit g = synth_generate(o->synth, test);
      Split s;
      s.name = test ? "test" : "train";
      s.count = g.count;
      s.height = g.height;
      s.width = g.width;
      s.raw_steps = o->raw_steps;
      s.images = std::move(g.images);
      s.labels.assign(g.labels.begin(), g.labels.end());
      s.guide_rows = o->synth.classes;
      for (int label : s.labels) {
        const auto tr = template_guidance(label, s.guide_rows, s.raw_steps);
        s.guidance.insert(s.guidance.end(), tr.begin(), tr.end());
      }
      ds.splits.push_back(std::move(s));
    }
    if (Comm().rank() == 0) {
      write_dataset(o->output, ds, command_line);
      std::printf("wrote %s: %d train + %d test chips, %d classes, %d x %d\n", o->output.c_str(),
                  ds.splits[0].count, ds.splits[1].count, o->synth.classes, o->size, o->size);
    }
    return 0;
  };
}

}  // namespace supsnn
