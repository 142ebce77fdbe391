// Counter-based random numbers: a value is a pure function of (seed, stream, index), so results
// do not depend on the number of ranks or the order in which values are drawn.
#pragma once
#include <cstdint>
#include <vector>

namespace supsnn {

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

inline std::uint64_t hash3(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  return splitmix64(splitmix64(splitmix64(seed) ^ stream) ^ index);
}

// Uniform double in [0, 1) from the top 53 bits.
inline double uniform01(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  return static_cast<double>(hash3(seed, stream, index) >> 11) * 0x1.0p-53;
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
