#include "model/seed_bilayer.hpp"

#include "common/error.hpp"
#include "common/rng.hpp"
#include "model/host_views.hpp"

namespace supsnn {

namespace {
NeuronParams integrator(double leak) {
  NeuronParams p;
  p.leak = leak;
  return p;
}
}  // namespace

template <class Real>
SeedBilayer<Real>::SeedBilayer(int outputs, int inputs, TimeGrid grid, Real leak)
    : SeedBilayer(outputs, inputs, grid, integrator(leak)) {}

template <class Real>
SeedBilayer<Real>::SeedBilayer(int outputs, int inputs, TimeGrid grid, const NeuronParams& neuron)
    : n_(outputs), m_(inputs), grid_(grid), neuron_(neuron) {
  if (n_ < 1 || m_ < 1) throw Error("model: need at least one input and one output neuron");
  if (neuron_.dynamics != Dynamics::Integrator && n_ > 16)
    throw Error("model: lif dynamics support at most 16 output neurons, got " + std::to_string(n_));
  params_ = View1<Real>("params", static_cast<std::size_t>(n_) * m_);
  grads_ = View1<Real>("grads", static_cast<std::size_t>(n_) * m_);
  W_ = View2<Real>(params_.data(), n_, m_);
  dW_ = View2<Real>(grads_.data(), n_, m_);
}

template <class Real>
void SeedBilayer<Real>::reserve(int B) {
  if (static_cast<int>(c_.extent(0)) < B) {
    const int T1 = grid_.raw_steps + 1, S1 = grid_.steps + 1;
    c_ = View3<Real>("current", B, n_, T1);
    dc_ = View3<Real>("d_current", B, n_, T1);
    P_ = View3<Real>("potential", B, n_, S1);
    if (neuron_.dynamics != Dynamics::Integrator) {
      V_ = View3<Real>("pre_reset_potential", B, n_, S1);
      state_ = View3<unsigned char>("neuron_state", B, n_, S1);
    }
    G_ = View3<Real>("guidance", B, n_, S1);
    dP_ = View3<Real>("d_potential", B, n_, S1);
    psum_ = View2<Real>("potential_sum", B, n_);
    loss_ = View1<Real>("loss", B);
  }
}

template <class Real>
void SeedBilayer<Real>::init_uniform(std::uint64_t seed, double lo, double hi) {
  auto h = Kokkos::create_mirror_view(params_);
  for (std::size_t i = 0; i < h.extent(0); ++i)
    h(i) = static_cast<Real>(lo + (hi - lo) * uniform01(seed, kStreamInit, i));
  Kokkos::deep_copy(params_, h);
}

template <class Real>
void SeedBilayer<Real>::set_weights_host(const std::vector<double>& w) {
  if (w.size() != params_.extent(0)) throw Error("model: weight vector has the wrong size");
  copy_to_device<Real>(w, params_);
}

template <class Real>
std::vector<double> SeedBilayer<Real>::weights_host() const {
  return host_copy(params_);
}

template <class Real>
void SeedBilayer<Real>::forward(const EventBatch& ev) {
  if (ev.inputs != m_ || ev.raw_steps != grid_.raw_steps)
    throw Error("model: batch has " + std::to_string(ev.inputs) + " inputs x " +
                std::to_string(ev.raw_steps + 1) + " samples, model expects " + std::to_string(m_) +
                " x " + std::to_string(grid_.raw_steps + 1));
  reserve(ev.batch);
  B_ = ev.batch;
  const auto c = first_samples(c_, B_);
  input_.forward(ev, W_, c);
  const auto psum = Kokkos::subview(psum_, std::make_pair(0, B_), Kokkos::ALL);
  if (neuron_.dynamics == Dynamics::Integrator)
    seed_integrate_forward<Real>(grid_, static_cast<Real>(neuron_.leak), c, first_samples(P_, B_),
                                 psum);
  else
    lif_forward<Real>(grid_, neuron_, c, first_samples(P_, B_), first_samples(V_, B_),
                      first_samples(state_, B_), psum);
}

template <class Real>
std::vector<double> SeedBilayer<Real>::loss(View3<const Real> guidance_raw, View1<const int> labels,
                                            LossKind kind, Real delta, Real scale) {
  LossParams lp;
  lp.kind = kind;
  lp.delta = delta;
  return loss(guidance_raw, labels, lp, scale);
}

template <class Real>
View1<const Real> SeedBilayer<Real>::loss_device(View3<const Real> guidance_raw,
                                                 View1<const int> labels, const LossParams& lp,
                                                 Real scale) {
  return output_loss<Real>(grid_, B_, lp, scale, guidance_raw, labels, P_, G_, loss_, dP_);
}

template <class Real>
void SeedBilayer<Real>::backward(const EventBatch& ev) {
  if (ev.batch != B_) throw Error("model: backward() on a batch that forward() did not see");
  if (neuron_.dynamics == Dynamics::Integrator)
    seed_integrate_backward<Real>(grid_, first_samples(dP_, B_), first_samples(dc_, B_));
  else
    lif_backward<Real>(grid_, neuron_, first_samples(V_, B_), first_samples(state_, B_),
                       first_samples(dP_, B_), first_samples(dc_, B_));
  input_.backward(ev, first_samples(dc_, B_), dW_);
}

template <class Real>
std::vector<double> SeedBilayer<Real>::potentials_host() const {
  return host_copy(first_samples(P_, B_));
}

template <class Real>
std::vector<double> SeedBilayer<Real>::potential_sums_host() const {
  return host_copy(first_samples(psum_, B_));
}

template <class Real>
std::vector<int> SeedBilayer<Real>::predictions() const {
  return argmax_rows(potential_sums_host(), B_, n_);
}

template class SeedBilayer<double>;
template class SeedBilayer<float>;

}  // namespace supsnn
