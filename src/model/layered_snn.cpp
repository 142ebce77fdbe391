#include "model/layered_snn.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "kernels/batch_norm.hpp"
#include "kernels/dropout_mask.hpp"
#include "kernels/gemm_rows.hpp"
#include "kernels/readout_loss.hpp"
#include "model/host_views.hpp"

namespace supsnn {

namespace {

// Batch normalisation: running statistics' momentum and the variance floor (PyTorch's defaults).
constexpr double kNormMomentum = 0.1, kNormEps = kBatchNormEps;

// Elements of one im2col chunk. CPUs: 2^18 floats (1 MB), so that the patch matrix a gemm
// writes is still in cache when col2im reads it (2^24 made col2im a DRAM stream: 74 -> 85-92
// samples/s on configs/bench-conv.toml, batch 8, and a third of the memory); a conv layer of
// larger patches per image runs one image per chunk. GPUs: 2^24, few large products.
constexpr long kColBudget = kHostExec ? 1L << 18 : 1L << 24;

std::string where(std::size_t l, LayerKind k) {
  return layer_label(l, layer_kind_name(k)) + ": ";
}

LifLayerParams lif_params(const LayerNeuron& n) {
  LifLayerParams p;
  p.leaky = n.kind == NeuronKind::Lif;
  p.tau = n.tau;
  p.threshold = n.threshold;
  p.soft_reset = n.reset == ResetKind::Soft;
  p.surrogate = static_cast<Surrogate>(n.surrogate);
  p.width = n.surrogate_width;
  return p;
}

template <class Real>
View1<Real> span(Real* p, long n) {
  return View1<Real>(p, static_cast<std::size_t>(n));
}

template <class Real>
void grow(View1<Real>& v, long n, const char* label) {
  if (static_cast<long>(v.extent(0)) < n)
    v = View1<Real>(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)),
                    static_cast<std::size_t>(n));
}

// Y(t, i) = X(i) for t < T: a broadcast first layer without a neuron passes its current on.
template <class Real>
void repeat_over_time(int T, long N, View1<const Real> X, View1<Real> Y) {
  Kokkos::parallel_for(
      "supsnn::repeat_over_time", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, T * N),
      KOKKOS_LAMBDA(const long i) { Y(i) = X(i % N); });
}

// Y(i) = sum_t X(t, i): its transpose.
template <class Real>
void sum_over_time(int T, long N, View1<const Real> X, View1<Real> Y) {
  Kokkos::parallel_for(
      "supsnn::sum_over_time", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, N),
      KOKKOS_LAMBDA(const long i) {
        Real s = 0;
        for (int t = 0; t < T; ++t) s += X(t * N + i);
        Y(i) = s;
      });
}

}  // namespace

// Host: the crossover of `supsnn bench --train --layers configs/mstar-soc10e-conv-bn.toml
// --density ...` on one core (docs/performance.md, "Event-driven hidden layers"): 20-40 % for
// its conv layers at 8-128 images per pass; dense layers never pay (transposing W and the
// gradient costs more than the events save at 4096 x 128). GPUs: the event kernels walk one
// image per thread, so the gemm path is always taken there until a measurement says more.
double default_event_density(bool conv) {
  if constexpr (!kHostExec) return 0;
  return conv ? 0.2 : 0;
}

