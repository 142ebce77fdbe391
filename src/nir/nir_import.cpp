#include "nir/nir_import.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "common/error.hpp"
#include "model/layered_snn.hpp"

namespace supsnn::nir {

namespace {

constexpr double kSnnTorchDt = 1e-4;  // the step snnTorch's importer assumes

bool close(double a, double b) {
  return std::abs(a - b) <= 1e-9 * std::max(std::abs(a), std::abs(b));
}

// One supsnn layer read from the graph, before it gets its place in model.layers.
struct Item {
  LayerSpec spec;
  std::string node;  // the NIR node it came from
  std::vector<double> W, b, gamma, beta, mean, var;
  bool neuron_set = false;
};

struct Reader {
  Reader(const Graph& graph, std::string f) : g(graph), file(std::move(f)) {}
  const Graph& g;
  std::string file;
  double dt = kSnnTorchDt;
  std::vector<Item> items;
  std::vector<long> shape;      // current tensor: (C, H, W) or (N)
  std::vector<long> flat_from;  // the map a Flatten just turned into a vector
  bool spikes = false;
  bool single = true;

  [[noreturn]] void fail(const Node& n, const std::string& why) const {
    throw Error(file + ": node '" + n.name + "' (" + n.type + "): " + why);
  }
  const Array& field(const Node& n, const std::string& f) const { return n.at(f, file); }
  // A per-neuron parameter that supsnn holds once per layer: every element equal.
  double uniform(const Node& n, const std::string& f) const {
    const Array& a = field(n, f);
    if (a.values.empty()) fail(n, "field '" + f + "' is empty");
    for (double v : a.values)
      if (v != a.values[0] || !std::isfinite(v))
        fail(n, "field '" + f + "' differs between neurons (or is not finite); supsnn has one " +
                    f + " per layer");
    return a.values[0];
  }
  double uniform_or(const Node& n, const std::string& f, double def) const {
    return n.has(f) ? uniform(n, f) : def;
  }
  // A pair (stride, padding, kernel) that supsnn needs square: "int or (a, a)", an integer in
  // [lo, 65536].
  long square(const Node& n, const std::string& f, long lo) const {
    const Array& a = field(n, f);
    if (a.values.empty() || a.values.size() > 2 ||
        (a.values.size() == 2 && a.values[0] != a.values[1]))
      fail(n,
           "field '" + f + "' must be one value or two equal ones (supsnn's windows are square)");
    const double v = a.values[0];
    if (!(v >= static_cast<double>(lo) && v <= 65536) || v != std::floor(v))
      fail(n, fmt::format("field '{}' is {:g}, expected an integer from {} to 65536", f, v, lo));
    return static_cast<long>(v);
  }
  // Weights, biases and normalisation statistics: every value finite.
  void finite(const Node& n, const std::string& what, const std::vector<double>& v) const {
    for (std::size_t i = 0; i < v.size(); ++i)
      if (!std::isfinite(v[i]))
        fail(n, fmt::format("{} is not finite at index {} ({:g})", what, i, v[i]));
  }
  void need_map(const Node& n) const {
    if (shape.size() != 3) fail(n, "expected a (C, H, W) map as its input");
  }
  Item* open_layer() {  // the last layer if it still waits for its neuron
    if (items.empty() || items.back().neuron_set) return nullptr;
    const LayerKind k = items.back().spec.kind;
    return k == LayerKind::Conv || k == LayerKind::Dense || k == LayerKind::Norm ? &items.back()
                                                                                 : nullptr;
  }
  // The model's precision: "float" when every weight array is float32, else "double" (nothing
  // is rounded).
  void weights_type(const Array& w) {
    if (w.type != Array::Type::Float32) single = false;
  }

