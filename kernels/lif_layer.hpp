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

// Neurons per work item: on the host a block of neighbours, so that the inner loop runs over
// contiguous neurons (SIMD lanes) and time is the outer loop; on GPUs one neuron per thread, so
// that neighbouring threads read neighbouring addresses.
constexpr int kLifLanes = kHostExec ? 64 : 1;

// I: (T, N), or (1, N) when `broadcast` (the same current at every step: the direct input code's
// first layer). Writes H (pre-reset potentials, kept for BPTT) and S (0/1 spikes), both (T, N).
template <class Real>
void lif_layer_forward(const LifLayerParams& p, int T, int N, bool broadcast, View1<const Real> I,
                       View1<Real> H, View1<Real> S) {
  const Real inv_tau = p.leaky ? Real(1 / p.tau) : Real(1), th = static_cast<Real>(p.threshold);
  const bool leaky = p.leaky, soft = p.soft_reset;
  const int blocks = (N + kLifLanes - 1) / kLifLanes;
  Kokkos::parallel_for(
      "supsnn::lif_layer_forward", Kokkos::RangePolicy<ExecSpace>(0, blocks),
      KOKKOS_LAMBDA(const int blk) {
        const int i0 = blk * kLifLanes, n = N - i0 < kLifLanes ? N - i0 : kLifLanes;
        Real v[kLifLanes];
        for (int j = 0; j < n; ++j) v[j] = 0;
        for (int t = 0; t < T; ++t) {
          const std::size_t at = static_cast<std::size_t>(t) * N + i0;
          const Real* in = I.data() + (broadcast ? static_cast<std::size_t>(i0) : at);
          Real* h_out = H.data() + at;
          Real* s_out = S.data() + at;
          for (int j = 0; j < n; ++j) {
            // lif: V + (I - V) / tau; if: V + I (inv_tau = 1 and no decay term).
            const Real h = leaky ? v[j] + (in[j] - v[j]) * inv_tau : v[j] + in[j];
            const Real s = h >= th ? Real(1) : Real(0);
            h_out[j] = h;
            s_out[j] = s;
            v[j] = soft ? h - th * s : h * (Real(1) - s);
          }
        }
      });
}

// dS: dL/dS (T, N). Writes dI = dL/dI: (T, N), or (1, N) summed over time when `broadcast`.
// The surrogate kind is a template parameter so that its switch leaves the inner loop.
template <Surrogate Kind, class Real>
void lif_layer_backward_kind(const LifLayerParams& p, int T, int N, bool broadcast,
                             View1<const Real> H, View1<const Real> S, View1<const Real> dS,
                             View1<Real> dI) {
  const Real keep = p.leaky ? Real(1 - 1 / p.tau) : Real(1);
  const Real in = p.leaky ? Real(1 / p.tau) : Real(1);
  const Real th = static_cast<Real>(p.threshold), width = static_cast<Real>(p.width);
  const bool soft = p.soft_reset;
  const int blocks = (N + kLifLanes - 1) / kLifLanes;
  Kokkos::parallel_for(
      "supsnn::lif_layer_backward", Kokkos::RangePolicy<ExecSpace>(0, blocks),
      KOKKOS_LAMBDA(const int blk) {
        const int i0 = blk * kLifLanes, n = N - i0 < kLifLanes ? N - i0 : kLifLanes;
        Real dv[kLifLanes], sum[kLifLanes];  // dL/dV_t reaching step t from t + 1
        for (int j = 0; j < n; ++j) dv[j] = sum[j] = 0;
        for (int t = T - 1; t >= 0; --t) {
          const std::size_t at = static_cast<std::size_t>(t) * N + i0;
          const Real* h_in = H.data() + at;
          const Real* s_in = S.data() + at;
          const Real* ds_in = dS.data() + at;
          Real* di_out = dI.data() + at;
          for (int j = 0; j < n; ++j) {
            const Real h = h_in[j], s = s_in[j];
            const Real sg = static_cast<Real>(surrogate_grad_of<Kind>(h - th, width));
            const Real dvdh = soft ? Real(1) - th * sg : Real(1) - s - h * sg;
            const Real dh = ds_in[j] * sg + dv[j] * dvdh;
            if (broadcast)
              sum[j] += dh * in;
            else
              di_out[j] = dh * in;
            dv[j] = dh * keep;
          }
        }
        if (broadcast)
          for (int j = 0; j < n; ++j) dI(i0 + j) = sum[j];
      });
}

template <class Real>
void lif_layer_backward(const LifLayerParams& p, int T, int N, bool broadcast, View1<const Real> H,
                        View1<const Real> S, View1<const Real> dS, View1<Real> dI) {
  switch (p.surrogate) {
    case Surrogate::Arctan:
      return lif_layer_backward_kind<Surrogate::Arctan, Real>(p, T, N, broadcast, H, S, dS, dI);
    case Surrogate::Triangle:
      return lif_layer_backward_kind<Surrogate::Triangle, Real>(p, T, N, broadcast, H, S, dS, dI);
    default:
      return lif_layer_backward_kind<Surrogate::FastSigmoid, Real>(p, T, N, broadcast, H, S, dS,
                                                                   dI);
  }
}

}  // namespace supsnn
