#!/usr/bin/env bash
# GPU check (issue #8): build supsnn against a CUDA-enabled Kokkos, run the test suite on the
# GPU (the NCCL reducer test runs instead of skipping) and the training benchmark.
#   Kokkos_ROOT=/path/to/kokkos-cuda launch/gpu-check.sh [OUT_DIR]
# Needs: a Kokkos 4 install with the CUDA backend (its bin/nvcc_wrapper), KokkosKernels 4 built
# against it with the cuBLAS TPL (KokkosKernels_ROOT, default Kokkos_ROOT), MPI and parallel HDF5
# (found by CMake as usual: MPI_HOME, HDF5_ROOT, CMAKE_PREFIX_PATH), NCCL (NCCL_ROOT or the
# CUDA toolkit), one or more GPUs. Everything it prints is also saved under OUT_DIR
# (default build-gpu/gpu-check): configure/build logs, ctest output, bench output, nvidia-smi.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${Kokkos_ROOT:?set Kokkos_ROOT to a Kokkos install with the CUDA backend}"
OUT=${1:-build-gpu/gpu-check}
mkdir -p "$OUT"
WRAPPER=${NVCC_WRAPPER:-$Kokkos_ROOT/bin/nvcc_wrapper}
[[ -x $WRAPPER ]] || { echo "gpu-check.sh: no nvcc_wrapper at $WRAPPER (set NVCC_WRAPPER)" >&2; exit 1; }
nvidia-smi | tee "$OUT/nvidia-smi.txt" || { echo "gpu-check.sh: no GPU visible (nvidia-smi failed)" >&2; exit 1; }

cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DKokkos_ROOT="$Kokkos_ROOT" \
  -DKokkosKernels_ROOT="${KokkosKernels_ROOT:-$Kokkos_ROOT}" \
  -DCMAKE_CXX_COMPILER="$WRAPPER" -DSUPSNN_ENABLE_NCCL=ON 2>&1 | tee "$OUT/configure.log"
cmake --build build-gpu -j"$(nproc)" 2>&1 | tee "$OUT/build.log"
# Several ranks share one GPU in the MPI tests (oversubscribed) unless the node has more.
ctest --test-dir build-gpu --output-on-failure -j1 2>&1 | tee "$OUT/ctest.log"
[[ -f data/soc3.h5 ]] || build-gpu/src/supsnn prepare --input ../shared/data/mstar/soc3 --output data/soc3.h5
build-gpu/src/supsnn bench --train --density 0.007,0.25 --batches 1,8,64,512 --seconds 3 \
  --input-path events,dense \
  --also data/soc3.h5 2>&1 | tee "$OUT/bench.log"
echo "gpu-check.sh: logs in $OUT"
