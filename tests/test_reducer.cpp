// The communicator layer: gradient reducers (mpi, nccl, auto) sum exactly over ranks, node_info
// finds each rank's place on its node, and the NaN/Inf check of a reduced gradient. Registered at
// np = 1, 2 and 4.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "common/error.hpp"
#include "dist/reducer.hpp"
#include "kernels/finite_check.hpp"
#include "test_util.hpp"

namespace supsnn {
namespace {

// Value of element i on rank r: small integers, so float and double sums are exact.
double value(int r, std::size_t i) {
  return (r + 1) * static_cast<double>(i % 1000) + r;
}
// Sum of value(r, i) over r < R.
double expected_sum(int R, std::size_t i) {
  return static_cast<double>(i % 1000) * R * (R + 1) / 2 + R * (R - 1) / 2.0;
}

template <class T>
View1<T> filled(std::size_t n, int rank) {
  View1<T> g("g", n);
  auto h = Kokkos::create_mirror_view(g);
  for (std::size_t i = 0; i < n; ++i) h(i) = static_cast<T>(value(rank, i));
  Kokkos::deep_copy(g, h);
  return g;
}

// Index of the first element that differs from the expected sum, or -1.
template <class T>
long first_mismatch(const View1<T>& g, int R) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g);
  for (std::size_t i = 0; i < h.extent(0); ++i)
    if (h(i) != static_cast<T>(expected_sum(R, i))) return static_cast<long>(i);
  return -1;
}

// Sums a float and a double view of n entries and checks both exactly.
void expect_sum(GradientReducer& red, const Comm& comm, std::size_t n) {
  auto d = filled<double>(n, comm.rank());
  red.sum(d);
  red.wait();  // NCCL on CUDA returns before the sum is done
  EXPECT_EQ(first_mismatch(d, comm.size()), -1) << red.name() << " double n=" << n;
  auto f = filled<float>(n, comm.rank());
  red.sum(f);
  red.wait();
  EXPECT_EQ(first_mismatch(f, comm.size()), -1) << red.name() << " float n=" << n;
}

// Several sizes in a row (the reducer keeps buffers between calls), and an empty one.
void expect_sums(GradientReducer& red, const Comm& comm) {
  for (std::size_t n : {std::size_t(1), std::size_t(1000), std::size_t(12345), std::size_t(7)})
    expect_sum(red, comm, n);
  View1<double> empty("empty", 0);
  red.sum(empty);  // a zero-length gradient is legal and does nothing
}

void expect_large_sums(GradientReducer& red, const Comm& comm) {
  expect_sum(red, comm, 6'000'001);  // beyond a few million, odd
}

TEST(Reducer, MpiSumsFloatAndDoubleExactly) {
  const Comm comm;
  auto red = make_gradient_reducer("mpi", comm);
  EXPECT_EQ(red->name(), "mpi");
  expect_sums(*red, comm);
}

TEST(Reducer, MpiSumsMillionsOfElements) {
  const Comm comm;
  auto red = make_gradient_reducer("mpi", comm);
  expect_large_sums(*red, comm);
}

TEST(Reducer, MpiOnSubCommunicatorSumsOnlyThere) {
  const Comm world;
  MPI_Comm half = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, world.rank() % 2, world.rank(), &half);
  {
    const Comm sub(half);
    auto red = make_gradient_reducer("mpi", sub);
    expect_sums(*red, sub);
  }
  MPI_Comm_free(&half);
}

TEST(Reducer, AutoPicksNcclOnlyForCudaKokkosWithNccl) {
  const Comm comm;
  bool gpu_kokkos = false;
#ifdef KOKKOS_ENABLE_CUDA
  gpu_kokkos = std::is_same_v<ExecSpace, Kokkos::Cuda>;
#endif
  bool nccl = false;
#ifdef SUPSNN_HAVE_NCCL
  nccl = true;
#endif
  if (gpu_kokkos && nccl) {
    // The real GPU query runs only here: one rank takes MPI ("one rank"), several take NCCL with
    // a GPU each or MPI, saying which ranks share a GPU (several ranks on a one-GPU node).
    const std::string key = this_rank_gpu(comm);
    EXPECT_NE(key.find('/'), std::string::npos) << "host/PCI bus id expected, got " << key;
    const ReducerChoice c = choose_reducer("auto", comm);
    if (comm.size() == 1) {
      EXPECT_EQ(c.backend, "mpi");
      EXPECT_EQ(c.why, "one rank");
    } else if (c.backend == "mpi") {
      EXPECT_NE(c.why.find("share GPU"), std::string::npos) << c.why;
    } else {
      EXPECT_EQ(c.backend, "nccl");
    }
    return;
  }
  auto red = make_gradient_reducer("auto", comm);
  EXPECT_EQ(red->name(), "mpi");
  expect_sums(*red, comm);
}