  // A Conv2d or Affine/Linear node: a batch-norm layer (nullptr; when `may_be_norm`) or a new
  // conv or dense layer without a neuron yet.
  Item* weighted(const Node& n, const Array& w, const std::vector<double>& b, bool may_be_norm,
                 LayerKind kind) {
    spikes = false;
    finite(n, "field 'weight'", w.values);
    finite(n, "field 'bias'", b);
    if (may_be_norm && norm(n, w.values, b)) return nullptr;
    weights_type(w);
    items.emplace_back();
    Item& it = items.back();
    it.node = n.name;
    it.spec.kind = kind;
    it.spec.neuron.kind = NeuronKind::None;
    return &it;
  }
  void conv(const Node& n);
  void affine(const Node& n);
  bool norm(const Node& n, const std::vector<double>& w, const std::vector<double>& b);
  void flatten(const Node& n);
  void neuron(const Node& n, const Node* pool);
  void pool(const Node& n, bool avg);
};

bool all_zero(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return x == 0; });
}

// A 1 x 1 Conv2d or Affine with metadata supsnn_layer = "norm" whose diagonal and bias are what
// the stored statistics give (as supsnn's exporter wrote it): a batch normalisation layer.
bool Reader::norm(const Node& n, const std::vector<double>& w, const std::vector<double>& b) {
  const auto tag = n.meta_texts.find("supsnn_layer");
  if (tag == n.meta_texts.end() || tag->second != std::vector<std::string>{"norm"}) return false;
  Item* prev = open_layer();
  if (!prev || prev->spec.kind == LayerKind::Norm || !all_zero(prev->b)) return false;
  const long C = static_cast<long>(b.size());
  std::vector<std::vector<double>> v;
  for (const char* k : {"gamma", "beta", "running_mean", "running_var"}) {
    const auto it = n.meta.find(k);
    if (it == n.meta.end() || static_cast<long>(it->second.size()) != C) return false;
    finite(n, std::string("metadata '") + k + "'", it->second.values);
    v.push_back(it->second.values);
  }
  for (long c = 0; c < C; ++c)
    if (v[3][c] < 0) fail(n, "metadata 'running_var' is negative at index " + std::to_string(c));
  for (long r = 0; r < C; ++r)
    for (long c = 0; c < C; ++c) {
      const double sc = v[0][r] / std::sqrt(v[3][r] + kBatchNormEps);
      const double want = r == c ? sc : 0.0, shift = v[1][r] - v[2][r] * sc;
      const double got = w[r * C + c];
      const bool same = single ? static_cast<float>(want) == static_cast<float>(got) &&
                                     static_cast<float>(shift) == static_cast<float>(b[r])
                               : want == got && shift == b[r];
      if (!same) return false;
    }
  prev->spec.bias = false;
  prev->b.clear();
  prev->neuron_set = true;  // neuron = "none"
  Item it;
  it.spec.kind = LayerKind::Norm;
  it.spec.neuron.kind = NeuronKind::None;
  it.node = n.name;
  it.gamma = v[0];
  it.beta = v[1];
  it.mean = v[2];
  it.var = v[3];
  items.push_back(it);
  return true;
}

void Reader::conv(const Node& n) {
  need_map(n);
  const Array& w = field(n, "weight");
  if (w.dims.size() != 4) fail(n, "weight must be (C_out, C_in, kH, kW)");
  const long O = static_cast<long>(w.dims[0]), I = static_cast<long>(w.dims[1]);
  const long K = static_cast<long>(w.dims[2]);
  if (static_cast<long>(w.dims[3]) != K) fail(n, "supsnn's kernels are square");
  if (I != shape[0])
    fail(n, "weight reads " + std::to_string(I) + " channels, its input has " +
                std::to_string(shape[0]));
  if (n.has("groups") && uniform(n, "groups") != 1) fail(n, "groups other than 1 are not read");
  if (n.has("dilation"))
    for (double d : field(n, "dilation").values)
      if (d != 1) fail(n, "dilation other than 1 is not read");
  const long stride = n.has("stride") ? square(n, "stride", 1) : 1;
  long pad = 0;
  if (n.texts.count("padding")) {
    const std::string& p = n.texts.at("padding");
    if (p == "same" && stride == 1 && K % 2 == 1)
      pad = K / 2;
    else if (p != "valid")
      fail(n, "padding \"" + p + "\" is read only as \"valid\" or \"same\" (stride 1, odd kernel)");
  } else if (n.has("padding")) {
    pad = square(n, "padding", 0);
  }
  std::vector<double> b = n.has("bias") ? field(n, "bias").values : std::vector<double>(O, 0.0);
  if (static_cast<long>(b.size()) != O) fail(n, "bias must have C_out values");
  Item* it = weighted(n, w, b, K == 1 && O == I && stride == 1 && pad == 0, LayerKind::Conv);
  if (!it) return;
  it->spec.channels = static_cast<int>(O);
  it->spec.kernel = static_cast<int>(K);
  it->spec.stride = static_cast<int>(stride);
  it->spec.padding = static_cast<int>(pad);
  // NIR (out, in, k, k) -> supsnn (out, k, k, in).
  it->W.resize(w.values.size());
  for (long o = 0; o < O; ++o)
    for (long i = 0; i < I; ++i)
      for (long y = 0; y < K; ++y)
        for (long x = 0; x < K; ++x)
          it->W[((o * K + y) * K + x) * I + i] = w.values[((o * I + i) * K + y) * K + x];
  const auto hint = n.meta.find("supsnn_bias");
  it->spec.bias = !(all_zero(b) && hint != n.meta.end() && hint->second.values == std::vector{0.0});
  if (it->spec.bias) it->b = b;
  const long H = (shape[1] + 2 * pad - K) / stride + 1, Wd = (shape[2] + 2 * pad - K) / stride + 1;
  if (H < 1 || Wd < 1) fail(n, "its kernel is larger than its input map");
  shape = {O, H, Wd};
}

