#!/usr/bin/env bash
# GPU check (issues #8, #18): supsnn's test suite and training benchmark on a GPU node.
#
# From a bundle made by launch/gpu-bundle.sh (a bare GPU node: CUDA driver and cuBLAS, no MPI,
# HDF5 or Kokkos), in under 8 minutes on one H200:
#   launch/gpu-check.sh --bundle DIR|DIR.tar.xz [--shared DIR] [--jobs N] [OUT_DIR]
#     runs every test program (MPI ones at 1 and 2 ranks, the MPI reducer: the bundle has no NCCL)
#     and `supsnn bench --train` at batch 1 to 512; logs and summary.txt in OUT_DIR
#     (default gpu-check-out). --shared: the shared/ folder with data/ and golden/ (default
#     ../shared beside the repository); tests that need it fail, saying so, where it is absent.
#   launch/gpu-check.sh --bundle DIR --verify-only
#     the checks that need no GPU: every library of every program resolves inside the bundle
#     (ldd with only the bundle on LD_LIBRARY_PATH; glibc and the node's CUDA driver and cuBLAS
#     excepted), and the host-only tools run (supsnn --version, alone and under the bundled mpirun).
#
# From a CUDA Kokkos install (a node with MPI, HDF5 and NCCL; the NCCL test runs):
#   Kokkos_ROOT=/path/to/kokkos-cuda launch/gpu-check.sh [OUT_DIR]
#     builds supsnn with nvcc_wrapper into build-gpu (KokkosKernels_ROOT, default Kokkos_ROOT),
#     then runs ctest and the benchmark; logs in OUT_DIR (default build-gpu/gpu-check).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "gpu-check.sh: $*" >&2; exit 1; }

BUNDLE="" SHARED="$REPO/../shared" VERIFY_ONLY=0 JOBS=4 OUT=""
while (($#)); do
  case $1 in
    --bundle) BUNDLE=${2:?--bundle needs a folder}; shift 2 ;;
    --shared) SHARED=${2:?--shared needs a folder}; shift 2 ;;
    --jobs) JOBS=${2:?--jobs needs a number}; shift 2 ;;
    --verify-only) VERIFY_ONLY=1; shift ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) die "unknown option $1 (expected --bundle, --shared, --jobs, --verify-only)" ;;
    *) OUT=$1; shift ;;
  esac
done
BENCH=(bench --train --density 0.007,0.25 --batches 1,8,64,512 --seconds 3 --input-path events,dense)

if [[ -z $BUNDLE ]]; then
  # ---- Build mode: a CUDA Kokkos install on a full node. ----
  : "${Kokkos_ROOT:?set Kokkos_ROOT to a Kokkos install with the CUDA backend, or pass --bundle DIR}"
  OUT=${OUT:-build-gpu/gpu-check}
  cd "$REPO" && mkdir -p "$OUT"
  WRAPPER=${NVCC_WRAPPER:-$Kokkos_ROOT/bin/nvcc_wrapper}
  [[ -x $WRAPPER ]] || die "no nvcc_wrapper at $WRAPPER (set NVCC_WRAPPER)"
  nvidia-smi | tee "$OUT/nvidia-smi.txt" || die "no GPU visible (nvidia-smi failed)"
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DKokkos_ROOT="$Kokkos_ROOT" \
    -DKokkosKernels_ROOT="${KokkosKernels_ROOT:-$Kokkos_ROOT}" \
    -DCMAKE_CXX_COMPILER="$WRAPPER" -DSUPSNN_ENABLE_NCCL=ON 2>&1 | tee "$OUT/configure.log"
  cmake --build build-gpu -j"$(nproc)" 2>&1 | tee "$OUT/build.log"
  # Several ranks share one GPU in the MPI tests (oversubscribed) unless the node has more.
  ctest --test-dir build-gpu --output-on-failure -j1 2>&1 | tee "$OUT/ctest.log"
  [[ -f data/soc3.h5 ]] || build-gpu/src/supsnn prepare --input ../shared/data/mstar/soc3 --output data/soc3.h5
  build-gpu/src/supsnn "${BENCH[@]}" --also data/soc3.h5 2>&1 | tee "$OUT/bench.log"
  echo "gpu-check.sh: logs in $OUT"
  exit 0