template <class Real>
LayeredSnn<Real>::LayeredSnn(const std::vector<LayerSpec>& specs, int C, int H, int W, int steps,
                             int classes)
    : C_(C), H_(H), W_(W), T_(steps) {
  if (specs.empty()) throw Error("model.layers: no layers");
  int c = C, h = H, w = W;
  std::size_t off = 0;
  bool spatial = true;
  for (std::size_t l = 0; l < specs.size(); ++l) {
    Layer L;
    L.spec = specs[l];
    const LayerSpec& s = specs[l];
    const std::string at = where(l, s.kind);
    L.inC = c;
    L.inH = h;
    L.inW = w;
    switch (s.kind) {
      case LayerKind::Conv: {
        if (!spatial) throw Error(at + "a convolution needs a map; it follows a dense layer");
        L.conv = ConvGeometry{c, h, w, s.kernel, s.stride, s.padding};
        if (s.kernel > h + 2 * s.padding || s.kernel > w + 2 * s.padding)
          throw Error(at + "kernel " + std::to_string(s.kernel) + " is larger than its input map " +
                      std::to_string(h) + " x " + std::to_string(w) + " (padding " +
                      std::to_string(s.padding) + ")");
        L.outC = s.channels;
        L.outH = L.conv.out_h();
        L.outW = L.conv.out_w();
        L.fan_in = L.conv.taps();
        L.weights = true;
        break;
      }
      case LayerKind::Dense:
      case LayerKind::Readout: {
        L.outC = s.kind == LayerKind::Dense ? s.units : (s.units > 0 ? s.units : classes);
        L.outH = L.outW = 1;
        L.fan_in = c * h * w;
        L.weights = true;
        spatial = false;
        if (s.kind == LayerKind::Readout && L.outC < classes)
          throw Error(at + "units = " + std::to_string(L.outC) + " but the data has " +
                      std::to_string(classes) + " classes");
        if (s.kind == LayerKind::Readout && L.outC > 16)
          throw Error(at + std::to_string(L.outC) +
                      " outputs; the cross-entropy readout supports at most 16");
        break;
      }
      case LayerKind::Pool: {
        if (!spatial) throw Error(at + "pooling needs a map; it follows a dense layer");
        const int stride = s.pool_stride > 0 ? s.pool_stride : s.size;
        L.pool = PoolGeometry{c, h, w, s.size, stride, s.mode == PoolMode::Max};
        if (s.size > h || s.size > w)
          throw Error(at + "window " + std::to_string(s.size) + " is larger than its input map " +
                      std::to_string(h) + " x " + std::to_string(w));
        L.outC = c;
        L.outH = L.pool.out_h();
        L.outW = L.pool.out_w();
        break;
      }
      case LayerKind::Dropout:
        L.outC = c;
        L.outH = h;
        L.outW = w;
        break;
      case LayerKind::Norm: {
        if (l == 0 || !layers_.back().weights || layers_.back().spiking)
          throw Error(at +
                      "batch normalisation follows a conv or dense layer with neuron = \"none\"");
        if (layers_.back().spec.bias)
          throw Error(where(l - 1, layers_.back().spec.kind) +
                      "set bias = false: the batch normalisation after it removes a bias (its "
                      "gradient is zero, and Adam would turn rounding noise into steps)");
        L.outC = c;
        L.outH = h;
        L.outW = w;
        const std::string name = "layer" + std::to_string(l + 1);
        L.g_off = off;
        blocks_.push_back({name + ".gamma", {std::size_t(c)}, off});
        blocks_.push_back({name + ".beta", {std::size_t(c)}, off + c});
        off += 2 * static_cast<std::size_t>(c);
        L.run_off = running_.size();
        buffer_blocks_.push_back({name + ".running_mean", {std::size_t(c)}, L.run_off});
        buffer_blocks_.push_back({name + ".running_var", {std::size_t(c)}, L.run_off + c});
        running_.resize(running_.size() + c, 0.0);
        running_.resize(running_.size() + c, 1.0);
        L.spiking = s.neuron.kind != NeuronKind::None;
        L.lif = lif_params(s.neuron);
        L.stat = View1<Real>("norm_stat", 2 * c);
        L.coef = View1<Real>("norm_coef", 3 * c);
        break;
      }
    }
    if (L.weights) {
      L.w_off = off;
      off += static_cast<std::size_t>(L.outC) * L.fan_in;
      blocks_.push_back({"layer" + std::to_string(l + 1) + ".W",
                         s.kind == LayerKind::Conv
                             ? std::vector<std::size_t>{std::size_t(L.outC), std::size_t(s.kernel),
                                                        std::size_t(s.kernel), std::size_t(c)}
                             : std::vector<std::size_t>{std::size_t(L.outC), std::size_t(L.fan_in)},
                         L.w_off});
      L.b_off = off;
      if (s.bias) {
        off += static_cast<std::size_t>(L.outC);
        blocks_.push_back({"layer" + std::to_string(l + 1) + ".b", {std::size_t(L.outC)}, L.b_off});
      }
      L.spiking = s.kind != LayerKind::Readout && s.neuron.kind != NeuronKind::None;
      L.lif = lif_params(s.neuron);
      L.broadcast = l == 0;
    } else if (l == 0) {
      throw Error(at + "the first layer must be conv or dense (it reads the image)");
    }
    c = L.outC;
    h = L.outH;
    w = L.outW;
    layers_.push_back(L);
  }
  if (specs.back().kind != LayerKind::Readout)
    throw Error("model.layers: the last layer must be a readout");
  outputs_ = layers_.back().outC;
  params_ = View1<Real>("layered_params", off);
  grads_ = View1<Real>("layered_grads", off);
}

