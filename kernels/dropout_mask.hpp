// Kernel: dropout of a layered network (inverted dropout, one mask per sample held over all time
// steps, as SpikingJelly's multi-step layer.Dropout: a dropped neuron stays silent for the whole
// sample). Each mask entry is a pure function of (key, sample id, feature) through the counter
// hash, so it does not depend on batch composition, rank or thread count, and a resumed run
// draws the same masks. The mask is applied in place on X (T, B, F) in training; its backward
// pass multiplies the gradient by the same mask.
#pragma once
#include "common.hpp"
#include "counter_rng.hpp"

namespace supsnn {

// mask(b, f) = 0 with probability p, else 1 / (1 - p); ids: the B samples' global ids.
template <class Real>
void dropout_make_mask(std::uint64_t key, double p, int B, int F, View1<const std::int64_t> ids,
                       View1<Real> mask) {
  const Real keep = static_cast<Real>(1.0 / (1.0 - p));
  Kokkos::parallel_for(
      "supsnn::dropout_make_mask",
      Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, static_cast<long>(B) * F),
      KOKKOS_LAMBDA(const long i) {
        const long b = i / F, f = i % F;
        const double u = uniform01_4(key, static_cast<std::uint64_t>(ids(b)),
                                     static_cast<std::uint64_t>(f), 0xd50u);
        mask(i) = u < p ? Real(0) : keep;
      });
}

// X(t, b, f) *= mask(b, f) for t < T (forward on activations, backward on their gradient).
template <class Real>
void dropout_apply(int T, long BF, View1<const Real> mask, View1<Real> X) {
  Kokkos::parallel_for(
      "supsnn::dropout_apply", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, T * BF),
      KOKKOS_LAMBDA(const long i) { X(i) *= mask(i % BF); });
}

}  // namespace supsnn
