#include "data/sampler.hpp"

#include <cmath>

#include "common/error.hpp"
#include "common/rng.hpp"

namespace supsnn {

DistributedSampler::DistributedSampler(int count, int world, int rank, std::uint64_t seed,
                                       bool shuffle, bool drop_last)
    : count_(count),
      world_(world),
      rank_(rank),
      seed_(seed),
      shuffle_(shuffle) {
  if (world < 1 || rank < 0 || rank >= world) throw Error("sampler: rank out of range");
  per_rank_ = drop_last ? count / world : (count + world - 1) / world;
  if (per_rank_ == 0)
    throw Error("sampler: " + std::to_string(count) + " samples cannot feed " +
                std::to_string(world) + " ranks with drop_last");
}

std::vector<int> DistributedSampler::indices() const {
  std::vector<int> order(count_);
  if (shuffle_)
    order = shuffled_indices(count_, seed_, static_cast<std::uint64_t>(epoch_));
  else
    for (int i = 0; i < count_; ++i) order[i] = i;
  const int total = per_rank_ * world_;
  for (int i = count_; i < total; ++i) order.push_back(order[i - count_]);  // pad by repeating
  std::vector<int> mine;
  mine.reserve(per_rank_);
  for (int p = rank_; p < total; p += world_) mine.push_back(order[p]);
  return mine;
}

std::pair<std::vector<int>, std::vector<int>> stratified_holdout(
    const std::vector<std::int32_t>& labels, int classes, double fraction, std::uint64_t seed) {
  std::vector<std::vector<int>> by_class(classes);
  for (std::size_t i = 0; i < labels.size(); ++i)
    by_class.at(labels[i]).push_back(static_cast<int>(i));
  std::vector<char> held(labels.size(), 0);
  for (int c = 0; c < classes; ++c) {
    const int k = static_cast<int>(std::lround(fraction * by_class[c].size()));
    const auto order = shuffled_indices(static_cast<int>(by_class[c].size()), seed ^ 0x5a11da7e, c);
    for (int q = 0; q < k; ++q) held[by_class[c][order[q]]] = 1;
  }
  std::pair<std::vector<int>, std::vector<int>> out;
  for (std::size_t i = 0; i < labels.size(); ++i)
    (held[i] ? out.second : out.first).push_back(static_cast<int>(i));
  return out;
}

}  // namespace supsnn
