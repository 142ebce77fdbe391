#include "dist/reducer.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <vector>

#include "common/error.hpp"

#ifdef KOKKOS_ENABLE_CUDA
#include <cuda_runtime.h>
#endif

namespace supsnn {

#ifdef SUPSNN_HAVE_NCCL
// Defined in nccl_reducer.cpp (compiled only when NCCL is enabled).
std::unique_ptr<GradientReducer> make_nccl_reducer(const Comm& comm);
std::string nccl_gpu_key(int local_rank);
#endif

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

int parse_int(const char* name, const std::string& text) {
  std::size_t used = 0;
  int v = 0;
  try {
    v = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || v < 0)
    throw Error(std::string(name) + "='" + text + "': expected a non-negative integer");
  return v;
}

// Tasks on node `node` from SLURM's compressed per-node list, e.g. "2(x3),1" = 2,2,2,1.
int tasks_on_node(const char* name, const std::string& list, int node) {
  int seen = 0;
  std::size_t pos = 0;
  while (pos < list.size()) {
    std::size_t end = list.find(',', pos);
    if (end == std::string::npos) end = list.size();
    const std::string item = list.substr(pos, end - pos);
    const std::size_t paren = item.find("(x");
    int tasks = 0, repeat = 1;
    if (paren == std::string::npos) {
      tasks = parse_int(name, item);
    } else {
      if (item.back() != ')')
        throw Error(std::string(name) + "='" + list + "': expected entries like 2 or 2(x3)");
      tasks = parse_int(name, item.substr(0, paren));
      repeat = parse_int(name, item.substr(paren + 2, item.size() - paren - 3));
    }
    if (node < seen + repeat) return tasks;
    seen += repeat;
    pos = end + 1;
  }
  throw Error(std::string(name) + "='" + list + "' lists " + std::to_string(seen) +
              " nodes; expected an entry for SLURM_NODEID=" + std::to_string(node));
}

// Host-buffer backend. Works with any Kokkos memory space; device views go through a host
// mirror that is kept between calls (the gradient size does not change during training).
class MpiReducer final : public GradientReducer {
 public:
  explicit MpiReducer(const Comm& comm) : comm_(comm) {}
  void sum(View1<double> g) override { reduce(g, host_d_); }
  void sum(View1<float> g) override { reduce(g, host_f_); }
  std::string name() const override { return "mpi"; }

 private:
  // Pinned on CUDA (StagingSpace): the copies around MPI_Allreduce run at full PCIe speed.
  template <class T>
  using HostBuf = Kokkos::View<T*, typename View1<T>::array_layout, StagingSpace>;

  template <class T>
  void reduce(const View1<T>& g, HostBuf<T>& host) {
    if (comm_.size() == 1) return;  // nothing to add; skip the copies
    // A question about memory (may MPI read g.data()?), not about where kernels run: CUDA UVM
    // memory may be passed directly too.
    if constexpr (Kokkos::SpaceAccessibility<Kokkos::HostSpace, MemSpace>::accessible) {
      // MPI reads g.data() directly: kernels that wrote the gradient may still be running
      // asynchronously (host backends or UVM), so wait for them before MPI touches the memory.
      ExecSpace().fence();
      comm_.allreduce_sum(g.data(), g.extent(0));
    } else {
      if (host.extent(0) != g.extent(0))
        host =
            HostBuf<T>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "grad_host"), g.extent(0));
      // Two-argument deep_copy fences before copying, so the backward kernels are complete and
      // the host buffer holds the final local gradient; it fences again after copying back.
      Kokkos::deep_copy(host, g);
      comm_.allreduce_sum(host.data(), host.extent(0));
      Kokkos::deep_copy(g, host);
    }
  }

  const Comm comm_;  // a copy: the handle stays valid however the caller keeps its Comm
  HostBuf<double> host_d_;
  HostBuf<float> host_f_;
};

}  // namespace

NodeInfo node_info(MPI_Comm world) {
  NodeInfo info;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) throw Error("gethostname failed");
  info.host = host;

  // Inside an srun job step SLURM knows the placement: no communication needed.
  if (env("SLURM_STEP_ID") && env("SLURM_LOCALID")) {
    info.local_rank = parse_int("SLURM_LOCALID", env("SLURM_LOCALID"));
    const int node = env("SLURM_NODEID") ? parse_int("SLURM_NODEID", env("SLURM_NODEID")) : 0;
    // The step's own layout first (srun may run fewer tasks than the allocation has), then
    // --ntasks-per-node, then the allocation's per-node list.
    if (const char* v = env("SLURM_STEP_TASKS_PER_NODE"))
      info.local_size = tasks_on_node("SLURM_STEP_TASKS_PER_NODE", v, node);
    else if (const char* v2 = env("SLURM_NTASKS_PER_NODE"))
      info.local_size = parse_int("SLURM_NTASKS_PER_NODE", v2);
    else if (const char* v3 = env("SLURM_TASKS_PER_NODE"))
      info.local_size = tasks_on_node("SLURM_TASKS_PER_NODE", v3, node);
    else
      throw Error(
          "SLURM_STEP_ID is set but none of SLURM_STEP_TASKS_PER_NODE, SLURM_NTASKS_PER_NODE, "
          "SLURM_TASKS_PER_NODE is; expected srun to set them");
    if (info.local_rank >= info.local_size)
      throw Error("SLURM_LOCALID=" + std::to_string(info.local_rank) + " but the node runs " +
                  std::to_string(info.local_size) +
                  " tasks; expected a local id below the task count");
    return info;
  }

  // Elsewhere (mpirun, singleton): ranks that share memory share a node. Collective on world.
  MPI_Comm local = MPI_COMM_NULL;
  if (MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local) != MPI_SUCCESS)
    throw Error("MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) failed");
  MPI_Comm_rank(local, &info.local_rank);
  MPI_Comm_size(local, &info.local_size);
  MPI_Comm_free(&local);
  return info;
}