template <class Real>
std::string LayeredSnn<Real>::summary() const {
  std::string s =
      fmt::format("layered SNN, T = {} steps, input {} x {} x {} (direct)", T_, C_, H_, W_);
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const Layer& L = layers_[l];
    s += fmt::format("\n  {:>2} {:<8} -> {} x {} x {}", l + 1, layer_kind_name(L.spec.kind), L.outC,
                     L.outH, L.outW);
    if (L.weights)
      s += fmt::format("  {} weights{}", static_cast<long>(L.outC) * L.fan_in,
                       L.spec.bias ? fmt::format(" + {} biases", L.outC) : "");
    if (L.spiking)
      s += fmt::format("  {} tau {} threshold {}", L.lif.leaky ? "lif" : "if", L.lif.tau,
                       L.lif.threshold);
  }
  return s;
}

template <class Real>
void LayeredSnn<Real>::init_scaled(std::uint64_t seed, double scale) {
  auto h = Kokkos::create_mirror_view(params_);
  Kokkos::deep_copy(h, Real(0));
  for (const Layer& L : layers_) {
    if (L.spec.kind == LayerKind::Norm)
      for (int c = 0; c < L.outC; ++c) h(L.g_off + c) = Real(1);  // gamma 1, beta 0
    if (!L.weights) continue;
    const double a = scale * std::sqrt(3.0 / L.fan_in);
    const std::size_t end = L.w_off + static_cast<std::size_t>(L.outC) * L.fan_in;
    for (std::size_t q = L.w_off; q < end; ++q)
      h(q) = static_cast<Real>(a * (2 * uniform01(seed, kStreamInit, q) - 1));
  }
  Kokkos::deep_copy(params_, h);
}

template <class Real>
void LayeredSnn<Real>::set_weights_host(const std::vector<double>& w) {
  if (w.size() != params_.extent(0)) throw Error("model: weight vector has the wrong size");
  copy_to_device<Real>(w, params_);
}

template <class Real>
std::vector<double> LayeredSnn<Real>::weights_host() const {
  return host_copy(params_);
}

template <class Real>
void LayeredSnn<Real>::set_buffers_host(const std::vector<double>& b) {
  if (b.size() != running_.size())
    throw Error("model: " + std::to_string(b.size()) + " buffer values, the network has " +
                std::to_string(running_.size()) + " (batch normalisation statistics)");
  running_ = b;
}

template <class Real>
std::vector<double> LayeredSnn<Real>::sum_over_ranks(std::vector<double> v) const {
  if (allreduce_) allreduce_(v.data(), static_cast<int>(v.size()));
  return v;
}

template <class Real>
void LayeredSnn<Real>::norm_forward(Layer& L, View1<const Real> X, long rows, bool training) {
  const int C = L.outC;
  const long R = rows * L.outH * L.outW;  // NHWC: one row per (time, sample, position)
  const auto gb = host_copy(span(params_.data() + L.g_off, 2 * C));  // gamma, beta
  std::vector<double> mean(C), var(C);
  if (training) {
    auto sums = norm_channel_sums<false, Real>(R, C, X, {}, {});
    sums.push_back(static_cast<double>(R));
    sums = sum_over_ranks(sums);  // sync BN: every rank normalises with the global statistics
    const double n = sums[2 * C];
    std::vector<double> stat(2 * C);
    for (int c = 0; c < C; ++c) {
      mean[c] = sums[c] / n;
      var[c] = std::max(0.0, sums[C + c] / n - mean[c] * mean[c]);
      stat[c] = mean[c];
      stat[C + c] = 1 / std::sqrt(var[c] + kNormEps);
      double& rm = running_[L.run_off + c];
      double& rv = running_[L.run_off + C + c];
      rm = (1 - kNormMomentum) * rm + kNormMomentum * mean[c];
      rv = (1 - kNormMomentum) * rv + kNormMomentum * var[c] * n / std::max(1.0, n - 1);
    }
    copy_to_device<Real>(stat, L.stat);
  } else {
    for (int c = 0; c < C; ++c) {
      mean[c] = running_[L.run_off + c];
      var[c] = running_[L.run_off + C + c];
    }
  }
  std::vector<double> scale_shift(3 * C, 0.0);
  for (int c = 0; c < C; ++c) {
    scale_shift[c] = gb[c] / std::sqrt(var[c] + kNormEps);
    scale_shift[C + c] = gb[C + c] - mean[c] * scale_shift[c];
  }
  copy_to_device<Real>(scale_shift, L.coef);
  norm_apply<Real>(R, C, X, L.coef, L.cur);
}

