// Kernel family: event-driven synaptic input current, c(b,j,k) = sum_i W(j,i) x_b(i,k) for
// binary raw spikes x, computed from events so that cost follows spikes (not m x T).
// Backward: dW(j,i) = sum_b sum_k dc(b,j,k) x_b(i,k) over the events of input i, summed in
// (sample, step) order on every path (CPUs: a scatter per output row, cost ~ events; GPUs: a
// gather per input, no atomics), so the result is bit-reproducible and the same on both.
#pragma once
#include <stdexcept>

#include "common.hpp"

namespace supsnn {

// c: (B, n, T+1). One work item per (b, k); each walks its own events, so no atomics.
// Output neurons whose sums a work item keeps in registers while it walks its events once
// (the bilayer has 3); more outputs walk the events once per output. Either way each sum adds
// the same terms in the same (event) order, so results do not depend on the path.
constexpr int kEventLocalOutputs = 16;

// N > 0: the output count as a compile-time constant (the sums stay in registers, the loop
// over outputs unrolls); N = 0: any n.
template <int N, class Real>
void event_current_forward_n(const EventBatch& ev, View2<const Real> W, View3<Real> c) {
  const int n = N > 0 ? N : static_cast<int>(W.extent(0));
  const int T1 = ev.raw_steps + 1;
  auto off = ev.fwd_offsets;
  auto nrn = ev.fwd_neuron;
  const auto policy = RowMajorRange<2>({0, 0}, {ev.batch, T1});
  if (N > 0 || n <= kEventLocalOutputs) {
    Kokkos::parallel_for(
        "supsnn::event_current_forward", policy, KOKKOS_LAMBDA(const int b, const int k) {
          Real acc[N > 0 ? N : kEventLocalOutputs] = {};
          const int e1 = off(b * T1 + k + 1);
          for (int e = off(b * T1 + k); e < e1; ++e) {
            const int i = nrn(e);
            for (int j = 0; j < n; ++j) acc[j] += W(j, i);
          }
          for (int j = 0; j < n; ++j) c(b, j, k) = acc[j];
        });
    return;
  }
  if constexpr (N == 0) {  // many outputs: one walk over the events per output
    if constexpr (kHostExec) {
      Kokkos::parallel_for(
          "supsnn::event_current_forward_wide", policy, KOKKOS_LAMBDA(const int b, const int k) {
            const int e0 = off(b * T1 + k), e1 = off(b * T1 + k + 1);
            for (int j = 0; j < n; ++j) {
              Real acc = 0;
              for (int e = e0; e < e1; ++e) acc += W(j, nrn(e));
              c(b, j, k) = acc;
            }
          });
    } else {  // GPUs: a thread per (b, j, k), n times the threads; the same sums in the same order
      Kokkos::parallel_for(
          "supsnn::event_current_forward_wide", RowMajorRange<3>({0, 0, 0}, {ev.batch, n, T1}),
          KOKKOS_LAMBDA(const int b, const int j, const int k) {
            Real acc = 0;
            for (int e = off(b * T1 + k); e < off(b * T1 + k + 1); ++e) acc += W(j, nrn(e));
            c(b, j, k) = acc;
          });
    }
  }
}

template <class Real>
void event_current_forward(const EventBatch& ev, View2<const Real> W, View3<Real> c) {
  switch (W.extent(0)) {  // the bilayer's 3 outputs and other small layers: unrolled
    case 1:
      return event_current_forward_n<1, Real>(ev, W, c);
    case 2:
      return event_current_forward_n<2, Real>(ev, W, c);
    case 3:
      return event_current_forward_n<3, Real>(ev, W, c);
    case 4:
      return event_current_forward_n<4, Real>(ev, W, c);
    default:
      return event_current_forward_n<0, Real>(ev, W, c);
  }
}

// dW: (n, m), overwritten. One work item per output row walks the events in (sample, step)
// order and adds dc into the weights they name: cost follows the events, not the m inputs
// (most of them silent at low density). n-way parallel: the CPU path.
template <class Real>
void event_current_backward_rows(const EventBatch& ev, View3<const Real> dc, View2<Real> dW) {
  const int n = static_cast<int>(dW.extent(0));
  const int m = static_cast<int>(dW.extent(1));
  const int T1 = ev.raw_steps + 1;
  auto off = ev.fwd_offsets;
  auto nrn = ev.fwd_neuron;
  const int B = ev.batch;
  Kokkos::parallel_for(
      "supsnn::event_current_backward_rows", Kokkos::RangePolicy<ExecSpace>(0, n),
      KOKKOS_LAMBDA(const int j) {
        for (int i = 0; i < m; ++i) dW(j, i) = Real(0);
        for (int b = 0; b < B; ++b)
          for (int k = 0; k < T1; ++k) {
            const Real d = dc(b, j, k);
            const int e1 = off(b * T1 + k + 1);
            for (int e = off(b * T1 + k); e < e1; ++e) dW(j, nrn(e)) += d;
          }
      });
}

// dW: (n, m), overwritten. One work item per input neuron gathers over its own events (in
// (sample, step) order, the order the rows path adds them): m-way parallel, the GPU path.
template <class Real>
void event_current_backward_gather(const EventBatch& ev, View3<const Real> dc, View2<Real> dW) {
  if (!ev.input_order)
    throw std::logic_error(
        "event_current_backward_gather: the batch was built without the "
        "per-input event order (BatchBuilder::set_input_order)");
  const int n = static_cast<int>(dW.extent(0));
  const int T1 = ev.raw_steps + 1;
  // GPUs: one thread per input neuron gathers over its own events (no atomics).
  auto off = ev.bwd_offsets;
  auto slot = ev.bwd_slot;
  // slot / T1 by a multiplication: (slot + 0.5) / T1 is at least 0.5 / T1 away from an integer,
  // far more than double's rounding error for any int slot, so the quotient is exact.
  const double inv_T1 = 1.0 / T1;
  Kokkos::parallel_for(
      "supsnn::event_current_backward", Kokkos::RangePolicy<ExecSpace>(0, ev.inputs),
      KOKKOS_LAMBDA(const int i) {
        const int e0 = off(i), e1 = off(i + 1);
        if (n <= kEventLocalOutputs) {
          Real acc[kEventLocalOutputs] = {};
          for (int e = e0; e < e1; ++e) {
            const int sl = slot(e), b = static_cast<int>((sl + 0.5) * inv_T1), k = sl - b * T1;
            for (int j = 0; j < n; ++j) acc[j] += dc(b, j, k);
          }
          for (int j = 0; j < n; ++j) dW(j, i) = acc[j];
          return;
        }
        for (int j = 0; j < n; ++j) {
          Real acc = 0;
          for (int e = e0; e < e1; ++e) {
            const int sl = slot(e), b = static_cast<int>((sl + 0.5) * inv_T1);
            acc += dc(b, j, sl - b * T1);
          }
          dW(j, i) = acc;
        }
      });
}

template <class Real>
void event_current_backward(const EventBatch& ev, View3<const Real> dc, View2<Real> dW) {
  if constexpr (kHostExec)
    event_current_backward_rows<Real>(ev, dc, dW);
  else
    event_current_backward_gather<Real>(ev, dc, dW);
}

template <class Real>
void event_current_forward_ref(int B, int n, int m, int T1, const Real* W, const Real* x, Real* c) {
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < n; ++j)
      for (int k = 0; k < T1; ++k) {
        Real acc = 0;
        for (int i = 0; i < m; ++i) acc += W[j * m + i] * x[(b * m + i) * T1 + k];
        c[(b * n + j) * T1 + k] = acc;
      }
}

template <class Real>
void event_current_backward_ref(int B, int n, int m, int T1, const Real* dc, const Real* x,
                                Real* dW) {
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      Real acc = 0;
      for (int b = 0; b < B; ++b)
        for (int k = 0; k < T1; ++k) acc += dc[(b * n + j) * T1 + k] * x[(b * m + i) * T1 + k];
      dW[j * m + i] = acc;
    }
}

}  // namespace supsnn
