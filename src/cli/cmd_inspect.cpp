// supsnn inspect FILE.h5: what a checkpoint (ckpt/step-*.h5) or a model.h5 holds, without
// h5dump. A checkpoint is read and verified in full (checksum); other files fail cleanly.
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <memory>

#include "ckpt/checkpoint.hpp"
#include "cli/commands.hpp"
#include "common/error.hpp"
#include "io/h5.hpp"

namespace supsnn {

namespace {

std::string type_text(hid_t t) {
  const std::size_t bits = H5Tget_size(t) * 8;
  switch (H5Tget_class(t)) {
    case H5T_FLOAT:
      return "float" + std::to_string(bits);
    case H5T_INTEGER:
      return (H5Tget_sign(t) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_STRING:
      return "string";
    default:
      return "other";
  }
}

std::string shape_text(hid_t space) {
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank <= 0) return "scalar";
  std::vector<hsize_t> d(rank);
  H5Sget_simple_extent_dims(space, d.data(), nullptr);
  std::string s;
  for (int i = 0; i < rank; ++i) s += (i ? " x " : "") + std::to_string(d[i]);
  return s;
}

// Attributes of `loc`, one per line: name = value (scalars) or type and shape.
void print_attrs(const h5::Handle& loc, const std::string& indent) {
  struct Ctx {
    const h5::Handle* loc;
    std::string indent;
  } ctx{&loc, indent};
  auto cb = [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
    const auto& c = *static_cast<Ctx*>(data);
    const h5::Handle a(H5Aopen(c.loc->id(), name, H5P_DEFAULT), H5Aclose, c.loc->file());
    const h5::Handle t(H5Aget_type(a.id()), H5Tclose, c.loc->file());
    const h5::Handle sp(H5Aget_space(a.id()), H5Sclose, c.loc->file());
    std::string value;
    const bool scalar = H5Sget_simple_extent_type(sp.id()) == H5S_SCALAR;
    const H5T_class_t cls = H5Tget_class(t.id());
    if (scalar && cls == H5T_STRING) {
      value = '"' + h5::attr_string(*c.loc, name) + '"';
    } else if (scalar && cls == H5T_INTEGER && H5Tget_sign(t.id()) == H5T_SGN_NONE) {
      value = std::to_string(h5::attr_u64(*c.loc, name));
    } else if (scalar && cls == H5T_INTEGER) {
      value = std::to_string(h5::attr_int(*c.loc, name));
    } else if (scalar && cls == H5T_FLOAT) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", h5::attr_double(*c.loc, name));
      value = buf;
    } else {
      value = type_text(t.id()) + " [" + shape_text(sp.id()) + "]";
    }
    std::printf("%s%-18s %s\n", c.indent.c_str(), name, value.c_str());
    return 0;
  };
  hsize_t idx = 0;
  H5Aiterate2(loc.id(), H5_INDEX_NAME, H5_ITER_INC, &idx, cb, &ctx);
}

// Every dataset below the root: path, type and shape.
void print_datasets(const h5::Handle& file) {
  auto cb = [](hid_t root, const char* name, const H5L_info_t*, void* data) -> herr_t {
    const auto& f = *static_cast<const h5::Handle*>(data);
    const h5::Handle o(H5Oopen(root, name, H5P_DEFAULT), H5Oclose, f.file());
    if (H5Iget_type(o.id()) != H5I_DATASET) return 0;
    const h5::Handle t(H5Dget_type(o.id()), H5Tclose, f.file());
    const h5::Handle sp(H5Dget_space(o.id()), H5Sclose, f.file());
    std::printf("  %-24s %-8s %s\n", name, type_text(t.id()).c_str(), shape_text(sp.id()).c_str());
    return 0;
  };
  H5Lvisit(file.id(), H5_INDEX_NAME, H5_ITER_INC, cb, const_cast<h5::Handle*>(&file));
}

std::string nan_or(double v, const char* fmt) {
  if (std::isnan(v)) return "-";
  char buf[40];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// `checksums`: what the verified checksums were (schema 2: arrays and the other values).
void print_checkpoint(const std::string& path, const TrainState& s, const std::string& checksums,
                      bool config) {
  const std::size_t n = s.params.size();
  std::printf("file:              %s\n", path.c_str());
  std::printf("schema:            supsnn-checkpoint\n");
  std::printf("written by:        supsnn %s (commit %s)\n", s.version.c_str(),
              s.git_commit.empty() ? "unknown" : s.git_commit.c_str());
  std::printf("position:          epoch %ld, step %ld of the epoch next; %ld steps done\n", s.epoch,
              s.step_in_epoch, s.global_step);
  std::printf("world size:        %d\n", s.world_size);
  std::printf("global batch:      %ld\n", s.global_batch);
  std::printf("precision:         %s\n",
              s.single_precision ? "float (float32)" : "double (float64)");
  std::printf("parameters:        %zu (+ Adam moments, %ld Adam steps%s)\n", n, s.adam_steps,
              s.ema.empty() ? "" : ", weight average");
  std::printf("seed:              %" PRIu64 "\n", s.seed);
  std::printf("checksum verified: yes (%s)\n", checksums.c_str());
  std::string classes;
  for (const auto& c : s.class_names) classes += (classes.empty() ? "" : ", ") + c;
  std::printf("classes:           %zu (%s)\n", s.class_names.size(), classes.c_str());
  if (s.data_files.empty()) std::printf("data files:        none recorded\n");
  for (const auto& d : s.data_files)
    std::printf("data file:         %s %s (%" PRIu64 " bytes, checksum %016" PRIx64 ")\n",
                d.role.c_str(), d.path.c_str(), d.bytes, d.checksum);
  if (s.history.empty()) {
    std::printf("metrics:           no finished epoch\n");
  } else {
    const EpochMetrics& m = s.history.back();
    std::printf(
        "metrics:           %zu epochs; last: epoch %ld train loss %s acc %s, val acc %s, test "
        "loss "
        "%s acc %s, lr %s, %s samples/s\n",
        s.history.size(), m.epoch, nan_or(m.train_loss, "%.6g").c_str(),
        nan_or(m.train_accuracy, "%.4f").c_str(), nan_or(m.val_accuracy, "%.4f").c_str(),
        nan_or(m.test_loss, "%.6g").c_str(), nan_or(m.test_accuracy, "%.4f").c_str(),
        nan_or(m.lr, "%.3g").c_str(), nan_or(m.samples_per_s, "%.1f").c_str());
  }
  if (config)
    std::printf("config:\n%s%s", s.config_toml.c_str(),
                !s.config_toml.empty() && s.config_toml.back() != '\n' ? "\n" : "");
  else
    std::printf("config:            %zu bytes of TOML (--config prints it)\n",
                s.config_toml.size());
}

int run_inspect(const std::string& path, bool config) {
  std::string schema;
  {
    const h5::Handle f = h5::open_file(path);
    if (!h5::has_attr(f, "schema"))
      throw Error(path +
                  ": not a supsnn checkpoint, model or dataset file (no 'schema' attribute)");
    schema = h5::attr_string(f, "schema");
    if (schema == "supsnn-model") {
      std::printf("file:              %s\n", path.c_str());
      std::printf("attributes:\n");
      print_attrs(f, "  ");
      std::printf("datasets:\n");
      print_datasets(f);
      return 0;
    }
    if (schema == "supsnn-dataset") {  // prepare/synth/guide output: its arrays, the guide group
      std::printf("file:              %s\n", path.c_str());
      std::printf("attributes:\n");
      print_attrs(f, "  ");
      std::printf("datasets:\n");
      print_datasets(f);
      if (h5::exists(f, "guide")) {
        std::printf("guide (supsnn guide / data.guidance = \"stdp\"):\n");
        print_attrs(h5::open_group(f, "guide"), "  ");
      }
      return 0;
    }
    if (schema != "supsnn-checkpoint")
      throw Error(path + ": not a supsnn checkpoint, model or dataset file (schema '" + schema +
                  "')");
  }  // closed: the checkpoint reader opens it again with MPI-IO
  try {
    const TrainState s = read_checkpoint(Comm(MPI_COMM_SELF), path);
    const h5::Handle f = h5::open_file(path);
    char sums[160];
    if (h5::has_attr(f, "checksum_small_crc32"))
      std::snprintf(sums, sizeof sums,
                    "crc32 %08" PRIx64 " of the arrays, %08" PRIx64 " of all other values",
                    h5::attr_u64(f, "checksum_crc32"), h5::attr_u64(f, "checksum_small_crc32"));
    else  // schema_version 1
      std::snprintf(sums, sizeof sums,
                    "crc32 %08" PRIx64 " of the arrays; schema_version %" PRId64
                    " has no checksum of the other values",
                    h5::attr_u64(f, "checksum_crc32"), h5::attr_int(f, "schema_version"));
    print_checkpoint(path, s, sums, config);
    return 0;
  } catch (const Error& e) {
    // Damaged: show what the attributes still say, then why it cannot be used.
    try {
      const h5::Handle f = h5::open_file(path);
      std::printf("file:              %s\nattributes:\n", path.c_str());
      print_attrs(f, "  ");
      for (const char* g : {"progress", "optimizer"})
        if (h5::exists(f, g)) {
          std::printf("%s:\n", g);
          print_attrs(h5::open_group(f, g), "  ");
        }
      std::printf("checksum verified: no\n");
      std::fflush(stdout);
    } catch (const Error&) {
    }
    throw;
  }
}

}  // namespace

CommandRunner add_inspect_command(CLI::App& app, const std::string&) {
  auto* cmd = app.add_subcommand(
      "inspect",
      "Print what a checkpoint (ckpt/step-*.h5, verified), a model.h5 or a dataset (with its "
      "guide group) holds");
  auto path = std::make_shared<std::string>();
  auto config = std::make_shared<bool>(false);
  cmd->add_option("file", *path, "checkpoint, model or dataset file (.h5)")->required();
  cmd->add_flag("--config", *config, "also print the run's configuration (checkpoints)");
  return [path, config]() {
    if (Comm().rank() != 0) return 0;  // a serial tool: one report under mpirun
    return run_inspect(*path, *config);
  };
}

}  // namespace supsnn
