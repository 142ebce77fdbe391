// Gradient all-reduce behind one interface, two backends: `mpi` (host buffer, in-place
// MPI_Allreduce) and `nccl` (device buffer, in-place ncclAllReduce on a dedicated stream).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dist/comm.hpp"
#include "kernels/common.hpp"

namespace supsnn {

// Where this rank runs: filled before Kokkos starts so that each rank can pick its GPU.
struct NodeInfo {
  std::string host;
  int local_rank = 0, local_size = 1;  // SLURM_LOCALID / SLURM_NTASKS_PER_NODE, else an MPI
                                       // shared-memory split of MPI_COMM_WORLD
};
NodeInfo node_info(MPI_Comm world);

// What this rank computes on, for the log: "OpenMP 2 threads", "CUDA device 0: NVIDIA H200".
std::string describe_device();

class GradientReducer {
 public:
  virtual ~GradientReducer() = default;
  // In place: g <- sum over ranks of g. Collective; every rank passes the same extent.
  virtual void sum(View1<double> g) = 0;
  virtual void sum(View1<float> g) = 0;
  // Blocks until the last sum() has completed. NCCL on CUDA enqueues the sum on Kokkos' stream
  // and returns at once (later kernels on that stream are ordered after it); this waits, polling
  // with a timeout, so a dead peer ends in an error. The MPI reducer's sums are complete on
  // return.
  virtual void wait() {}
  virtual std::string name() const = 0;  // "mpi" or "nccl"
};

// Which reducer a run uses and, when `auto` did not take NCCL on a GPU build, why.
struct ReducerChoice {
  std::string backend;  // "mpi" or "nccl"
  std::string why;      // "" or a short reason for the log ("ranks 0 and 1 share GPU ...")
};

// The GPU this rank would give NCCL, as "host/PCI bus id" ("" without one): every rank returns
// its own. The default (this_rank_gpu) asks the CUDA runtime; tests inject their own.
// Collective on comm (node_info).
using GpuQuery = std::function<std::string(const Comm&)>;
std::string this_rank_gpu(const Comm& comm);

// Whether this build has NCCL, and whether its gradients live in GPU memory (Kokkos on CUDA).
bool nccl_built();
bool gradients_on_gpu();

// The decision alone (no communication): gpus[r] is rank r's GPU key. `mpi` is always mpi;
// `nccl` needs an NCCL build and one GPU per rank (shared GPUs: ncclCommInitRank would fail with
// "Duplicate GPU detected", so it throws one line naming the ranks and the GPU); `auto` takes
// NCCL only with gradients on the GPU, more than one rank and no GPU shared, else mpi.
ReducerChoice choose_reducer(const std::string& backend, const std::vector<std::string>& gpus,
                             bool have_nccl, bool device_gradients);
// Collective: gathers every rank's GPU key (the query is only asked where NCCL could be used),
// then decides as above; every rank gets the same choice.
ReducerChoice choose_reducer(const std::string& backend, const Comm& comm,
                             const GpuQuery& query = this_rank_gpu, bool have_nccl = nccl_built(),
                             bool device_gradients = gradients_on_gpu());

std::unique_ptr<GradientReducer> make_gradient_reducer(const ReducerChoice& choice,
                                                       const Comm& comm);
// Both steps: backend "mpi", "nccl" or "auto". Throws supsnn::Error for "nccl" without NCCL
// support or with shared GPUs. Collective.
std::unique_ptr<GradientReducer> make_gradient_reducer(const std::string& backend,
                                                       const Comm& comm);

}  // namespace supsnn