void Reader::affine(const Node& n) {
  // A 1 x 1 x N "map" is a vector: an Input of shape (1, N) (a batch dimension, as snnTorch's
  // exporter writes it) feeding an Affine.
  if (shape.size() == 3 && shape[0] == 1 && shape[1] == 1 && flat_from.empty()) shape = {shape[2]};
  if (shape.size() != 1) fail(n, "its input is a map; a Flatten must come first");
  const Array& w = field(n, "weight");
  if (w.dims.size() != 2) fail(n, "weight must be (out, in)");
  const long O = static_cast<long>(w.dims[0]), F = static_cast<long>(w.dims[1]);
  if (F != shape[0])
    fail(n, "weight reads " + std::to_string(F) + " inputs, its input has " +
                std::to_string(shape[0]));
  std::vector<double> b =
      n.type == "Affine" ? field(n, "bias").values : std::vector<double>(O, 0.0);
  if (static_cast<long>(b.size()) != O) fail(n, "bias must have one value per output");
  Item* it = weighted(n, w, b, O == F && flat_from.empty(), LayerKind::Dense);
  if (!it) return;
  it->spec.units = static_cast<int>(O);
  it->W = w.values;
  if (!flat_from.empty()) {  // NIR flattened (c, y, x); supsnn reads (y, x, c)
    const long C = flat_from[0], HW = flat_from[1] * flat_from[2];
    for (long o = 0; o < O; ++o)
      for (long p = 0; p < HW; ++p)
        for (long c = 0; c < C; ++c) it->W[o * F + p * C + c] = w.values[o * F + c * HW + p];
  }
  it->spec.bias = n.type == "Affine";
  if (it->spec.bias) it->b = b;
  shape = {O};
  flat_from.clear();
}

void Reader::flatten(const Node& n) {
  need_map(n);
  const long start = n.has("start_dim") ? std::lround(uniform(n, "start_dim")) : 1;
  const long end = n.has("end_dim") ? std::lround(uniform(n, "end_dim")) : -1;
  if (start != 0 || (end != -1 && end != 2))
    fail(n, "only a Flatten of the whole (C, H, W) map (start_dim 0, end_dim -1) is read");
  flat_from = shape;
  shape = {shape[0] * shape[1] * shape[2]};
}

