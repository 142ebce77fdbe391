#include "train/trainer.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ckpt/checkpoint.hpp"
#include "common/atomic_file.hpp"
#include "common/build_info.hpp"
#include "common/error.hpp"
#include "common/error_log.hpp"
#include "common/progress.hpp"
#include "common/rng.hpp"
#include "config/config_diff.hpp"
#include "config/layers.hpp"
#include "data/batch.hpp"
#include "data/sampler.hpp"
#include "dist/reducer.hpp"
#include "guide/guide_dataset.hpp"
#include "io/h5.hpp"
#include "kernels/batch_metrics.hpp"
#include "kernels/finite_check.hpp"
#include "model/conv_plan.hpp"
#include "model/deep_snn.hpp"
#include "model/layered_snn.hpp"
#include "model/seed_bilayer.hpp"
#include "tb/train_logging.hpp"
#include "train/batch_source.hpp"
#include "train/checkpointing.hpp"
#include "train/model_file.hpp"
#include "train/optimizer.hpp"
#include "train/run_dir.hpp"
#include "train/selection.hpp"

namespace supsnn {

namespace {

std::shared_ptr<spdlog::logger> make_logger(const std::string& run_dir, const std::string& level,
                                            int rank) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (rank == 0)
    sinks.push_back(
        // Appended: a resumed run's log continues the earlier part (a fresh run starts empty).
        std::make_shared<spdlog::sinks::basic_file_sink_mt>(run_dir + "/train.log", false));
  auto log = std::make_shared<spdlog::logger>("supsnn", sinks.begin(), sinks.end());
  log->set_pattern(rank == 0 ? "[%H:%M:%S] %v" : "[%H:%M:%S rank " + std::to_string(rank) + "] %v");
  log->set_level(rank == 0 ? spdlog::level::from_str(level) : spdlog::level::warn);
  log->flush_on(spdlog::level::info);
  return log;
}

// Rank 0 receives every rank's string, in rank order (others get an empty list). Collective.
std::vector<std::string> gather_strings(const Comm& comm, const std::string& mine) {
  const int len = static_cast<int>(mine.size());
  std::vector<int> lens(comm.size()), offs(comm.size(), 0);
  MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, comm.raw());
  for (int r = 1; r < comm.size(); ++r) offs[r] = offs[r - 1] + lens[r - 1];
  std::string all(comm.rank() == 0 ? offs.back() + lens.back() : 0, '\0');
  MPI_Gatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), offs.data(), MPI_CHAR, 0,
              comm.raw());
  std::vector<std::string> out;
  if (comm.rank() == 0)
    for (int r = 0; r < comm.size(); ++r) out.push_back(all.substr(offs[r], lens[r]));
  return out;
}

// The contiguous part [begin, end) of `count` items that rank r of `size` owns.
std::pair<int, int> rank_slice(int count, int rank, int size) {
  const long c = count;
  return {static_cast<int>(c * rank / size), static_cast<int>(c * (rank + 1) / size)};
}

// model.surrogate, shared by the output and the hidden layers.
Surrogate surrogate_of(const Config& cfg) {
  const std::string sg = cfg.get_string("model.surrogate");
  return sg == "arctan"     ? Surrogate::Arctan
         : sg == "triangle" ? Surrogate::Triangle
                            : Surrogate::FastSigmoid;
}

NeuronParams neuron_params(const Config& cfg, const TimeGrid& grid) {
  NeuronParams p;
  const std::string d = cfg.get_string("model.dynamics");
  p.dynamics = d == "lif"       ? Dynamics::Lif
               : d == "lif-wta" ? Dynamics::LifWta
                                : Dynamics::Integrator;
  p.leak = cfg.get_float("model.leak");
  p.threshold = cfg.get_float("model.threshold");
  p.reset = cfg.get_float("model.reset");
  p.refractory = static_cast<int>(
      std::lround(cfg.get_float("model.refractory") * grid.steps / grid.raw_steps));
  p.inhibit = cfg.get_float("model.inhibit");
  p.surrogate = surrogate_of(cfg);
  p.width = cfg.get_float("model.surrogate_width");
  return p;
}

// What the data files hold, checked before anything is written, so bad data leaves no run
// directory: class names, whether there is a test split, the number of output neurons and
// where the targets come from.
struct DataPlan {
  std::string train_path, test_path;
  bool have_test = false;
  std::vector<std::string> classes;
  std::vector<int> train_indices, val_indices;  // the train split minus / the validation part
  DataOptions opt;
  bool stdp = false;  // data.guidance = "stdp": the run makes its guidance first (stdp_guidance)
};

