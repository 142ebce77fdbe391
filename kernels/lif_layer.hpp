// Kernel: the spiking neuron of a layered network's conv, dense and norm layers (docs/model.md,
// "Layered networks"), declared once here and run by every such layer over the whole time axis
// (multi-step, as SpikingJelly's step_mode 'm'): the synaptic current of all T steps comes from
// one matrix product, this kernel runs the recurrence. Per neuron i, V_0 = 0, t = 1..T:
//   lif: H_t = V_{t-1} + (I_t - V_{t-1}) / tau        if: H_t = V_{t-1} + I_t
//   S_t = [H_t >= threshold]
//   hard reset: V_t = H_t (1 - S_t)                    soft reset: V_t = H_t - threshold S_t
// BPTT with the surrogate sg(H - threshold) for dS/dH (kernels/neuron_model.hpp), the gradient
// flowing through the reset too (SpikingJelly's detach_reset = False):
//   dL/dH_t = dL/dS_t sg + dL/dV_t dV/dH_t,  dV/dH_t = 1 - S_t - H_t sg (hard) or 1 - threshold sg
//   dL/dV_{t-1} = dL/dH_t (1 - 1/tau) (lif) or dL/dH_t (if);  dL/dI_t = dL/dH_t / tau (lif) or it.
// Tensors are time-folded: element (t, i) of a (T, N) tensor is at t N + i, N = batch x features.
// One work item per neuron walks time; neighbouring items touch neighbouring addresses at every
// step (coalesced on GPUs). No atomics: results are the same on every backend and thread count.
#pragma once
#include "common.hpp"
#include "neuron_model.hpp"

namespace supsnn {

struct LifLayerParams {
  bool leaky = true;       // lif (true) or if
  double tau = 2.0;        // lif only
  double threshold = 1.0;  // spike when H >= threshold
  bool soft_reset = false;
  Surrogate surrogate = Surrogate::Arctan;
  double width = 0.5;  // arctan at 0.5 is SpikingJelly's ATan(alpha = 2)
};

// The state update of one neuron at one step, shared by the kernels and the CPU reference.
KOKKOS_INLINE_FUNCTION double lif_charge(const LifLayerParams& p, double v, double i) {
  return p.leaky ? v + (i - v) / p.tau : v + i;
}
KOKKOS_INLINE_FUNCTION double lif_reset(const LifLayerParams& p, double h, double s) {
  return p.soft_reset ? h - p.threshold * s : h * (1.0 - s);
}

// I: (T, N), or (1, N) when `broadcast` (the same current at every step: the direct input code's
// first layer). Writes H (pre-reset potentials, kept for BPTT) and S (0/1 spikes), both (T, N).
template <class Real>
void lif_layer_forward(const LifLayerParams& p, int T, int N, bool broadcast, View1<const Real> I,
                       View1<Real> H, View1<Real> S) {
  Kokkos::parallel_for(
      "supsnn::lif_layer_forward", Kokkos::RangePolicy<ExecSpace>(0, N),
      KOKKOS_LAMBDA(const int i) {
        double v = 0;
        for (int t = 0; t < T; ++t) {
          const std::size_t at = static_cast<std::size_t>(t) * N + i;
          const double h = lif_charge(p, v, I(broadcast ? static_cast<std::size_t>(i) : at));
          const double s = h >= p.threshold ? 1.0 : 0.0;
          H(at) = static_cast<Real>(h);
          S(at) = static_cast<Real>(s);
          v = lif_reset(p, h, s);
        }
      });
}

// dS: dL/dS (T, N). Writes dI = dL/dI: (T, N), or (1, N) summed over time when `broadcast`.
template <class Real>
void lif_layer_backward(const LifLayerParams& p, int T, int N, bool broadcast, View1<const Real> H,
                        View1<const Real> S, View1<const Real> dS, View1<Real> dI) {
  Kokkos::parallel_for(
      "supsnn::lif_layer_backward", Kokkos::RangePolicy<ExecSpace>(0, N),
      KOKKOS_LAMBDA(const int i) {
        double dv = 0, sum = 0;  // dL/dV_t, reaching step t from t + 1
        const double keep = p.leaky ? 1.0 - 1.0 / p.tau : 1.0, in = p.leaky ? 1.0 / p.tau : 1.0;
        for (int t = T - 1; t >= 0; --t) {
          const std::size_t at = static_cast<std::size_t>(t) * N + i;
          const double h = H(at), s = S(at);
          const double sg = surrogate_grad(p.surrogate, h - p.threshold, p.width);
          const double dvdh = p.soft_reset ? 1.0 - p.threshold * sg : 1.0 - s - h * sg;
          const double dh = dS(at) * sg + dv * dvdh;
          if (broadcast)
            sum += dh * in;
          else
            dI(at) = static_cast<Real>(dh * in);
          dv = dh * keep;
        }
        if (broadcast) dI(i) = static_cast<Real>(sum);
      });
}

}  // namespace supsnn
