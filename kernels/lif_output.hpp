// Kernel family: the output layer's leaky integrate-and-fire dynamics with threshold, reset,
// refractory period and (lif-wta) winner-take-all inhibition, on the fine time grid, with BPTT
// through surrogate derivatives of the threshold (docs/model.md, "Intended dynamics").
//
// Per sample b and point s = 1..steps, for each output neuron j that is not held:
//   V = P(s-1) + I(s) - D;  spike if V >= P_th: P(s) = P_reset, hold for `refractory` points;
//   else P(s) = V.
// lif-wta: at the first point where any neuron spikes, the largest V among the spiking ones
// wins; every other neuron is set to P_in and held there for the rest of the sample.
// One work item per sample: the neurons of a sample are coupled by the inhibition.
#pragma once
#include "common.hpp"
#include "neuron_model.hpp"
#include "time_grid.hpp"

namespace supsnn {

// c: (B, n, T+1) -> P: (B, n, S1), V: (B, n, S1) pre-reset potentials, state: (B, n, S1),
// psum: (B, n). Point 0 is P = 0, state kHold.
template <class Real>
void lif_forward(const TimeGrid grid, const NeuronParams p, View3<const Real> c, View3<Real> P,
                 View3<Real> V, View3<unsigned char> state, View2<Real> psum) {
  const int B = static_cast<int>(c.extent(0)), n = static_cast<int>(c.extent(1));
  const Real leak = static_cast<Real>(p.leak), th = static_cast<Real>(p.threshold);
  const Real reset = static_cast<Real>(p.reset), inhibit = static_cast<Real>(p.inhibit);
  const bool wta = p.dynamics == Dynamics::LifWta;
  const int refractory = p.refractory;
  Kokkos::parallel_for(
      "supsnn::lif_forward", Kokkos::RangePolicy<ExecSpace>(0, B), KOKKOS_LAMBDA(const int b) {
        bool inhibited_phase = false;
        int winner = -1;
        for (int j = 0; j < n; ++j) {
          P(b, j, 0) = 0;
          V(b, j, 0) = 0;
          state(b, j, 0) = kHold;
          psum(b, j) = 0;
        }
        // Per-neuron refractory countdown; n is small (one output per class), 16 is plenty.
        int hold[16];
        for (int j = 0; j < n && j < 16; ++j) hold[j] = 0;
        for (int s = 1; s <= grid.steps; ++s) {
          // Pass 1: candidate potentials and spikes of this point.
          Real best = 0;
          int first = -1;
          for (int j = 0; j < n; ++j) {
            const Real v = P(b, j, s - 1) + grid.sample<Real>(c, b, j, s) - leak;
            V(b, j, s) = v;
            if (inhibited_phase && j != winner) {
              state(b, j, s) = kInhibited;
            } else if (hold[j] > 0) {
              state(b, j, s) = kHold;
            } else if (v >= th) {
              state(b, j, s) = kSpike;
              if (first < 0 || v > best) {
                best = v;
                first = j;
              }
            } else {
              state(b, j, s) = kIntegrate;
            }
          }
          const bool start_wta = wta && !inhibited_phase && first >= 0;
          if (start_wta) {
            inhibited_phase = true;
            winner = first;
          }
          // Pass 2: potentials after reset, refractoriness and inhibition.
          for (int j = 0; j < n; ++j) {
            Real out;
            if (inhibited_phase && j != winner) {
              out = inhibit;
              state(b, j, s) = kInhibited;
            } else if (state(b, j, s) == kHold) {
              out = P(b, j, s - 1);
              --hold[j];
            } else if (state(b, j, s) == kSpike) {
              out = reset;
              hold[j] = refractory;
            } else {
              out = V(b, j, s);
            }
            P(b, j, s) = out;
            psum(b, j) += out;
          }
        }
      });
}

// dP: (B, n, S1) -> dc: (B, n, T+1), overwritten. Reverse-time BPTT per (sample, neuron), with
// g = dL/dP(s) from the loss plus what flows back from point s+1:
//   integrate: g_V = g, and g_V flows to P(s-1);   spike: g_V = g (P_reset - V) surrogate(V -
//   P_th), and g_V flows to P(s-1);   hold (refractory): P(s) = P(s-1), g flows on, g_V = 0;
//   inhibited: P(s) = P_in, nothing flows.   dL/dI(s) = g_V, then the interpolation transpose.
template <class Real>
void lif_backward(const TimeGrid grid, const NeuronParams p, View3<const Real> V,
                  View3<const unsigned char> state, View3<const Real> dP, View3<Real> dc) {
  const int B = static_cast<int>(V.extent(0)), n = static_cast<int>(V.extent(1));
  const int T1 = grid.raw_steps + 1;
  const double th = p.threshold, reset = p.reset, w = p.width;
  const Surrogate sg = p.surrogate;
  Kokkos::parallel_for(
      "supsnn::lif_backward", RowMajorRange<2>({0, 0}, {B, n}),
      KOKKOS_LAMBDA(const int b, const int j) {
        for (int k = 0; k < T1; ++k) dc(b, j, k) = 0;
        Real carry = 0;  // dL/dP(s) that flows back from point s+1
        for (int s = grid.steps; s >= 1; --s) {
          const Real g = dP(b, j, s) + carry;
          Real gV = 0;
          switch (state(b, j, s)) {
            case kIntegrate:
              gV = g;
              carry = gV;
              break;
            case kSpike: {
              const double v = V(b, j, s);
              gV = g * static_cast<Real>((reset - v) * surrogate_grad(sg, v - th, w));
              carry = gV;
              break;
            }
            case kHold:
              carry = g;
              break;
            default:
              carry = 0;
          }
          grid.scatter(dc, b, j, s, gV);
        }
      });
}

}  // namespace supsnn
