// Kernel: a batch's loss sum, correct predictions and confusion counts added to sums that stay
// on the device, so that training copies nothing to the host per batch (issue #18); the trainer
// reads them once per epoch, at checkpoints and after an evaluation.
//
// scores (B, n, K): the prediction of sample b is the first j with the largest mean over k of
// scores(b, j, k) (K = 1 for potential sums; the layered readout's T steps otherwise), computed
// in double in the order of the host's argmax_rows, so the two agree exactly.
// sums (2 + C*C): [0] += sum_b loss(b) (an empty loss view: no loss, nothing checked), [1] +=
// correct, [2 + truth*C + pred] += 1 (C = 0: no confusion; predictions >= C count as wrong and in
// no cell). check (3): overwritten with the number of non-finite losses, the first such b and its
// loss.
#pragma once
#include <cmath>
#include <vector>

#include "common.hpp"
#include "finite_check.hpp"

namespace supsnn {

template <class Real>
void accumulate_batch_metrics(View1<const Real> loss, View3<const Real> scores,
                              View1<const int> labels, int C, View1<double> sums,
                              View1<double> check) {
  const int B = static_cast<int>(scores.extent(0));
  const int n = static_cast<int>(scores.extent(1));
  const int K = static_cast<int>(scores.extent(2));
  const bool has_loss = loss.extent(0) > 0;
  // One thread walks the batch: B x n x K is a few thousand values, and the loss sum keeps the
  // host's order (resumed runs reproduce the logged sums bit for bit).
  Kokkos::parallel_for(
      "supsnn::batch_metrics", Kokkos::RangePolicy<ExecSpace>(0, 1), KOKKOS_LAMBDA(const int) {
        double bad = 0, first = -1, first_loss = 0;
        for (int b = 0; b < B; ++b) {
          const double l = has_loss ? static_cast<double>(loss(b)) : 0.0;
          if (!kmath_finite::isfinite(l)) {
            if (bad == 0) {
              first = b;
              first_loss = l;
            }
            bad += 1;
          }
          sums(0) += l;
          int best = 0;
          double best_score = 0;
          for (int j = 0; j < n; ++j) {
            double z = 0;
            for (int k = 0; k < K; ++k) z += static_cast<double>(scores(b, j, k));
            z /= K;
            if (j == 0 || z > best_score) {
              best = j;
              best_score = z;
            }
          }
          const int truth = labels(b);
          sums(1) += best == truth ? 1 : 0;
          if (C > 0 && best < C) sums(2 + truth * C + best) += 1;
        }
        check(0) = bad;
        check(1) = first;
        check(2) = first_loss;
      });
}

// Plain CPU reference.
inline void accumulate_batch_metrics_ref(const std::vector<double>& loss,
                                         const std::vector<double>& scores, int n, int K,
                                         const std::vector<int>& labels, int C,
                                         std::vector<double>& sums, std::vector<double>& check) {
  const int B = static_cast<int>(loss.size());
  check.assign(3, 0.0);
  check[1] = -1;
  for (int b = 0; b < B; ++b) {
    if (!std::isfinite(loss[b]) && check[0]++ == 0) {
      check[1] = b;
      check[2] = loss[b];
    }
    sums[0] += loss[b];
    std::vector<double> z(n, 0.0);
    for (int j = 0; j < n; ++j) {
      for (int k = 0; k < K; ++k) z[j] += scores[(static_cast<std::size_t>(b) * n + j) * K + k];
      z[j] /= K;
    }
    int best = 0;
    for (int j = 1; j < n; ++j)
      if (z[j] > z[best]) best = j;
    sums[1] += best == labels[b];
    if (C > 0 && best < C) sums[2 + labels[b] * C + best] += 1;
  }
}

}  // namespace supsnn