// LIF or IF after a conv, dense or norm layer (its neuron), or after a SumPool2d (max pooling).
void Reader::neuron(const Node& n, const Node* sum_pool) {
  const bool lif = n.type == "LIF";
  const double r = uniform(n, "r"), th = uniform(n, "v_threshold");
  if (!(r > 0)) fail(n, "r must be positive");
  if (lif && uniform(n, "v_leak") != 0) fail(n, "v_leak must be 0 (supsnn's lif leaks to 0)");
  if (uniform_or(n, "v_reset", 0) != 0) fail(n, "v_reset must be 0 (supsnn resets to 0)");
  // Forward Euler with step dt: LIF v += dt/tau (-v + r I), IF v += dt r I. supsnn's lif is the
  // first with tau_steps = tau / dt and its state scaled by r (threshold / r); if is the second
  // with the state scaled by dt r.
  const double tau_steps = lif ? uniform(n, "tau") / dt : 0;
  if (sum_pool) {
    if (!lif || !close(tau_steps, 1) || !(th / r >= 0 && th / r < 1))
      fail(*sum_pool,
           "supsnn reads SumPool2d only as max pooling over spikes: SumPool2d, then a "
           "LIF with tau = dt and a threshold below r (node '" +
               n.name + "' is not)");
    spikes = true;
    return;
  }
  Item* layer = open_layer();
  if (!layer)
    fail(n, "supsnn's neurons end a conv, dense or batch-norm layer; this one follows none");
  if (lif && !(tau_steps > 1))
    fail(n, fmt::format("tau / dt = {:g} steps (dt {:g} s); supsnn's lif needs more than one step "
                        "(is the time step right? --dt)",
                        tau_steps, dt));
  layer->spec.neuron.kind = lif ? NeuronKind::Lif : NeuronKind::If;
  layer->spec.neuron.tau = lif ? tau_steps : 2.0;
  layer->spec.neuron.threshold = lif ? th / r : th / (r * dt);
  if (!(layer->spec.neuron.threshold > 0)) fail(n, "v_threshold must be positive");
  layer->neuron_set = true;
  spikes = true;
}

void Reader::pool(const Node& n, bool avg) {
  need_map(n);
  const long k = square(n, "kernel_size", 1), s = n.has("stride") ? square(n, "stride", 1) : k;
  if (n.has("padding") && square(n, "padding", 0) != 0) fail(n, "padding other than 0 is not read");
  if (avg == false && !spikes)
    fail(n, "supsnn reads SumPool2d only as max pooling over spikes, and its input is not spikes");
  if (k > shape[1] || k > shape[2]) fail(n, "its window is larger than its input map");
  Item it;
  it.node = n.name;
  it.spec.kind = LayerKind::Pool;
  it.spec.mode = avg ? PoolMode::Avg : PoolMode::Max;
  it.spec.size = static_cast<int>(k);
  it.spec.pool_stride = s == k ? 0 : static_cast<int>(s);
  it.neuron_set = true;
  items.push_back(it);
  shape = {shape[0], (shape[1] - k) / s + 1, (shape[2] - k) / s + 1};
  if (avg) spikes = false;
}

std::string toml_layer(const LayerSpec& s) {
  std::string t = fmt::format("{{kind = \"{}\"", layer_kind_name(s.kind));
  switch (s.kind) {
    case LayerKind::Conv:
      t += fmt::format(", channels = {}, kernel = {}, stride = {}, padding = {}", s.channels,
                       s.kernel, s.stride, s.padding);
      break;
    case LayerKind::Dense:
    case LayerKind::Readout:
      t += fmt::format(", units = {}", s.units);
      break;
    case LayerKind::Pool:
      t += fmt::format(", mode = \"{}\", size = {}, stride = {}",
                       s.mode == PoolMode::Max ? "max" : "avg", s.size, s.pool_stride);
      break;
    default:
      break;
  }
  if (s.kind == LayerKind::Conv || s.kind == LayerKind::Dense || s.kind == LayerKind::Readout)
    t += fmt::format(", bias = {}", s.bias ? "true" : "false");
  if (s.kind == LayerKind::Conv || s.kind == LayerKind::Dense || s.kind == LayerKind::Norm) {
    const LayerNeuron& n = s.neuron;
    t += fmt::format(", neuron = \"{}\"", n.kind == NeuronKind::None ? "none"
                                          : n.kind == NeuronKind::If ? "if"
                                                                     : "lif");
    if (n.kind != NeuronKind::None)
      t +=
          ", tau = " + config_value_text(n.tau) + ", threshold = " + config_value_text(n.threshold);
  }
  return t + "}";
}