// The reducer decision with the GPUs given (no GPU or NCCL needed): gpus[r] is rank r's key.
TEST(ReducerChoice, MpiIsAlwaysMpi) {
  const std::vector<std::string> shared{"n/0000:65:00.0", "n/0000:65:00.0"};
  for (bool nccl : {false, true})
    for (bool dev : {false, true})
      EXPECT_EQ(choose_reducer("mpi", shared, nccl, dev).backend, "mpi");
}

TEST(ReducerChoice, AutoTakesNcclOnlyWithDeviceGradientsSeveralRanksAndOwnGpus) {
  const std::vector<std::string> own{"a/0000:01:00.0", "a/0000:02:00.0", "b/0000:01:00.0"};
  EXPECT_EQ(choose_reducer("auto", own, true, true).backend, "nccl");
  EXPECT_EQ(choose_reducer("auto", own, true, true).why, "");
  // A host Kokkos build: no staging through PCIe for nothing.
  const ReducerChoice host = choose_reducer("auto", own, true, false);
  EXPECT_EQ(host.backend, "mpi");
  EXPECT_EQ(host.why, "gradients in host memory");
  EXPECT_EQ(choose_reducer("auto", own, false, true).backend, "mpi");  // no NCCL in the build
  // One rank: no communicator is built.
  const ReducerChoice one = choose_reducer("auto", {"a/0000:01:00.0"}, true, true);
  EXPECT_EQ(one.backend, "mpi");
  EXPECT_EQ(one.why, "one rank");
}

TEST(ReducerChoice, AutoFallsBackToMpiWhenRanksShareAGpu) {
  // Two tasks on a one-GPU node: the same PCI bus id on the same host. The same bus id on two
  // hosts is two GPUs.
  const std::vector<std::string> gpus{"a/0000:01:00.0", "b/0000:01:00.0", "a/0000:02:00.0",
                                      "a/0000:01:00.0"};
  const ReducerChoice c = choose_reducer("auto", gpus, true, true);
  EXPECT_EQ(c.backend, "mpi");
  EXPECT_EQ(c.why, "ranks 0, 3 share GPU a/0000:01:00.0");
  const ReducerChoice d =
      choose_reducer("auto", {"a/0000:01:00.0", "a/0000:01:00.0", "a/0000:01:00.0"}, true, true);
  EXPECT_EQ(d.why, "ranks 0, 1, 2 share GPU a/0000:01:00.0");
}

