// Device-safe counter-based random numbers (host and device: KOKKOS_INLINE_FUNCTION).
//
// A value is a pure function of its keys (seed, sample, neuron, step): no state, no draw order.
// Spikes drawn with it therefore depend only on the global sample index, not on which batch or
// rank the sample lands in, nor on how many threads or ranks run the kernel.
//
// hash4 chains splitmix64 finalisers over the four keys, in the same style as hash3 in
// src/common/rng.hpp (host-only). The chain can be split: hash4(s, a, n, k) ==
// hash4_step(hash4_prefix(s, a, n), k), so a kernel that draws many steps for one (sample, neuron)
// computes the prefix once and pays one mix per step.
#pragma once
#include <cstdint>

#include <Kokkos_Core.hpp>

namespace supsnn {

namespace crng {
// splitmix64 finaliser (Steele, Lea, Flood 2014); same constants as supsnn::splitmix64.
KOKKOS_INLINE_FUNCTION std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform double in [0, 1) from the top 53 bits of a hash (exact: no rounding).
KOKKOS_INLINE_FUNCTION double to_unit53(std::uint64_t h) {
  return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);  // 2^-53
}
}  // namespace crng

// First three links of the hash4 chain: depends on (seed, sample, neuron) only.
KOKKOS_INLINE_FUNCTION std::uint64_t hash4_prefix(std::uint64_t seed, std::uint64_t sample,
                                                  std::uint64_t neuron) {
  return crng::mix64(crng::mix64(crng::mix64(seed) ^ sample) ^ neuron);
}

// Last link of the chain: hash4(seed, sample, neuron, step) ==
// hash4_step(hash4_prefix(seed, sample, neuron), step).
KOKKOS_INLINE_FUNCTION std::uint64_t hash4_step(std::uint64_t prefix, std::uint64_t step) {
  return crng::mix64(prefix ^ step);
}

// 64-bit hash of the four keys; a pure function of them (see the file comment).
KOKKOS_INLINE_FUNCTION std::uint64_t hash4(std::uint64_t seed, std::uint64_t sample,
                                           std::uint64_t neuron, std::uint64_t step) {
  return hash4_step(hash4_prefix(seed, sample, neuron), step);
}

// Uniform double in [0, 1) (top 53 bits of hash4).
KOKKOS_INLINE_FUNCTION double uniform01_4(std::uint64_t seed, std::uint64_t sample,
                                          std::uint64_t neuron, std::uint64_t step) {
  return crng::to_unit53(hash4(seed, sample, neuron, step));
}

}  // namespace supsnn