template <class Real>
void LayeredSnn<Real>::norm_backward(Layer& L, View1<const Real> X, View1<const Real> dcur,
                                     long rows, View1<Real> dX) {
  const int C = L.outC;
  const long R = rows * L.outH * L.outW;
  auto sums = norm_channel_sums<true, Real>(R, C, X, dcur, L.stat);
  {  // dgamma = sum dy xhat, dbeta = sum dy over this rank's rows
    std::vector<double> g(2 * C);
    for (int c = 0; c < C; ++c) {
      g[c] = sums[C + c];
      g[C + c] = sums[c];
    }
    copy_to_device<Real>(g, span(grads_.data() + L.g_off, 2 * C));
  }
  if (!dX.data()) return;
  sums.push_back(static_cast<double>(R));
  sums = sum_over_ranks(sums);
  const double n = sums[2 * C];
  const auto gamma = host_copy(span(params_.data() + L.g_off, C));
  const auto stat = host_copy(L.stat);
  std::vector<double> coef(3 * C);
  for (int c = 0; c < C; ++c) {
    coef[c] = gamma[c] * stat[C + c];
    coef[C + c] = sums[c] / n;
    coef[2 * C + c] = sums[C + c] / n;
  }
  copy_to_device<Real>(coef, L.coef);
  norm_backward_input<Real>(R, C, X, dcur, L.stat, L.coef, dX);
}

template <class Real>
ConvGeometry LayeredSnn<Real>::geometry(const Layer& L) const {
  return L.spec.kind == LayerKind::Conv ? L.conv : ConvGeometry{L.fan_in, 1, 1, 1, 1, 0};
}

template <class Real>
bool LayeredSnn<Real>::choose_events(Layer& L, View1<const Real> X, long images) {
  L.density = -1;
  if (L.broadcast || path_.path == InputPath::Dense) return false;
  const double threshold = path_.dense_density > 0
                               ? path_.dense_density
                               : default_event_density(L.spec.kind == LayerKind::Conv);
  if (path_.path == InputPath::Auto && threshold <= 0) return false;
  const long n = events_count<Real>(images, L.in_size(), X, L.ev);
  L.density = static_cast<double>(n) / (static_cast<double>(images) * L.in_size());
  if (path_.path == InputPath::Auto && L.density >= threshold) return false;
  events_fill<Real>(images, L.in_size(), X, L.ev);
  return true;
}

template <class Real>
std::vector<typename LayeredSnn<Real>::LayerShape> LayeredSnn<Real>::layer_shapes() const {
  std::vector<LayerShape> s;
  for (const Layer& L : layers_) s.push_back({L.inC, L.inH, L.inW, L.outC, L.outH, L.outW});
  return s;
}

template <class Real>
std::vector<typename LayeredSnn<Real>::HiddenLayer> LayeredSnn<Real>::hidden_layers() const {
  std::vector<HiddenLayer> h;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const Layer& L = layers_[l];
    if (L.weights && !L.broadcast)
      h.push_back({static_cast<int>(l + 1), geometry(L), L.outC, L.density, L.events});
  }
  return h;
}

template <class Real>
long LayeredSnn<Real>::rows_in(std::size_t l) const {
  return l == 0 ? B_ : static_cast<long>(T_) * B_;
}

