// Gradient all-reduce behind one interface, two backends: `mpi` (host buffer, in-place
// MPI_Allreduce) and `nccl` (device buffer, in-place ncclAllReduce on a dedicated stream).
#pragma once
#include <memory>
#include <string>

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
  virtual std::string name() const = 0;  // "mpi" or "nccl"
};

// backend: "mpi", "nccl" or "auto" (nccl when compiled in and Kokkos runs on CUDA, else mpi).
// Throws supsnn::Error for "nccl" without NCCL support.
std::unique_ptr<GradientReducer> make_gradient_reducer(const std::string& backend,
                                                       const Comm& comm);

}  // namespace supsnn
