// Kernel family of the hidden layers of a deep SNN (docs/model.md, "Deep SNN"): dense LIF
// neurons with spiking outputs on the fine time grid, and the dense spike-driven current of the
// next layer.
//
// Hidden LIF per (sample b, neuron i), points s = 1..steps, P(0) = 0:
//   V(s) = P(s-1) + I(s) - D_h,  S(s) = [V(s) >= theta_h],  P(s) = V(s) (1 - S(s))  (reset to 0).
// Backward (reverse time) with the surrogate sigma'(x) of dS/dV (kernels/neuron_model.hpp):
//   dL/dV(s) = dL/dS(s) sigma'(V - theta) + g_P(s) ((1 - S) - V sigma'(V - theta)),
//   g_P(s-1) = dL/dV(s),  dL/dI(s) = dL/dV(s).
// Spike current of the next layer: I(b, j, s) = sum_i W(j, i) S(b, i, s).
// Every kernel is a gather (each work item writes only its own outputs): no atomics.
// Spikes are kept bit-packed (kernels/spike_bits.hpp); the spike-current kernels also take Real
// inputs, for sum-pooled spike counts of convolutional layers.
#pragma once
#include "common.hpp"
#include "neuron_model.hpp"
#include "spike_bits.hpp"

namespace supsnn {

struct HiddenParams {
  double threshold = 1.0;  // theta_h
  double leak = 0.0;       // D_h, subtracted at every point
  Surrogate surrogate = Surrogate::FastSigmoid;
  double width = 0.5;  // surrogate width, in hidden potential units
};

// I: (B, h, S1) -> V: (B, h, S1) pre-reset potentials, S: (B, h, spike_words(S1)) spike bits.
// Point 0: V = 0, no spike.
template <class Real>
void hidden_lif_forward(const HiddenParams p, View3<const Real> I, View3<Real> V, SpikeBits S) {
  const int B = static_cast<int>(I.extent(0)), h = static_cast<int>(I.extent(1));
  const int S1 = static_cast<int>(I.extent(2));
  const Real th = static_cast<Real>(p.threshold), leak = static_cast<Real>(p.leak);
  Kokkos::parallel_for(
      "supsnn::hidden_lif_forward", RowMajorRange<2>({0, 0}, {B, h}),
      KOKKOS_LAMBDA(const int b, const int i) {
        V(b, i, 0) = 0;
        std::uint32_t word = 0;  // bit 0 (point 0) stays clear
        Real P = 0;
        for (int s = 1; s < S1; ++s) {
          if ((s & 31) == 0) {  // a word is full: store it, start the next
            S(b, i, (s >> 5) - 1) = word;
            word = 0;
          }
          const Real v = P + I(b, i, s) - leak;
          const bool spike = v >= th;
          V(b, i, s) = v;
          word |= static_cast<std::uint32_t>(spike) << (s & 31);
          P = spike ? Real(0) : v;
        }
        S(b, i, (S1 - 1) >> 5) = word;
      });
}

// dS: (B, h, S1) -> dI: (B, h, S1), overwritten (dI(0) = 0). One work item per (b, i).
template <class Real>
void hidden_lif_backward(const HiddenParams p, View3<const Real> V, ConstSpikeBits S,
                         View3<const Real> dS, View3<Real> dI) {
  const int B = static_cast<int>(V.extent(0)), h = static_cast<int>(V.extent(1));
  const int S1 = static_cast<int>(V.extent(2));
  const double th = p.threshold, w = p.width;
  const Surrogate sg = p.surrogate;
  Kokkos::parallel_for(
      "supsnn::hidden_lif_backward", RowMajorRange<2>({0, 0}, {B, h}),
      KOKKOS_LAMBDA(const int b, const int i) {
        Real gP = 0;  // dL/dP(s), flowing back from point s+1
        for (int s = S1 - 1; s >= 1; --s) {
          const Real v = V(b, i, s);
          const Real sig = static_cast<Real>(surrogate_grad(sg, static_cast<double>(v) - th, w));
          const Real notS = spike_at(S, b, i, s) ? Real(0) : Real(1);
          const Real gV = dS(b, i, s) * sig + gP * (notS - v * sig);
          dI(b, i, s) = gV;
          gP = gV;
        }
        dI(b, i, 0) = 0;
      });
}

// W: (n, h), S: (B, h, S1) -> I: (B, n, S1). One work item per (b, j, s).
template <class Real>
void spike_current_forward(View2<const Real> W, View3<const Real> S, View3<Real> I) {
  const int B = static_cast<int>(I.extent(0)), n = static_cast<int>(I.extent(1));
  const int S1 = static_cast<int>(I.extent(2)), h = static_cast<int>(W.extent(1));
  Kokkos::parallel_for(
      "supsnn::spike_current_forward", RowMajorRange<3>({0, 0, 0}, {B, n, S1}),
      KOKKOS_LAMBDA(const int b, const int j, const int s) {
        Real acc = 0;
        for (int i = 0; i < h; ++i) acc += W(j, i) * S(b, i, s);
        I(b, j, s) = acc;
      });
}

// dW(j, i) = sum_{b, s} dI(b, j, s) S(b, i, s), overwritten. One team per (j, i) reducing over
// (b, s): a 3- or 10-neuron output layer has few weights per input and long sums (issue #18); a
// one-thread team (host backends) adds in (b, s) order, as before.
template <class Real>
void spike_current_backward_weights(View3<const Real> dI, View3<const Real> S, View2<Real> dW) {
  const int B = static_cast<int>(dI.extent(0)), S1 = static_cast<int>(dI.extent(2));
  const int n = static_cast<int>(dW.extent(0)), h = static_cast<int>(dW.extent(1));
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  Kokkos::parallel_for(
      "supsnn::spike_current_backward_weights", Policy(n * h, Kokkos::AUTO),
      KOKKOS_LAMBDA(const typename Policy::member_type& team) {
        const int j = team.league_rank() / h, i = team.league_rank() % h;
        Real acc = 0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, B * S1),
            [&](const int q, Real& part) { part += dI(q / S1, j, q % S1) * S(q / S1, i, q % S1); },
            acc);
        Kokkos::single(Kokkos::PerTeam(team), [&] { dW(j, i) = acc; });
      });
}

