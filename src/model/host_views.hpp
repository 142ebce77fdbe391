// Host-side helpers shared by the models: the first B samples of a batch view, host copies of
// device views for reports and tests, and the argmax prediction.
#pragma once
#include <vector>

#include "kernels/common.hpp"

namespace supsnn {

// Samples [0, B) of a (batch, ...) view of rank 2 or 3.
template <class V>
auto first_samples(const V& v, int B) {
  if constexpr (V::rank == 2)
    return Kokkos::subview(v, std::make_pair(0, B), Kokkos::ALL);
  else
    return Kokkos::subview(v, std::make_pair(0, B), Kokkos::ALL, Kokkos::ALL);
}

// Row-major host copy of a view of rank 1, 2 or 3 (converted to double).
template <class V>
std::vector<double> host_copy(const V& v) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  std::vector<double> out;
  out.reserve(h.size());
  if constexpr (V::rank == 1) {
    for (std::size_t i = 0; i < h.extent(0); ++i) out.push_back(h(i));
  } else if constexpr (V::rank == 2) {
    for (std::size_t i = 0; i < h.extent(0); ++i)
      for (std::size_t j = 0; j < h.extent(1); ++j) out.push_back(h(i, j));
  } else {
    for (std::size_t i = 0; i < h.extent(0); ++i)
      for (std::size_t j = 0; j < h.extent(1); ++j)
        for (std::size_t k = 0; k < h.extent(2); ++k) out.push_back(h(i, j, k));
  }
  return out;
}

// Writes w into a device vector of the same length.
template <class Real>
void copy_to_device(const std::vector<double>& w, View1<Real> v) {
  auto h = Kokkos::create_mirror_view(v);
  for (std::size_t i = 0; i < w.size(); ++i) h(i) = static_cast<Real>(w[i]);
  Kokkos::deep_copy(v, h);
}

// argmax_j of each row of a row-major B x n array (first maximum wins).
inline std::vector<int> argmax_rows(const std::vector<double>& x, int B, int n) {
  std::vector<int> out(B);
  for (int b = 0; b < B; ++b) {
    int best = 0;
    for (int j = 1; j < n; ++j)
      if (x[b * n + j] > x[b * n + best]) best = j;
    out[b] = best;
  }
  return out;
}

}  // namespace supsnn