DataPlan plan_data(const Config& cfg) {
  DataPlan d;
  d.train_path = cfg.get_string("data.train");
  d.test_path = cfg.get_string("data.test").empty() ? d.train_path : cfg.get_string("data.test");
  const SplitReader train(d.train_path, "train");
  d.classes = train.class_names();
  const Split& h = train.header();
  if (h.count == 0) throw Error(d.train_path + ": split 'train' is empty");
  if (d.classes.size() < 2)
    throw Error(d.train_path + ": the dataset has " + std::to_string(d.classes.size()) + " class" +
                (d.classes.size() == 1 ? " (" + d.classes[0] + ")" : std::string()) +
                "; classification needs at least 2");
  const std::string mode = cfg.get_string("data.guidance");
  if (mode == "dataset" && h.guide_rows == 0)
    throw Error(d.train_path +
                ": split 'train' has no guidance traces (data.guidance = \"dataset\"); "
                "use data.guidance = \"template\" or a dataset with guidance");
  d.opt.template_guidance = mode == "template" || (mode == "auto" && h.guide_rows == 0);
  d.opt.outputs = d.opt.template_guidance ? static_cast<int>(d.classes.size()) : h.guide_rows;
  if (mode == "stdp") {  // the pipeline: guidance rows as the STDP stage will write them
    const GuideParams gp = guide_params(cfg, true);  // its keys checked before the run exists
    d.stdp = true;
    d.opt.template_guidance = false;
    d.opt.outputs = guidance_rows(gp, static_cast<int>(d.classes.size()));
  }
  if (static_cast<int>(d.classes.size()) > d.opt.outputs)
    throw Error(d.train_path + ": " + std::to_string(d.classes.size()) +
                " classes but guidance has only " + std::to_string(d.opt.outputs) +
                " rows (one output neuron per class is needed)");
  {  // the targets stay as decided above; everything else is the config's data.* keys
    const bool template_guidance = d.opt.template_guidance;
    const int outputs = d.opt.outputs;
    d.opt = data_options(cfg);
    d.opt.template_guidance = template_guidance;
    d.opt.outputs = outputs;
  }
  check_options_fit_kind(d.train_path, train.kind(), d.opt);  // before the run directory exists
  if (d.opt.direct && layer_specs(cfg).empty())
    throw Error(
        "config key 'data.encoder': \"direct\" feeds a layered network (model.layers); "
        "the bilayer and model.hidden networks read spikes (rate, poisson or latency)");
  // Validation: a stratified, seeded fraction of every class of the train split.
  const double frac = cfg.get_float("data.validation");
  std::tie(d.train_indices, d.val_indices) =
      stratified_holdout(train.labels(), static_cast<int>(d.classes.size()), frac, d.opt.seed);
  if (d.train_indices.empty())
    throw Error("data.validation = " + std::to_string(frac) + " leaves no training samples");
  d.have_test = has_split(d.test_path, "test");
  if (d.have_test) {
    const SplitReader test(d.test_path, "test");
    const Split& t = test.header();
    if (t.height != h.height || t.width != h.width || test.class_names() != d.classes ||
        test.kind() != train.kind())
      throw Error(d.test_path +
                  ": test split differs from the train split in image size, kind or class names");
  }
  return d;
}

// data.guidance = "stdp" (the seed's pipeline): rank 0 runs the STDP guidance stage on the train
// (and test) split and writes RUN/guided.h5; every rank then trains on that file. Its held-out part
// is the run's validation split, so neither stage learns from the chips that choose the epoch.
// A resumed run reuses the file when it was made with the same settings.
void stdp_guidance(const Config& cfg, const Comm& comm, spdlog::logger& log,
                   const std::string& run_dir, const std::string& command_line, DataPlan& plan) {
  const std::string path = run_dir + "/guided.h5";
  GuideParams gp = guide_params(cfg, true);
  gp.holdout_seed = plan.opt.seed;
  const std::string text = guide_config_text(cfg, gp);
  check_on_rank0(comm, [&] {
    std::error_code ec;
    if (std::filesystem::exists(path, ec) && guided_config_of(path) == text) {
      log.info("STDP guidance: {} exists with the same settings (resumed run); reused", path);
      return;
    }
    log.info("STDP guidance stage (data.guidance = \"stdp\") on {}, written to {}", plan.train_path,
             path);
    std::vector<std::string> classes;
    const GuideResult r = guide_dataset(
        gp, text, plan.train_path, plan.have_test ? plan.test_path : plan.train_path, path,
        command_line, [&log](const std::string& s) { log.info("{}", s); }, &classes);
    for (const auto& line : guide_report_lines(r, classes)) log.info("{}", line);
    log.info("{}", guide_accuracy_line(r, gp));
  });
  plan.train_path = path;
  if (plan.have_test) plan.test_path = path;
}

struct EvalResult {
  double loss = NAN, accuracy = NAN;
  std::vector<double> confusion;  // classes x classes, true x predicted
};

HiddenParams hidden_params(const Config& cfg) {
  HiddenParams h;
  h.threshold = cfg.get_float("model.hidden_threshold");
  h.leak = cfg.get_float("model.hidden_leak");
  h.width = cfg.get_float("model.hidden_surrogate_width");
  h.surrogate = surrogate_of(cfg);
  return h;
}

InputPathOptions input_path_options(const Config& cfg) {
  InputPathOptions o;
  o.path = parse_input_path(cfg.get_string("model.input_path"));
  o.dense_density = cfg.get_float("model.dense_density");
  return o;
}

