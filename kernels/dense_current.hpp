// Kernel family: the dense input path of the first layer, c(b,j,k) = sum_i W(j,i) x_b(i,k), as
// matrix products (KokkosBlas::gemm: the system BLAS on CPUs, cuBLAS on CUDA when KokkosKernels
// was built with it) instead of per-event gathers. It pays m x (T+1) x n multiply-adds per sample
// whatever the spike count, so it wins over kernels/event_current.hpp only at high input
// densities (src/model/input_current.hpp chooses; docs/performance.md has the crossover).
//
// The spikes are scattered into a dense buffer X laid out [b][i][k], which is, per sample, the
// column-major (T+1) x m matrix X_b; W (row-major n x m) is the column-major m x n matrix W^T,
// and c(b) (row-major n x (T+1)) the column-major (T+1) x n matrix C_b. So per sample
//   forward:  C_b = X_b W^T            (gemm N, N)
//   backward: dW^T += X_b^T dC_b       (gemm T, N), summed over the samples of the batch.
// X is kept all-zero between uses: densify writes the events' entries and clear_events resets
// exactly those, so a batch costs O(events) to prepare, not O(m x (T+1)).
#pragma once
#include "gemm_rows.hpp"

namespace supsnn {

// Writes the events of samples [b0, b0 + nb) into X[(b*m + i)*T1 + k] (b relative to b0):
// Clear = false adds 1 per event (repeated events of one input at one step add up, as in the
// event path); Clear = true resets those entries to 0, so that X is all-zero again. One work item
// per (sample, step): no two items share an entry, so there are no atomics.
template <bool Clear, class Real>
void scatter_events(const EventBatch& ev, int b0, int nb, View1<Real> X) {
  const int T1 = ev.raw_steps + 1, m = ev.inputs;
  auto off = ev.fwd_offsets;
  auto nrn = ev.fwd_neuron;
  Kokkos::parallel_for(
      Clear ? "supsnn::clear_events" : "supsnn::densify_events", RowMajorRange<2>({0, 0}, {nb, T1}),
      KOKKOS_LAMBDA(const int b, const int k) {
        const int e1 = off((b0 + b) * T1 + k + 1);
        for (int e = off((b0 + b) * T1 + k); e < e1; ++e) {
          Real& x = X((static_cast<std::size_t>(b) * m + nrn(e)) * T1 + k);
          x = Clear ? Real(0) : x + Real(1);
        }
      });
}

template <class Real>
void densify_events(const EventBatch& ev, int b0, int nb, View1<Real> X) {
  scatter_events<false, Real>(ev, b0, nb, X);
}

template <class Real>
void clear_events(const EventBatch& ev, int b0, int nb, View1<Real> X) {
  scatter_events<true, Real>(ev, b0, nb, X);
}

// c(b0 + b) = X_b W^T for b < nb. The gemm calls are issued in order on the default execution
// space's stream, so no fence is needed between them or before the caller's next kernel.
template <class Real>
void dense_current_forward(View1<const Real> X, int b0, int nb, View2<const Real> W,
                           View3<Real> c) {
  const int n = static_cast<int>(W.extent(0)), m = static_cast<int>(W.extent(1));
  const int T1 = static_cast<int>(c.extent(2));
  // Each sample's (n, T1) block of c must be contiguous (LayoutRight, full extents).
  const ColMajor<Real> Wt(const_cast<Real*>(W.data()), m, n);
  for (int b = 0; b < nb; ++b) {
    const ColMajor<Real> Xb(const_cast<Real*>(X.data()) + static_cast<std::size_t>(b) * m * T1, T1,
                            m);
    const ColMajor<Real> Cb(c.data() + (b0 + b) * c.stride(0), T1, n);
    KokkosBlas::gemm("N", "N", Real(1), Xb, Wt, Real(0), Cb);
  }
}

// dW^T (+)= sum_{b < nb} X_b^T dc(b0 + b); accumulate = false overwrites dW with the first term.
template <class Real>
void dense_current_backward(View1<const Real> X, int b0, int nb, View3<const Real> dc,
                            View2<Real> dW, bool accumulate) {
  const int n = static_cast<int>(dW.extent(0)), m = static_cast<int>(dW.extent(1));
  const int T1 = static_cast<int>(dc.extent(2));
  const ColMajor<Real> dWt(dW.data(), m, n);
  for (int b = 0; b < nb; ++b) {
    const ColMajor<Real> Xb(const_cast<Real*>(X.data()) + static_cast<std::size_t>(b) * m * T1, T1,
                            m);
    const ColMajor<Real> dCb(const_cast<Real*>(dc.data()) + (b0 + b) * dc.stride(0), T1, n);
    const Real beta = (accumulate || b > 0) ? Real(1) : Real(0);
    KokkosBlas::gemm("T", "N", Real(1), Xb, dCb, beta, dWt);
  }
}

}  // namespace supsnn
