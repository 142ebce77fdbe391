// Which samples each rank trains on, with the semantics of PyTorch's DistributedSampler: the
// same seed on every rank, a fresh permutation every epoch, every sample exactly once per epoch
// across ranks, and the remainder either padded (by repeating the first indices of the
// permutation) or dropped. Rank r takes positions r, r+R, r+2R, ... of the (padded) permutation,
// so global step s covers positions [s*B, (s+1)*B) of it whatever the number of ranks R.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace supsnn {

class DistributedSampler {
 public:
  DistributedSampler(int count, int world, int rank, std::uint64_t seed, bool shuffle,
                     bool drop_last);
  void set_epoch(long epoch) { epoch_ = epoch; }
  int per_rank() const { return per_rank_; }  // samples of each rank per epoch
  std::vector<int> indices() const;           // this rank's samples of the current epoch, in order

 private:
  int count_, world_, rank_, per_rank_;
  std::uint64_t seed_;
  bool shuffle_;  // drop_last only decides per_rank_
  long epoch_ = 0;
};

// Holds out round(fraction x count) samples of every class for validation, chosen by a seeded
// permutation per class; returns (training, validation) indices, each in increasing order.
std::pair<std::vector<int>, std::vector<int>> stratified_holdout(
    const std::vector<std::int32_t>& labels, int classes, double fraction, std::uint64_t seed);

}  // namespace supsnn
