// Kernel: Adam update in TensorFlow 1's form (the seed's optimiser):
// lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t); w -= lr_t * m / (sqrt(v) + eps).
// Decoupled weight decay (AdamW, Loshchilov & Hutter; PyTorch's form): before the Adam step
// w *= 1 - lr * weight_decay, with the scheduled lr (not bias-corrected); 0 = plain Adam.
#pragma once
#include <cmath>
#include "adam_host.hpp"
#include "common.hpp"

namespace supsnn {

struct AdamParams {
  double lr = 1e-2, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
};

// Bias-corrected step size for update number t (1-based), computed once on the host in double.
inline double adam_step_size(const AdamParams& p, long t) {
  return p.lr * std::sqrt(1.0 - std::pow(p.beta2, static_cast<double>(t))) /
         (1.0 - std::pow(p.beta1, static_cast<double>(t)));
}

// Host backends: one work item per contiguous chunk, updated by adam_chunk_host (restrict
// pointers and the widest vector ISA of the CPU, kernels/adam_host.hpp); GPUs: one element per
// thread (coalesced). The arithmetic per element is the same on both.
constexpr int kAdamHostChunk = 2048;

template <class Real>
void adam_update(const AdamParams p, long t, View1<Real> w, View1<const Real> g, View1<Real> m,
                 View1<Real> v) {
  const Real lr_t = static_cast<Real>(adam_step_size(p, t));
  const Real b1 = static_cast<Real>(p.beta1), b2 = static_cast<Real>(p.beta2);
  const Real eps = static_cast<Real>(p.eps);
  const Real keep = static_cast<Real>(1.0 - p.lr * p.weight_decay);
  const int count = static_cast<int>(w.extent(0));
  if constexpr (kHostExec) {
    // The scalars are rounded to Real here, as on the device path, before the host loop widens
    // them back: the same values enter every element's update.
    const AdamScalars s{b1, b2, lr_t, eps, keep};
    Real* const wd = w.data();
    const Real* const gd = g.data();
    Real* const md = m.data();
    Real* const vd = v.data();
    constexpr int chunk = kAdamHostChunk;
    Kokkos::parallel_for(
        "supsnn::adam_update", Kokkos::RangePolicy<ExecSpace>(0, (count + chunk - 1) / chunk),
        KOKKOS_LAMBDA(const int c) {
          const int i0 = c * chunk, i1 = i0 + chunk < count ? i0 + chunk : count;
          adam_chunk_host(wd + i0, gd + i0, md + i0, vd + i0, i1 - i0, s);
        });
  } else {
    Kokkos::parallel_for(
        "supsnn::adam_update", Kokkos::RangePolicy<ExecSpace>(0, count),
        KOKKOS_LAMBDA(const int i) {
          const Real gi = g(i);
          const Real mi = b1 * m(i) + (Real(1) - b1) * gi;
          const Real vi = b2 * v(i) + (Real(1) - b2) * gi * gi;
          m(i) = mi;
          v(i) = vi;
          w(i) = keep * w(i) - lr_t * mi / (kmath::sqrt(vi) + eps);
        });
  }
}

template <class Real>
void adam_update_ref(const AdamParams& p, long t, int count, Real* w, const Real* g, Real* m,
                     Real* v) {
  const Real lr_t = static_cast<Real>(adam_step_size(p, t));
  const Real b1 = static_cast<Real>(p.beta1), b2 = static_cast<Real>(p.beta2);
  for (int i = 0; i < count; ++i) {
    m[i] = b1 * m[i] + (Real(1) - b1) * g[i];
    v[i] = b2 * v[i] + (Real(1) - b2) * g[i] * g[i];
    w[i] *= static_cast<Real>(1.0 - p.lr * p.weight_decay);
    w[i] -= lr_t * m[i] / (std::sqrt(v[i]) + static_cast<Real>(p.eps));
  }
}

}  // namespace supsnn
