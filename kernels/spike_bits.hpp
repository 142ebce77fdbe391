// Hidden-layer spikes stored bit-packed over time for the backward pass: bit (s % 32) of word
// (b, i, s / 32) is the spike of neuron i of sample b at point s. 32x less memory and traffic
// than one Real per point; kernels read a spike with spike_at, and consumers that need Real
// spikes (convolutions, pooling) get them through unpack_spikes.
#pragma once
#include <cstdint>

#include "common.hpp"

namespace supsnn {

using SpikeBits = View3<std::uint32_t>;
using ConstSpikeBits = View3<const std::uint32_t>;

// Words per (sample, neuron) for S1 points.
KOKKOS_INLINE_FUNCTION int spike_words(int S1) {
  return (S1 + 31) / 32;
}

KOKKOS_INLINE_FUNCTION bool spike_at(const ConstSpikeBits& S, int b, int i, int s) {
  return (S(b, i, s >> 5) >> (s & 31)) & 1u;
}

// out (B, h, S1) = the spikes as 0 / 1. One work item per (b, i).
template <class Real>
void unpack_spikes(ConstSpikeBits S, View3<Real> out) {
  const int B = static_cast<int>(out.extent(0)), h = static_cast<int>(out.extent(1));
  const int S1 = static_cast<int>(out.extent(2));
  Kokkos::parallel_for(
      "supsnn::unpack_spikes", RowMajorRange<2>({0, 0}, {B, h}),
      KOKKOS_LAMBDA(const int b, const int i) {
        for (int s = 0; s < S1; ++s) out(b, i, s) = spike_at(S, b, i, s) ? Real(1) : Real(0);
      });
}

}  // namespace supsnn
