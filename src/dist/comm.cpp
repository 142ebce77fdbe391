#include "dist/comm.hpp"

#include <cstdlib>
#include <string>

#include "common/error.hpp"

namespace supsnn {

MpiSession::MpiSession(int* argc, char*** argv) {
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

Comm::Comm(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

// Counts are chunked so that buffers beyond INT_MAX elements still reduce correctly.
template <class T>
static void allreduce_chunked(MPI_Comm comm, T* buf, std::size_t count, MPI_Datatype type) {
  const std::size_t chunk = 1u << 30;
  for (std::size_t off = 0; off < count; off += chunk) {
    const int n = static_cast<int>(count - off < chunk ? count - off : chunk);
    if (MPI_Allreduce(MPI_IN_PLACE, buf + off, n, type, MPI_SUM, comm) != MPI_SUCCESS)
      throw Error("MPI_Allreduce failed");
  }
}

void Comm::allreduce_sum(double* buf, std::size_t count) const {
  if (size_ > 1) allreduce_chunked(comm_, buf, count, MPI_DOUBLE);
}
void Comm::allreduce_sum(float* buf, std::size_t count) const {
  if (size_ > 1) allreduce_chunked(comm_, buf, count, MPI_FLOAT);
}
void Comm::allreduce_sum(long* buf, std::size_t count) const {
  if (size_ > 1) allreduce_chunked(comm_, buf, count, MPI_LONG);
}

void Comm::allreduce_max(long* buf, std::size_t count) const {
  if (size_ > 1 && MPI_Allreduce(MPI_IN_PLACE, buf, static_cast<int>(count), MPI_LONG, MPI_MAX,
                                 comm_) != MPI_SUCCESS)
    throw Error("MPI_Allreduce (max) failed");
}

void Comm::check_launch() const {
  const char* tasks = std::getenv("SLURM_NTASKS");
  const char* step = std::getenv("SLURM_STEP_ID");  // set only inside srun job steps
  if (tasks && step) {
    const int n = std::atoi(tasks);
    int world = 1;  // the launch, not this communicator: sweeps train on parts of the world
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    if (n != world)
      throw Error("MPI world has " + std::to_string(world) + " ranks but SLURM_NTASKS=" + tasks +
                  ": srun started independent processes instead of one MPI job; launch with "
                  "srun --mpi=pmix (or mpirun with the same task count)");
  }
}

}  // namespace supsnn
