// Child of test_fault: 3+ ranks meet in a barrier, then rank 1 dies by SIGKILL while the others
// keep calling MPI_Allreduce for up to 10 minutes. The launcher must end them; if it does not,
// they exit 0 after 10 minutes and test_fault fails on its time limit long before that.
#include <mpi.h>

#include <chrono>
#include <csignal>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Barrier(MPI_COMM_WORLD);  // every rank is up before one dies
  if (rank == 1) std::raise(SIGKILL);
  std::vector<double> buf(1024, 1.0);
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::minutes(10))
    MPI_Allreduce(MPI_IN_PLACE, buf.data(), static_cast<int>(buf.size()), MPI_DOUBLE, MPI_MAX,
                  MPI_COMM_WORLD);
  MPI_Finalize();
  return 0;
}
