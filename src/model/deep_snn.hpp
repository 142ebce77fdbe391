// Deep SNN (docs/model.md, "Deep SNN"): m inputs -> hidden dense LIF layers with spiking outputs
// -> n output neurons with the output dynamics of the bilayer (integrator, lif or lif-wta) and the
// same losses. Layer 1 is driven by the input events on the raw grid (event current, then
// interpolation onto the fine grid); every later layer by the spikes of the previous one on the
// fine grid. The parameters of all layers live in ONE flat buffer (W1, W2, ..., W_out, each
// row-major out x in), so the optimiser and the all-reduce see one array; likewise the gradients.
// Optionally the first hidden layers are convolutional (docs/model.md, "Convolutional layers"):
// LIF neurons like the dense ones, driven by a convolution of the previous map (the input image
// for the first) with weights shared over positions, stored as (out_channels x in_channels K K).
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "data/batch.hpp"
#include "kernels/conv_spike.hpp"
#include "kernels/hidden_lif.hpp"
#include "model/seed_bilayer.hpp"

namespace supsnn {

template <class Real>
class DeepSnn {
 public:
  // sizes: {inputs, hidden_1, ..., hidden_L, outputs}, L >= 1. neuron: the output layer.
  // conv: the shapes of the first conv.size() hidden layers (convolutional), each with
  // outputs() = sizes[l + 1] neurons and inputs() = what the previous layer passes on (sizes[l],
  // or its pooled_outputs()); a dense layer after a pooled conv layer reads the pooled map.
  // empty = all dense.
  DeepSnn(const std::vector<int>& sizes, TimeGrid grid, const NeuronParams& neuron,
          const HiddenParams& hidden, const std::vector<ConvShape>& conv = {});

  int outputs() const { return sizes_.back(); }
  int inputs() const { return sizes_.front(); }
  int layers() const { return static_cast<int>(sizes_.size()) - 1; }  // weight matrices
  const std::vector<int>& sizes() const { return sizes_; }
  const TimeGrid& grid() const { return grid_; }
  const NeuronParams& neuron() const { return neuron_; }
  const HiddenParams& hidden() const { return hidden_; }
  // (rows, cols) and flat offset of weight matrix l (0-based; l = layers()-1 is the output layer).
  // A convolutional layer's matrix is (out_channels, in_channels K K).
  std::pair<int, int> shape(int l) const {
    return l < conv_layers() ? std::pair<int, int>{conv_[l].out_channels, conv_[l].taps()}
                             : std::pair<int, int>{sizes_[l + 1], in_size(l)};
  }
  // Inputs that layer l reads: the previous layer's neurons, or its pooled map (conv pool > 1).
  int in_size(int l) const {
    return l > 0 && l - 1 < conv_layers() ? conv_[l - 1].pooled_outputs() : sizes_[l];
  }
  int conv_layers() const { return static_cast<int>(conv_.size()); }
  const std::vector<ConvShape>& conv() const { return conv_; }
  std::size_t offset(int l) const { return offsets_[l]; }
  View2<Real> weights(int l) const { return W_[l]; }

  View1<Real> params() const { return params_; }
  View1<Real> grads() const { return grads_; }
  // Event-driven or dense input current of a dense first layer (model.input_path); a
  // convolutional first layer is always event-driven.
  void set_input_path(const InputPathOptions& o) { input_.set_options(o); }
  const InputCurrent<Real>& input_current() const { return input_; }

  // Layer l uniform in [-a_l, a_l], a_l = scale * sqrt(3 / fan_in_l), a pure function of
  // (seed, flat index).
  void init_scaled(std::uint64_t seed, double scale);
  void set_weights_host(const std::vector<double>& w);
  // No state besides the weights (the layered network's batch normalisation has some).
  std::vector<double> buffers_host() const { return {}; }
  void set_buffers_host(const std::vector<double>& b) {
    if (!b.empty()) throw Error("model: this network has no buffers, the checkpoint has some");
  }  // the flat buffer
  std::vector<double> weights_host() const;

  void forward(const EventBatch& ev);
  void forward(const BatchBuilder<Real>& bb) { forward(bb.events()); }  // the trainer's form
  std::vector<double> loss(View3<const Real> guidance_raw, View1<const int> labels,
                           const LossParams& lp, Real scale) {
    return host_copy(loss_device(guidance_raw, labels, lp, scale));
  }
  View1<const Real> loss_device(View3<const Real> guidance_raw, View1<const int> labels,
                                const LossParams& lp, Real scale);  // the losses on the device
  void backward(const EventBatch& ev);
  void backward(const BatchBuilder<Real>& bb) { backward(bb.events()); }

  // Host copies of the last forward pass (first B samples), as SeedBilayer.
  std::vector<double> potentials_host() const;  // output layer, B*n*(steps+1)
  // The output potential sums on the device, (B, n, 1): what training takes the argmax of.
  View3<const Real> scores() const { return View3<const Real>(psum_.data(), B_, outputs(), 1); }
  // Hidden spikes of the last forward pass: B*h_l*(steps+1) of hidden layer l (0-based).
  std::vector<double> spikes_host(int l) const;
  // Mean spikes per hidden neuron and sample over points 1..steps, per hidden layer.
  std::vector<double> spike_rates() const;

 private:
  void reserve(int B);
  View3<Real> unpacked(int l) const;  // conv layer l's spikes in the scratch (B_, h_l, S1)

  std::vector<int> sizes_;
  std::vector<ConvShape> conv_;
  TimeGrid grid_, fine_;  // fine_ = {steps, steps}: identity interpolation of the output layer
  NeuronParams neuron_;
  HiddenParams hidden_;
  InputCurrent<Real> input_;
  std::vector<std::size_t> offsets_;
  int B_ = 0, cap_ = 0;
  View1<Real> params_, grads_;
  std::vector<View2<Real>> W_, dW_;
  View3<Real> c1_, dc1_;            // layer-1 raw-grid current and its gradient
  std::vector<View3<Real>> I_, V_;  // per hidden layer: current, pre-reset potential
  std::vector<SpikeBits> S_;        // per hidden layer: spikes, bit-packed over time
  std::vector<View3<Real>> dI_, dS_;
  std::vector<View3<Real>> Sp_, dSp_;  // per conv layer with pool > 1: pooled spikes, gradient
  View1<Real> Su_;  // a conv layer's spikes as Real for pooling / the next convolution (scratch)
  View3<Real> Iout_, dIout_, P_, Vout_, G_, dP_;
  View3<unsigned char> state_;
  View2<Real> psum_;
  View1<Real> loss_;
};

extern template class DeepSnn<double>;
extern template class DeepSnn<float>;

}  // namespace supsnn