template <class Real>
void LayeredSnn<Real>::reserve(int B) {
  B_ = B;
  if (B <= cap_) return;
  cap_ = B;
  const long TB = static_cast<long>(T_) * B;
  act_.resize(layers_.size() + 1);
  dact_.resize(layers_.size() + 1);
  act_[0] = View1<Real>("layered_input", static_cast<std::size_t>(B) * inputs());
  long col = 0;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    Layer& L = layers_[l];
    const long out = L.out_size();
    act_[l + 1] = View1<Real>("layered_act", static_cast<std::size_t>(TB * out));
    dact_[l + 1] = View1<Real>("layered_dact", static_cast<std::size_t>(TB * out));
    if (L.weights || L.spec.kind == LayerKind::Norm)
      L.cur = View1<Real>("layered_cur", (L.broadcast ? B : TB) * out);
    if (L.spiking) L.H = View1<Real>("layered_H", TB * out);
    if (L.spec.kind == LayerKind::Pool && L.pool.max) L.arg = View1<int>("layered_arg", TB * out);
    if (L.spec.kind == LayerKind::Dropout) L.mask = View1<Real>("layered_mask", B * out);
    if (L.spec.kind == LayerKind::Conv) {
      const long per_image = L.conv.positions() * L.conv.taps();
      const long images = rows_in(l);
      col = std::max(col, per_image * std::max(1L, std::min(images, kColBudget / per_image)));
    }
  }
  col_ = View1<Real>("layered_col", col);
  long rows = 0;  // the most rows of any weighted layer's product (bias gradients)
  for (std::size_t l = 0; l < layers_.size(); ++l)
    if (layers_[l].weights)
      rows = std::max(
          rows, rows_in(l) *
                    (layers_[l].spec.kind == LayerKind::Conv ? layers_[l].conv.positions() : 1L));
  ones_ = View1<Real>("layered_ones", rows);
  Kokkos::deep_copy(ones_, Real(1));
  dcol_ = View1<Real>("layered_dcol", col);
  P_ = View3<Real>("layered_P", B, outputs_, T_);
  dP_ = View3<Real>("layered_dP", B, outputs_, T_);
  loss_ = View1<Real>("layered_loss", B);
}

template <class Real>
void LayeredSnn<Real>::weighted_forward(Layer& L, View1<const Real> X, long images) {
  const Real* Wp = params_.data() + L.w_off;
  const Real* bp = L.spec.bias ? params_.data() + L.b_off : nullptr;
  L.events = choose_events(L, X, images);
  if (L.events) {
    grow(L.Wt, static_cast<long>(L.fan_in) * L.outC, "layered_Wt");
    transpose_weights<Real>(L.outC, L.fan_in, Wp, L.Wt);
    event_conv_forward<Real>(geometry(L), L.outC, images, L.ev, L.Wt, bp, L.cur.data());
    return;
  }
  if (L.spec.kind != LayerKind::Conv) {
    rows_forward<Real>(images, L.fan_in, L.outC, X.data(), Wp, bp, L.cur.data());
    return;
  }
  const long per_image = L.conv.positions() * L.conv.taps();
  const long chunk = std::max(1L, std::min(images, kColBudget / per_image));
  for (long n0 = 0; n0 < images; n0 += chunk) {
    const long n = std::min(chunk, images - n0);
    im2col<Real>(L.conv, static_cast<int>(n), span(X.data() + n0 * L.in_size(), n * L.in_size()),
                 col_);
    rows_forward<Real>(n * L.conv.positions(), L.fan_in, L.outC, col_.data(), Wp, bp,
                       L.cur.data() + n0 * L.out_size());
  }
}