// The model of the run: the bilayer (model.hidden = []), a deep SNN or a layered network
// (model.layers), initialised.
template <class Real, class Model>
std::unique_ptr<Model> make_model(const Config& cfg, int n, int m, const TimeGrid& grid,
                                  int channels, int height, int width) {
  const auto seed = static_cast<std::uint64_t>(cfg.get_int("train.seed"));
  if constexpr (std::is_same_v<Model, LayeredSnn<Real>>) {
    if (cfg.get_string("data.encoder") != "direct")
      throw Error("model.layers: a layered network reads data.encoder = \"direct\" input (got \"" +
                  cfg.get_string("data.encoder") + "\"); spike inputs are not supported yet");
    if (cfg.get_string("loss.kind") != "cross-entropy")
      throw Error(
          "model.layers: a layered network is trained with loss.kind = "
          "\"cross-entropy\" (got \"" +
          cfg.get_string("loss.kind") + "\")");
    auto model = std::make_unique<Model>(layer_specs(cfg), channels, height, width,
                                         static_cast<int>(cfg.get_int("model.steps")), n);
    model->init_scaled(seed, cfg.get_float("model.hidden_init"));
    model->set_input_path(input_path_options(cfg));
    return model;
  } else if constexpr (std::is_same_v<Model, DeepSnn<Real>>) {
    std::vector<int> sizes{m};
    const auto conv = conv_shapes(cfg.get_int_list("model.conv"), height, width,
                                  cfg.get_int_list("model.conv_pool"), channels);
    for (const auto& c : conv) sizes.push_back(c.outputs());
    for (long h : cfg.get_int_list("model.hidden")) sizes.push_back(static_cast<int>(h));
    sizes.push_back(n);
    auto model =
        std::make_unique<Model>(sizes, grid, neuron_params(cfg, grid), hidden_params(cfg), conv);
    model->init_scaled(seed, cfg.get_float("model.hidden_init"));
    model->set_input_path(input_path_options(cfg));
    return model;
  } else {
    auto model = std::make_unique<Model>(n, m, grid, neuron_params(cfg, grid));
    model->init_uniform(seed, cfg.get_float("model.init_low"), cfg.get_float("model.init_high"));
    model->set_input_path(input_path_options(cfg));
    return model;
  }
}

// Refuses a checkpoint that cannot continue this run: another model shape or precision, another
// global batch (the step position would mean other samples), other classes or other data.
void check_resumable(const TrainState& st, const std::string& path, std::size_t params, bool single,
                     long batch, const std::vector<std::string>& classes,
                     const std::vector<DataFileId>& data) {
  const std::string where = "--resume " + path + ": ";
  if (st.params.size() != params)
    throw Error(where + "checkpoint has " + std::to_string(st.params.size()) +
                " parameters, the model of this config has " + std::to_string(params) +
                " (model.* or data.crop differ)");
  if (st.single_precision != single)
    throw Error(where + "checkpoint precision is " + (st.single_precision ? "float" : "double") +
                ", model.precision is " + (single ? "float" : "double"));
  if (st.global_batch != batch)
    throw Error(where + "checkpoint global batch is " + std::to_string(st.global_batch) +
                ", train.batch_size is " + std::to_string(batch) +
                " (resume with the same global batch; the world size may differ)");
  if (st.class_names != classes) throw Error(where + "checkpoint classes differ from the data's");
  for (const auto& mine : data)
    for (const auto& theirs : st.data_files)
      if (mine.role == theirs.role &&
          (mine.bytes != theirs.bytes || mine.checksum != theirs.checksum))
        throw Error(where + "the " + mine.role + " data " + mine.path +
                    " is not the file the checkpoint was trained on (" + theirs.path + ", " +
                    std::to_string(theirs.bytes) + " bytes)");
}

