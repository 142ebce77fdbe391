#include "model/deep_snn.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "model/host_views.hpp"

namespace supsnn {

template <class Real>
DeepSnn<Real>::DeepSnn(const std::vector<int>& sizes, TimeGrid grid, const NeuronParams& neuron,
                       const HiddenParams& hidden, const std::vector<ConvShape>& conv)
    : sizes_(sizes),
      conv_(conv),
      grid_(grid),
      fine_{grid.steps, grid.steps},
      neuron_(neuron),
      hidden_(hidden) {
  if (sizes_.size() < 3) throw Error("model: a deep SNN needs at least one hidden layer");
  for (int s : sizes_)
    if (s < 1) throw Error("model: every layer needs at least one neuron");
  if (neuron_.dynamics != Dynamics::Integrator && outputs() > 16)
    throw Error("model: lif dynamics support at most 16 output neurons, got " +
                std::to_string(outputs()));
  if (conv_layers() > layers() - 1)
    throw Error("model: more convolutional layers than hidden layers");
  for (int l = 0; l < conv_layers(); ++l) {
    try {
      conv_[l].check();
    } catch (const std::invalid_argument& e) {
      throw Error(std::string("model: ") + e.what());
    }
    if (conv_[l].inputs() != in_size(l) || conv_[l].outputs() != sizes_[l + 1])
      throw Error("model: convolutional layer " + std::to_string(l + 1) +
                  " does not match the layer sizes");
  }
  std::size_t total = 0;
  for (int l = 0; l < layers(); ++l) {
    offsets_.push_back(total);
    const auto [rows, cols] = shape(l);
    total += static_cast<std::size_t>(rows) * cols;
  }
  params_ = View1<Real>("params", total);
  grads_ = View1<Real>("grads", total);
  for (int l = 0; l < layers(); ++l) {
    const auto [rows, cols] = shape(l);
    W_.emplace_back(params_.data() + offsets_[l], rows, cols);
    dW_.emplace_back(grads_.data() + offsets_[l], rows, cols);
  }
}

template <class Real>
void DeepSnn<Real>::reserve(int B) {
  if (cap_ >= B) return;
  cap_ = B;
  const int T1 = grid_.raw_steps + 1, S1 = grid_.steps + 1, n = outputs();
  c1_ = View3<Real>("current1", B, sizes_[1], T1);
  dc1_ = View3<Real>("d_current1", B, sizes_[1], T1);
  I_.clear();
  V_.clear();
  S_.clear();
  dI_.clear();
  dS_.clear();
  for (int l = 1; l + 1 < static_cast<int>(sizes_.size()); ++l) {
    I_.emplace_back("hidden_current", B, sizes_[l], S1);
    V_.emplace_back("hidden_potential", B, sizes_[l], S1);
    S_.emplace_back("hidden_spike_bits", B, sizes_[l], spike_words(S1));
    dI_.emplace_back("d_hidden_current", B, sizes_[l], S1);
    dS_.emplace_back("d_hidden_spikes", B, sizes_[l], S1);
  }
  Sp_.clear();
  dSp_.clear();
  int widest_conv = 0;
  for (int l = 0; l < conv_layers(); ++l) widest_conv = std::max(widest_conv, sizes_[l + 1]);
  Su_ = View1<Real>("conv_spikes_unpacked", static_cast<std::size_t>(B) * widest_conv * S1);
  for (int l = 0; l < conv_layers(); ++l) {
    const int np = conv_[l].pool > 1 ? conv_[l].pooled_outputs() : 0;
    Sp_.emplace_back("pooled_spikes", np > 0 ? B : 0, np, S1);
    dSp_.emplace_back("d_pooled_spikes", np > 0 ? B : 0, np, S1);
  }
  Iout_ = View3<Real>("output_current", B, n, S1);
  dIout_ = View3<Real>("d_output_current", B, n, S1);
  P_ = View3<Real>("potential", B, n, S1);
  if (neuron_.dynamics != Dynamics::Integrator) {
    Vout_ = View3<Real>("pre_reset_potential", B, n, S1);
    state_ = View3<unsigned char>("neuron_state", B, n, S1);
  }
  G_ = View3<Real>("guidance", B, n, S1);
  dP_ = View3<Real>("d_potential", B, n, S1);
  psum_ = View2<Real>("potential_sum", B, n);
  loss_ = View1<Real>("loss", B);
}

template <class Real>
void DeepSnn<Real>::init_scaled(std::uint64_t seed, double scale) {
  auto h = Kokkos::create_mirror_view(params_);
  for (int l = 0; l < layers(); ++l) {
    const auto [rows, cols] = shape(l);  // fan_in = cols, also for a convolution
    const double a = scale * std::sqrt(3.0 / cols);
    const std::size_t end = offsets_[l] + static_cast<std::size_t>(rows) * cols;
    for (std::size_t q = offsets_[l]; q < end; ++q)
      h(q) = static_cast<Real>(a * (2 * uniform01(seed, kStreamInit, q) - 1));
  }
  Kokkos::deep_copy(params_, h);
}

template <class Real>
void DeepSnn<Real>::set_weights_host(const std::vector<double>& w) {
  if (w.size() != params_.extent(0)) throw Error("model: weight vector has the wrong size");
  copy_to_device<Real>(w, params_);
}

template <class Real>
std::vector<double> DeepSnn<Real>::weights_host() const {
  return host_copy(params_);
}

template <class Real>
void DeepSnn<Real>::forward(const EventBatch& ev) {
  if (ev.inputs != inputs() || ev.raw_steps != grid_.raw_steps)
    throw Error("model: batch has " + std::to_string(ev.inputs) + " inputs x " +
                std::to_string(ev.raw_steps + 1) + " samples, model expects " +
                std::to_string(inputs()) + " x " + std::to_string(grid_.raw_steps + 1));
  reserve(ev.batch);
  B_ = ev.batch;
  const int L = static_cast<int>(I_.size());
  if (conv_layers() > 0) {
    conv_event_forward<Real>(conv_[0], ev, W_[0], first_samples(c1_, B_));
  } else {
    input_.forward(ev, W_[0], first_samples(c1_, B_));
  }
  interp_time<Real>(grid_, first_samples(c1_, B_), first_samples(I_[0], B_));
  for (int l = 0; l < L; ++l) {
    hidden_lif_forward<Real>(hidden_, first_samples(I_[l], B_), first_samples(V_[l], B_),
                             first_samples(S_[l], B_));
    const auto next = l + 1 < L ? first_samples(I_[l + 1], B_) : first_samples(Iout_, B_);
    const auto bits = first_samples(S_[l], B_);
    if (l < conv_layers()) {
      // Pooling and convolutions read Real spikes: unpack into the shared scratch.
      const auto S = unpacked(l);
      unpack_spikes<Real>(bits, S);
      const bool pooled = conv_[l].pool > 1;
      if (pooled) sum_pool_forward<Real>(conv_[l].pool_shape(), S, first_samples(Sp_[l], B_));
      const View3<Real> src = pooled ? View3<Real>(first_samples(Sp_[l], B_)) : S;
      if (l + 1 < conv_layers())
        conv_forward<Real>(conv_[l + 1], src, W_[l + 1], next);
      else
        spike_current_forward<Real>(W_[l + 1], src, next);
    } else {
      spike_current_forward<Real>(W_[l + 1], bits, next);
    }
  }
  // The output layer on the fine grid: the identity grid makes its current the "raw" current.
  const auto psum = Kokkos::subview(psum_, std::make_pair(0, B_), Kokkos::ALL);
  if (neuron_.dynamics == Dynamics::Integrator)
    seed_integrate_forward<Real>(fine_, static_cast<Real>(neuron_.leak), first_samples(Iout_, B_),
                                 first_samples(P_, B_), psum);
  else
    lif_forward<Real>(fine_, neuron_, first_samples(Iout_, B_), first_samples(P_, B_),
                      first_samples(Vout_, B_), first_samples(state_, B_), psum);
}

template <class Real>
View1<const Real> DeepSnn<Real>::loss_device(View3<const Real> guidance_raw,
                                             View1<const int> labels, const LossParams& lp,
                                             Real scale) {
  return output_loss<Real>(grid_, B_, lp, scale, guidance_raw, labels, P_, G_, loss_, dP_);
}

template <class Real>
void DeepSnn<Real>::backward(const EventBatch& ev) {
  if (ev.batch != B_) throw Error("model: backward() on a batch that forward() did not see");
  const int L = static_cast<int>(I_.size());
  if (neuron_.dynamics == Dynamics::Integrator)
    seed_integrate_backward<Real>(fine_, first_samples(dP_, B_), first_samples(dIout_, B_));
  else
    lif_backward<Real>(fine_, neuron_, first_samples(Vout_, B_), first_samples(state_, B_),
                       first_samples(dP_, B_), first_samples(dIout_, B_));
  for (int l = L - 1; l >= 0; --l) {
    // dI of the layer that layer l's spikes drive.
    const auto dnext = l + 1 < L ? first_samples(dI_[l + 1], B_) : first_samples(dIout_, B_);
    const auto bits = first_samples(S_[l], B_);
    const bool pooled = l < conv_layers() && conv_[l].pool > 1;
    const auto dsrc = pooled ? first_samples(dSp_[l], B_) : first_samples(dS_[l], B_);
    if (l < conv_layers()) {
      View3<Real> src;
      if (pooled) {
        src = first_samples(Sp_[l], B_);
      } else {  // the scratch holds another layer's spikes by now: unpack again
        src = unpacked(l);
        unpack_spikes<Real>(bits, src);
      }
      if (l + 1 < conv_layers()) {
        conv_backward_weights<Real>(conv_[l + 1], dnext, src, dW_[l + 1]);
        conv_backward_input<Real>(conv_[l + 1], W_[l + 1], dnext, dsrc);
      } else {
        spike_current_backward_weights<Real>(dnext, src, dW_[l + 1]);
        spike_current_backward_input<Real>(W_[l + 1], dnext, dsrc);
      }
    } else {
      spike_current_backward_weights<Real>(dnext, bits, dW_[l + 1]);
      spike_current_backward_input<Real>(W_[l + 1], dnext, dsrc);
    }
    if (pooled) sum_pool_backward<Real>(conv_[l].pool_shape(), dsrc, first_samples(dS_[l], B_));
    hidden_lif_backward<Real>(hidden_, first_samples(V_[l], B_), first_samples(S_[l], B_),
                              first_samples(dS_[l], B_), first_samples(dI_[l], B_));
  }
  interp_time_backward<Real>(grid_, first_samples(dI_[0], B_), first_samples(dc1_, B_));
  if (conv_layers() > 0)
    conv_event_backward_weights<Real>(conv_[0], ev, first_samples(dc1_, B_), dW_[0]);
  else
    input_.backward(ev, first_samples(dc1_, B_), dW_[0]);
}

template <class Real>
std::vector<double> DeepSnn<Real>::potentials_host() const {
  return host_copy(first_samples(P_, B_));
}

template <class Real>
View3<Real> DeepSnn<Real>::unpacked(int l) const {
  // A contiguous (B_, h_l, S1) view over the front of the scratch buffer.
  return View3<Real>(Su_.data(), B_, sizes_[l + 1], grid_.steps + 1);
}

template <class Real>
std::vector<double> DeepSnn<Real>::spikes_host(int l) const {
  const auto bits = host_copy(first_samples(S_.at(l), B_));  // words, exact in double
  const int h = sizes_.at(l + 1), S1 = grid_.steps + 1, words = spike_words(S1);
  std::vector<double> out(static_cast<std::size_t>(B_) * h * S1);
  for (std::size_t r = 0; r < static_cast<std::size_t>(B_) * h; ++r)
    for (int s = 0; s < S1; ++s)
      out[r * S1 + s] = (static_cast<std::uint32_t>(bits[r * words + (s >> 5)]) >> (s & 31)) & 1u;
  return out;
}

template <class Real>
std::vector<double> DeepSnn<Real>::spike_rates() const {
  std::vector<double> rates;
  for (std::size_t l = 0; l < S_.size(); ++l) {
    const auto s = spikes_host(static_cast<int>(l));
    double sum = 0;
    for (double x : s) sum += x;
    const double cells = static_cast<double>(B_) * sizes_[l + 1];
    rates.push_back(cells > 0 ? sum / cells : 0.0);
  }
  return rates;
}

template class DeepSnn<double>;
template class DeepSnn<float>;

}  // namespace supsnn