template <class Real>
void LayeredSnn<Real>::weighted_backward(Layer& L, View1<const Real> X, View1<const Real> dcur,
                                         long images, View1<Real> dX) {
  const Real* Wp = params_.data() + L.w_off;
  Real* dW = grads_.data() + L.w_off;
  const long positions = L.spec.kind == LayerKind::Conv ? L.conv.positions() : 1;
  if (L.spec.bias)
    rows_bias_grad<Real>(images * positions, L.outC, dcur.data(), ones_, grads_.data() + L.b_off,
                         false);
  if (L.events) {
    const long need = static_cast<long>(event_grad_blocks(geometry(L), images)) * L.fan_in * L.outC;
    grow(parts_, need, "layered_event_parts");
    event_conv_weight_grad<Real>(geometry(L), L.outC, images, L.ev, dcur.data(), parts_, dW, false);
  }
  if (L.spec.kind != LayerKind::Conv) {
    if (!L.events)
      rows_weight_grad<Real>(images, L.fan_in, L.outC, dcur.data(), X.data(), dW, false);
    if (dX.data()) rows_input_grad<Real>(images, L.fan_in, L.outC, dcur.data(), Wp, dX.data());
    return;
  }
  const long per_image = positions * L.conv.taps();
  const long chunk = std::max(1L, std::min(images, kColBudget / per_image));
  // The gemm path of the weight gradient (im2col per chunk); the event path has run above.
  if (!L.events)
    for (long n0 = 0; n0 < images; n0 += chunk) {
      const long n = std::min(chunk, images - n0);
      im2col<Real>(L.conv, static_cast<int>(n), span(X.data() + n0 * L.in_size(), n * L.in_size()),
                   col_);
      rows_weight_grad<Real>(n * positions, L.fan_in, L.outC, dcur.data() + n0 * L.out_size(),
                             col_.data(), dW, n0 > 0);
    }
  if (!dX.data()) return;
  for (long n0 = 0; n0 < images; n0 += chunk) {
    const long n = std::min(chunk, images - n0);
    rows_input_grad<Real>(n * positions, L.fan_in, L.outC, dcur.data() + n0 * L.out_size(), Wp,
                          dcol_.data());
    col2im<Real>(L.conv, static_cast<int>(n), dcol_,
                 span(dX.data() + n0 * L.in_size(), n * L.in_size()));
  }
}

template <class Real>
void LayeredSnn<Real>::forward(const BatchBuilder<Real>& bb) {
  const int B = bb.batch();
  reserve(B);
  const auto img = bb.images();
  if (img.extent(1) != static_cast<std::size_t>(inputs()))
    throw Error("model.layers: the batch has " + std::to_string(img.extent(1)) +
                " inputs per sample, the network reads " + std::to_string(inputs()) +
                " (data.encoder = \"direct\" is needed)");
  Kokkos::deep_copy(span(act_[0].data(), static_cast<long>(B) * inputs()),
                    span(img.data(), static_cast<long>(B) * inputs()));
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    Layer& L = layers_[l];
    const View1<Real> X = act_[l], Y = act_[l + 1];
    const long rows = rows_in(l), out = L.out_size();
    switch (L.spec.kind) {
      case LayerKind::Conv:
      case LayerKind::Dense:
      case LayerKind::Readout:
        weighted_forward(L, X, rows);
        if (L.spiking)
          lif_layer_forward<Real>(L.lif, T_, static_cast<int>(B * out), L.broadcast, L.cur, L.H, Y);
        else if (L.broadcast)
          repeat_over_time<Real>(T_, B * out, L.cur, Y);
        else
          Kokkos::deep_copy(span(Y.data(), rows * out), span(L.cur.data(), rows * out));
        break;
      case LayerKind::Pool:
        pool2d_forward<Real>(L.pool, rows, X, Y, L.arg);
        break;
      case LayerKind::Dropout:
        Kokkos::deep_copy(span(Y.data(), rows * out), span(X.data(), rows * out));
        if (bb.training() && L.spec.p > 0) {
          dropout_make_mask<Real>(bb.dropout_key() ^ (0x9e37 * (l + 1)), L.spec.p, B,
                                  static_cast<int>(out), bb.sample_ids(), L.mask);
          dropout_apply<Real>(T_, B * out, L.mask, Y);
        }
        break;
      case LayerKind::Norm:
        norm_forward(L, X, rows, bb.training());
        if (L.spiking)
          lif_layer_forward<Real>(L.lif, T_, static_cast<int>(B * out), false, L.cur, L.H, Y);
        else
          Kokkos::deep_copy(span(Y.data(), rows * out), span(L.cur.data(), rows * out));
        break;
    }
  }
  // The readout (T, B, n) as (B, n, T), the layout of the loss kernel.
  const int n = outputs_, T = T_;
  const View1<Real> Y = act_.back();
  const auto P = P_;
  Kokkos::parallel_for(
      "supsnn::readout_to_bnt", RowMajorRange<2>({0, 0}, {B, n}),
      KOKKOS_LAMBDA(const int b, const int j) {
        for (int t = 0; t < T; ++t) P(b, j, t) = Y((static_cast<long>(t) * B + b) * n + j);
      });
}

