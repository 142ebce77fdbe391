// DistributedSampler across real MPI ranks (registered at np = 1, 2, 3, 4): every sample exactly
// once per epoch (pad: plus the repeated head; drop_last: minus the tail), the same permutation
// on every rank, a new one every epoch, and global batches independent of the number of ranks.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>

#include "common/rng.hpp"
#include "data/sampler.hpp"
#include "dist/comm.hpp"

namespace supsnn {
namespace {

// All ranks' index lists, gathered on every rank: result[r] = rank r's list.
std::vector<std::vector<int>> gather(const Comm& c, const std::vector<int>& mine) {
  std::vector<int> all(mine.size() * c.size());
  MPI_Allgather(mine.data(), static_cast<int>(mine.size()), MPI_INT, all.data(),
                static_cast<int>(mine.size()), MPI_INT, c.raw());
  std::vector<std::vector<int>> out(c.size());
  for (int r = 0; r < c.size(); ++r)
    out[r].assign(all.begin() + r * mine.size(), all.begin() + (r + 1) * mine.size());
  return out;
}

TEST(SamplerMpi, EverySampleOncePerEpoch) {
  const Comm c;
  for (int n : {1, 7, 12, 13, 100}) {
    if (n < c.size()) continue;
    for (bool drop : {false, true}) {
      DistributedSampler s(n, c.size(), c.rank(), 42, true, drop);
      std::vector<int> previous;
      for (long epoch = 0; epoch < 3; ++epoch) {
        s.set_epoch(epoch);
        const auto lists = gather(c, s.indices());
        std::vector<int> seen(n, 0);
        for (const auto& l : lists) {
          EXPECT_EQ(static_cast<int>(l.size()), s.per_rank());
          for (int i : l) ++seen[i];
        }
        const int total = s.per_rank() * c.size();
        const int extra = total - n;  // padded (>0) or dropped (<0)
        EXPECT_EQ(drop ? extra <= 0 : extra >= 0, true);
        EXPECT_LT(std::abs(extra), c.size());
        int once = 0, twice = 0, never = 0;
        for (int v : seen) (v == 0 ? never : v == 1 ? once : twice) += 1;
        if (drop) {  // braces: EXPECT_* expand to if/else
          EXPECT_EQ(never, -extra) << "n " << n;
          EXPECT_EQ(once, n + extra);
        } else {
          EXPECT_EQ(twice, extra) << "n " << n;
          EXPECT_EQ(never, 0);
        }
        // Interleaved positions of one permutation: rank r holds positions r, r+R, ...
        std::vector<int> order(total);
        for (int r = 0; r < c.size(); ++r)
          for (int j = 0; j < s.per_rank(); ++j) order[j * c.size() + r] = lists[r][j];
        const auto perm = shuffled_indices(n, 42, static_cast<std::uint64_t>(epoch));
        for (int p = 0; p < std::min(total, n); ++p) EXPECT_EQ(order[p], perm[p]);
        if (epoch > 0 && n > 3) {
          EXPECT_NE(lists[0], previous) << "reshuffled every epoch";
        }
        previous = lists[0];
      }
    }
  }
}

TEST(SamplerMpi, GlobalBatchesDoNotDependOnRanks) {
  const Comm c;
  const int n = 24, batch = 12;  // divisible by 1..4 ranks
  DistributedSampler s(n, c.size(), c.rank(), 7, true, false);
  s.set_epoch(5);
  const auto lists = gather(c, s.indices());
  const int local = batch / c.size();
  const auto perm = shuffled_indices(n, 7, 5);
  for (int step = 0; step < n / batch; ++step) {
    std::vector<int> global;
    for (int r = 0; r < c.size(); ++r)
      global.insert(global.end(), lists[r].begin() + step * local,
                    lists[r].begin() + (step + 1) * local);
    std::vector<int> want(perm.begin() + step * batch, perm.begin() + (step + 1) * batch);
    std::sort(global.begin(), global.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(global, want) << "step " << step;
  }
}

TEST(SamplerMpi, UnshuffledIsInOrder) {
  const Comm c;
  DistributedSampler s(10, c.size(), c.rank(), 1, false, false);
  const auto mine = s.indices();
  for (std::size_t j = 0; j < mine.size(); ++j)
    EXPECT_EQ(mine[j], static_cast<int>((j * c.size() + c.rank()) % 10));
}

TEST(Holdout, StratifiedDisjointAndSeeded) {
  std::vector<std::int32_t> labels;
  for (int i = 0; i < 100; ++i) labels.push_back(i < 60 ? 0 : i < 90 ? 1 : 2);  // 60 / 30 / 10
  const auto [train, val] = stratified_holdout(labels, 3, 0.2, 5);
  EXPECT_EQ(val.size(), 12u + 6u + 2u);
  EXPECT_EQ(train.size() + val.size(), 100u);
  std::vector<int> count(3, 0);
  for (int i : val) ++count[labels[i]];
  EXPECT_EQ(count, (std::vector<int>{12, 6, 2}));
  std::vector<int> all(train);
  all.insert(all.end(), val.begin(), val.end());
  std::sort(all.begin(), all.end());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(all[i], i);
  EXPECT_EQ(stratified_holdout(labels, 3, 0.2, 5).second, val);
  EXPECT_NE(stratified_holdout(labels, 3, 0.2, 6).second, val);
  EXPECT_TRUE(stratified_holdout(labels, 3, 0.0, 5).second.empty());
}

}  // namespace
}  // namespace supsnn
