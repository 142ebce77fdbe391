// Host (CPU) inner loop of the Adam update (kernels/adam.hpp) over one contiguous chunk. Compiled
// once per x86-64 vector ISA (AVX-512, AVX2, baseline SSE2) and chosen at load time by the CPU
// (GCC/Clang target_clones), so one portable binary runs the update with the widest vectors the
// machine has: the square roots and divisions bound it, 4 lanes with SSE2 against 16 with
// AVX-512. Every variant computes each element with the same correctly rounded operations (no
// contraction into FMA: -ffp-contract=off), so results do not depend on the machine.
#pragma once

namespace supsnn {

struct AdamScalars {
  double b1, b2, lr_t, eps, keep;  // keep = 1 - lr * weight_decay
};

void adam_chunk_host(float* w, const float* g, float* m, float* v, int count, const AdamScalars& s);
void adam_chunk_host(double* w, const double* g, double* m, double* v, int count,
                     const AdamScalars& s);

}  // namespace supsnn
