#include <cstdio>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "train/evaluate.hpp"

namespace supsnn {

CommandRunner add_evaluate_command(CLI::App& app, const std::string&) {
  auto* cmd =
      app.add_subcommand("evaluate",
                         "Accuracy, per-class accuracy and confusion matrix of a trained layered "
                         "network (model.h5) on a whole split");
  struct Options {
    std::string model, data, split = "test", outputs;
    int batch = 64;
    bool inputs = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("-m,--model", o->model, "model.h5 of a layered network (supsnn train)")
      ->required();
  cmd->add_option("-d,--data", o->data,
                  "dataset file (.h5); default: the data.test (or data.train) of its config");
  cmd->add_option("--split", o->split, "split to evaluate")->capture_default_str();
  cmd->add_option("--batch", o->batch, "samples per forward pass")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--outputs", o->outputs,
                  "also write each sample's label, prediction and readout over time (HDF5)");
  cmd->add_flag("--inputs", o->inputs,
                "with --outputs: also the encoded inputs the network read (N x H x W x C)");
  return [o]() {
    if (o->inputs && o->outputs.empty()) throw Error("--inputs needs --outputs FILE");
    const Evaluation ev =
        evaluate_model(o->model, o->data, o->split, o->batch, o->outputs, o->inputs);
    const int C = static_cast<int>(ev.classes.size());
    std::printf("%s on split '%s': accuracy %.4f (%ld of %ld samples)\n", o->model.c_str(),
                o->split.c_str(), ev.accuracy(), ev.correct, ev.samples);
    std::printf("%-12s %8s %8s  confusion (true x predicted)\n", "class", "samples", "accuracy");
    for (int t = 0; t < C; ++t) {
      long n = 0;
      for (int p = 0; p < C; ++p) n += ev.confusion[t * C + p];
      std::printf("%-12s %8ld %8.4f ", ev.classes[t].c_str(), n,
                  n > 0 ? static_cast<double>(ev.confusion[t * C + t]) / n : 0.0);
      for (int p = 0; p < C; ++p) std::printf(" %4ld", ev.confusion[t * C + p]);
      std::printf("\n");
    }
    return 0;
  };
}

}  // namespace supsnn
