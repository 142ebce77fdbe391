// Shared types for the compute kernels: execution/memory spaces and view aliases.
// Backends come from the installed Kokkos (Serial/OpenMP on CPUs, CUDA on GPUs).
#pragma once
#include <Kokkos_Core.hpp>

#include <type_traits>

namespace supsnn {

// Device math: Kokkos 3.4 has it in Kokkos::Experimental, Kokkos >= 3.6 in Kokkos.
namespace kmath {
#if KOKKOS_VERSION >= 30600
using Kokkos::exp;
using Kokkos::log;
using Kokkos::sqrt;
#else
using Kokkos::Experimental::exp;
using Kokkos::Experimental::log;
using Kokkos::Experimental::sqrt;
#endif
}  // namespace kmath

using ExecSpace = Kokkos::DefaultExecutionSpace;
using MemSpace = ExecSpace::memory_space;

// Whether kernels of an execution space run on host threads (Serial, OpenMP, Threads). Asked of
// the execution space, never of memory: with CUDA UVM the memory is host-accessible but the
// kernels still run on the GPU, and host-only loops must not be sent there.
template <class Exec>
inline constexpr bool kRunsOnHost = Kokkos::SpaceAccessibility<Exec, Kokkos::HostSpace>::accessible;
inline constexpr bool kHostExec = kRunsOnHost<ExecSpace>;

// A multi-dimensional range over row-major (LayoutRight) views: the last index fastest on every
// backend. CUDA's default (Iterate::Left) would make neighbouring threads stride through memory.
template <int R>
using RowMajorRange =
    Kokkos::MDRangePolicy<ExecSpace,
                          Kokkos::Rank<R, Kokkos::Iterate::Right, Kokkos::Iterate::Right>>;

template <class T>
using View1 = Kokkos::View<T*, MemSpace>;
template <class T>
using View2 = Kokkos::View<T**, Kokkos::LayoutRight, MemSpace>;
template <class T>
using View3 = Kokkos::View<T***, Kokkos::LayoutRight, MemSpace>;

// Input spikes of one batch, kept as events (never a dense m x (T+1) tensor).
// Two orderings of the same events are kept so that both passes are gathers
// (deterministic, no atomics): forward by (sample, step), backward by input neuron.
struct EventBatch {
  int batch = 0;            // B
  int inputs = 0;           // m
  int raw_steps = 0;        // T: raw spike samples are steps 0..T
  View1<int> fwd_offsets;   // B*(T+1)+1: events of (b,k) are [off[b*(T+1)+k], off[...+1])
  View1<int> fwd_neuron;    // input neuron of each event
  View1<int> bwd_offsets;   // m+1: events of neuron i are [off[i], off[i+1])
  View1<int> bwd_slot;      // b*(T+1)+k of each event
  bool input_order = true;  // bwd_* hold this batch (CPU backends skip them: see BatchBuilder)
  // E, the number of events (= fwd_offsets(B*(T+1))), as the host learnt it while assembling the
  // batch; -1: unknown. Reading it here saves a device-to-host copy (a GPU sync) per batch.
  long long events = -1;
};

// Host memory that batches are assembled in before their copy to the device: on CUDA pinned
// memory (copies at full PCIe speed with no per-batch allocation; pageable memory is staged by
// the driver), on host backends plain host memory, where the device views themselves are filled.
#ifdef KOKKOS_ENABLE_CUDA
using StagingSpace = std::conditional_t<kHostExec, Kokkos::HostSpace, Kokkos::CudaHostPinnedSpace>;
#else
using StagingSpace = Kokkos::HostSpace;
#endif
template <class T>
using StagingView = Kokkos::View<T*, StagingSpace>;

// Whether the event kernels of this build read the per-input (bwd_*) order: the GPU gather does;
// on CPUs the backward pass scatters in (sample, step) order and never reads it.
constexpr bool kKernelsReadInputOrder = !kHostExec;

}  // namespace supsnn
