// Kernel family: the three products of a layer with weights W (out x in, row-major) on
// row-major activations whose rows are (time, sample) or (time, sample, position) pairs: time is
// folded into the rows, so a layer's T steps are one product (as SpikingJelly's multi-step mode)
// instead of one per step or sample. Through KokkosBlas::gemm: the system BLAS on CPUs, cuBLAS on
// CUDA when KokkosKernels has it. A row-major (r x c) array is the column-major (c x r) array of
// its transpose, which is how the BLAS sees each operand below.
//   forward:          Y (M x out) = X (M x in) W^T (+ bias per column)
//   weight gradient:  dW (out x in) (+)= dY^T X,   db (+)= column sums of dY = dY^T 1
//   input gradient:   dX (M x in) = dY W
// The calls are issued in order on the default execution space, so no fence is needed between
// them and the caller's next kernel.
#pragma once
#include <KokkosBlas2_gemv.hpp>
#include <KokkosBlas3_gemm.hpp>

#include "common.hpp"

namespace supsnn {

template <class Real>
using ColMajor =
    Kokkos::View<Real**, Kokkos::LayoutLeft, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

template <class Real>
ColMajor<Real> col_major(const Real* p, long rows, long cols) {
  return ColMajor<Real>(const_cast<Real*>(p), rows, cols);
}

// Y = X W^T, then + b(j) on column j when b is not null. X: M x in, W: out x in, Y: M x out.
template <class Real>
void rows_forward(long M, int in, int out, const Real* X, const Real* W, const Real* b, Real* Y) {
  // Y^T (out x M) = W (X^T): W row-major is col-major (in x out), used transposed.
  KokkosBlas::gemm("T", "N", Real(1), col_major(W, in, out), col_major(X, in, M), Real(0),
                   col_major(Y, out, M));
  if (b == nullptr) return;
  const View1<Real> y(Y, static_cast<std::size_t>(M) * out);
  const View1<const Real> bias(b, out);
  Kokkos::parallel_for(  // one row per work item: no index division per element
      "supsnn::add_bias", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, M),
      KOKKOS_LAMBDA(const long r) {
        for (int j = 0; j < out; ++j) y(r * out + j) += bias(j);
      });
}

// dW (+)= dY^T X (accumulate: beta 1, else 0). dY: M x out, X: M x in, dW: out x in.
template <class Real>
void rows_weight_grad(long M, int in, int out, const Real* dY, const Real* X, Real* dW,
                      bool accumulate) {
  // dW^T (in x out) = X^T dY: X^T col-major (in x M), dY^T col-major (out x M) used transposed.
  KokkosBlas::gemm("N", "T", Real(1), col_major(X, in, M), col_major(dY, out, M),
                   accumulate ? Real(1) : Real(0), col_major(dW, in, out));
}

// db (+)= column sums of dY, as the product dY^T 1 (one pass over dY through the BLAS; a loop
// per column would walk dY once per column). ones: at least M entries, all 1.
template <class Real>
void rows_bias_grad(long M, int out, const Real* dY, View1<const Real> ones, Real* db,
                    bool accumulate) {
  const Kokkos::View<const Real*, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> x(ones.data(),
                                                                                       M);
  const Kokkos::View<Real*, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> y(db, out);
  KokkosBlas::gemv("N", Real(1), col_major(dY, out, M), x, accumulate ? Real(1) : Real(0), y);
}

// dX = dY W. dY: M x out, W: out x in, dX: M x in.
template <class Real>
void rows_input_grad(long M, int in, int out, const Real* dY, const Real* W, Real* dX) {
  // dX^T (in x M) = W^T dY^T: W row-major is col-major (in x out).
  KokkosBlas::gemm("N", "N", Real(1), col_major(W, in, out), col_major(dY, out, M), Real(0),
                   col_major(dX, in, M));
}

}  // namespace supsnn