fi

# ---- Bundle mode. ----
if [[ -f $BUNDLE && $BUNDLE == *.tar.xz ]]; then  # the archive gpu-bundle.sh writes: unpack it
  unpacked=$(mktemp -d "${TMPDIR:-/tmp}/supsnn-bundle.XXXXXX")
  tar -C "$unpacked" -xJf "$BUNDLE" || die "$BUNDLE: cannot unpack (expected gpu-bundle.sh's .tar.xz)"
  BUNDLE=$(find "$unpacked" -mindepth 1 -maxdepth 1 -type d | head -1)
  echo "gpu-check.sh: unpacked into $BUNDLE"
fi
[[ -d $BUNDLE && -x $BUNDLE/bin/supsnn && -f $BUNDLE/tests.tsv ]] ||
  die "$BUNDLE: not a bundle from launch/gpu-bundle.sh (expected bin/supsnn and tests.tsv)"
B=$(cd "$BUNDLE" && pwd)
export OPAL_PREFIX=$B/mpi PMIX_PREFIX=$B/pmix PATH=$B/mpi/bin:$PATH
# Open MPI as root, more ranks than GPUs share the one device (the MPI reducer; no NCCL here).
MPIRUN=("$B/mpi/bin/mpirun" --oversubscribe --allow-run-as-root)

# The node's cuBLAS (CUDA toolkit, or the nvidia-cublas wheel of its Python).
CUBLAS_DIR=""
for d in "${CUDA_HOME:-/usr/local/cuda}"/lib64 /usr/local/cuda/lib64 /usr/local/cuda/lib \
  $(python3 -c 'import nvidia.cublas, os; print(os.path.join(nvidia.cublas.__path__[0], "lib"))' 2>/dev/null); do
  if [[ -e $d/libcublas.so.13 ]]; then CUBLAS_DIR=$d; break; fi
done
export LD_LIBRARY_PATH=$B/lib${CUBLAS_DIR:+:$CUBLAS_DIR}