template <class Real>
View1<const Real> LayeredSnn<Real>::loss_device(View3<const Real>, View1<const int> labels,
                                                const LossParams& lp, Real scale) {
  if (lp.kind != LossKind::CrossEntropy)
    throw Error("model.layers: a layered network is trained with loss.kind = \"cross-entropy\"");
  const auto lv = Kokkos::subview(loss_, std::make_pair(0, B_));
  readout_ce_loss<Real>(Readout::Sum, static_cast<Real>(lp.temperature), scale,
                        first_samples(P_, B_), Kokkos::subview(labels, std::make_pair(0, B_)), lv,
                        first_samples(dP_, B_));
  return lv;
}

template <class Real>
void LayeredSnn<Real>::backward(const BatchBuilder<Real>&) {
  const int B = B_, n = outputs_, T = T_;
  {  // dL/dP (B, n, T) back into the readout's (T, B, n) layout
    const View1<Real> dY = dact_.back();
    const auto dP = dP_;
    Kokkos::parallel_for(
        "supsnn::readout_from_bnt", RowMajorRange<2>({0, 0}, {B, n}),
        KOKKOS_LAMBDA(const int b, const int j) {
          for (int t = 0; t < T; ++t) dY((static_cast<long>(t) * B + b) * n + j) = dP(b, j, t);
        });
  }
  for (std::size_t l = layers_.size(); l-- > 0;) {
    Layer& L = layers_[l];
    const View1<Real> dY = dact_[l + 1];
    const View1<Real> dX = l > 0 ? dact_[l] : View1<Real>();
    const long rows = rows_in(l), out = L.out_size();
    switch (L.spec.kind) {
      case LayerKind::Norm:
        if (L.spiking)
          lif_layer_backward<Real>(L.lif, T_, static_cast<int>(B * out), false, L.H, act_[l + 1],
                                   dY, L.cur);
        else
          Kokkos::deep_copy(span(L.cur.data(), rows * out), span(dY.data(), rows * out));
        norm_backward(L, act_[l], L.cur, rows, dX);
        break;
      case LayerKind::Conv:
      case LayerKind::Dense:
      case LayerKind::Readout: {
        // dL/d(current) into L.cur: the forward current is no longer needed (H and S are).
        if (L.spiking)
          lif_layer_backward<Real>(L.lif, T_, static_cast<int>(B * out), L.broadcast, L.H,
                                   act_[l + 1], dY, L.cur);
        else if (L.broadcast)
          sum_over_time<Real>(T_, B * out, dY, L.cur);
        else
          Kokkos::deep_copy(span(L.cur.data(), rows * out), span(dY.data(), rows * out));
        weighted_backward(L, act_[l], L.cur, rows, dX);
        break;
      }
      case LayerKind::Pool:
        pool2d_backward<Real>(L.pool, rows, dY, L.arg, dX);
        break;
      case LayerKind::Dropout:
        Kokkos::deep_copy(span(dX.data(), rows * out), span(dY.data(), rows * out));
        if (L.spec.p > 0) dropout_apply<Real>(T_, B * out, L.mask, dX);
        break;
    }
  }
}

template <class Real>
std::vector<double> LayeredSnn<Real>::logits_host() const {
  const auto p = host_copy(first_samples(P_, B_));
  std::vector<double> z(static_cast<std::size_t>(B_) * outputs_, 0.0);
  for (std::size_t q = 0; q < z.size(); ++q) {
    for (int t = 0; t < T_; ++t) z[q] += p[q * T_ + t];
    z[q] /= T_;
  }
  return z;
}

template <class Real>
std::vector<double> LayeredSnn<Real>::spike_rates() const {
  std::vector<double> rates;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const Layer& L = layers_[l];
    if (!L.spiking) continue;
    const long count = static_cast<long>(T_) * B_ * L.out_size();
    const View1<Real> S = act_[l + 1];
    double sum = 0;
    Kokkos::parallel_reduce(
        "supsnn::spike_count", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, count),
        KOKKOS_LAMBDA(const long i, double& s) { s += S(i); }, sum);
    rates.push_back(B_ > 0 ? sum / (static_cast<double>(B_) * L.out_size()) : 0.0);
  }
  return rates;
}

template class LayeredSnn<double>;
template class LayeredSnn<float>;

}  // namespace supsnn