TEST(ReducerChoice, ExplicitNcclOnSharedGpuStopsNamingRanksAndGpu) {
  const std::string e = test::error_of([] {
    choose_reducer("nccl", {"a/0000:01:00.0", "a/0000:02:00.0", "a/0000:02:00.0"}, true, true);
  });
  EXPECT_NE(e.find("train.comm = \"nccl\" but ranks 1, 2 share GPU a/0000:02:00.0"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("--gpus-per-task=1"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << "one line: " << e;
  // Own GPUs, or ranks without one (the NCCL reducer reports those itself): nccl.
  EXPECT_EQ(choose_reducer("nccl", {"a/0000:01:00.0", "a/0000:02:00.0"}, true, false).backend,
            "nccl");
  EXPECT_EQ(choose_reducer("nccl", {"", ""}, true, true).backend, "nccl");
  EXPECT_EQ(choose_reducer("nccl", {"a/0000:01:00.0"}, true, true).backend, "nccl");
  const std::string no = test::error_of([] { choose_reducer("nccl", {"", ""}, false, true); });
  EXPECT_NE(no.find("SUPSNN_ENABLE_NCCL"), std::string::npos) << no;
}

// The collective form gathers every rank's answer of the injected query: every rank decides the
// same, and the query is asked only where NCCL could be used.
TEST(ReducerChoice, GathersEveryRanksGpuAndAgrees) {
  const Comm comm;
  int asked = 0;
  const GpuQuery one_gpu = [&](const Comm&) {
    ++asked;
    return std::string("node/0000:65:00.0");
  };
  const ReducerChoice shared = choose_reducer("auto", comm, one_gpu, true, true);
  EXPECT_EQ(asked, 1);
  if (comm.size() == 1) {
    EXPECT_EQ(shared.why, "one rank");
  } else {
    std::string ranks = "0";
    for (int r = 1; r < comm.size(); ++r) ranks += ", " + std::to_string(r);
    EXPECT_EQ(shared.backend, "mpi");
    EXPECT_EQ(shared.why, "ranks " + ranks + " share GPU node/0000:65:00.0");
    const std::string e =
        test::error_of([&] { choose_reducer("nccl", comm, one_gpu, true, true); });
    EXPECT_NE(e.find("share GPU node/0000:65:00.0"), std::string::npos) << e;
  }
  // One GPU per rank (the rank's bus id): NCCL on every rank.
  const GpuQuery own = [](const Comm& c) {
    return "node/0000:" + std::to_string(10 + c.rank()) + ":00.0";
  };
  EXPECT_EQ(choose_reducer("auto", comm, own, true, true).backend,
            comm.size() == 1 ? "mpi" : "nccl");
  EXPECT_EQ(choose_reducer("nccl", comm, own, true, true).backend, "nccl");
  // A host build or plain mpi never asks.
  asked = 0;
  EXPECT_EQ(choose_reducer("auto", comm, one_gpu, true, false).backend, "mpi");
  EXPECT_EQ(choose_reducer("mpi", comm, one_gpu, true, true).backend, "mpi");
  EXPECT_EQ(asked, 0);
}

TEST(Reducer, UnknownBackendNamesTheChoices) {
  const Comm comm;
  const std::string e = test::error_of([&] { make_gradient_reducer("gloo", comm); });
  EXPECT_NE(e.find("\"gloo\""), std::string::npos) << e;
  EXPECT_NE(e.find("\"mpi\", \"nccl\" or \"auto\""), std::string::npos) << e;
}

#ifndef SUPSNN_HAVE_NCCL
TEST(Reducer, NcclWithoutNcclBuildNamesTheOption) {
  const Comm comm;
  const std::string e = test::error_of([&] { make_gradient_reducer("nccl", comm); });
  EXPECT_NE(e.find("SUPSNN_ENABLE_NCCL"), std::string::npos) << e;
}
#else
// The only skip in the suite: NCCL compiled in, but this machine has no GPU (or one GPU for
// several ranks). Every rank learns
// it in the constructor (an all-reduce of "has a device"), so all ranks skip together.
std::unique_ptr<GradientReducer> nccl_or_skip_reason(const Comm& comm, std::string& reason) {
  try {
    return make_gradient_reducer("nccl", comm);
  } catch (const Error& e) {
    reason = e.what();
    return nullptr;
  }
}

TEST(Reducer, NcclSumsFloatAndDoubleExactly) {
  const Comm comm;
  std::string reason;
  auto red = nccl_or_skip_reason(comm, reason);
  if (!red) {
    // No GPU, or fewer GPUs than ranks on a node (NCCL needs one per rank): skip, saying which.
    ASSERT_TRUE(reason.find("no CUDA device") != std::string::npos ||
                reason.find("share GPU") != std::string::npos)
        << reason;
    GTEST_SKIP() << reason;
  }
  EXPECT_EQ(red->name(), "nccl");
  expect_sums(*red, comm);
  expect_large_sums(*red, comm);
}
#endif

// Sets environment variables for one scope and restores the previous values.
class EnvGuard {
 public:
  void set(const std::string& name, const char* value) {
    if (!saved_.count(name)) {
      const char* old = std::getenv(name.c_str());
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    if (value)
      ::setenv(name.c_str(), value, 1);
    else
      ::unsetenv(name.c_str());
  }
  ~EnvGuard() {
    for (const auto& [name, old] : saved_) {
      if (old)
        ::setenv(name.c_str(), old->c_str(), 1);
      else
        ::unsetenv(name.c_str());
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

constexpr const char* kSlurmVars[] = {"SLURM_STEP_ID",         "SLURM_LOCALID",
                                      "SLURM_NODEID",          "SLURM_STEP_TASKS_PER_NODE",
                                      "SLURM_NTASKS_PER_NODE", "SLURM_TASKS_PER_NODE"};

TEST(NodeInfo, MpiRanksOnOneHostHaveDistinctLocalRanks) {
  EnvGuard env;
  for (const char* v : kSlurmVars) env.set(v, nullptr);  // the mpirun path
  const Comm comm;
  const NodeInfo me = node_info(MPI_COMM_WORLD);
  EXPECT_FALSE(me.host.empty());
  EXPECT_GE(me.local_rank, 0);
  EXPECT_LT(me.local_rank, me.local_size);
  char host[256] = {};
  std::snprintf(host, sizeof host, "%s", me.host.c_str());
  std::vector<char> hosts(256 * comm.size());
  std::vector<int> local(2 * comm.size());
  const int mine[2] = {me.local_rank, me.local_size};
  MPI_Allgather(host, 256, MPI_CHAR, hosts.data(), 256, MPI_CHAR, MPI_COMM_WORLD);
  MPI_Allgather(mine, 2, MPI_INT, local.data(), 2, MPI_INT, MPI_COMM_WORLD);
  // Per host: local ranks are 0..k-1 once each and every rank there reports local_size k.
  std::map<std::string, std::vector<int>> by_host;
  for (int r = 0; r < comm.size(); ++r) by_host[&hosts[256 * r]].push_back(r);
  for (const auto& [h, ranks] : by_host) {
    std::vector<int> seen(ranks.size(), 0);
    for (int r : ranks) {
      EXPECT_EQ(local[2 * r + 1], static_cast<int>(ranks.size())) << h << " rank " << r;
      ASSERT_LT(local[2 * r], static_cast<int>(ranks.size())) << h << " rank " << r;
      ++seen[local[2 * r]];
    }
    for (std::size_t k = 0; k < seen.size(); ++k) EXPECT_EQ(seen[k], 1) << h << " local " << k;
  }
  // mpirun in this suite starts every rank on this machine.
  EXPECT_EQ(by_host.size(), 1u);
  EXPECT_EQ(me.local_size, comm.size());
}

TEST(NodeInfo, SrunPlacementComesFromSlurmVariables) {
  EnvGuard env;
  for (const char* v : kSlurmVars) env.set(v, nullptr);
  env.set("SLURM_STEP_ID", "0");
  env.set("SLURM_LOCALID", "1");
  env.set("SLURM_NODEID", "2");
  env.set("SLURM_TASKS_PER_NODE", "4(x2),3");
  // No collective on this path: a sub-communicator of one rank would do.
  NodeInfo n = node_info(MPI_COMM_SELF);
  EXPECT_EQ(n.local_rank, 1);
  EXPECT_EQ(n.local_size, 3);
  env.set("SLURM_NTASKS_PER_NODE", "2");
  EXPECT_EQ(node_info(MPI_COMM_SELF).local_size, 2);
  env.set("SLURM_STEP_TASKS_PER_NODE", "1,5(x2)");  // the step's layout wins
  EXPECT_EQ(node_info(MPI_COMM_SELF).local_size, 5);
  env.set("SLURM_NODEID", "0");
  env.set("SLURM_LOCALID", "0");
  EXPECT_EQ(node_info(MPI_COMM_SELF).local_size, 1);
}

TEST(NodeInfo, BadSlurmVariablesFailNamingTheVariable) {
  EnvGuard env;
  for (const char* v : kSlurmVars) env.set(v, nullptr);
  env.set("SLURM_STEP_ID", "0");
  env.set("SLURM_LOCALID", "x");
  env.set("SLURM_NTASKS_PER_NODE", "2");
  std::string e = test::error_of([] { node_info(MPI_COMM_SELF); });
  EXPECT_NE(e.find("SLURM_LOCALID='x'"), std::string::npos) << e;
  env.set("SLURM_LOCALID", "2");
  e = test::error_of([] { node_info(MPI_COMM_SELF); });
  EXPECT_NE(e.find("SLURM_LOCALID=2"), std::string::npos) << e;
  env.set("SLURM_NTASKS_PER_NODE", nullptr);
  env.set("SLURM_LOCALID", "0");
  env.set("SLURM_NODEID", "3");
  env.set("SLURM_TASKS_PER_NODE", "2(x2),1");
  e = test::error_of([] { node_info(MPI_COMM_SELF); });
  EXPECT_NE(e.find("SLURM_TASKS_PER_NODE='2(x2),1' lists 3 nodes"), std::string::npos) << e;
  env.set("SLURM_TASKS_PER_NODE", "2(x");
  e = test::error_of([] { node_info(MPI_COMM_SELF); });
  EXPECT_NE(e.find("SLURM_TASKS_PER_NODE"), std::string::npos) << e;
  env.set("SLURM_TASKS_PER_NODE", nullptr);
  e = test::error_of([] { node_info(MPI_COMM_SELF); });
  EXPECT_NE(e.find("SLURM_TASKS_PER_NODE"), std::string::npos) << e;
}

TEST(Device, DescribeNamesTheBackend) {
  const std::string d = describe_device();
  EXPECT_NE(d.find(ExecSpace::name()), std::string::npos) << d;
}

// ---- NaN/Inf check ----

template <class T>
View1<const T> to_view(const std::vector<T>& v) {
  View1<T> g("g", v.size());
  auto h = Kokkos::create_mirror_view(g);
  for (std::size_t i = 0; i < v.size(); ++i) h(i) = v[i];
  Kokkos::deep_copy(g, h);
  return g;
}

template <class T>
void finite_cases() {
  using L = std::numeric_limits<T>;
  EXPECT_TRUE(all_finite<T>(to_view(std::vector<T>{})));
  const std::vector<T> ok = {T(0),     T(-0.0),         L::max(), L::lowest(),
                             L::min(), L::denorm_min(), T(1.5)};
  EXPECT_TRUE(all_finite<T>(to_view(ok)));
  EXPECT_TRUE(all_finite_ref(ok.data(), ok.size()));
  for (T bad : {L::quiet_NaN(), -L::quiet_NaN(), L::infinity(), -L::infinity()}) {
    for (std::size_t pos : {std::size_t(0), std::size_t(3), ok.size() - 1}) {
      auto v = ok;
      v[pos] = bad;
      EXPECT_FALSE(all_finite<T>(to_view(v))) << bad << " at " << pos;
      EXPECT_FALSE(all_finite_ref(v.data(), v.size())) << bad << " at " << pos;
      EXPECT_EQ(count_nonfinite<T>(to_view(v)), 1);
    }
  }
  // Large random vector with a few non-finite entries: kernel agrees with the reference.
  std::vector<T> big(1'000'003);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = T((i * 2654435761u) % 1000) - T(500);
  EXPECT_TRUE(all_finite<T>(to_view(big)));
  big[999'999] = L::infinity();
  big[17] = L::quiet_NaN();
  EXPECT_EQ(count_nonfinite<T>(to_view(big)), 2);
  EXPECT_EQ(all_finite<T>(to_view(big)), all_finite_ref(big.data(), big.size()));
}

TEST(FiniteCheck, DoubleMatchesReference) {
  finite_cases<double>();
}
TEST(FiniteCheck, FloatMatchesReference) {
  finite_cases<float>();
}

// The intended use: after the all-reduce every rank sees the same sum, hence the same verdict.
TEST(FiniteCheck, OneRanksNanReachesEveryRankAfterTheSum) {
  const Comm comm;
  auto red = make_gradient_reducer("mpi", comm);
  auto g = filled<double>(100, comm.rank());
  if (comm.rank() == comm.size() - 1) {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), g);
    h(42) = std::numeric_limits<double>::quiet_NaN();
    Kokkos::deep_copy(g, h);
  }
  red->sum(g);
  red->wait();
  EXPECT_FALSE(all_finite<double>(g));
  EXPECT_EQ(count_nonfinite<double>(g), 1);
}

}  // namespace
}  // namespace supsnn