// The graph's layers and a configuration's agree (kinds, sizes, neurons; dropout aside), so the
// configuration (surrogates, dropout, training settings) describes the imported network.
bool same_network(const std::vector<LayerSpec>& got, const std::vector<LayerSpec>& cfg,
                  int classes) {
  std::vector<LayerSpec> c;
  for (const LayerSpec& s : cfg)
    if (s.kind != LayerKind::Dropout) c.push_back(s);
  if (c.size() != got.size()) return false;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const LayerSpec &a = got[i], &b = c[i];
    if (a.kind != b.kind || a.bias != b.bias) return false;
    switch (a.kind) {
      case LayerKind::Conv:
        if (a.channels != b.channels || a.kernel != b.kernel || a.stride != b.stride ||
            a.padding != b.padding)
          return false;
        break;
      case LayerKind::Dense:
        if (a.units != b.units) return false;
        break;
      case LayerKind::Readout:
        if (a.units != (b.units > 0 ? b.units : classes)) return false;
        break;
      case LayerKind::Pool:
        if (a.mode != b.mode || a.size != b.size ||
            (a.pool_stride > 0 ? a.pool_stride : a.size) !=
                (b.pool_stride > 0 ? b.pool_stride : b.size))
          return false;
        break;
      default:
        break;
    }
    if (a.kind == LayerKind::Conv || a.kind == LayerKind::Dense || a.kind == LayerKind::Norm) {
      const LayerNeuron &x = a.neuron, &y = b.neuron;
      if (x.kind != y.kind || x.reset != y.reset) return false;
      if (x.kind != NeuronKind::None &&
          ((x.kind == NeuronKind::Lif && !close(x.tau, y.tau)) || !close(x.threshold, y.threshold)))
        return false;
    }
  }
  return true;
}

}  // namespace

