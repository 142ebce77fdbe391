// The seed's supervised bilayer SNN (seed-model.md section 3) in seed-compat dynamics: m inputs
// -> n output neurons, W (n x m). Forward: event-driven input current, interpolation onto the
// fine time grid, integration with leak. Loss on the label row against interpolated guidance;
// BPTT through the integration and the events. Parameters and gradients are flat buffers so that
// the all-reduce and the optimiser see one contiguous array.
#pragma once
#include <cstdint>
#include <vector>

#include "common/error.hpp"
#include "data/batch.hpp"
#include "kernels/common.hpp"
#include "kernels/event_current.hpp"
#include "kernels/interp.hpp"
#include "kernels/lif_output.hpp"
#include "kernels/neuron_model.hpp"
#include "kernels/seed_integrate.hpp"
#include "kernels/time_grid.hpp"
#include "kernels/trace_loss.hpp"
#include "model/input_current.hpp"
#include "model/output_loss.hpp"

namespace supsnn {

template <class Real>
class SeedBilayer {
 public:
  // Seed-compat integrator dynamics with leak D (the golden-tested mode of the seed's code).
  SeedBilayer(int outputs, int inputs, TimeGrid grid, Real leak);
  // Any output dynamics: integrator, lif or lif-wta (kernels/neuron_model.hpp).
  SeedBilayer(int outputs, int inputs, TimeGrid grid, const NeuronParams& neuron);

  int outputs() const { return n_; }
  int inputs() const { return m_; }
  const TimeGrid& grid() const { return grid_; }
  const NeuronParams& neuron() const { return neuron_; }

  View1<Real> params() const { return params_; }  // W, row-major n x m
  View1<Real> grads() const { return grads_; }    // dL/dW of the last backward()
  View2<Real> weights() const { return W_; }
  // Event-driven or dense input current (model.input_path); the last batch's choice.
  void set_input_path(const InputPathOptions& o) { input_.set_options(o); }
  const InputCurrent<Real>& input_current() const { return input_; }

  // W(j,i) uniform in [lo, hi], a pure function of (seed, j*m+i).
  void init_uniform(std::uint64_t seed, double lo, double hi);
  void set_weights_host(const std::vector<double>& w);
  // No state besides the weights (the layered network's batch normalisation has some).
  std::vector<double> buffers_host() const { return {}; }
  void set_buffers_host(const std::vector<double>& b) {
    if (!b.empty()) throw Error("model: this network has no buffers, the checkpoint has some");
  }  // n*m row-major
  std::vector<double> weights_host() const;

  // Fills the potentials P (B, n, steps+1) and their time sums for the batch.
  void forward(const EventBatch& ev);
  void forward(const BatchBuilder<Real>& bb) { forward(bb.events()); }  // the trainer's form
  // Needs forward() on the same batch. Returns the per-sample losses and keeps dL/dP scaled by
  // `scale` (1 / global batch) for backward(). guidance_raw: (>=B, n, T+1); labels: (>=B).
  std::vector<double> loss(View3<const Real> guidance_raw, View1<const int> labels, LossKind kind,
                           Real delta, Real scale);
  // Any loss, including the cross-entropy readout (which ignores the guidance).
  std::vector<double> loss(View3<const Real> guidance_raw, View1<const int> labels,
                           const LossParams& lp, Real scale) {
    return host_copy(loss_device(guidance_raw, labels, lp, scale));
  }
  // The same, the losses left on the device (B).
  View1<const Real> loss_device(View3<const Real> guidance_raw, View1<const int> labels,
                                const LossParams& lp, Real scale);
  // Needs loss() on the same batch. Overwrites grads with scale * sum_b dL_b/dW.
  void backward(const EventBatch& ev);
  void backward(const BatchBuilder<Real>& bb) { backward(bb.events()); }

  // Host copies of the last forward pass (first B samples).
  std::vector<double> potentials_host() const;      // B*n*(steps+1)
  std::vector<double> potential_sums_host() const;  // B*n
  // argmax_j sum_t P_j(t) per sample.
  std::vector<int> predictions() const;
  // What predictions() takes the argmax of, on the device: (B, n, 1).
  View3<const Real> scores() const { return View3<const Real>(psum_.data(), B_, n_, 1); }

 private:
  void reserve(int B);

  int n_, m_;
  TimeGrid grid_;
  NeuronParams neuron_;
  InputCurrent<Real> input_;
  int B_ = 0;
  View1<Real> params_, grads_;
  View2<Real> W_, dW_;
  View3<Real> c_, P_, V_, G_, dP_, dc_;
  View3<unsigned char> state_;
  View2<Real> psum_;
  View1<Real> loss_;
};

extern template class SeedBilayer<double>;
extern template class SeedBilayer<float>;

}  // namespace supsnn
