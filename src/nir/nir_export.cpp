#include "nir/nir_export.hpp"

#include <cmath>

#include "common/build_info.hpp"
#include "common/error.hpp"
#include "model/layered_snn.hpp"

namespace supsnn::nir {

namespace {

using Type = Array::Type;

// The exporter's state: the graph so far, the node the next one reads from and what it carries.
struct Builder {
  Graph g;
  std::string prev = "input";
  std::vector<hsize_t> shape;  // NIR shape of prev's output: (C, H, W) or (N)
  bool spikes = false;         // prev's output is 0/1 spikes (max pooling is exact over those)
  Type real = Type::Float32;   // the model's precision

  Node& add(const std::string& name, const std::string& type) {
    Node& n = g.add(name, type);
    g.connect(prev, name);
    prev = name;
    return n;
  }
};

Array values(std::vector<hsize_t> dims, std::vector<double> v, Type t) {
  return {std::move(dims), std::move(v), t};
}

// The spiking neuron that ends a layer, one value per neuron as NIR's type check wants.
// supsnn lif: H = V + (I - V) / tau_steps, spike H >= threshold, V = 0 after it. NIR LIF, forward
// Euler with step dt: v += dt/tau (v_leak - v + r I), spike v > v_threshold, v = v_reset: the same
// with tau = tau_steps dt, r = 1, v_leak = 0, v_reset = 0. if: V = H = V + I; NIR IF:
// v += dt r I, so r = 1 / dt.
void add_neuron(Builder& b, const std::string& name, const LayerNeuron& n,
                const std::string& where) {
  if (n.kind == NeuronKind::None) {
    b.spikes = false;
    return;
  }
  if (n.reset == ResetKind::Soft)
    throw Error(where +
                ": reset = \"soft\" has no NIR form (NIR 1.0's LIF and IF set the "
                "potential to v_reset after a spike; subtracting the threshold is not "
                "expressible)");
  const double dt = b.g.meta.at("dt").values[0];
  // Neuron parameters in double: tau = tau_steps dt must divide back to tau_steps exactly.
  auto per_neuron = [&](double v) { return Array::filled(b.shape, v, Type::Float64); };
  Node& node = b.add(name, n.kind == NeuronKind::Lif ? "LIF" : "IF");
  if (n.kind == NeuronKind::Lif) {
    node.fields["tau"] = per_neuron(n.tau * dt);
    node.fields["r"] = per_neuron(1.0);
    node.fields["v_leak"] = per_neuron(0.0);
  } else {
    node.fields["r"] = per_neuron(1.0 / dt);
  }
  node.fields["v_threshold"] = per_neuron(n.threshold);
  node.fields["v_reset"] = per_neuron(0.0);
  b.spikes = true;
}

// NIR's Affine reads (N) vectors: a map is flattened first, in NIR's (C, H, W) order.
void flatten_if_map(Builder& b, std::size_t l) {
  if (b.shape.size() != 3) return;
  Node& f = b.add("layer" + std::to_string(l + 1) + "_flatten", "Flatten");
  f.fields["start_dim"] = Array::scalar_int(0);
  f.fields["end_dim"] = Array::scalar_int(-1);
  f.fields["input_type"] =
      Array::ints({static_cast<long>(b.shape[0]), static_cast<long>(b.shape[1]),
                   static_cast<long>(b.shape[2])});
  b.shape = {b.shape[0] * b.shape[1] * b.shape[2]};
}

}  // namespace

Graph to_graph(const LayeredModelFile& m, const std::string& file, const ExportOptions& o) {
  if (!(o.dt > 0) || !std::isfinite(o.dt))
    throw Error("--dt " + std::to_string(o.dt) + ": expected a positive time step in seconds");
  const LayeredSnn<double> net(m.specs, m.channels, m.height, m.width, m.steps,
                               static_cast<int>(m.classes.size()));
  const auto shapes = net.layer_shapes();
  Builder b;
  b.real = m.single ? Type::Float32 : Type::Float64;
  b.g.meta["dt"] = values({}, {o.dt}, Type::Float64);
  b.g.meta["steps"] = Array::scalar_int(m.steps);
  b.g.meta_texts["class_names"] = m.classes;
  b.g.meta_texts["source"] = {"supsnn " + std::string(build_version())};
  b.g.meta_texts["supsnn_config"] = {m.cfg.to_toml()};
  b.g.meta_texts["input"] = {
      "direct code: the image (pixel / 255, after data.crop) as the input current at every "
      "one of the `steps` steps"};
  b.g.meta_texts["readout"] = {o.readout == ReadoutForm::Current
                                   ? "class = argmax over outputs of the output summed over steps"
                                   : "class = argmax of the output after `steps` steps"};
  b.g.meta_texts["spike_rule"] = {"supsnn fires at v >= v_threshold, NIR at v > v_threshold"};
  b.shape = {static_cast<hsize_t>(m.channels), static_cast<hsize_t>(m.height),
             static_cast<hsize_t>(m.width)};
  Node& in = b.g.add("input", "Input");
  in.fields["shape"] = Array::ints({m.channels, m.height, m.width});

  for (std::size_t l = 0; l < m.specs.size(); ++l) {
    const LayerSpec& s = m.specs[l];
    const auto& sh = shapes[l];
    const std::string name = "layer" + std::to_string(l + 1),
                      at = file + ": " + layer_label(l, layer_kind_name(s.kind));
    const auto block = [&](const std::string& suffix) -> const std::vector<double>& {
      return m.data.at(name + "." + suffix);
    };
    switch (s.kind) {
      case LayerKind::Conv: {
        // supsnn stores (out, k, k, in) for its NHWC maps; NIR (torch) wants (out, in, k, k).
        const int O = sh.outC, I = sh.inC, K = s.kernel;
        const auto& w = block("W");
        std::vector<double> t(w.size());
        for (int oc = 0; oc < O; ++oc)
          for (int ky = 0; ky < K; ++ky)
            for (int kx = 0; kx < K; ++kx)
              for (int ic = 0; ic < I; ++ic)
                t[((static_cast<std::size_t>(oc) * I + ic) * K + ky) * K + kx] =
                    w[((static_cast<std::size_t>(oc) * K + ky) * K + kx) * I + ic];
        Node& c = b.add(name, "Conv2d");
        c.fields["weight"] = values({hsize_t(O), hsize_t(I), hsize_t(K), hsize_t(K)}, t, b.real);
        c.fields["bias"] = s.bias ? values({hsize_t(O)}, block("b"), b.real)
                                  : Array::filled({hsize_t(O)}, 0.0, b.real);
        if (!s.bias) c.meta["supsnn_bias"] = Array::scalar_int(0);  // a zero bias, not trained
        c.fields["stride"] = Array::ints({s.stride, s.stride});
        c.fields["padding"] = Array::ints({s.padding, s.padding});
        c.fields["dilation"] = Array::ints({1, 1});
        c.fields["groups"] = Array::scalar_int(1);
        c.fields["input_shape"] = Array::ints({sh.inH, sh.inW});
        b.shape = {hsize_t(sh.outC), hsize_t(sh.outH), hsize_t(sh.outW)};
        add_neuron(b, name + "_" + (s.neuron.kind == NeuronKind::If ? "if" : "lif"), s.neuron, at);
        break;
      }
      case LayerKind::Dense:
      case LayerKind::Readout: {
        flatten_if_map(b, l);
        // supsnn flattens a map in (y, x, c) order, NIR's Flatten in (c, y, x): permute columns.
        const int O = sh.outC, C = sh.inC, HW = sh.inH * sh.inW;
        const std::size_t F = static_cast<std::size_t>(C) * HW;
        const auto& w = block("W");
        std::vector<double> t(w.size());
        for (int o2 = 0; o2 < O; ++o2)
          for (int p = 0; p < HW; ++p)
            for (int c = 0; c < C; ++c)
              t[o2 * F + static_cast<std::size_t>(c) * HW + p] =
                  w[o2 * F + static_cast<std::size_t>(p) * C + c];
        Node& d = b.add(name, s.bias ? "Affine" : "Linear");
        d.fields["weight"] = values({hsize_t(O), hsize_t(F)}, t, b.real);
        if (s.bias) d.fields["bias"] = values({hsize_t(O)}, block("b"), b.real);
        b.shape = {hsize_t(O)};
        if (s.kind == LayerKind::Dense)
          add_neuron(b, name + "_" + (s.neuron.kind == NeuronKind::If ? "if" : "lif"), s.neuron,
                     at);
        break;
      }
      case LayerKind::Norm: {
        // Batch normalisation in inference: y = x s + (beta - mean s), s = gamma / sqrt(var +
        // eps), computed as supsnn computes it. NIR has no such primitive; a 1 x 1 Conv2d (or an
        // Affine) with s on the diagonal computes exactly x s + shift. The four vectors go to
        // metadata so that supsnn import restores the layer as it was.
        const int C = sh.outC;
        const auto &gamma = block("gamma"), &beta = block("beta");
        const auto &mean = block("running_mean"), &var = block("running_var");
        std::vector<double> diag(static_cast<std::size_t>(C) * C, 0.0), shift(C);
        for (int c = 0; c < C; ++c) {
          const double sc = gamma[c] / std::sqrt(var[c] + kBatchNormEps);
          diag[static_cast<std::size_t>(c) * C + c] = sc;
          shift[c] = beta[c] - mean[c] * sc;
        }
        const bool map = b.shape.size() == 3;
        Node& n = b.add(name, map ? "Conv2d" : "Affine");
        n.fields["weight"] = map ? values({hsize_t(C), hsize_t(C), 1, 1}, diag, b.real)
                                 : values({hsize_t(C), hsize_t(C)}, diag, b.real);
        n.fields["bias"] = values({hsize_t(C)}, shift, b.real);
        if (map) {
          n.fields["stride"] = Array::ints({1, 1});
          n.fields["padding"] = Array::ints({0, 0});
          n.fields["dilation"] = Array::ints({1, 1});
          n.fields["groups"] = Array::scalar_int(1);
          n.fields["input_shape"] = Array::ints({sh.inH, sh.inW});
        }
        n.meta_texts["supsnn_layer"] = {"norm"};
        n.meta["gamma"] = values({hsize_t(C)}, gamma, Type::Float64);
        n.meta["beta"] = values({hsize_t(C)}, beta, Type::Float64);
        n.meta["running_mean"] = values({hsize_t(C)}, mean, Type::Float64);
        n.meta["running_var"] = values({hsize_t(C)}, var, Type::Float64);
        n.meta["eps"] = values({}, {kBatchNormEps}, Type::Float64);
        add_neuron(b, name + "_" + (s.neuron.kind == NeuronKind::If ? "if" : "lif"), s.neuron, at);
        break;
      }
      case LayerKind::Pool: {
        const long stride = s.pool_stride > 0 ? s.pool_stride : s.size;
        const bool max = s.mode == PoolMode::Max;
        // Max pooling has no NIR primitive. Over spikes (0 or 1) the maximum of a window is 1
        // exactly when its sum is at least 1: SumPool2d, then a LIF whose tau is one step
        // (no memory: v = r I) firing above 0.5.
        if (max && !b.spikes)
          throw Error(at +
                      ": max pooling has no NIR primitive, and its input is not spikes (the "
                      "layer before passes currents); supsnn exports max pooling only over "
                      "spikes, as SumPool2d then a threshold neuron");
        Node& p = b.add(name, max ? "SumPool2d" : "AvgPool2d");
        p.fields["kernel_size"] = Array::ints({s.size, s.size});
        p.fields["stride"] = Array::ints({stride, stride});
        p.fields["padding"] = Array::ints({0, 0});
        b.shape = {hsize_t(sh.outC), hsize_t(sh.outH), hsize_t(sh.outW)};
        if (max) {
          LayerNeuron any;  // fires when the window's sum exceeds 0.5, no memory
          any.kind = NeuronKind::Lif;
          any.tau = 1;
          any.threshold = 0.5;
          add_neuron(b, name + "_max", any, at);
          b.g.nodes.back().meta_texts["supsnn_layer"] = {"max pool"};
        } else {
          b.spikes = false;
        }
        break;
      }
      case LayerKind::Dropout:
        break;  // the identity in inference
    }
  }
  if (o.readout == ReadoutForm::Integrator) {
    // NIR I: dv/dt = r I; forward Euler with r = 1 / dt adds the readout's current each step.
    Node& sum = b.add("readout_sum", "I");
    sum.fields["r"] = Array::filled(b.shape, 1.0 / o.dt, Type::Float64);
  }
  Node& out = b.add("output", "Output");
  out.fields["shape"] = Array::ints({static_cast<long>(b.shape[0])});
  return b.g;
}

}  // namespace supsnn::nir
