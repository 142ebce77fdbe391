#include "config/config.hpp"

#include <toml.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "common/error.hpp"
#include "config/layers.hpp"

namespace supsnn {

const std::vector<ConfigKey>& config_schema() {
  static const std::vector<ConfigKey> schema = {
      {"data.train", std::string("data/synth.h5"),
       "dataset file (.h5) whose 'train' split is trained on"},
      {"data.test", std::string(""),
       "dataset file whose 'test' split is evaluated; empty: the train file"},
      {"data.encoder",
       std::string("rate"),
       "spike code of image datasets after the receptive field: rate (the seed's deterministic "
       "periods), "
       "poisson (Bernoulli per step, same mean rate, fresh each epoch), latency (one spike, "
       "brighter = earlier) or direct (no spikes: pixel / 255 is the first layer's input at every "
       "step; layered networks only)",
       {"rate", "poisson", "latency", "direct"}},
      {"data.receptive_field", true,
       "spike codes start from the seed's 5 x 5 receptive-field potential; false: from the grey "
       "value scaled onto [0, pot_hi] (brightest pixel = top of the code's range)"},
      {"data.population",
       1L,
       "K input neurons per pixel with Gaussian tuning over intensity (population code, latency "
       "encoder only); 1 = one neuron per pixel",
       {},
       1,
       64},
      {"data.population_width",
       1.0,
       "population code: std of each tuning curve in units of the spacing 1 / (K - 1) of their "
       "centres",
       {},
       0.01,
       100},
      {"data.population_cut",
       0.1,
       "population code: tuning responses below this do not spike",
       {},
       0.001,
       1},
      {"data.raw_steps", 70L, "T: encoded spike trains have samples 0..T (1 ms each)", {}, 1, 255},
      {"data.guidance",
       std::string("auto"),
       "training targets: dataset (the file's guidance traces), template (the seed-shaped stand-in "
       "of docs/model.md from the labels), stdp (the seed's pipeline: the run first trains the "
       "STDP guidance stage with the guide.* keys and trains on its traces, RUN/guided.h5) or auto "
       "(dataset when present, else template)",
       {"auto", "dataset", "template", "stdp"}},
      {"data.crop",
       0L,
       "train on crop x crop windows of image datasets (test: centre crop); 0 = whole image",
       {},
       0,
       4096},
      {"data.random_shift", true,
       "training crops at a random offset (per seed, epoch, sample) instead of the centre"},
      {"data.max_shift",
       0L,
       "training crops at the centre offset by a random translation in [-max_shift, max_shift] "
       "pixels per axis (per seed, epoch, sample; pixels outside the image are 0); test: centre",
       {},
       0,
       4096},
      {"data.pool",
       1L,
       "average-pool the (cropped) image by pool x pool blocks before spike coding (training and "
       "test); must divide the cropped size",
       {},
       1,
       4096},
      {"data.flip", false, "random horizontal flips of training images"},
      {"data.speckle",
       0.0,
       "std of multiplicative N(0,1) speckle noise on training images",
       {},
       0,
       10},
      {"data.rotate",
       0.0,
       "training images rotated about the chip centre by a uniform random angle in [-rotate, "
       "rotate] degrees (bilinear, per seed, epoch, sample; before the crop); test: unrotated",
       {},
       0,
       180},
      {"data.scale",
       0.0,
       "training images zoomed about the chip centre by a uniform random factor in [1 - scale, "
       "1 + scale] (bilinear, with data.rotate); test: unscaled",
       {},
       0,
       0.9},
      {"data.drop_last", false,
       "drop the samples that do not divide evenly over the ranks (else pad by repeating, like "
       "PyTorch)"},
      {"data.validation",
       0.0,
       "fraction of every class of the train split held out for validation (evaluated every epoch; "
       "choose "
       "hyperparameters on it, not on the test split)",
       {},
       0,
       0.9},
      {"data.prefetch", true,
       "read the next batch in a background thread while the current one trains"},
      {"model.dynamics",
       std::string("seed-compat"),
       "output neurons: seed-compat (= integrator: integrate and leak, no "
       "threshold/reset/inhibition, as the "
       "seed's code computes it), lif (threshold, reset, refractory period) or lif-wta (lif plus "
       "winner-take-all inhibition, the dynamics that made the guidance)",
       {"seed-compat", "integrator", "lif", "lif-wta"}},
      {"model.threshold", 80.0, "P_th of lif/lif-wta"},
      {"model.reset", 0.0, "P_reset after a spike (lif/lif-wta)"},
      {"model.refractory",
       20.0,
       "refractory period in raw steps (ms); converted to points of the fine grid",
       {},
       0,
       1e6},
      {"model.inhibit", -500.0, "P_in: potential of the losers after the first spike (lif-wta)"},
      {"model.surrogate",
       std::string("fast-sigmoid"),
       "surrogate of dS/dV at the threshold: fast-sigmoid 1/(1+|x|/w)^2, arctan 1/(1+(pi x/2w)^2), "
       "triangle max(0, 1-|x|/w)",
       {"fast-sigmoid", "arctan", "triangle"}},
      {"model.surrogate_width", 10.0, "w of the surrogate, in potential units", {}, 1e-300, 1e300},
      {"model.precision",
       std::string("double"),
       "floating-point type of parameters and kernels",
       {"double", "float"}},
      {"model.input_path",
       std::string("auto"),
       "first layer's input current (in a layered network: the products of every conv/dense "
       "layer after the first): events (work per input spike, cost ~ spikes), dense "
       "(KokkosKernels gemm over all inputs and steps) or auto (dense when the batch's input "
       "spike density is at least model.dense_density)",
       {"auto", "events", "dense"}},
      {"model.dense_density",
       0.0,
       "input spike density at which auto takes the dense path; 0 = the built-in estimate for "
       "this backend and layer (docs/performance.md)",
       {},
       0,
       1},
      {"model.steps",
       100L,
       "points of the interpolated time grid minus one (the seed uses 100)",
       {},
       1,
       100000},
      {"model.leak", 0.005, "D: leak subtracted per interpolated point", {}, 0, 1e300},
      {"model.init_low", 0.0,
       "initial weights of the bilayer are uniform in [init_low, init_high]"},
      {"model.init_high", 1.0, "upper end of the initial weight range (seed: w_max/2 = 1)"},
      {"model.hidden",
       std::vector<long>{},
       "sizes of hidden dense LIF layers with spiking outputs before the output layer (deep SNN); "
       "[] = the "
       "bilayer",
       {},
       1,
       1e6},
      {"model.conv",
       std::vector<long>{},
       "convolutional spiking LIF layers before the dense hidden ones: [channels, kernel, stride] "
       "per layer, flattened (e.g. [8, 5, 2, 16, 3, 2]); no padding; [] = none",
       {},
       1,
       4096},
      {"model.conv_pool",
       std::vector<long>{},
       "sum pooling of each convolutional layer's spikes over p x p blocks before the next layer, "
       "one p per model.conv layer; [] = no pooling",
       {},
       1,
       4096},
      {"model.hidden_threshold", 1.0, "theta_h of the hidden LIF neurons", {}, 1e-300, 1e300},
      {"model.hidden_leak",
       0.0,
       "D_h: leak subtracted per point from hidden potentials",
       {},
       0,
       1e300},
      {"model.hidden_init",
       1.0,
       "deep SNN: every layer's weights (output layer included) uniform in [-a, a], a = "
       "hidden_init * "
       "sqrt(3 / fan_in)",
       {},
       1e-300,
       1e300},
      {"model.hidden_surrogate_width",
       0.5,
       "w of the hidden neurons' surrogate (kind: model.surrogate)",
       {},
       1e-300,
       1e300},
      {"loss.kind",
       std::string("huber"),
       "huber or mse: trace matching of the label row against the guidance (the seed); "
       "cross-entropy: softmax "
       "of the output readout against the true labels",
       {"huber", "mse", "cross-entropy"}},
      {"loss.readout",
       std::string("sum"),
       "cross-entropy logit of a neuron: mean (sum) or peak (max) potential",
       {"sum", "max"}},
      {"loss.temperature",
       1.0,
       "cross-entropy logits are the readout divided by this",
       {},
       1e-300,
       1e300},
      {"loss.delta", 1.0, "Huber delta", {}, 1e-300, 1e300},
      {"loss.rows",
       std::string("label"),
       "huber / mse: which output rows are matched against their guidance rows: label (the seed: "
       "the ground-truth neuron's row only) or all (every row, losses summed, so the other "
       "classes' rows learn the guidance's inhibited traces too)",
       {"label", "all"}},
      {"optim.kind", std::string("adam"), "optimiser (TensorFlow 1 Adam form)", {"adam"}},
      {"optim.lr", 1e-2, "initial learning rate", {}, 1e-300, 1e300},
      {"optim.beta1", 0.9, "Adam beta1", {}, 0, 0.999999999},
      {"optim.beta2", 0.999, "Adam beta2", {}, 0, 0.999999999999},
      {"optim.epsilon", 1e-8, "Adam epsilon", {}, 0, 1e300},
      {"optim.weight_decay",
       0.0,
       "decoupled (AdamW) weight decay: w *= 1 - lr * weight_decay before every Adam step",
       {},
       0,
       1e300},
      {"optim.ema",
       0.0,
       "decay of an exponential moving average of the weights (Polyak averaging, decay "
       "min(ema, (1 + t) / (10 + t)) at step t); > 0: evaluation, train.select and model.h5 use "
       "the averaged weights; 0 = off",
       {},
       0,
       0.999999999},
      {"optim.schedule",
       std::string("constant"),
       "learning-rate schedule; step: multiply by gamma at each milestone epoch",
       {"constant", "step"}},
      {"optim.milestones",
       std::vector<long>{},
       "epochs (1-based) from which one more factor gamma applies",
       {},
       1,
       1e9},
      {"optim.gamma", 0.1, "decay factor of the step schedule", {}, 1e-300, 1e300},
      {"train.epochs", 5L, "passes over the training split", {}, 1, 1e9},
      {"train.batch_size", 1L, "global batch size (summed over all MPI ranks)", {}, 1, 1e9},
      {"train.seed", 1L, "seed of weight initialisation and shuffling", {}, 0, 9.2e18},
      {"train.shuffle", true, "reshuffle the training split every epoch"},
      {"train.init", std::string(""),
       "model.h5 of a layered network whose parameters and batch-norm statistics start the "
       "training instead of random ones (fine-tuning; e.g. a supsnn import of a NIR graph); its "
       "layers and classes must be this run's; empty: random initialisation"},
      {"train.select",
       std::string("last"),
       "the model saved and the reported final test accuracy: last epoch, or best-val (the epoch "
       "with the best validation accuracy, ties: lower validation loss, then earlier)",
       {"last", "best-val"}},
      {"train.eval_batch_size", 64L, "batch size of test-set evaluation", {}, 1, 1e9},
      {"train.test_every",
       1L,
       "evaluate the test split after every k-th epoch, the last epoch and (best-val) every "
       "epoch that becomes the chosen one; 0 = only those two; other epochs' test columns are "
       "NaN",
       {},
       0,
       1e9},
      {"train.max_steps",
       0L,
       "stop after this many optimiser steps in all (a checkpoint is written); 0 = no limit",
       {},
       0,
       9.2e18},
      {"train.comm",
       std::string("auto"),
       "gradient all-reduce: mpi (host buffers), nccl (device buffers; needs NCCL and one GPU per "
       "rank) or auto (nccl when compiled in, Kokkos runs on CUDA, np > 1 and no two ranks share "
       "a GPU, else mpi)",
       {"auto", "mpi", "nccl"}},
      {"checkpoint.dir", std::string(""), "checkpoint folder; empty: <run.dir>/ckpt"},
      {"checkpoint.every_epochs",
       1L,
       "write a checkpoint after every k-th epoch; 0 = never",
       {},
       0,
       1e9},
      {"checkpoint.every_steps",
       0L,
       "write a checkpoint every k optimiser steps; 0 = never",
       {},
       0,
       9.2e18},
      {"checkpoint.every_seconds",
       0.0,
       "write a checkpoint when this much wall-clock time has passed since the last; 0 = never",
       {},
       0,
       1e300},
      {"checkpoint.keep_last", 3L, "rotation: keep the newest k checkpoints", {}, 1, 1e9},
      {"checkpoint.keep_every",
       0L,
       "rotation: also keep every checkpoint whose step is a multiple of this; 0 = none",
       {},
       0,
       9.2e18},
      {"guide.epochs", 12L, "STDP guidance stage: passes over the train split", {}, 0, 1e9},
      {"guide.outputs",
       0L,
       "output neurons n of the STDP network; 0 = number of classes",
       {},
       0,
       1e6},
      {"guide.threshold",
       std::string("adaptive"),
       "firing threshold: adaptive (per image: max over steps of the inputs spiking at a step, "
       "divided by guide.threshold_divisor) or fixed (guide.p_th)",
       {"adaptive", "fixed"}},
      {"guide.threshold_divisor", 3.0, "divisor of the adaptive threshold", {}, 1e-300, 1e300},
      {"guide.p_th", 80.0, "fixed threshold (guide.threshold = fixed)"},
      {"guide.leak", 5.0, "D: leak subtracted per step while the potential is above rest"},
      {"guide.t_ref", 20L, "refractory steps after an output spike", {}, 0, 1e6},
      {"guide.p_rest", 0.0, "resting (initial) potential"},
      {"guide.p_reset", 0.0, "potential after an output spike"},
      {"guide.p_inhibit", -500.0, "potential of the losers of winner-take-all (kept to the end)"},
      {"guide.a_plus", 0.8, "STDP depression amplitude (pre after post)", {}, 0, 1e300},
      {"guide.a_minus", 0.3, "STDP potentiation amplitude (pre before post)", {}, 0, 1e300},
      {"guide.tau_plus", 8.0, "time constant of depression (steps)", {}, 1e-300, 1e300},
      {"guide.tau_minus", 5.0, "time constant of potentiation (steps)", {}, 1e-300, 1e300},
      {"guide.window",
       20L,
       "STDP pairs pre/post spikes with |dt| in [2, window] steps",
       {},
       0,
       255},
      {"guide.sigma", 0.1, "STDP learning rate of the soft bounds", {}, 0, 1e300},
      {"guide.w_max", 1.5, "upper weight bound"},
      {"guide.w_min", -1.2, "lower weight bound"},
      {"guide.soft_bound",
       std::string("seed"),
       "depression soft bound: seed (w += sigma dw (w - abs(w_min)), which raises w < "
       "abs(w_min), as in the seed's code) or lower (w += sigma dw (w - w_min): depression "
       "lowers w)",
       {"seed", "lower"}},
      {"guide.init_low", 0.0, "initial weights are uniform in [init_low, init_high]"},
      {"guide.init_high", 0.4, "upper end of the initial STDP weights"},
      {"guide.unused_penalty",
       0.06,
       "after an image, the winner's weight from every input that never spiked drops by this",
       {},
       0,
       1e300},
      {"guide.mode",
       std::string("per-sample"),
       "guidance written: per-sample (each sample's own trace), teacher (winner forced to the "
       "class neuron) or class-mean (mean trace of the class's correctly won training samples)",
       {"per-sample", "teacher", "class-mean"}},
      {"guide.seed",
       1L,
       "seed of the STDP weights, the presentation order and the held-out part; 0 = train.seed "
       "(so that a sweep over train.seed varies the STDP stage of the pipeline too)",
       {},
       0,
       9.2e18},
      {"guide.theta_plus",
       0.0,
       "homeostasis: an output neuron's threshold offset rises by this per spike it fires while "
       "learning (its threshold is the sample's threshold plus the offset); 0 = off",
       {},
       0,
       1e300},
      {"guide.theta_decay",
       1.0,
       "factor applied to every threshold offset after each training sample (1 = no decay)",
       {},
       0,
       1},
      {"guide.normalise",
       0.0,
       "after each training sample with a winner, the winner's weights are scaled to this mean "
       "per input (sum = normalise x inputs, then clamped to the bounds); 0 = off",
       {},
       0,
       1e300},
      {"guide.encoder",
       std::string("data"),
       "spike code of the STDP stage: data (data.encoder's and data.receptive_field's) or its "
       "own (rate, poisson, latency after the seed's receptive field, one input neuron per "
       "pixel), so that in the pipeline the supervised stage can use another code such as "
       "data.population",
       {"data", "rate", "poisson", "latency"}},
      {"guide.normalise_by",
       std::string("sum"),
       "what guide.normalise fixes: sum (the row's sum is normalise x inputs) or l2 (its "
       "Euclidean norm is normalise x sqrt(inputs), so every row has the same length and the "
       "currents compare the input's pattern, not its brightness)",
       {"sum", "l2"}},
      {"guide.winner",
       std::string("first-crossing"),
       "which output neuron wins a sample: first-crossing (the seed: the first to reach the "
       "threshold) or potential (the largest mean potential over the whole presentation, run once "
       "without thresholds, less its threshold offset; the sample then runs with that winner "
       "forced, learning at its spikes)",
       {"first-crossing", "potential"}},
      {"guide.inhibition",
       std::string("winner-take-all"),
       "lateral inhibition: winner-take-all (the seed: at the first crossing every other neuron "
       "goes to guide.p_inhibit for the rest of the sample) or graded (each output spike lowers "
       "every neuron that did not spike by guide.inhibit_step; several neurons may spike and "
       "learn; the winner is the neuron with the most spikes)",
       {"winner-take-all", "graded"}},
      {"guide.inhibit_step",
       10.0,
       "graded inhibition: potential taken from the other neurons per output spike",
       {},
       0,
       1e300},
      {"guide.retries",
       0L,
       "a sample that makes no output neuron fire runs again with the threshold times "
       "guide.retry_factor, up to this many times",
       {},
       0,
       1000},
      {"guide.retry_factor", 0.75, "threshold factor per retry", {}, 1e-6, 1},
      {"guide.labels",
       std::string("one-per-class"),
       "how output neurons get classes: one-per-class (the seed: one neuron per class, greedily "
       "by wins on the training split) or responses (every neuron labelled by the class it wins "
       "most often relative to the class size; the prediction is the winner's label; guidance row "
       "c is the trace of class c's neuron that responds most to the sample)",
       {"one-per-class", "responses"}},
      {"run.dir", std::string("runs/default"), "run directory (config, log, metrics)"},
      {"run.tensorboard", true,
       "write TensorBoard event files (scalars per epoch, weight maps) into the run directory"},
      {"run.log_level",
       std::string("info"),
       "console and log-file verbosity",
       {"debug", "info", "warn", "error"}},
  };
  return schema;
}

namespace {

const ConfigKey* find_key(const std::string& key) {
  for (const auto& k : config_schema())
    if (k.key == key) return &k;
  return nullptr;
}

std::string known_keys_in(const std::string& section) {
  std::string out;
  for (const auto& k : config_schema())
    if (k.key.rfind(section + ".", 0) == 0) out += (out.empty() ? "" : ", ") + k.key;
  if (section == "model") out += ", model.layers";  // tables, not in the flat schema
  return out;
}

[[noreturn]] void unknown_key(const std::string& where, const std::string& key) {
  const std::string section = key.substr(0, key.find('.'));
  const std::string known = known_keys_in(section);
  throw Error(where + "unknown config key '" + key + "'" +
              (known.empty()
                   ? " (unknown section '" + section +
                         "'; sections: data, model, loss, optim, train, checkpoint, guide, run)"
                   : " (known keys: " + known + ")"));
}

std::string type_name(const ConfigValue& v) {
  switch (v.index()) {
    case 0:
      return "an integer";
    case 1:
      return "a number";
    case 2:
      return "true or false";
    case 3:
      return "a string";
    default:
      return "a list of integers";
  }
}

// Shortest text that reads back to exactly x (TOML float syntax).
std::string format_number(double x) {
  char buf[64];
  for (int prec = 6; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  std::string s = buf;
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

// For messages and docs: short, not round-trip exact.
std::string short_number(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", x);
  return buf;
}

std::string quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

std::string value_text(const ConfigValue& v) {
  switch (v.index()) {
    case 0:
      return std::to_string(std::get<long>(v));
    case 1:
      return format_number(std::get<double>(v));
    case 2:
      return std::get<bool>(v) ? "true" : "false";
    case 3:
      return quote(std::get<std::string>(v));
    default: {
      std::string s = "[";
      for (long x : std::get<std::vector<long>>(v))
        s += (s.size() > 1 ? ", " : "") + std::to_string(x);
      return s + "]";
    }
  }
}

// Converts a TOML value to the schema type of `spec`, or throws naming the key as `name`
// (spec.key, or "model.layers[2].kernel" for a layer key).
ConfigValue from_toml(const std::string& where, const ConfigKey& spec, const toml::value& v,
                      const std::string& name) {
  const std::string bad = where + "config key '" + name + "': expected " + type_name(spec.def);
  switch (spec.def.index()) {
    case 0:
      if (!v.is_integer()) throw Error(bad);
      return static_cast<long>(v.as_integer());
    case 1:
      if (v.is_integer()) return static_cast<double>(v.as_integer());
      if (!v.is_floating()) throw Error(bad);
      return static_cast<double>(v.as_floating());
    case 2:
      if (!v.is_boolean()) throw Error(bad);
      return v.as_boolean();
    case 3:
      if (!v.is_string()) throw Error(bad);
      return static_cast<std::string>(v.as_string());
    default: {
      if (!v.is_array()) throw Error(bad);
      std::vector<long> out;
      for (const auto& e : v.as_array()) {
        if (!e.is_integer()) throw Error(bad);
        out.push_back(static_cast<long>(e.as_integer()));
      }
      return out;
    }
  }
}

// "> 0", ">= 1 and <= 64", ... ("" when any finite number goes).
std::string range_text(const ConfigKey& spec, const std::string& joiner) {
  std::string want;
  if (spec.min == 1e-300)
    want = "> 0";
  else if (spec.min > -1e307)
    want = (spec.min_open ? "> " : ">= ") + short_number(spec.min);
  if (spec.max < 1e299)
    want += (want.empty() ? "" : joiner) + (spec.max_open ? "< " : "<= ") + short_number(spec.max);
  return want;
}

void validate(const std::string& where, const ConfigKey& spec, const ConfigValue& v,
              const std::string& name) {
  const std::string head = where + "config key '" + name + "': ";
  auto check_range = [&](double x, const std::string& text) {
    if (std::isfinite(x) && x >= spec.min && x <= spec.max && !(spec.min_open && x == spec.min) &&
        !(spec.max_open && x == spec.max))
      return;
    const std::string want = range_text(spec, " and ");
    throw Error(head + "value " + text + " out of range, expected " +
                (want.empty() ? "a finite number" : want));
  };
  if (v.index() != spec.def.index()) throw Error(head + "expected " + type_name(spec.def));
  if (auto* s = std::get_if<std::string>(&v)) {
    if (!spec.choices.empty()) {
      bool ok = false;
      std::string list;
      for (const auto& c : spec.choices) {
        ok = ok || c == *s;
        list += (list.empty() ? "" : ", ") + c;
      }
      if (!ok) throw Error(head + "value \"" + *s + "\" is not one of: " + list);
    }
  } else if (auto* i = std::get_if<long>(&v)) {
    check_range(static_cast<double>(*i), std::to_string(*i));
  } else if (auto* d = std::get_if<double>(&v)) {
    check_range(*d, short_number(*d));
  } else if (auto* l = std::get_if<std::vector<long>>(&v)) {
    for (long x : *l) check_range(static_cast<double>(x), std::to_string(x));
  }
}

// ---- Checks before toml11 sees any text --------------------------------------------------------
// toml11 3.7.1 (Debian 12) reads past its buffer on invalid UTF-8 inside a literal string and
// recurses once per nested array or inline table (4,000 levels overflow the stack), so config text
// is checked for both first.

constexpr int kMaxTomlNesting = 64;               // supsnn configs nest at most 2 deep
constexpr std::size_t kMaxTomlBytes = 16u << 20;  // far above any config

// Byte offset of the first invalid UTF-8 sequence (RFC 3629: no overlongs, surrogates or code
// points above U+10FFFF), or npos when the text is valid.
std::size_t invalid_utf8_at(const std::string& s) {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned c = b[i];
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (n - i < len || b[i + 1] < lo || b[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k)
      if (b[i + k] < 0x80 || b[i + k] > 0xBF) return i;
    i += len;
  }
  return std::string::npos;
}

std::size_t line_of(const std::string& s, std::size_t pos) {
  return 1 + static_cast<std::size_t>(std::count(s.begin(), s.begin() + pos, '\n'));
}

// Throws Error(where + ...) for invalid UTF-8 or brackets/braces nested deeper than
// kMaxTomlNesting outside strings and comments.
void check_toml_text(const std::string& where, const std::string& s) {
  if (const std::size_t bad = invalid_utf8_at(s); bad != std::string::npos)
    throw Error(where + "invalid UTF-8 at line " + std::to_string(line_of(s, bad)) + " (byte " +
                std::to_string(bad) + "), expected UTF-8 TOML text");
  int depth = 0;
  const std::size_t n = s.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[i];
    if (c == '#') {  // comment to the end of the line
      while (i < n && s[i] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      const bool multi = s.compare(i, 3, std::string(3, c)) == 0;
      i += multi ? 3 : 1;
      for (; i < n; ++i) {
        if (c == '"' && s[i] == '\\') {
          ++i;  // skip the escaped character
        } else if (s[i] == c && (!multi || s.compare(i, 3, std::string(3, c)) == 0)) {
          if (multi) {  // up to two more quotes may belong to the string: """a""""
            i += 2;
            while (i + 1 < n && s[i + 1] == c) ++i;
          }
          break;
        } else if (!multi && s[i] == '\n') {
          break;  // unterminated; toml11 reports it
        }
      }
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxTomlNesting)
        throw Error(where + "arrays or inline tables nested deeper than " +
                    std::to_string(kMaxTomlNesting) + " levels at line " +
                    std::to_string(line_of(s, i)) + ", expected a supsnn config");
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

// The config file's text; one-line errors with the OS reason, or for a directory.
std::string read_config_text(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(path + ": cannot read TOML config: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw Error(path + ": is a directory, expected a TOML config file");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(path + ": cannot read TOML config: " + std::strerror(errno));
  std::string text;
  char buf[65536];
  std::size_t got = 0;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0 && text.size() <= kMaxTomlBytes)
    text.append(buf, got);
  const int read_errno = std::ferror(f) ? (errno != 0 ? errno : EIO) : 0;
  std::fclose(f);
  if (read_errno != 0)
    throw Error(path + ": cannot read TOML config: " + std::strerror(read_errno));
  if (text.size() > kMaxTomlBytes)
    throw Error(path + ": TOML config larger than " + std::to_string(kMaxTomlBytes >> 20) +
                " MiB, expected a supsnn config");
  return text;
}

// ---- [[model.layers]] ------------------------------------------------------------------------

std::string layer_name(std::size_t i) {
  return "model.layers[" + std::to_string(i + 1) + "]";
}

std::string known_layer_keys(LayerKind kind) {
  std::string out;
  for (const LayerKey* k : layer_keys(kind)) out += (out.empty() ? "" : ", ") + k->spec.key;
  return out;
}

// The key of this kind called `name`, or throws naming the layer and the keys it knows.
const LayerKey& layer_key(const std::string& where, std::size_t index, LayerKind kind,
                          const std::string& name) {
  for (const LayerKey* k : layer_keys(kind))
    if (k->spec.key == name) return *k;
  throw Error(where + layer_name(index) + " (" + layer_kind_name(kind) + "): unknown key '" + name +
              "' (known: " + known_layer_keys(kind) + ")");
}

// One layer table resolved: every key of its kind in schema order, defaults filled in.
ConfigLayer layer_from_toml(const std::string& where, std::size_t index, const toml::value& t) {
  const std::string name = layer_name(index);
  const LayerKey& kind_key = layer_schema().front();
  if (!t.is_table())
    throw Error(where + "config key '" + name + "': expected a table of layer keys (kind = ...)");
  const auto& table = t.as_table();
  const auto k = table.find("kind");
  if (k == table.end())
    throw Error(where + name + ": missing key 'kind', expected one of: conv, dense, pool, " +
                "dropout, norm, readout");
  const ConfigValue kind_value = from_toml(where, kind_key.spec, k->second, name + ".kind");
  validate(where, kind_key.spec, kind_value, name + ".kind");
  LayerKind kind = LayerKind::Dense;
  layer_kind_from_name(std::get<std::string>(kind_value), &kind);
  // Sorted, so that the first unknown key reported does not depend on hash order.
  std::vector<std::string> names;
  for (const auto& entry : table) names.push_back(entry.first);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) layer_key(where, index, kind, n);
  ConfigLayer layer;
  for (const LayerKey* key : layer_keys(kind)) {
    const auto it = table.find(key->spec.key);
    if (it == table.end()) {
      if (key->required)
        throw Error(where + name + " (" + layer_kind_name(kind) + "): missing key '" +
                    key->spec.key + "' (required, no default)");
      layer.values.emplace_back(key->spec.key, key->spec.def);
      continue;
    }
    const std::string full = name + "." + key->spec.key;
    ConfigValue v = from_toml(where, key->spec, it->second, full);
    validate(where, key->spec, v, full);
    layer.values.emplace_back(key->spec.key, std::move(v));
  }
  return layer;
}

std::vector<ConfigLayer> layers_from_toml(const std::string& where, const toml::value& v) {
  if (!v.is_array())
    throw Error(where +
                "config key 'model.layers': expected an array of tables ([[model.layers]] " +
                "blocks, or [{kind = \"dense\", units = 64}, ...])");
  std::vector<ConfigLayer> out;
  const auto& array = v.as_array();
  for (std::size_t i = 0; i < array.size(); ++i) out.push_back(layer_from_toml(where, i, array[i]));
  return out;
}

// The TOML value of `--set name=text`, read as a config file would read it; a bare word is taken
// as a string where `bare_string` (--set run.dir=runs/x).
toml::value parse_set_value(const std::string& name, const std::string& text, bool bare_string,
                            const std::string& expected) {
  toml::value parsed;
  bool ok = true;
  try {
    check_toml_text("--set: config key '" + name + "': ", "v = " + text);
    std::istringstream in("v = " + text);
    parsed = toml::parse(in, "--set").at("v");
  } catch (const std::exception&) {
    ok = false;
  }
  if (bare_string && (!ok || !parsed.is_string())) return toml::value(text);
  if (!ok)
    throw Error("--set: config key '" + name + "': cannot parse '" + text + "', expected " +
                expected);
  return parsed;
}

}  // namespace

const std::string& ConfigLayer::kind() const {
  return std::get<std::string>(at("kind"));
}

const ConfigValue& ConfigLayer::at(const std::string& name) const {
  for (const auto& [n, v] : values)
    if (n == name) return v;
  throw std::out_of_range("layer key '" + name + "'");
}

Config::Config() {
  for (const auto& k : config_schema()) values_[k.key] = k.def;
}

Config Config::load(const std::string& path) {
  return from_text(read_config_text(path), path);
}

Config Config::from_text(const std::string& text, const std::string& path) {
  Config c;
  toml::value root;
  check_toml_text(path + ": ", text);
  try {
    std::istringstream in(text);
    root = toml::parse(in, path);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    for (auto& ch : msg)
      if (ch == '\n') ch = ' ';
    throw Error(path + ": cannot read TOML config: " + msg);
  }
  const std::string where = path + ": ";
  for (const auto& [section, table] : root.as_table()) {
    if (!table.is_table()) unknown_key(where, section);
    for (const auto& [name, value] : table.as_table()) {
      const std::string key = section + "." + name;
      if (key == "model.layers") {
        c.layers_ = layers_from_toml(where, value);
        continue;
      }
      const ConfigKey* spec = find_key(key);
      if (!spec) unknown_key(where, key);
      ConfigValue v = from_toml(where, *spec, value, key);
      validate(where, *spec, v, key);
      c.values_[key] = v;
    }
  }
  c.check_layers(where);
  return c;
}

void Config::set(const std::string& key, const ConfigValue& v) {
  const ConfigKey* spec = find_key(key);
  if (!spec) unknown_key("", key);
  validate("", *spec, v, key);
  Config next = *this;  // unchanged when the result is refused
  next.values_[key] = v;
  next.check_layers("");
  *this = std::move(next);
}

void Config::check_layers(const std::string& where) const {
  if (layers_.empty()) return;
  for (const char* key : {"model.hidden", "model.conv", "model.conv_pool"}) {
    const ConfigValue& v = values_.at(key);
    if (!std::get<std::vector<long>>(v).empty())
      throw Error(where + "model.layers cannot be combined with " + key + " = " + value_text(v) +
                  " (a key of the deep SNN before layers), expected " + key +
                  " = [] and those layers in [[model.layers]]");
  }
  check_layer_structure(where, layers_);
}

void Config::set_layer_override(const std::string& key, const std::string& text) {
  Config next = *this;  // unchanged when the result is refused
  if (key == "model.layers") {
    const toml::value parsed = parse_set_value(
        key, text, false, "an array of tables like [{kind = \"dense\", units = 64}, ...]");
    next.layers_ = layers_from_toml("--set: ", parsed);
  } else {
    // model.layers.N.name
    const std::string rest = key.substr(std::string("model.layers.").size());
    const std::size_t dot = rest.find('.');
    const std::string number = rest.substr(0, dot);
    if (dot == std::string::npos || dot + 1 == rest.size() || number.empty() ||
        number.find_first_not_of("0123456789") != std::string::npos)
      throw Error("--set: '" + key +
                  "': expected model.layers.N.key (layer N from 1) or model.layers=[...]");
    // More digits than any layer count: no such layer (and no overflow in stoul).
    const std::size_t n = number.size() > 9 ? ~std::size_t{0} : std::stoul(number),
                      count = layers_.size();
    if (n == 0 || n > count)
      throw Error("--set: '" + key + "': no layer " + number + ", the configuration has " +
                  (count == 0
                       ? std::string("no layers")
                       : std::to_string(count) + (count == 1 ? " layer" : " layers") +
                             " (model.layers.1 to model.layers." + std::to_string(count) + ")"));
    ConfigLayer& layer = next.layers_[n - 1];
    LayerKind kind = LayerKind::Dense;
    layer_kind_from_name(layer.kind(), &kind);
    const std::string name = rest.substr(dot + 1), full = layer_name(n - 1) + "." + name;
    const ConfigKey& spec = layer_key("--set: ", n - 1, kind, name).spec;
    const ConfigValue v =
        from_toml("--set: ", spec,
                  parse_set_value(full, text, spec.def.index() == 3, type_name(spec.def)), full);
    validate("--set: ", spec, v, full);
    if (name == "kind" && v != layer.at("kind"))
      throw Error("--set: config key '" + full + "': a layer's kind cannot change alone (" +
                  "its keys differ), expected the whole list: --set 'model.layers=[...]'");
    for (auto& entry : layer.values)
      if (entry.first == name) entry.second = v;
  }
  next.check_layers("--set: ");
  *this = std::move(next);
}

void Config::set_override(const std::string& assignment) {
  if (const std::size_t bad = invalid_utf8_at(assignment); bad != std::string::npos) {
    std::string shown = assignment.substr(0, 200);
    for (auto& ch : shown)
      if (static_cast<unsigned char>(ch) >= 0x80 || ch == '\n') ch = '?';
    throw Error("--set '" + shown + "': invalid UTF-8 at byte " + std::to_string(bad));
  }
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error("--set '" + assignment + "': expected section.key=value");
  const std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  if (key == "model.layers" || key.rfind("model.layers.", 0) == 0) {
    set_layer_override(key, text);
    return;
  }
  const ConfigKey* spec = find_key(key);
  if (!spec) unknown_key("--set: ", key);
  // Parse the value as TOML so that --set accepts exactly what a config file accepts.
  const toml::value parsed =
      parse_set_value(key, text, spec->def.index() == 3, type_name(spec->def));
  ConfigValue v = from_toml("--set: ", *spec, parsed, key);
  validate("--set: ", *spec, v, key);
  Config next = *this;  // unchanged when the result is refused
  next.values_[key] = v;
  next.check_layers("--set: ");
  *this = std::move(next);
}

long Config::get_int(const std::string& key) const {
  return std::get<long>(values_.at(key));
}
double Config::get_float(const std::string& key) const {
  return std::get<double>(values_.at(key));
}
bool Config::get_bool(const std::string& key) const {
  return std::get<bool>(values_.at(key));
}
const std::string& Config::get_string(const std::string& key) const {
  return std::get<std::string>(values_.at(key));
}
const std::vector<long>& Config::get_int_list(const std::string& key) const {
  return std::get<std::vector<long>>(values_.at(key));
}

std::string Config::to_toml() const {
  std::string out = "# supsnn resolved configuration (every key, defaults included)\n";
  std::string section;
  // The layers go right after [model]'s own keys, which a [[model.layers]] header would end.
  auto end_section = [&] {
    if (section != "model") return;
    for (const ConfigLayer& layer : layers_) {
      out += "\n[[model.layers]]\n";
      for (const auto& [name, v] : layer.values) out += name + " = " + value_text(v) + "\n";
    }
  };
  for (const auto& k : config_schema()) {
    const std::string sec = k.key.substr(0, k.key.find('.'));
    if (sec != section) {
      end_section();
      out += "\n[" + sec + "]\n";
      section = sec;
    }
    out += k.key.substr(sec.size() + 1) + " = " + value_text(values_.at(k.key)) + "\n";
  }
  end_section();
  return out;
}

namespace {

std::string allowed_text(const ConfigKey& k) {
  std::string allowed;
  for (const auto& c : k.choices) allowed += (allowed.empty() ? "" : ", ") + c;
  if (allowed.empty() && k.def.index() != 3 && k.def.index() != 2) allowed = range_text(k, ", ");
  return allowed;
}

}  // namespace

std::string config_reference_markdown() {
  std::string out = "| key | default | allowed | meaning |\n|---|---|---|---|\n";
  for (const auto& k : config_schema())
    out += "| `" + k.key + "` | `" + value_text(k.def) + "` | " + allowed_text(k) + " | " + k.doc +
           " |\n";
  return out + "\n" + layer_reference_markdown();
}

std::string layer_reference_markdown() {
  std::string out = "| layer key | kinds | default | allowed | meaning |\n|---|---|---|---|---|\n";
  for (const LayerKey& k : layer_schema()) {
    std::string kinds;
    for (LayerKind kind : k.kinds)
      kinds += (kinds.empty() ? "" : ", ") + std::string(layer_kind_name(kind));
    if (k.kinds.size() == static_cast<std::size_t>(LayerKind::Readout) + 1) kinds = "all";
    out += "| `" + k.spec.key + "` | " + kinds + " | " +
           (k.required ? std::string("required") : "`" + value_text(k.spec.def) + "`") + " | " +
           allowed_text(k.spec) + " | " + k.spec.doc + " |\n";
  }
  return out;
}

std::string config_value_text(const ConfigValue& v) {
  return value_text(v);
}

}  // namespace supsnn
