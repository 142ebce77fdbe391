// Counter-based random numbers: a value is a pure function of (seed, stream, index), so results
// do not depend on the number of ranks or the order in which values are drawn.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/counter_rng.hpp"

namespace supsnn {

// The splitmix64 finaliser, shared with the device-side counter RNG.
inline std::uint64_t splitmix64(std::uint64_t x) {
  return crng::mix64(x);
}

inline std::uint64_t hash3(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  return splitmix64(splitmix64(splitmix64(seed) ^ stream) ^ index);
}

// Uniform double in [0, 1) from the top 53 bits.
inline double uniform01(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  return crng::to_unit53(hash3(seed, stream, index));
}

// Streams used by supsnn (keep distinct).
enum RngStream : std::uint64_t { kStreamInit = 1, kStreamShuffle = 2 };

// Fisher-Yates permutation of 0..n-1 for (seed, epoch): identical on every rank.
inline std::vector<int> shuffled_indices(int n, std::uint64_t seed, std::uint64_t epoch) {
  std::vector<int> p(n);
  for (int i = 0; i < n; ++i) p[i] = i;
  for (int i = n - 1; i > 0; --i) {
    const auto r = hash3(seed, kStreamShuffle, (epoch << 32) ^ static_cast<std::uint64_t>(i));
    const int j = static_cast<int>(r % static_cast<std::uint64_t>(i + 1));
    std::swap(p[i], p[j]);
  }
  return p;
}

}  // namespace supsnn
