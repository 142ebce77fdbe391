// `supsnn export` and `supsnn import`: a layered network to and from other tools' formats (NIR,
// docs/formats.md "NIR"; docs/interop.md).
#include <cstdio>

#include "cli/commands.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "nir/nir_export.hpp"
#include "nir/nir_import.hpp"

namespace supsnn {

namespace {
void check_format(const std::string& f) {
  if (f != "nir") throw Error("--format " + f + ": expected nir");
}
}  // namespace

CommandRunner add_export_command(CLI::App& app, const std::string&) {
  auto* cmd = app.add_subcommand(
      "export", "Write a trained layered network (model.h5) in another tool's format (NIR)");
  struct Options {
    std::string model, format = "nir", output, readout = "current";
    double dt = 1e-4;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("-m,--model", o->model, "model.h5 of a layered network (supsnn train)")
      ->required();
  cmd->add_option("--format", o->format, "nir (Neuromorphic Intermediate Representation 1.0)")
      ->capture_default_str();
  cmd->add_option("-o,--output", o->output, "file to write (model.nir)")->required();
  cmd->add_option("--dt", o->dt,
                  "seconds per supsnn step: NIR time constants are tau_steps x dt (snnTorch's "
                  "importer assumes 1e-4, Norse's 1e-3)")
      ->capture_default_str();
  cmd->add_option("--readout", o->readout,
                  "current: the readout's current each step (Affine -> Output; sum it over steps); "
                  "integrator: its running sum (Affine -> I -> Output)")
      ->capture_default_str()
      ->check(CLI::IsMember({"current", "integrator"}));
  return [o]() {
    check_format(o->format);
    const LayeredModelFile m = read_layered_model(o->model);
    nir::ExportOptions opt;
    opt.dt = o->dt;
    opt.readout =
        o->readout == "integrator" ? nir::ReadoutForm::Integrator : nir::ReadoutForm::Current;
    const nir::Graph g = nir::to_graph(m, o->model, opt);
    AtomicFile out(o->output);
    nir::write_graph(out.temp_path(), g);
    out.commit();
    std::printf("%s: %zu NIR nodes, %zu edges (nir %s layout, dt %g s, %d steps)\n",
                o->output.c_str(), g.nodes.size(), g.edges.size(), nir::kVersion, o->dt, m.steps);
    return 0;
  };
}

CommandRunner add_import_command(CLI::App& app, const std::string&) {
  auto* cmd = app.add_subcommand(
      "import", "Read a network from another tool's format (NIR) into a supsnn model.h5");
  struct Options {
    std::string format = "nir", input, output;
    double dt = 0;
    int steps = 0;
    std::vector<std::string> classes, sets;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--format", o->format, "nir")->capture_default_str();
  cmd->add_option("input", o->input, "file to read (model.nir)")->required();
  cmd->add_option("-o,--output", o->output, "model.h5 to write")->required();
  cmd->add_option("--dt", o->dt,
                  "seconds per supsnn step (default: the graph's metadata dt, else 1e-4 as "
                  "snnTorch)");
  cmd->add_option("--steps", o->steps, "time steps T (default: the graph's metadata)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--classes", o->classes,
                  "class names in the readout's order (default: the graph's metadata)")
      ->delimiter(',');
  cmd->add_option("--set", o->sets, "override one config key of the model, e.g. data.crop=64");
  return [o]() {
    check_format(o->format);
    if (o->dt < 0) throw Error("--dt: expected a positive time step in seconds");
    nir::ImportOptions opt;
    opt.dt = o->dt;
    opt.steps = o->steps;
    opt.classes = o->classes;
    opt.sets = o->sets;
    const LayeredModelFile m = nir::from_graph(nir::read_graph(o->input), o->input, opt);
    write_layered_model(o->output, m,
                        [&](const h5::Handle& f) { h5::set_attr(f, "imported_from", o->input); });
    std::printf("%s: %zu layers, %d steps, %zu classes (from %s)\n", o->output.c_str(),
                m.specs.size(), m.steps, m.classes.size(), o->input.c_str());
    return 0;
  };
}

}  // namespace supsnn