template <class Real, class Model>
TrainSummary train_typed(const Config& cfg, const Comm& comm, spdlog::logger& log,
                         const DataPlan& plan, const std::string& resume, RunDir& run,
                         const std::string& command_line) {
  using Clock = std::chrono::steady_clock;
  BatchSource<Real> train(plan.train_path, "train", plan.opt, true);
  std::unique_ptr<BatchSource<Real>> test;
  if (plan.have_test)
    test = std::make_unique<BatchSource<Real>>(plan.test_path, "test", plan.opt, false);
  else
    log.warn("{}: no 'test' split; test accuracy is not measured", plan.test_path);
  const auto& classes = plan.classes;
  const int n = plan.opt.outputs, m = train.inputs();
  const int N = static_cast<int>(plan.train_indices.size());
  std::unique_ptr<BatchSource<Real>>
      val;  // the validation part of the train split, evaluated like test
  if (!plan.val_indices.empty())
    val = std::make_unique<BatchSource<Real>>(plan.train_path, "train", plan.opt, false);

  TimeGrid grid{train.raw_steps(), static_cast<int>(cfg.get_int("model.steps"))};
  const std::unique_ptr<Model> model_ptr =
      make_model<Real, Model>(cfg, n, m, grid, train.channels(), train.height(), train.width());
  Model& model = *model_ptr;
  constexpr bool deep = std::is_same_v<Model, DeepSnn<Real>>;
  constexpr bool layered = std::is_same_v<Model, LayeredSnn<Real>>;
  if (!layered && !cfg.get_string("train.init").empty())
    throw Error("train.init: only a layered network (model.layers) starts from a model.h5");
  if constexpr (layered) {
    log.info("{}", model.summary());
    if (const std::string& init = cfg.get_string("train.init"); !init.empty()) {
      const LayeredModelFile from = read_layered_model(init);
      if (from.classes != classes)
        throw Error("train.init: " + init + ": its classes differ from those of the data");
      load_layered_into(model, from, "train.init: " + init);
      log.info("parameters and normalisation statistics from {} (train.init)", init);
    }
    // Synchronised batch normalisation: statistics over the global batch, at any rank count.
    model.set_allreduce([&comm](double* v, int n) { comm.allreduce_sum(v, n); });
    const InputPathOptions io = input_path_options(cfg);
    if (io.path == InputPath::Auto && io.dense_density > 0)
      log.info(
          "hidden conv/dense products: auto (event-driven below input density {:.3g}, else "
          "im2col + gemm)",
          io.dense_density);
    else if (io.path == InputPath::Auto)
      log.info(
          "hidden conv/dense products: auto (conv: event-driven below input density {:.3g}, "
          "else im2col + gemm; dense: gemm)",
          default_event_density(true));
    else
      log.info("hidden conv/dense products: {}", input_path_name(io.path));
  }
  if constexpr (deep) {
    std::string layers;
    for (int s : model.sizes()) layers += (layers.empty() ? "" : " -> ") + std::to_string(s);
    log.info("deep SNN: {} neurons, {} weights", layers, model.params().extent(0));
  }
  if constexpr (!layered) {
    const auto& io = model.input_current().options();
    int first = model.outputs();
    if constexpr (deep) first = model.shape(0).first;
    bool conv_first = false;
    if constexpr (deep) conv_first = model.conv_layers() > 0;
    const double at = io.dense_density > 0 ? io.dense_density : default_dense_density(first);
    if (conv_first)
      log.info("input current: events (convolutional first layer; model.input_path unused)");
    else if (io.path == InputPath::Auto && at > 1)
      log.info(
          "input current: auto -> events (on this backend the dense path does not pay for a "
          "first layer of {} neurons)",
          first);
    else if (io.path == InputPath::Auto)
      log.info("input current: auto (dense gemm at input spike density >= {:.3g}, else events)",
               at);
    else
      log.info("input current: {}", input_path_name(io.path));
  }
  AdamParams ap;
  ap.lr = cfg.get_float("optim.lr");
  ap.beta1 = cfg.get_float("optim.beta1");
  ap.beta2 = cfg.get_float("optim.beta2");
  ap.eps = cfg.get_float("optim.epsilon");
  ap.weight_decay = cfg.get_float("optim.weight_decay");
  Adam<Real> adam(model.params().extent(0), ap);
  WeightAverage<Real> average(cfg.get_float("optim.ema"), model.params());
  LossParams lp;
  const std::string lk = cfg.get_string("loss.kind");
  lp.kind = lk == "mse"             ? LossKind::MSE
            : lk == "cross-entropy" ? LossKind::CrossEntropy
                                    : LossKind::Huber;
  lp.delta = cfg.get_float("loss.delta");
  lp.all_rows = cfg.get_string("loss.rows") == "all";
  lp.readout = cfg.get_string("loss.readout") == "max" ? Readout::Max : Readout::Sum;
  lp.temperature = cfg.get_float("loss.temperature");

  const long epochs = cfg.get_int("train.epochs");
  const long test_every = cfg.get_int("train.test_every");
  const int batch = static_cast<int>(cfg.get_int("train.batch_size"));
  if (batch % comm.size() != 0)
    throw Error("train.batch_size = " + std::to_string(batch) + " is not a multiple of the " +
                std::to_string(comm.size()) +
                " MPI ranks (each rank trains batch_size / ranks samples per step)");
  const int local = batch / comm.size();
  const int eval_batch = static_cast<int>(cfg.get_int("train.eval_batch_size"));
  DistributedSampler sampler(N, comm.size(), comm.rank(), plan.opt.seed,
                             cfg.get_bool("train.shuffle"), cfg.get_bool("data.drop_last"));
  const int per_rank = sampler.per_rank();
  const int steps_per_epoch = (per_rank + local - 1) / local;
  log.info(
      "train: {} samples ({} per rank), validation: {}, test: {} samples, {} classes, {}, {} ranks "
      "x local batch {} = global batch {}, {} precision, {}",
      N, per_rank, plan.val_indices.size(), test ? test->reader().header().count : 0,
      classes.size(),
      plan.opt.direct ? fmt::format("{} inputs direct at {} steps", m, grid.steps)
                      : fmt::format("{} inputs x {} raw steps -> {} steps", m,
                                    train.raw_steps() + 1, grid.steps),
      comm.size(), local, batch, sizeof(Real) == 8 ? "double" : "float",
      lp.kind == LossKind::CrossEntropy ? "cross-entropy on the labels"
      : plan.opt.template_guidance      ? "template targets"
                                        : "dataset targets");

  // Collective: every rank builds the reducer (NCCL: communicator set-up) and says where it
  // runs; rank 0 logs one line per rank (other ranks only log warnings).
  const ReducerChoice choice = choose_reducer(cfg.get_string("train.comm"), comm);
  const auto reducer = make_gradient_reducer(choice, comm);
  const NodeInfo node = node_info(comm.raw());
  for (const std::string& line : gather_strings(
           comm,
           fmt::format("rank {}/{} on {} (local rank {}/{}), {}, gradient all-reduce: {}",
                       comm.rank(), comm.size(), node.host, node.local_rank, node.local_size,
                       describe_device(),
                       reducer->name() + (choice.why.empty() ? "" : " (" + choice.why + ")"))))
    log.info("{}", line);
  MetricsLog metrics(cfg.get_string("run.dir"), classes);
  TrainSummary summary;
  EpochSelector selector(cfg.get_string("train.select"), val != nullptr);
  std::vector<double> chosen_weights;  // train.select = "best-val": the chosen epoch's weights
  std::vector<double> chosen_buffers;  // and its model buffers (batch normalisation statistics)

  // Checkpoints and resume. The position is (epoch, step within the epoch) in global steps, so a
  // run may resume at another world size as long as the global batch is the same.
  Checkpointer ckpt(cfg, comm, log);
  const StopSignals signals;
  std::vector<DataFileId> data_ids{identify_data_file("train", plan.train_path)};
  if (plan.have_test) data_ids.push_back(identify_data_file("test", plan.test_path));
  long start_epoch = 1, start_step = 0, global_step = 0;
  double carried[2] = {0, 0};  // train loss/correct sums of the resumed epoch's earlier steps
  {  // scoped: the checkpoint read (params and moments) is freed once restored
    TrainState st;
    if (const std::string path = resolve_resume(resume, ckpt, comm, log, &st); !path.empty()) {
      check_resumable(st, path, model.params().extent(0), sizeof(Real) == 4, batch, classes,
                      data_ids);
      if (const auto diff = config_differences(st.config_toml, cfg.to_toml()); !diff.empty())
        throw Error("--resume " + path + ": the checkpoint's run has other settings (" +
                    join_differences(diff) +
                    "); resume with the run's own settings (docs/checkpoints.md lists what a "
                    "resume may change), or start a new run");
      if (st.epoch > epochs + 1)
        throw Error("--resume " + path + ": the checkpoint has finished " +
                    std::to_string(st.epoch - 1) +
                    " epochs, past train.epochs = " + std::to_string(epochs) +
                    " (a run cannot be shortened; raise train.epochs to continue it)");
      model.set_weights_host(st.params);
      model.set_buffers_host(st.buffers);
      adam.restore(st.adam_m, st.adam_v, st.adam_steps);
      if (average.on() != !st.ema.empty())
        throw Error(path + ": the checkpoint " +
                    (st.ema.empty() ? std::string("has no weight average")
                                    : std::string("holds a weight average")) +
                    ", expected " + (average.on() ? "one" : "none") +
                    " for optim.ema = " + fmt::format("{}", cfg.get_float("optim.ema")) +
                    " (resume with the optim.ema of the run that wrote it)");
      if (average.on()) average.restore(st.ema);
      start_epoch = st.epoch;
      start_step = st.step_in_epoch;
      global_step = st.global_step;
      carried[0] = st.epoch_loss_sum;
      carried[1] = st.epoch_correct_sum;
      summary.epochs = st.history;
      if (comm.rank() == 0) metrics.restore(st.history);
      // "last": the history's epochs are candidates (the current weights are the last epoch's).
      // "best-val": a checkpoint holds no earlier epoch's weights, so only epochs run from here on
      // can be chosen.
      if (!selector.best_val())
        for (const auto& em : st.history) selector.offer(em);
      else if (!st.history.empty())
        log.warn(
            "train.select = \"best-val\" after a resume: only epochs from {} on are candidates "
            "(the "
            "checkpoint holds the current weights, not those of earlier epochs)",
            start_epoch);
      if (start_epoch > epochs) {
        log.warn(
            "{}: the run has finished all train.epochs = {} epochs; nothing to train, the run "
            "directory is left as it is (raise train.epochs to train further)",
            path, epochs);
        summary.weights = average.on() ? average.host() : model.weights_host();
        summary.outputs = n;
        summary.inputs = m;
        return summary;
      }
      log.info(
          "resumed from {}: epoch {}, step {} of the epoch, optimiser step {} (written by {} "
          "ranks)",
          path, start_epoch, start_step, global_step, st.world_size);
    }
  }
  // The settings of this run, once a resume has been accepted (a refused one leaves the run's
  // earlier config.toml as it was).
  if (comm.rank() == 0)
    write_text_atomic(run.path() + "/config.toml", "# " + command_line + "\n" + cfg.to_toml());
  run.started();
  auto make_state = [&](long epoch, long step_in_epoch, const double* sums) {
    TrainState st;
    st.single_precision = sizeof(Real) == 4;
    st.params = model.weights_host();
    st.adam_m = host_copy(adam.first_moment());
    st.adam_v = host_copy(adam.second_moment());
    st.adam_steps = adam.steps();
    st.ema = average.host();
    st.buffers = model.buffers_host();
    st.epoch = epoch;
    st.step_in_epoch = step_in_epoch;
    st.global_step = global_step;
    st.seed = plan.opt.seed;
    st.epoch_loss_sum = sums[0];
    st.epoch_correct_sum = sums[1];
    st.history = summary.epochs;
    st.class_names = classes;
    st.config_toml = cfg.to_toml();
    st.world_size = comm.size();
    st.global_batch = batch;
    st.version = build_version();
    st.git_commit = build_commit();
    st.data_files = data_ids;
    return st;
  };

  // Loss, accuracy and confusion matrix (true x predicted) of samples `indices` of a split, each
  // rank evaluating a contiguous slice; the counts are summed over ranks.
  const int C = static_cast<int>(classes.size());
  auto evaluate = [&](BatchSource<Real>& src, const std::vector<int>& indices) {
    const int count = static_cast<int>(indices.size());
    const auto [begin, end] = rank_slice(count, comm.rank(), comm.size());
    // loss, correct, confusion: summed on the device, read once after the last batch
    View1<double> dsums("supsnn::eval_sums", 2 + C * C), check("supsnn::eval_check", 3);
    const std::vector<int> slice(indices.begin() + begin, indices.begin() + end);
    src.start(slice, eval_batch, 0);
    for (int s = 0; s * eval_batch < end - begin; ++s) {
      auto& bb = src.take(s);
      model.forward(bb);
      accumulate_batch_metrics<Real>(model.loss_device(bb.guidance_raw(), bb.labels(), lp, Real(1)),
                                     model.scores(), bb.labels(), C, dsums, check);
    }
    src.finish();
    std::vector<double> sums = host_copy(dsums);  // waits for the batches' kernels
    comm.allreduce_sum(sums.data(), sums.size());
    EvalResult r;
    r.loss = sums[0] / count;
    r.accuracy = sums[1] / count;
    r.confusion.assign(sums.begin() + 2, sums.end());
    return r;
  };
  // TensorBoard (rank 0) and progress lines (world rank 0 only: a sweep's groups stay quiet).
  std::unique_ptr<EventWriter> tb;
  if (comm.rank() == 0 && cfg.get_bool("run.tensorboard"))
    tb = std::make_unique<EventWriter>(cfg.get_string("run.dir"));
  Progress progress("step", epochs * steps_per_epoch, global_step,
                    comm.rank() == 0 && progress_rank() && log.should_log(spdlog::level::info),
                    batch);
  std::vector<int> test_indices;
  if (test)
    for (int i = 0; i < test->reader().header().count; ++i) test_indices.push_back(i);

  // Device-resident per-epoch sums (loss, correct) and the step's check (non-finite losses, the
  // first such sample and its loss, non-finite gradient values), kernels/batch_metrics.hpp.
  View1<double> epoch_sums("supsnn::epoch_sums", 2), step_check("supsnn::step_check", 4);
  const auto step_check_host = Kokkos::create_mirror_view(step_check);
  for (long epoch = start_epoch; epoch <= epochs && !summary.stopped; ++epoch) {
    const double lr =
        scheduled_lr(ap.lr, cfg.get_string("optim.schedule") == "step",
                     cfg.get_int_list("optim.milestones"), cfg.get_float("optim.gamma"), epoch);
    sampler.set_epoch(epoch);
    std::vector<int> mine = sampler.indices();
    for (int& i : mine) i = plan.train_indices[i];  // sampler positions -> samples of the split
    auto step_indices = [&](int s) {
      return std::vector<int>(mine.begin() + s * local,
                              mine.begin() + std::min(per_rank, (s + 1) * local));
    };
    const auto t0 = Clock::now();
    // Loss and correct sums of this rank's samples, kept on the device and read at the end of
    // the epoch and at checkpoints; the resumed epoch starts at its checkpoint's step, and rank 0
    // carries the earlier steps' sums.
    const int first = epoch == start_epoch ? static_cast<int>(start_step) : 0;
    {
      const bool carry = epoch == start_epoch && comm.rank() == 0;
      const auto h = Kokkos::create_mirror_view(epoch_sums);
      h(0) = carry ? carried[0] : 0;
      h(1) = carry ? carried[1] : 0;
      Kokkos::deep_copy(epoch_sums, h);
    }
    int base = first;  // the step that the batch source's pass starts with
    auto start_pass = [&](int s) {
      base = s;
      train.start(std::vector<int>(mine.begin() + std::min(per_rank, s * local), mine.end()), local,
                  epoch);
    };
    start_pass(first);
    const std::string epoch_label = fmt::format("epoch {}/{}", epoch, epochs);  // not per step
    for (int s = first; s < steps_per_epoch; ++s) {
      const std::vector<int> idx = step_indices(s);
      auto& bb = train.take(s - base);
      // Every rank holds the same number of samples per step (the sampler pads or drops).
      const int global = static_cast<int>(idx.size()) * comm.size();
      model.forward(bb);
      // Predictions with the weights before this step's update; nothing comes to the host here.
      accumulate_batch_metrics<Real>(
          model.loss_device(bb.guidance_raw(), bb.labels(), lp, Real(1) / global), model.scores(),
          bb.labels(), 0, epoch_sums, step_check);
      model.backward(bb);
      reducer->sum(model.grads());  // in place, after the backward kernels (reducer.hpp)
      // The step's one wait for the device: the batch's non-finite losses and the summed
      // gradient's non-finite values together. Every rank holds the same gradient sum, so all
      // stop together on it; a rank whose own loss is not finite names the sample.
      count_nonfinite_into<Real>(model.grads(), step_check, 3);
      reducer->wait();  // NCCL on Kokkos' stream: polls with its timeout (a dead peer: an error)
      Kokkos::deep_copy(step_check_host, step_check);
      if (step_check_host(0) > 0) {
        const int b = static_cast<int>(step_check_host(1));
        throw Error("training diverged: loss of train sample " + std::to_string(idx[b]) + " is " +
                    std::to_string(step_check_host(2)) + " at epoch " + std::to_string(epoch));
      }
      if (step_check_host(3) > 0)
        throw Error("training diverged: the summed gradient has " +
                    std::to_string(static_cast<long>(step_check_host(3))) +
                    " non-finite values at epoch " + std::to_string(epoch) + ", step " +
                    std::to_string(s + 1) + " (expected finite values; try a lower optim.lr)");
      adam.step(model.params(), model.grads(), lr);
      average.update(model.params(), adam.steps());
      ++global_step;
      progress.update(global_step, epoch_label);
      const Checkpointer::Decision d = ckpt.after_step(global_step);
      if (d.write) {
        train.finish();  // HDF5 is not thread-safe: no prefetch read while the checkpoint writes
        std::vector<double> g = host_copy(epoch_sums);
        comm.allreduce_sum(g.data(), 2);
        log.info("{} at epoch {}, step {}: writing a checkpoint", d.why, epoch, s + 1);
        ckpt.write(make_state(epoch, s + 1, g.data()));
        if (d.stop) {
          summary.stopped = true;
          break;
        }
        if (s + 1 < steps_per_epoch) start_pass(s + 1);
      }
    }
    train.finish();
    if (summary.stopped) break;  // the epoch is unfinished: no metrics for it
    Kokkos::fence();
    std::vector<double> sums = host_copy(epoch_sums);
    progress.clear();
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    comm.allreduce_sum(sums.data(), 2);
    const double trained = static_cast<double>(per_rank) * comm.size();
    const double trained_now =  // samples of the steps run in this process (resume: fewer)
        static_cast<double>(std::min(per_rank, steps_per_epoch * local) -
                            std::min(per_rank, first * local)) *
        comm.size();
    EpochMetrics em;
    em.epoch = epoch;
    em.lr = lr;
    em.seconds = seconds;
    em.samples_per_s = trained_now / seconds;
    em.train_loss = sums[0] / trained;
    em.train_accuracy = sums[1] / trained;
    {  // optim.ema: evaluation, the weight maps and the selected weights use the average; the
       // training weights are back at the end of this block, before a checkpoint is written.
      const auto averaged = average.averaged(model.params());
      if (val) {
        const EvalResult r = evaluate(*val, plan.val_indices);
        em.val_loss = r.loss;
        em.val_accuracy = r.accuracy;
      }
      // train.test_every: the test split only where a figure is reported (every k-th epoch, the
      // last, the epoch best-val is about to choose); the choice itself reads validation only.
      const bool test_now =
          test && ((test_every > 0 && epoch % test_every == 0) || epoch == epochs ||
                   (selector.best_val() && selector.would_choose(em)));
      if (test_now) {
        const EvalResult r = evaluate(*test, test_indices);
        em.test_loss = r.loss;
        em.test_accuracy = r.accuracy;
        em.test_confusion = r.confusion;
      }
      log.info("epoch {}/{}  train loss {:.6g}  train acc {:.4f}{}{}  lr {:.3g}  {:.1f} samples/s",
               epoch, epochs, em.train_loss, em.train_accuracy,
               val ? fmt::format("  val acc {:.4f}", em.val_accuracy) : std::string(),
               test_now || !test ? fmt::format("  test loss {:.6g}  test acc {:.4f}", em.test_loss,
                                               em.test_accuracy)
                                 : std::string("  test not evaluated (train.test_every)"),
               lr, em.samples_per_s);
      if constexpr (deep || layered) {
        std::string rates;
        for (double r : model.spike_rates()) rates += fmt::format(" {:.3g}", r);
        log.info("{} spikes per neuron and sample (last batch):{}",
                 layered ? "spiking layers'" : "hidden", rates);
      }
      if constexpr (layered) {
        std::string use;
        for (const auto& u : model.hidden_layers())
          use += fmt::format("  layer {} {} (input density {:.3g})", u.layer,
                             u.events ? "events" : "gemm", u.density);
        log.info("hidden products (last batch):{}", use);
      }
      if (comm.rank() == 0) metrics.append(em);
      if (tb) {
        log_epoch_to_tensorboard(*tb, em, global_step);
        std::vector<int> sizes{m, n};
        if constexpr (deep) sizes = model.sizes();
        if constexpr (!layered)
          log_weight_maps(*tb, global_step, model.weights_host(), sizes, train.height(),
                          train.width());
        tb->flush();
      }
      summary.epochs.push_back(em);
      if (selector.offer(em) && selector.best_val()) {
        chosen_weights = model.weights_host();
        chosen_buffers = model.buffers_host();
      }
    }
    if (ckpt.after_epoch(epoch, global_step).write) {
      const double zero[2] = {0, 0};
      ckpt.write(make_state(epoch + 1, 0, zero));
    }
  }
  if (summary.stopped) {
    log.info(
        "stopped after optimiser step {}; continue with `supsnn train ... --resume auto` (same "
        "run.dir)",
        global_step);
    summary.weights = model.weights_host();
    return summary;
  }

  // optim.ema: "last" saves the average after the last step.
  summary.weights = !chosen_weights.empty() ? chosen_weights
                    : average.on()          ? average.host()
                                            : model.weights_host();
  summary.outputs = n;
  summary.inputs = m;
  if (comm.rank() == 0) {
    const std::string path = cfg.get_string("run.dir") + "/model.h5";
    if constexpr (layered) {
      LayeredModelFile file;
      file.cfg = cfg;
      file.specs = layer_specs(cfg);
      file.classes = classes;
      file.channels = train.channels();
      file.height = train.height();
      file.width = train.width();
      file.steps = model.steps();
      file.single = std::is_same_v<Real, float>;
      const std::vector<double> buffers =
          !chosen_weights.empty() ? chosen_buffers : model.buffers_host();
      for (const auto& [blocks, values] :
           {std::make_pair(&model.param_blocks(), &std::as_const(summary.weights)),
            std::make_pair(&model.buffer_blocks(), &buffers)})
        for (const ParamBlock& pb : *blocks)
          file.data[pb.name].assign(values->begin() + static_cast<long>(pb.offset),
                                    values->begin() + static_cast<long>(pb.offset + pb.size()));
      // Provenance of the saved weights: the epoch train.select chose and its figures, so that
      // `supsnn evaluate` of a shipped model can be checked against what its run reported.
      write_layered_model(path, file, [&](const h5::Handle& f) {
        if (summary.epochs.empty()) return;
        const EpochMetrics& c = selector.chosen();
        h5::set_attr(f, "epoch", static_cast<std::int64_t>(c.epoch));
        h5::set_attr(f, "select", std::string(selector.best_val() ? "best-val" : "last"));
        if (val) h5::set_attr(f, "validation_accuracy", c.val_accuracy);
        if (test) h5::set_attr(f, "test_accuracy", c.test_accuracy);
      });
    } else {
      AtomicFile out(path);
      {
        auto f = h5::create_file(out.temp_path());
        write_model_header(f, train.channels(), train.height(), train.width(), classes);
        if constexpr (deep) {
          // W1 .. W{L+1}: each layer's (out x in) weights, W{L+1} the output layer.
          h5::set_attr(f, "layers", static_cast<std::int64_t>(model.layers()));
          for (int l = 0; l < model.layers(); ++l) {
            const auto [rows, cols] = model.shape(l);
            h5::write(f, "W" + std::to_string(l + 1),
                      {static_cast<hsize_t>(rows), static_cast<hsize_t>(cols)},
                      summary.weights.data() + model.offset(l));
          }
        } else {
          h5::write(f, "W", {static_cast<hsize_t>(n), static_cast<hsize_t>(m)},
                    summary.weights.data());
        }
      }
      out.commit();
    }
  }
  if (comm.rank() == 0 && !summary.epochs.empty())
    write_text_atomic(cfg.get_string("run.dir") + "/selection.csv", selector.csv());
  if (test && !summary.epochs.empty())
    log.info("final test accuracy: {:.4f} ({} classes, chance {:.4f}; epoch {}, train.select {})",
             selector.chosen().test_accuracy, classes.size(), 1.0 / classes.size(),
             selector.chosen().epoch, selector.best_val() ? "best-val" : "last");
  return summary;
}

}  // namespace

