#include "data/sampler.hpp"

#include "common/error.hpp"
#include "common/rng.hpp"

namespace supsnn {

DistributedSampler::DistributedSampler(int count, int world, int rank, std::uint64_t seed,
                                       bool shuffle, bool drop_last)
    : count_(count),
      world_(world),
      rank_(rank),
      seed_(seed),
      shuffle_(shuffle),
      drop_last_(drop_last) {
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

}  // namespace supsnn
