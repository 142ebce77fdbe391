// Kernel family: batch normalisation over batch and time (tdBN / BNTT style, docs/model.md
// "Layered networks") of a layer's current X, rows x C (rows = time x batch x positions, the
// channel last as in NHWC), per channel c:
//   training:   y = gamma (x - mean) / sqrt(var + eps) + beta, mean and (biased) var over all rows
//               of all ranks (synchronised batch normalisation: the same result at any rank count)
//   evaluation: the running mean and variance instead.
// Per-channel sums are accumulated by blocks of rows (each block one work item, in double), then
// the blocks are added in block order on the host: one pass over X, deterministic, no atomics.
// Backward with xhat = (x - mean) / sqrt(var + eps) and R rows in all:
//   dgamma = sum dy xhat,  dbeta = sum dy (this rank's rows; the gradient all-reduce adds ranks)
//   dx = gamma / sqrt(var + eps) (dy - sum(dy) / R - xhat sum(dy xhat) / R)  (sums over all ranks)
#pragma once
#include <vector>

#include "common.hpp"

namespace supsnn {

// Rows per block of the per-channel sums: enough work per item, few partial sums.
constexpr long kNormRowsPerBlock = 2048;

// Per-channel sums over all rows of (a(x), b(x)) for the two statistics a pass needs: with
// Backward = false (x, x^2); with Backward = true (dy, dy xhat) where xhat comes from X, mean and
// invstd. Returns 2C doubles: the first C sums then the second C.
template <bool Backward, class Real>
std::vector<double> norm_channel_sums(long rows, int C, View1<const Real> X, View1<const Real> dY,
                                      View1<const Real> mean_invstd) {
  const long blocks = (rows + kNormRowsPerBlock - 1) / kNormRowsPerBlock;
  Kokkos::View<double**, Kokkos::LayoutRight, MemSpace> part("norm_partial_sums", blocks, 2 * C);
  Kokkos::parallel_for(
      "supsnn::norm_channel_sums",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, blocks),
      KOKKOS_LAMBDA(const long blk) {
        const long r1 = (blk + 1) * kNormRowsPerBlock < rows ? (blk + 1) * kNormRowsPerBlock : rows;
        for (long r = blk * kNormRowsPerBlock; r < r1; ++r)
          for (int c = 0; c < C; ++c) {
            const double x = X(r * C + c);
            if (Backward) {
              const double dy = dY(r * C + c);
              const double xhat = (x - mean_invstd(c)) * mean_invstd(C + c);
              part(blk, c) += dy;
              part(blk, C + c) += dy * xhat;
            } else {
              part(blk, c) += x;
              part(blk, C + c) += x * x;
            }
          }
      });
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), part);  // fences the kernel
  std::vector<double> sums(2 * C, 0.0);
  for (long b = 0; b < blocks; ++b)
    for (int k = 0; k < 2 * C; ++k) sums[k] += h(b, k);
  return sums;
}

// Y = X scale(c) + shift(c) per channel; scale_shift: 2C values (scale then shift).
template <class Real>
void norm_apply(long rows, int C, View1<const Real> X, View1<const Real> scale_shift,
                View1<Real> Y) {
  Kokkos::parallel_for(
      "supsnn::norm_apply", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, rows),
      KOKKOS_LAMBDA(const long r) {
        for (int c = 0; c < C; ++c)
          Y(r * C + c) = X(r * C + c) * scale_shift(c) + scale_shift(C + c);
      });
}

// dX from dY given the global sums (dy, dy xhat) divided by the global row count: coef holds
// per channel gamma invstd (C), mean(dy) (C), mean(dy xhat) (C); mean_invstd as in the sums.
template <class Real>
void norm_backward_input(long rows, int C, View1<const Real> X, View1<const Real> dY,
                         View1<const Real> mean_invstd, View1<const Real> coef, View1<Real> dX) {
  Kokkos::parallel_for(
      "supsnn::norm_backward_input",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, rows),
      KOKKOS_LAMBDA(const long r) {
        for (int c = 0; c < C; ++c) {
          const Real xhat = (X(r * C + c) - mean_invstd(c)) * mean_invstd(C + c);
          dX(r * C + c) = coef(c) * (dY(r * C + c) - coef(C + c) - xhat * coef(2 * C + c));
        }
      });
}

}  // namespace supsnn
