// NCCL backend of the gradient reducer (compiled only with SUPSNN_ENABLE_NCCL). Needs only
// cuda_runtime.h and nccl.h, so a host compiler builds it; with a host Kokkos the gradient is
// staged through a device buffer, so the backend also runs from a CPU build on a GPU node.
#include <cuda_runtime.h>
#include <nccl.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>
#include <type_traits>

#include "common/error.hpp"
#include "dist/reducer.hpp"

namespace supsnn {
namespace {

void cuda_check(cudaError_t e, const char* call) {
  if (e != cudaSuccess)
    throw Error(std::string(call) + " failed: " + cudaGetErrorName(e) + ": " +
                cudaGetErrorString(e));
}
#define SUPSNN_CUDA(call) cuda_check((call), #call)

std::string nccl_message(ncclResult_t r, ncclComm_t comm) {
  std::string m = ncclGetErrorString(r);
#if defined(NCCL_VERSION_CODE) && NCCL_VERSION_CODE >= NCCL_VERSION(2, 13, 0)
  const char* last = ncclGetLastError(comm);
  if (last && *last) m += std::string(" (") + last + ")";
#else
  (void)comm;
#endif
  return m;
}

// Seconds a reduction may take before this rank gives up (a peer died or hangs):
// SUPSNN_NCCL_TIMEOUT_S, default 300.
double timeout_seconds() {
  const char* v = std::getenv("SUPSNN_NCCL_TIMEOUT_S");
  if (!v || !*v) return 300.0;
  char* end = nullptr;
  const double s = std::strtod(v, &end);
  if (end == v || *end != '\0' || !(s > 0))
    throw Error(std::string("SUPSNN_NCCL_TIMEOUT_S='") + v +
                "': expected a positive number of seconds");
  return s;
}

// The GPU this rank gives NCCL. Throws when there is none.
int pick_device(int local_rank) {
#ifdef KOKKOS_ENABLE_CUDA
  // Kokkos already chose the device (main() passes local rank % devices); use the same one.
  if constexpr (std::is_same_v<ExecSpace, Kokkos::Cuda>) return Kokkos::Cuda().cuda_device();
#endif
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess)
    throw Error(std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(e) + ": " +
                cudaGetErrorString(e));
  if (count == 0) throw Error("cudaGetDeviceCount found 0 devices");
  return local_rank % count;
}

class NcclReducer final : public GradientReducer {
 public:
  explicit NcclReducer(const Comm& comm) : timeout_s_(timeout_seconds()) {
    // node_info first: it may be collective on comm, so no rank may skip it.
    const NodeInfo node = node_info(comm.raw());
    // Every rank learns whether every rank has a device before any NCCL call, so a rank
    // without a GPU fails the whole group instead of leaving the others in ncclCommInitRank.
    std::string why;
    int device = -1;
    try {
      device = pick_device(node.local_rank);
    } catch (const Error& e) {
      why = e.what();
    }
    int ok = device >= 0 ? 1 : 0, all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm.raw());
    if (!all_ok)
      throw Error("no CUDA device: " + (why.empty() ? std::string("on another rank") : why) +
                  "; expected one GPU per rank for train.comm = \"nccl\" (or use \"mpi\")");
    SUPSNN_CUDA(cudaSetDevice(device));
    SUPSNN_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));

    ncclUniqueId id{};
    if (comm.rank() == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    // The id is the rendezvous address for the NCCL group; every rank needs the same bytes.
    if (MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, comm.raw()) != MPI_SUCCESS)
      throw Error("MPI_Bcast of the NCCL unique id failed");
    // A failed init leaves no communicator to abort: throw, main() aborts the MPI job.
    ncclComm_t c = nullptr;
    const ncclResult_t r = ncclCommInitRank(&c, comm.size(), id, comm.rank());
    if (r != ncclSuccess) throw Error("ncclCommInitRank failed: " + nccl_message(r, nullptr));
    comm_ = c;
  }

  ~NcclReducer() override {
    if (comm_) {
      // While an exception unwinds the peers may be gone or stuck; abort never waits for them.
      if (std::uncaught_exceptions() > 0)
        ncclCommAbort(comm_);
      else
        ncclCommDestroy(comm_);
    }
    if (staging_) cudaFree(staging_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  void sum(View1<double> g) override { reduce(g.data(), g.extent(0), ncclDouble); }
  void sum(View1<float> g) override { reduce(g.data(), g.extent(0), ncclFloat); }
  void wait() override {
    if (pending_) wait(pending_);
    pending_ = nullptr;
  }
  std::string name() const override { return "nccl"; }

 private:
  void check(ncclResult_t r, const char* call) {
    if (r == ncclSuccess) return;
    const std::string msg = std::string(call) + " failed: " + nccl_message(r, comm_);
    abort_comm();
    throw Error(msg);
  }

  void abort_comm() {
    if (comm_) ncclCommAbort(comm_);
    comm_ = nullptr;
  }

  static bool on_device(const void* p) {
    cudaPointerAttributes a{};
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
      (void)cudaGetLastError();  // older runtimes flag plain host pointers; clear that error
      return false;
    }
    return a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged;
  }

  void reduce(void* data, std::size_t count, ncclDataType_t type) {
    if (!comm_) throw Error("NCCL communicator was aborted by an earlier failure");
    if (count == 0) return;
    const std::size_t bytes = count * (type == ncclDouble ? sizeof(double) : sizeof(float));
#ifdef KOKKOS_ENABLE_CUDA
    if constexpr (std::is_same_v<ExecSpace, Kokkos::Cuda>) {
      // Enqueued on Kokkos' own stream: after the backward kernels that wrote the gradient and
      // before the kernels that read the sum, so there is neither a fence nor a wait here; the
      // trainer's wait() (once per step, with the timeout) covers it.
      cudaStream_t ks = ExecSpace().cuda_stream();
      check(ncclAllReduce(data, data, count, type, ncclSum, comm_, ks), "ncclAllReduce");
      pending_ = ks;
      return;
    }
#endif
    // Host Kokkos: the gradient was written by host threads, which are done when they return.
    ExecSpace().fence();
    void* buf = data;
    const bool staged = !on_device(data);
    if (staged) {  // host Kokkos: stage through a device buffer kept between calls
      if (staging_bytes_ < bytes) {
        if (staging_) SUPSNN_CUDA(cudaFree(staging_));
        staging_ = nullptr;
        SUPSNN_CUDA(cudaMalloc(&staging_, bytes));
        staging_bytes_ = bytes;
      }
      buf = staging_;
      SUPSNN_CUDA(cudaMemcpyAsync(buf, data, bytes, cudaMemcpyHostToDevice, stream_));
    }
    check(ncclAllReduce(buf, buf, count, type, ncclSum, comm_, stream_), "ncclAllReduce");
    // Wait (polling, see wait()) before copying back: a device-to-host copy into pageable memory
    // blocks the host until the stream gets there, which would bypass the timeout.
    wait(stream_);
    if (staged) {
      SUPSNN_CUDA(cudaMemcpyAsync(data, buf, bytes, cudaMemcpyDeviceToHost, stream_));
      wait(stream_);
    }
    // Returning only now: the caller (and the next Kokkos kernel) reads the sum right away.
  }

  // Polls instead of cudaStreamSynchronize so that a dead or hung peer ends in an error here
  // (then main() calls MPI_Abort and every rank stops) rather than a rank blocked forever.
  void wait(cudaStream_t stream) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      const cudaError_t q = cudaStreamQuery(stream);
      if (q == cudaSuccess) return;
      if (q != cudaErrorNotReady) {
        abort_comm();
        cuda_check(q, "cudaStreamQuery (NCCL all-reduce)");
      }
      ncclResult_t async = ncclSuccess;
      check(ncclCommGetAsyncError(comm_, &async), "ncclCommGetAsyncError");
      if (async != ncclSuccess && async != ncclInProgress) {
        const std::string msg =
            "ncclAllReduce failed asynchronously: " + nccl_message(async, comm_);
        abort_comm();
        throw Error(msg);
      }
      const double waited =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (waited > timeout_s_) {
        abort_comm();
        throw Error("ncclAllReduce did not finish within " + std::to_string(timeout_s_) +
                    " s (SUPSNN_NCCL_TIMEOUT_S); expected every rank to reach the reduction");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

  double timeout_s_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;   // ours, for host gradients staged through the device
  cudaStream_t pending_ = nullptr;  // Kokkos' stream while a sum enqueued on it is unchecked
  void* staging_ = nullptr;
  std::size_t staging_bytes_ = 0;
};

}  // namespace

// "host/PCI bus id" of the GPU pick_device() gives this rank ("" without one): two ranks with the
// same key would share a GPU, which ncclCommInitRank refuses.
std::string nccl_gpu_key(int local_rank) {
  int device = -1;
  try {
    device = pick_device(local_rank);
  } catch (const Error&) {
    return "";  // the reducer's constructor reports the missing device on every rank
  }
  char bus[32] = {};
  if (cudaDeviceGetPCIBusId(bus, sizeof bus, device) != cudaSuccess) {
    (void)cudaGetLastError();
    std::snprintf(bus, sizeof bus, "device %d", device);
  }
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "?");
  return std::string(host) + "/" + bus;
}

std::unique_ptr<GradientReducer> make_nccl_reducer(const Comm& comm) {
  return std::make_unique<NcclReducer>(comm);
}

}  // namespace supsnn