LayeredModelFile from_graph(const Graph& g, const std::string& file, const ImportOptions& o) {
  // The chain of nodes from the Input to the Output.
  std::map<std::string, std::vector<std::string>> succ, pred;
  for (const auto& [a, b] : g.edges) {
    for (const std::string* x : {&a, &b})
      if (!g.find(*x))
        throw Error(file + ": edge '" + a + "' -> '" + b + "' names no node '" + *x + "'");
    succ[a].push_back(b);
    pred[b].push_back(a);
  }
  const Node *input = nullptr, *output = nullptr;
  for (const Node& n : g.nodes) {
    if (n.type == "NIRGraph")
      throw Error(file + ": node '" + n.name +
                  "' is a nested NIRGraph (a recurrent or grouped "
                  "subgraph); supsnn reads a chain of layers");
    const Node** slot = n.type == "Input" ? &input : n.type == "Output" ? &output : nullptr;
    if (!slot) continue;
    if (*slot)
      throw Error(file + ": more than one " + n.type + " node ('" + (*slot)->name + "', '" +
                  n.name + "'); supsnn reads one input and one output");
    *slot = &n;
  }
  if (!input || !output) throw Error(file + ": the graph needs one Input and one Output node");
  if (!pred[input->name].empty() || !succ[output->name].empty())
    throw Error(file +
                ": an edge leads into the Input or out of the Output (recurrence); supsnn "
                "reads a chain of nodes from the Input to the Output");
  std::vector<const Node*> chain;
  for (const Node* n = input; n != output;) {
    const auto& next = succ[n->name];
    if (next.size() != 1)
      throw Error(file + ": node '" + n->name + "' (" + n->type + ") has " +
                  std::to_string(next.size()) +
                  " successors; supsnn reads a chain of nodes from the Input to the Output");
    n = g.find(next[0]);
    if (pred[n->name].size() != 1 || chain.size() > g.nodes.size())
      throw Error(file + ": node '" + n->name + "' (" + n->type + ") has " +
                  std::to_string(pred[n->name].size()) +
                  " predecessors; supsnn reads a chain of nodes from the Input to the Output");
    chain.push_back(n);
  }
  if (chain.size() + 1 != g.nodes.size())
    for (const Node& n : g.nodes)
      if (&n != input && std::find(chain.begin(), chain.end(), &n) == chain.end())
        throw Error(file + ": node '" + n.name + "' (" + n.type +
                    ") is not on the path from the Input to the Output");

  Reader r(g, file);
  const auto meta_dt = g.meta.find("dt");
  if (g.meta_texts.count("dt") || (meta_dt != g.meta.end() && meta_dt->second.size() != 1))
    throw Error(file + ": metadata 'dt' must be one number (seconds per step)");
  r.dt = o.dt > 0 ? o.dt : meta_dt != g.meta.end() ? meta_dt->second.values[0] : kSnnTorchDt;
  if (!(r.dt > 0) || !std::isfinite(r.dt))
    throw Error(fmt::format("{}: metadata 'dt' is {:g}, expected a positive number of seconds",
                            file, r.dt));
  {
    const Array& s = input->at("shape", file);
    std::vector<long> d;
    for (double v : s.values) {
      if (!(v >= 1 && v <= 65536) || v != std::floor(v))
        throw Error(
            fmt::format("{}: node '{}' (Input): shape value {:g}, expected an integer "
                        "from 1 to 65536",
                        file, input->name, v));
      d.push_back(static_cast<long>(v));
    }
    if (d.size() == 4 && d[0] == 1) d.erase(d.begin());  // a batch dimension of 1
    if (d.size() == 2) d = {1, d[0], d[1]};
    if ((d.size() != 1 && d.size() != 3) ||
        std::any_of(d.begin(), d.end(), [](long x) { return x < 1; }))
      throw Error(file + ": node '" + input->name +
                  "' (Input): shape must be (C, H, W), (H, W) "
                  "or (N)");
    r.shape = d;  // a vector (N) feeds an Affine directly; supsnn reads it as a 1 x 1 x N map
  }
  const std::vector<long> in_shape =
      r.shape.size() == 3 ? r.shape : std::vector<long>{1, 1, r.shape[0]};
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const Node& n = *chain[i];
    if (n.type == "Output") break;
    if (n.type == "Conv2d")
      r.conv(n);
    else if (n.type == "Affine" || n.type == "Linear")
      r.affine(n);
    else if (n.type == "Flatten")
      r.flatten(n);
    else if (n.type == "AvgPool2d")
      r.pool(n, true);
    else if (n.type == "SumPool2d") {
      r.pool(n, false);
      if (i + 1 >= chain.size() || chain[i + 1]->type != "LIF")
        r.fail(n,
               "supsnn reads SumPool2d only as max pooling over spikes, followed by a LIF with "
               "tau = dt and a threshold below r");
      r.neuron(*chain[++i], &n);
    } else if (n.type == "LIF" || n.type == "IF") {
      r.neuron(n, nullptr);
    } else if (n.type == "I") {
      if (i + 1 >= chain.size() || chain[i + 1]->type != "Output" || !r.open_layer() ||
          r.items.back().spec.kind != LayerKind::Dense)
        r.fail(n,
               "supsnn reads an integrator only as the sum of the readout (Affine or Linear, "
               "then I, then Output)");
      if (!close(r.uniform(n, "r") * r.dt, 1))
        r.fail(n, fmt::format("r = {:g}, expected 1 / dt = {:g} (a plain sum over steps)",
                              r.uniform(n, "r"), 1 / r.dt));
    } else {
      r.fail(n,
             "not a primitive supsnn reads (it reads Input, Conv2d, Affine, Linear, Flatten, "
             "AvgPool2d, SumPool2d as max pooling over spikes, LIF, IF, I before the Output, "
             "Output)");
    }
  }
  if (r.items.empty() ||
      !(r.items[0].spec.kind == LayerKind::Conv || r.items[0].spec.kind == LayerKind::Dense))
    throw Error(file + ": the first layer must be a Conv2d, Affine or Linear (it reads the input)");
  Item& last = r.items.back();
  if (last.spec.kind != LayerKind::Dense || last.neuron_set)
    throw Error(file + ": node '" + last.node +
                "' ends the network; supsnn's readout is an Affine or Linear layer without a "
                "neuron (its output is summed over steps)");
  last.spec.kind = LayerKind::Readout;

  LayeredModelFile m;
  m.single = r.single;
  m.channels = static_cast<int>(in_shape[0]);
  m.height = static_cast<int>(in_shape[1]);
  m.width = static_cast<int>(in_shape[2]);
  const auto meta_steps = g.meta.find("steps");
  double steps = o.steps;
  if (steps <= 0 && meta_steps != g.meta.end() && meta_steps->second.size() == 1)
    steps = meta_steps->second.values[0];
  if (steps != std::floor(steps) || steps > 1e6)
    throw Error(
        fmt::format("{}: metadata 'steps' is {:g}, expected a whole number of steps", file, steps));
  m.steps = static_cast<int>(steps);
  if (m.steps < 1)
    throw Error(file +
                ": the graph does not say how many time steps the network runs; pass "
                "--steps T");
  const auto meta_classes = g.meta_texts.find("class_names");
  m.classes = !o.classes.empty()                   ? o.classes
              : meta_classes != g.meta_texts.end() ? meta_classes->second
                                                   : std::vector<std::string>{};
  if (m.classes.empty())
    throw Error(file +
                ": the graph does not name its classes; pass --classes A,B,C (in the order "
                "of the readout's outputs)");
  if (static_cast<int>(m.classes.size()) > last.spec.units)
    throw Error(file + ": " + std::to_string(m.classes.size()) + " classes, but the readout '" +
                last.node + "' has " + std::to_string(last.spec.units) + " outputs");

  std::vector<LayerSpec> got;
  for (const Item& it : r.items) got.push_back(it.spec);
  const auto meta_cfg = g.meta_texts.find("supsnn_config");
  if (meta_cfg != g.meta_texts.end() && meta_cfg->second.size() == 1)
    m.cfg = Config::from_text(meta_cfg->second[0], file + " (metadata supsnn_config)");
  if (!same_network(got, layer_specs(m.cfg), static_cast<int>(m.classes.size()))) {
    std::string layers = "model.layers=[";
    for (std::size_t i = 0; i < got.size(); ++i) layers += (i ? ", " : "") + toml_layer(got[i]);
    try {
      m.cfg.set_override(layers + "]");
    } catch (const Error& e) {  // a size or value supsnn's layer schema does not allow
      std::string why = e.what();
      if (why.rfind("--set: ", 0) == 0) why = why.substr(7);
      throw Error(file + ": the graph's layers are outside what supsnn takes: " + why);
    }
  }
  m.cfg.set_override("model.steps=" + std::to_string(m.steps));
  m.cfg.set_override(std::string("model.precision=") + (m.single ? "float" : "double"));
  m.cfg.set_override("data.encoder=direct");
  m.cfg.set_override("loss.kind=cross-entropy");
  for (const std::string& s : o.sets) m.cfg.set_override(s);
  m.specs = layer_specs(m.cfg);
  if (!same_network(got, m.specs, static_cast<int>(m.classes.size())))
    throw Error("--set: the overrides change the network the graph describes");
  try {  // the network supsnn builds from it (sizes it takes, e.g. at most 16 readout outputs)
    const LayeredSnn<double> net(m.specs, m.channels, m.height, m.width, m.steps,
                                 static_cast<int>(m.classes.size()));
  } catch (const Error& e) {
    throw Error(file + ": the graph's layers are outside what supsnn takes: " + e.what());
  }
  // Blocks by their place in model.layers (dropout layers of a kept configuration count).
  std::size_t k = 0;
  for (std::size_t l = 0; l < m.specs.size(); ++l) {
    if (m.specs[l].kind == LayerKind::Dropout) continue;
    const Item& it = r.items[k++];
    const std::string name = "layer" + std::to_string(l + 1);
    if (!it.W.empty()) m.data[name + ".W"] = it.W;
    if (!it.b.empty()) m.data[name + ".b"] = it.b;
    if (it.spec.kind == LayerKind::Norm) {
      m.data[name + ".gamma"] = it.gamma;
      m.data[name + ".beta"] = it.beta;
      m.data[name + ".running_mean"] = it.mean;
      m.data[name + ".running_var"] = it.var;
    }
  }
  return m;
}

}  // namespace supsnn::nir