// The same two products from spike bits: adding W only where a spike is set gives the same sums,
// bit for bit, as multiplying by 0 / 1 (x + 0 * w = x for finite w).
template <class Real>
void spike_current_forward(View2<const Real> W, ConstSpikeBits S, View3<Real> I) {
  const int B = static_cast<int>(I.extent(0)), n = static_cast<int>(I.extent(1));
  const int S1 = static_cast<int>(I.extent(2)), h = static_cast<int>(W.extent(1));
  Kokkos::parallel_for(
      "supsnn::spike_current_forward_bits", RowMajorRange<3>({0, 0, 0}, {B, n, S1}),
      KOKKOS_LAMBDA(const int b, const int j, const int s) {
        Real acc = 0;
        for (int i = 0; i < h; ++i)
          if (spike_at(S, b, i, s)) acc += W(j, i);
        I(b, j, s) = acc;
      });
}

template <class Real>
void spike_current_backward_weights(View3<const Real> dI, ConstSpikeBits S, View2<Real> dW) {
  const int B = static_cast<int>(dI.extent(0)), S1 = static_cast<int>(dI.extent(2));
  const int n = static_cast<int>(dW.extent(0)), h = static_cast<int>(dW.extent(1));
  Kokkos::parallel_for(
      "supsnn::spike_current_backward_weights_bits", RowMajorRange<2>({0, 0}, {n, h}),
      KOKKOS_LAMBDA(const int j, const int i) {
        Real acc = 0;
        for (int b = 0; b < B; ++b)
          for (int s = 0; s < S1; ++s)
            if (spike_at(S, b, i, s)) acc += dI(b, j, s);
        dW(j, i) = acc;
      });
}

// dS(b, i, s) = sum_j W(j, i) dI(b, j, s), overwritten. One work item per (b, i, s).
template <class Real>
void spike_current_backward_input(View2<const Real> W, View3<const Real> dI, View3<Real> dS) {
  const int B = static_cast<int>(dS.extent(0)), h = static_cast<int>(dS.extent(1));
  const int S1 = static_cast<int>(dS.extent(2)), n = static_cast<int>(W.extent(0));
  Kokkos::parallel_for(
      "supsnn::spike_current_backward_input", RowMajorRange<3>({0, 0, 0}, {B, h, S1}),
      KOKKOS_LAMBDA(const int b, const int i, const int s) {
        Real acc = 0;
        for (int j = 0; j < n; ++j) acc += W(j, i) * dI(b, j, s);
        dS(b, i, s) = acc;
      });
}

// Plain CPU references on flat row-major arrays: I, V, S, dS, dI (B, h, S1); W (n, h).
template <class Real>
void hidden_lif_forward_ref(const HiddenParams& p, int B, int h, int S1, const Real* I, Real* V,
                            Real* S) {
  for (int r = 0; r < B * h; ++r) {
    double P = 0;
    V[r * S1] = 0;
    S[r * S1] = 0;
    for (int s = 1; s < S1; ++s) {
      const double v = P + I[r * S1 + s] - p.leak;
      V[r * S1 + s] = static_cast<Real>(v);
      S[r * S1 + s] = v >= p.threshold ? 1 : 0;
      P = v >= p.threshold ? 0 : v;
    }
  }
}

template <class Real>
void hidden_lif_backward_ref(const HiddenParams& p, int B, int h, int S1, const Real* V,
                             const Real* S, const Real* dS, Real* dI) {
  for (int r = 0; r < B * h; ++r) {
    double gP = 0;
    dI[r * S1] = 0;
    for (int s = S1 - 1; s >= 1; --s) {
      const double v = V[r * S1 + s], sig = surrogate_grad(p.surrogate, v - p.threshold, p.width);
      const double gV = dS[r * S1 + s] * sig + gP * ((1 - S[r * S1 + s]) - v * sig);
      dI[r * S1 + s] = static_cast<Real>(gV);
      gP = gV;
    }
  }
}

template <class Real>
void spike_current_forward_ref(int B, int n, int h, int S1, const Real* W, const Real* S, Real* I) {
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < n; ++j)
      for (int s = 0; s < S1; ++s) {
        double acc = 0;
        for (int i = 0; i < h; ++i) acc += W[j * h + i] * S[(b * h + i) * S1 + s];
        I[(b * n + j) * S1 + s] = static_cast<Real>(acc);
      }
}

template <class Real>
void spike_current_backward_ref(int B, int n, int h, int S1, const Real* W, const Real* S,
                                const Real* dI, Real* dW, Real* dS) {
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < h; ++i) {
      double acc = 0;
      for (int b = 0; b < B; ++b)
        for (int s = 0; s < S1; ++s) acc += dI[(b * n + j) * S1 + s] * S[(b * h + i) * S1 + s];
      dW[j * h + i] = static_cast<Real>(acc);
    }
  for (int b = 0; b < B; ++b)
    for (int i = 0; i < h; ++i)
      for (int s = 0; s < S1; ++s) {
        double acc = 0;
        for (int j = 0; j < n; ++j) acc += W[j * h + i] * dI[(b * n + j) * S1 + s];
        dS[(b * h + i) * S1 + s] = static_cast<Real>(acc);
      }
}

}  // namespace supsnn