std::string describe_device() {
#ifdef KOKKOS_ENABLE_CUDA
  if constexpr (std::is_same_v<ExecSpace, Kokkos::Cuda>) {
    const int dev = Kokkos::Cuda().cuda_device();
    cudaDeviceProp prop{};
    const std::string name =
        cudaGetDeviceProperties(&prop, dev) == cudaSuccess ? prop.name : "(unknown)";
    return "CUDA device " + std::to_string(dev) + ": " + name;
  }
#endif
  const int n = ExecSpace().concurrency();
  return std::string(ExecSpace::name()) + " " + std::to_string(n) +
         (n == 1 ? " thread" : " threads");
}

bool nccl_built() {
#ifdef SUPSNN_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

bool gradients_on_gpu() {
#ifdef KOKKOS_ENABLE_CUDA
  return std::is_same_v<ExecSpace, Kokkos::Cuda>;
#else
  return false;
#endif
}

std::string this_rank_gpu(const Comm& comm) {
#ifdef SUPSNN_HAVE_NCCL
  // node_info is collective on comm; choose_reducer asks every rank or none.
  return nccl_gpu_key(node_info(comm.raw()).local_rank);
#else
  (void)comm;
  return "";
#endif
}

ReducerChoice choose_reducer(const std::string& backend, const std::vector<std::string>& gpus,
                             bool have_nccl, bool device_gradients) {
  if (backend != "mpi" && backend != "nccl" && backend != "auto")
    throw Error("train.comm = \"" + backend + "\": expected \"mpi\", \"nccl\" or \"auto\"");
  if (backend == "mpi") return {"mpi", ""};
  if (backend == "nccl" && !have_nccl)
    throw Error(
        "train.comm = \"nccl\" but this supsnn was built without NCCL; expected a build "
        "configured with -DSUPSNN_ENABLE_NCCL=ON (or train.comm = \"mpi\")");
  if (backend == "auto") {
    // NCCL pays off only when the gradients already live in GPU memory; with a host Kokkos
    // the MPI backend avoids two PCIe copies per step. One rank has nothing to reduce.
    if (!have_nccl) return {"mpi", ""};
    if (!device_gradients) return {"mpi", "gradients in host memory"};
    if (gpus.size() < 2) return {"mpi", "one rank"};
  }
  // The first GPU that two ranks share, in rank order (a rank without a GPU is the NCCL
  // reducer's own error, which names the rank's CUDA failure).
  for (std::size_t a = 0; a < gpus.size(); ++a) {
    if (gpus[a].empty()) continue;
    std::string ranks = std::to_string(a);
    int sharing = 1;
    for (std::size_t b = a + 1; b < gpus.size(); ++b)
      if (gpus[b] == gpus[a]) {
        ranks += ", " + std::to_string(b);
        ++sharing;
      }
    if (sharing == 1) continue;
    const std::string what = "ranks " + ranks + " share GPU " + gpus[a];
    if (backend == "auto") return {"mpi", what};
    throw Error("train.comm = \"nccl\" but " + what +
                "; expected one GPU per rank (srun --gpus-per-task=1, or fewer ranks per node) "
                "or train.comm = \"mpi\"");
  }
  return {"nccl", ""};
}

ReducerChoice choose_reducer(const std::string& backend, const Comm& comm, const GpuQuery& query,
                             bool have_nccl, bool device_gradients) {
  // Every rank reaches the same branch (same backend, same build), so the gather is collective.
  const bool may_use_nccl =
      have_nccl && (backend == "nccl" || (backend == "auto" && device_gradients));
  std::vector<std::string> gpus(comm.size());
  if (may_use_nccl) {
    constexpr int kKey = 256;  // host name (<= 64 on Linux) + '/' + PCI bus id (13)
    char mine[kKey] = {};
    // Truncated rather than refused: a throw here on one rank would leave the others in the
    // gather (host names have at most 64 characters, so real keys always fit).
    std::snprintf(mine, sizeof mine, "%s", query(comm).c_str());
    std::vector<char> all(static_cast<std::size_t>(kKey) * comm.size());
    MPI_Allgather(mine, kKey, MPI_CHAR, all.data(), kKey, MPI_CHAR, comm.raw());
    for (int r = 0; r < comm.size(); ++r) gpus[r] = std::string(&all[std::size_t(r) * kKey]);
  }
  return choose_reducer(backend, gpus, have_nccl, device_gradients);
}

std::unique_ptr<GradientReducer> make_gradient_reducer(const ReducerChoice& choice,
                                                       const Comm& comm) {
  if (choice.backend == "mpi") return std::make_unique<MpiReducer>(comm);
#ifdef SUPSNN_HAVE_NCCL
  if (choice.backend == "nccl") return make_nccl_reducer(comm);
#endif
  throw Error("gradient reducer \"" + choice.backend + "\" is not in this build");
}

std::unique_ptr<GradientReducer> make_gradient_reducer(const std::string& backend,
                                                       const Comm& comm) {
  return make_gradient_reducer(choose_reducer(backend, comm), comm);
}

}  // namespace supsnn