# Every dependency of every ELF file resolves inside the bundle, to glibc, or to the node's CUDA.
verify() {
  local bad=0 n=0 f line name path
  local base_re='^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|libpthread|librt|libresolv|libutil)\.so'
  local cuda_re='^(libcuda|libcublas|libcublasLt)\.so'
  while IFS= read -r f; do
    head -c 4 "$f" | grep -q ELF || continue
    n=$((n + 1))
    while IFS= read -r line; do
      name=$(awk '{print $1}' <<<"$line")
      path=$(awk '$2 == "=>" {print $3}' <<<"$line")
      if [[ $line == *"not found"* ]]; then
        [[ $name =~ $cuda_re ]] && continue  # resolved on the GPU node (driver, toolkit)
        echo "gpu-check.sh: $f: $name not found in the bundle" >&2; bad=1
      elif [[ -n $path && $path != "$B"/* && ! $name =~ $base_re && ! $name =~ $cuda_re ]]; then
        echo "gpu-check.sh: $f: $name resolves outside the bundle ($path)" >&2; bad=1
      fi
    done < <(env -i LD_LIBRARY_PATH="$LD_LIBRARY_PATH" ldd "$f" 2>&1 | grep -v "statically linked")
  done < <(find "$B/bin" "$B/lib" "$B/mpi" "$B/pmix" -type f)
  ((bad == 0)) || die "libraries missing from the bundle (above)"
  echo "gpu-check.sh: $n ELF files: every library resolves inside the bundle, to glibc or to CUDA (${CUBLAS_DIR:-no cuBLAS on this machine})"
  # Kokkos links the CUDA driver; a machine without one (the build machine) loads the toolkit's
  # stub instead, which is enough for commands that never touch the GPU.
  local v libpath=$LD_LIBRARY_PATH stub=""
  if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 ' && [[ ! -e ${CUBLAS_DIR:-/nonexistent}/libcuda.so.1 ]]; then
    for d in "${CUDA_HOME:-/usr/local/cuda}"/lib64/stubs /usr/local/cuda/lib64/stubs; do
      if [[ -e $d/libcuda.so ]]; then
        stub=$(mktemp -d) && ln -s "$d/libcuda.so" "$stub/libcuda.so.1" && libpath=$libpath:$stub
        echo "gpu-check.sh: no CUDA driver here: host-only tools run with the toolkit's stub ($d/libcuda.so)"
        break
      fi
    done
  fi
  v=$(LD_LIBRARY_PATH=$libpath "$B/bin/supsnn" --version) || die "$B/bin/supsnn --version failed"
  echo "gpu-check.sh: $v; under the bundled mpirun:"
  LD_LIBRARY_PATH=$libpath "${MPIRUN[@]}" -np 2 -x LD_LIBRARY_PATH "$B/bin/supsnn" --version ||
    die "the bundled mpirun failed (OPAL_PREFIX=$OPAL_PREFIX)"
  [[ -z $stub ]] || rm -rf "$stub"
}
verify
((VERIFY_ONLY)) && exit 0

OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT/tests" && OUT=$(cd "$OUT" && pwd)
nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1 || die "no GPU visible (nvidia-smi failed)"
[[ -n $CUBLAS_DIR ]] || die "no libcublas.so.13 on this node (looked in CUDA_HOME/lib64, /usr/local/cuda, Python's nvidia-cublas)"
head -15 "$OUT/nvidia-smi.txt"
export SUPSNN_TEST_BINARY=$B/bin/supsnn SUPSNN_TEST_SOURCE_DIR=$REPO SUPSNN_SHARED_DIR=$SHARED \
  SUPSNN_TEST_MPIEXEC=$B/mpi/bin/mpirun SUPSNN_TEST_MPIEXEC_FLAGS="--oversubscribe --allow-run-as-root" \
  SUPSNN_TEST_FAULT_CHILD=$B/bin/fault_child

# One test run: NAME RANKS PROGRAM ARGS...; its log in tests/NAME.log, one result line.
run_test() {
  local name=$1 ranks=$2 prog=$3 t0 rc=0 status
  shift 3
  local dir
  dir=$(mktemp -d)
  t0=$(date +%s)
  if ((ranks == 0)); then
    (cd "$dir" && timeout 300 "$B/bin/$prog" "$@") >"$OUT/tests/$name.log" 2>&1 || rc=$?
  else
    (cd "$dir" && timeout 300 "${MPIRUN[@]}" -np "$ranks" "$B/bin/$prog" "$@") >"$OUT/tests/$name.log" 2>&1 || rc=$?
  fi
  rm -rf "$dir"
  status=PASS
  if ((rc != 0)); then
    status=FAIL
    grep -q "shared data missing" "$OUT/tests/$name.log" && status="FAIL(no shared data at $SHARED)"
  fi
  printf '%-28s %-5s %4ss  %s\n' "$name" "np$ranks" "$(($(date +%s) - t0))" "$status"
}
export -f run_test
export B OUT SHARED
MPIRUN_STR="${MPIRUN[*]}"
export MPIRUN_STR

echo "gpu-check.sh: $(wc -l <"$B/tests.tsv") test runs, $JOBS at a time ($(date +%T))"
t0=$(date +%s)
# xargs runs the lines in parallel; each line is NAME RANKS PROGRAM ARGS (tab-separated).
tr '\t' ' ' <"$B/tests.tsv" |
  xargs -P "$JOBS" -L 1 bash -c 'MPIRUN=($MPIRUN_STR); run_test "$@"' _ |
  tee "$OUT/tests.txt"
passed=$(grep -c ' PASS$' "$OUT/tests.txt" || true)
total=$(wc -l <"$OUT/tests.txt")
echo "gpu-check.sh: tests: $passed of $total passed in $(($(date +%s) - t0)) s" | tee "$OUT/summary.txt"
grep -v ' PASS$' "$OUT/tests.txt" >>"$OUT/summary.txt" || true

echo "gpu-check.sh: supsnn ${BENCH[*]} ($(date +%T))"
rc=0
(cd "$OUT" && timeout 240 "$B/bin/supsnn" "${BENCH[@]}") >"$OUT/bench.log" 2>&1 || rc=$?
cat "$OUT/bench.log"
echo "gpu-check.sh: bench exit $rc, logs in $OUT" | tee -a "$OUT/summary.txt"
((passed == total)) || exit 1
