// The communicator seen by the trainer: rank, size and a sum all-reduce over one flat host
// buffer (MPI). NCCL and device buffers come with the distributed-training issue.
#pragma once
#include <mpi.h>

#include <cstddef>

namespace supsnn {

// Initialises MPI for the process lifetime (MPI_Init_thread, funneled) and finalises it.
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

class Comm {
 public:
  explicit Comm(MPI_Comm comm = MPI_COMM_WORLD);
  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm raw() const { return comm_; }

  // In-place sum over ranks. Every rank must call it with the same count (collective).
  void allreduce_sum(double* buf, std::size_t count) const;
  void allreduce_sum(float* buf, std::size_t count) const;
  void allreduce_sum(long* buf, std::size_t count) const;
  // In-place maximum over ranks (flags that one rank raised reach all).
  void allreduce_max(long* buf, std::size_t count) const;

  // Fails when SLURM says the job has a different number of tasks than MPI has ranks (an srun
  // without an MPI plugin starts N independent singletons that would each train alone).
  void check_launch() const;

 private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

}  // namespace supsnn