TrainSummary run_training(const Config& cfg, const Comm& comm, const std::string& command_line,
                          const std::string& resume, bool overwrite) {
  const auto start = std::chrono::steady_clock::now();
  comm.check_launch();
  DataPlan plan = plan_data(cfg);
  // Every sample's values, before anything is written: bad data found mid-run costs the run.
  check_on_rank0(comm, [&] {
    check_split_values(plan.train_path, "train");
    if (plan.have_test) check_split_values(plan.test_path, "test");
  });
  RunDir run(cfg, comm, resume, overwrite);  // collective; the directory exists after it
  const std::string& run_dir = run.path();
  auto log = make_logger(run_dir, cfg.get_string("run.log_level"), comm.rank());
  // A fatal error also ends the run's log (cleared again when the run ends normally).
  set_error_log(run_dir + "/train.log");
  struct ClearErrorLog {
    ~ClearErrorLog() {
      if (std::uncaught_exceptions() == 0) set_error_log("");
    }
  } clear_error_log;
  log->info("supsnn train, run directory {}", run_dir);
  log->info("resolved configuration (also in {}/config.toml):\n{}", run_dir, cfg.to_toml());
  if (plan.stdp) stdp_guidance(cfg, comm, *log, run_dir, command_line, plan);
  const bool deep =
      !cfg.get_int_list("model.hidden").empty() || !cfg.get_int_list("model.conv").empty();
  const bool single = cfg.get_string("model.precision") == "float";
  TrainSummary summary;
  if (!layer_specs(cfg).empty())
    summary = single ? train_typed<float, LayeredSnn<float>>(cfg, comm, *log, plan, resume, run,
                                                             command_line)
                     : train_typed<double, LayeredSnn<double>>(cfg, comm, *log, plan, resume, run,
                                                               command_line);
  else if (single)
    summary =
        deep ? train_typed<float, DeepSnn<float>>(cfg, comm, *log, plan, resume, run, command_line)
             : train_typed<float, SeedBilayer<float>>(cfg, comm, *log, plan, resume, run,
                                                      command_line);
  else
    summary = deep ? train_typed<double, DeepSnn<double>>(cfg, comm, *log, plan, resume, run,
                                                          command_line)
                   : train_typed<double, SeedBilayer<double>>(cfg, comm, *log, plan, resume, run,
                                                              command_line);
  // The whole run as a user times it: data checks, every epoch with its evaluations and
  // checkpoints, the final files.
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log->info("run time {:.1f} min ({:.0f} s, {} rank(s))", wall / 60, wall, comm.size());
  return summary;
}

}  // namespace supsnn
