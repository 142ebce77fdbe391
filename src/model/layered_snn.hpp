// A layered network (`[[model.layers]]`, docs/model.md "Layered networks"): any list of conv,
// pool, dense, dropout and readout layers run over T time steps. Activations are time-folded
// (T x B rows of NHWC maps or feature vectors), so each conv and dense layer is one large matrix
// product per pass (im2col + gemm, kernels/gemm_rows.hpp) and its spiking neuron one multi-step
// kernel (kernels/lif_layer.hpp). With the direct input code the image is the first layer's input
// at every step, so the first layer's product runs once per sample instead of T times.
// Parameters of all layers sit in one flat buffer (per layer W, out x fan-in, then its bias), so
// the optimiser and the all-reduce see one array, as for the other models.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "config/layers.hpp"
#include "data/batch.hpp"
#include "kernels/event_conv.hpp"
#include "kernels/im2col.hpp"
#include "kernels/lif_layer.hpp"
#include "kernels/pool2d.hpp"
#include "model/input_current.hpp"
#include "model/output_loss.hpp"

namespace supsnn {

// One block of the flat parameter buffer, for model.h5 and reports.
struct ParamBlock {
  std::string name;  // "layer3.W", "layer3.b"
  std::vector<std::size_t> dims;
  std::size_t offset = 0;
  std::size_t size() const {
    std::size_t n = 1;
    for (std::size_t d : dims) n *= d;
    return n;
  }
};

// Batch normalisation's variance floor (PyTorch's default): scale = gamma / sqrt(var + eps).
inline constexpr double kBatchNormEps = 1e-5;

// Input density below which `auto` takes the event-driven products in a conv (or dense) layer
// after the first (kernels/event_conv.hpp); 0 where the gemm path is always taken.
double default_event_density(bool conv);

template <class Real>
class LayeredSnn {
 public:
  // Input maps of C x H x W (NHWC), T steps, `classes` labels (the readout's default units).
  // Throws one line naming the layer when a layer does not fit its input.
  LayeredSnn(const std::vector<LayerSpec>& specs, int C, int H, int W, int steps, int classes);

  int outputs() const { return outputs_; }
  int inputs() const { return C_ * H_ * W_; }
  int steps() const { return T_; }
  View1<Real> params() const { return params_; }
  View1<Real> grads() const { return grads_; }
  const std::vector<ParamBlock>& param_blocks() const { return blocks_; }
  // Model state that is not trained (batch normalisation's running mean and variance), for
  // checkpoints and model.h5; offsets index buffers_host().
  const std::vector<ParamBlock>& buffer_blocks() const { return buffer_blocks_; }
  std::vector<double> buffers_host() const { return running_; }
  void set_buffers_host(const std::vector<double>& b);
  // Sums doubles over all ranks in place (synchronised batch normalisation); unset: one rank.
  void set_allreduce(std::function<void(double*, int)> f) { allreduce_ = std::move(f); }
  std::string summary() const;  // one line per layer: kind, output shape, parameters
  // How the conv and dense layers after the first one compute their products from their input
  // (the spikes of the layer before): events, dense (im2col + gemm) or auto (events below the
  // density threshold, 0 = default_event_density(conv)). Config keys model.input_path and
  // model.dense_density.
  void set_input_path(const InputPathOptions& o) { path_ = o; }
  // Every conv/dense layer after the first: its product as a convolution (dense: a 1 x 1 map of
  // fan_in channels), and the input density and path of the last forward pass.
  struct HiddenLayer {
    int layer = 0;  // 1-based, as in model.layers
    ConvGeometry geometry;
    int outputs = 0;
    double density = -1;  // -1: not measured (a forced path, or a layer auto never runs on events)
    bool events = false;
  };
  std::vector<HiddenLayer> hidden_layers() const;
  // Each layer's input and output map (dense and readout: C = units, H = W = 1), for export.
  struct LayerShape {
    int inC = 0, inH = 0, inW = 0, outC = 0, outH = 0, outW = 0;
  };
  std::vector<LayerShape> layer_shapes() const;

  // Weights uniform in [-a, a], a = scale sqrt(3 / fan_in), a pure function of (seed, flat
  // index), as the deep SNN; biases 0; normalisation gamma 1, beta 0.
  void init_scaled(std::uint64_t seed, double scale);
  void set_weights_host(const std::vector<double>& w);
  std::vector<double> weights_host() const;

  // The batch's direct input (bb.images()); dropout acts when bb.training().
  void forward(const BatchBuilder<Real>& bb);
  // Cross-entropy on the readout (logits = mean over t of its output / temperature); returns the
  // per-sample losses and keeps dL/dlogits scaled by `scale` for backward().
  std::vector<double> loss(View3<const Real> guidance_raw, View1<const int> labels,
                           const LossParams& lp, Real scale) {
    return host_copy(loss_device(guidance_raw, labels, lp, scale));
  }
  View1<const Real> loss_device(View3<const Real> guidance_raw, View1<const int> labels,
                                const LossParams& lp, Real scale);  // the losses on the device
  void backward(const BatchBuilder<Real>& bb);

  std::vector<double> logits_host() const;  // B x outputs: mean readout over time
  View3<const Real> scores() const { return first_samples(P_, B_); }  // (B, outputs, T)
  // Mean spikes per neuron and sample of each spiking layer in the last forward pass.
  std::vector<double> spike_rates() const;

 private:
  struct Layer {
    LayerSpec spec;
    int inC = 0, inH = 0, inW = 0;     // input map (dense: inC = features, inH = inW = 1)
    int outC = 0, outH = 0, outW = 0;  // output map
    ConvGeometry conv;
    PoolGeometry pool;
    LifLayerParams lif;
    bool weights = false, spiking = false;
    bool broadcast = false;  // first layer fed the same input at every step (direct code)
    bool events = false;     // last forward took the event-driven products
    double density = -1;     // input density of the last forward (-1: not measured)
    EventRows<Real> ev;      // the input's nonzeros, kept for backward
    View1<Real> Wt;          // W transposed (fan_in x out) for the event products
    int fan_in = 0;
    std::size_t w_off = 0, b_off = 0;
    std::size_t g_off = 0, run_off = 0;  // norm: gamma then beta in params; mean, var in running_
    long in_size() const { return static_cast<long>(inC) * inH * inW; }
    long out_size() const { return static_cast<long>(outC) * outH * outW; }
    View1<Real> cur, H;  // synaptic current (rows x out) and pre-reset potentials
    View1<int> arg;      // max pooling: input index of each output
    View1<Real> mask;    // dropout
    View1<Real> stat;    // norm: mean and 1 / sqrt(var + eps) of the last training batch (2C)
    View1<Real> coef;    // norm: per-channel factors (scale and shift; backward: 3C)
  };
  void reserve(int B);
  long rows_in(std::size_t l) const;            // rows of layer l's input: T B, or B when broadcast
  ConvGeometry geometry(const Layer& L) const;  // dense: a 1 x 1 map of fan_in channels
  bool choose_events(Layer& L, View1<const Real> X, long images);
  void weighted_forward(Layer& L, View1<const Real> X, long images);
  void weighted_backward(Layer& L, View1<const Real> X, View1<const Real> dcur, long images,
                         View1<Real> dX);
  void norm_forward(Layer& L, View1<const Real> X, long rows, bool training);
  void norm_backward(Layer& L, View1<const Real> X, View1<const Real> dcur, long rows,
                     View1<Real> dX);
  std::vector<double> sum_over_ranks(std::vector<double> v) const;

  std::vector<Layer> layers_;
  std::vector<ParamBlock> blocks_, buffer_blocks_;
  std::vector<double> running_;  // norm layers' running mean and variance (host)
  std::function<void(double*, int)> allreduce_;
  int C_ = 1, H_ = 1, W_ = 1, T_ = 1, outputs_ = 0;
  int B_ = 0, cap_ = 0;
  View1<Real> params_, grads_;
  std::vector<View1<Real>> act_, dact_;  // act_[l]: input of layer l; act_.back(): readout output
  View1<Real> col_, dcol_;               // im2col scratch (one chunk of images)
  View1<Real> ones_;                     // all 1: bias gradients as products
  View1<Real> parts_;                    // partial weight gradients of the event path
  InputPathOptions path_;
  long col_images_ = 1;     // images per im2col chunk of the largest conv layer
  View3<Real> P_, dP_, G_;  // readout over time as (B, outputs, T) for the loss
  View1<Real> loss_;
};

extern template class LayeredSnn<double>;
extern template class LayeredSnn<float>;

}  // namespace supsnn
