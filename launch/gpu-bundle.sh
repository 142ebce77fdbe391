#!/usr/bin/env bash
# Builds, on a machine with the CUDA toolkit but no GPU, everything a bare GPU node needs to run
# supsnn's test suite and training benchmark (issue #18): Kokkos and KokkosKernels 4.6.01 with
# CUDA (cuBLAS TPL) from ../shared/third_party, supsnn and its tests against them, and the MPI and
# HDF5 libraries they load, in one relocatable folder, carried as BUNDLE_DIR.tar.xz (checked to
# fit in 60 MiB).
#   launch/gpu-bundle.sh [BUNDLE_DIR]        (default build-gpu-bundle/bundle)
# Then, on the GPU node:  launch/gpu-check.sh --bundle BUNDLE_DIR.tar.xz [OUT_DIR]
# Environment: CUDA_HOME (/usr/local/cuda), KOKKOS_ARCH (HOPPER90: H100/H200; AMPERE80, ADA89...),
# SUPSNN_THIRD_PARTY (../shared/third_party), GPU_BUNDLE_WORK (build-gpu-bundle), JOBS (nproc).
# Each stage leaves a stamp in the work folder and is skipped when rerun; delete the folder to
# start over. On 2 cores the whole build takes about an hour.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
ARCH=${KOKKOS_ARCH:-HOPPER90}
THIRD_PARTY=${SUPSNN_THIRD_PARTY:-$REPO/../shared/third_party}
WORK=$(mkdir -p "${GPU_BUNDLE_WORK:-$REPO/build-gpu-bundle}" && cd "${GPU_BUNDLE_WORK:-$REPO/build-gpu-bundle}" && pwd)
BUNDLE=${1:-$WORK/bundle}
JOBS=${JOBS:-$(nproc)}
LIMIT_MIB=60
PREFIX=$WORK/prefix
KOKKOS_VERSION=4.6.01

die() { echo "gpu-bundle.sh: $*" >&2; exit 1; }
[[ -x $CUDA_HOME/bin/nvcc ]] || die "no nvcc at $CUDA_HOME/bin/nvcc (set CUDA_HOME to the CUDA toolkit)"
for f in kokkos-$KOKKOS_VERSION.tar.gz kokkos-kernels-$KOKKOS_VERSION.tar.gz; do
  [[ -f $THIRD_PARTY/$f ]] || die "missing $THIRD_PARTY/$f (set SUPSNN_THIRD_PARTY)"
done
export PATH=$CUDA_HOME/bin:$PATH CUDA_ROOT=$CUDA_HOME
# nvcc_wrapper compiles for this target when no -arch is given (CMake's compiler checks).
declare -A SM=([HOPPER90]=sm_90 [AMPERE80]=sm_80 [AMPERE86]=sm_86 [ADA89]=sm_89 [TURING75]=sm_75 [BLACKWELL100]=sm_100)
export NVCC_WRAPPER_DEFAULT_ARCH=${SM[$ARCH]:-sm_75}
WRAPPER=$PREFIX/bin/nvcc_wrapper

# stage NAME: true when NAME still has to run (no stamp yet).
stage() {
  if [[ -f $WORK/$1.done ]]; then
    echo "gpu-bundle.sh: $1 already built ($WORK/$1.done)"
    return 1
  fi
  echo "gpu-bundle.sh: building $1 ($(date +%T))"
}

if stage kokkos; then
  rm -rf "$WORK/kokkos-src" "$WORK/kokkos-build" && mkdir -p "$WORK/kokkos-src"
  tar -xzf "$THIRD_PARTY/kokkos-$KOKKOS_VERSION.tar.gz" -C "$WORK/kokkos-src" --strip-components=1
  patch -d "$WORK/kokkos-src" -p1 <"$REPO/launch/patches/kokkos-$KOKKOS_VERSION-cuda13.patch"
  cmake -S "$WORK/kokkos-src" -B "$WORK/kokkos-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_CXX_COMPILER="$WORK/kokkos-src/bin/nvcc_wrapper" \
    -DCMAKE_CXX_STANDARD=17 -DBUILD_SHARED_LIBS=ON -DKokkos_ENABLE_SERIAL=ON \
    -DKokkos_ENABLE_CUDA=ON -DKokkos_ARCH_"$ARCH"=ON -DKokkos_ENABLE_DEPRECATED_CODE_4=OFF
  cmake --build "$WORK/kokkos-build" -j"$JOBS"
  cmake --install "$WORK/kokkos-build"
  touch "$WORK/kokkos.done"
fi

if stage kokkos-kernels; then
  rm -rf "$WORK/kk-src" "$WORK/kk-build" && mkdir -p "$WORK/kk-src"
  tar -xzf "$THIRD_PARTY/kokkos-kernels-$KOKKOS_VERSION.tar.gz" -C "$WORK/kk-src" --strip-components=1
  # Only the BLAS component, no pre-instantiated kernels: supsnn's gemm/gemv on the GPU go to
  # cuBLAS (the TPL) and what the host needs compiles inline; a full ETI build takes hours here.
  cmake -S "$WORK/kk-src" -B "$WORK/kk-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_CXX_COMPILER="$WRAPPER" -DKokkos_ROOT="$PREFIX" \
    -DBUILD_SHARED_LIBS=ON -DKokkosKernels_ENABLE_ALL_COMPONENTS=OFF \
    -DKokkosKernels_ENABLE_COMPONENT_BLAS=ON -DKokkosKernels_ENABLE_TPL_CUBLAS=ON \
    -DKokkosKernels_ENABLE_TPL_BLAS=OFF -DKokkosKernels_ENABLE_TPL_CUSPARSE=OFF \
    -DKokkosKernels_ENABLE_TPL_CUSOLVER=OFF -DKokkosKernels_INST_DOUBLE=OFF \
    -DKokkosKernels_INST_FLOAT=OFF -DKokkosKernels_INST_COMPLEX_DOUBLE=OFF \
    -DKokkosKernels_INST_COMPLEX_FLOAT=OFF -DKokkosKernels_INST_LAYOUTLEFT=OFF \
    -DKokkosKernels_INST_LAYOUTRIGHT=OFF -DKokkosKernels_INST_ORDINAL_INT=OFF \
    -DKokkosKernels_INST_OFFSET_INT=OFF -DKokkosKernels_INST_OFFSET_SIZE_T=OFF \
    -DCUDAToolkit_ROOT="$CUDA_HOME"
  cmake --build "$WORK/kk-build" -j"$JOBS"
  cmake --install "$WORK/kk-build"
  touch "$WORK/kokkos-kernels.done"
fi

# supsnn: supsnn_core a shared library (each test program would otherwise carry its own copy of
# the GPU code: hundreds of MiB); RPATH $ORIGIN/../lib as DT_RPATH (--disable-new-dtags), which also covers the
# libraries' own dependencies, so nothing needs LD_LIBRARY_PATH except the node's cuBLAS.
if stage supsnn; then
  cmake -S "$REPO" -B "$WORK/supsnn-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER="$WRAPPER" -DKokkos_ROOT="$PREFIX" -DKokkosKernels_ROOT="$PREFIX" \
    -DSUPSNN_ENABLE_NCCL=OFF -DBUILD_SHARED_LIBS=ON -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON \
    -DCMAKE_INSTALL_RPATH='$ORIGIN/../lib' -DCMAKE_EXE_LINKER_FLAGS=-Wl,--disable-new-dtags
  cmake --build "$WORK/supsnn-build" -j"$JOBS"
  touch "$WORK/supsnn.done"
fi

# The bundle: bin/ (supsnn, the test programs), lib/ (every shared library they load that is not
# glibc's or the GPU node's CUDA), mpi/ (Open MPI's launcher and plugins, found via OPAL_PREFIX),
# pmix/ (PMIx plugins, PMIX_PREFIX), tests.tsv (name, ranks, program, arguments).
echo "gpu-bundle.sh: assembling $BUNDLE"
rm -rf "$BUNDLE" && mkdir -p "$BUNDLE/bin" "$BUNDLE/lib"
build=$WORK/supsnn-build
cp "$build/src/supsnn" "$BUNDLE/bin/"
cp "$build/src/libsupsnn_core.so" "$BUNDLE/lib/"
find "$build/tests" -maxdepth 1 -type f -executable \( -name 'test_*' -o -name fault_child \) \
  -exec cp {} "$BUNDLE/bin/" \;
python3 "$REPO/launch/gpu_bundle_tests.py" "$build" >"$BUNDLE/tests.tsv"

# Open MPI 4 (Debian's layout): relocated by OPAL_PREFIX=$BUNDLE/mpi; only the components a
# one-node run can use (see below).
MPI_LIBDIR=$(dirname "$(readlink -f "$(command -v orterun)")")/../lib/x86_64-linux-gnu/openmpi/lib
[[ -d $MPI_LIBDIR/openmpi3 ]] || die "no Open MPI components at $MPI_LIBDIR/openmpi3 (Debian's openmpi-bin)"
MPI_REL=lib/x86_64-linux-gnu/openmpi/lib
mkdir -p "$BUNDLE/mpi/bin" "$BUNDLE/mpi/$MPI_REL/openmpi3" "$BUNDLE/mpi/share"
cp "$(readlink -f "$(command -v orterun)")" "$BUNDLE/mpi/bin/orterun"
cp "$(dirname "$(readlink -f "$(command -v orterun)")")/orted" "$BUNDLE/mpi/bin/"  # singletons start one
ln -sf orterun "$BUNDLE/mpi/bin/mpirun"
cp -r /usr/share/openmpi "$BUNDLE/mpi/share/"
# Components with network-fabric libraries (libfabric, UCX, verbs, PSM) stay behind: a one-node
# run uses the shared-memory and self transports, and they would not fit.
for f in "$MPI_LIBDIR"/openmpi3/mca_*.so; do
  [[ $(basename "$f") =~ (ofi|ucx|psm|openib|verbs|portals|cuda) ]] || cp "$f" "$BUNDLE/mpi/$MPI_REL/openmpi3/"
done
PMIX_DIR=$(dirname "$(readlink -f /usr/lib/x86_64-linux-gnu/libpmix.so.2)")
mkdir -p "$BUNDLE/pmix/lib/pmix"
cp "$PMIX_DIR"/pmix/*.so "$BUNDLE/pmix/lib/pmix/" 2>/dev/null || true

# Libraries: the closure of every ELF file's dependencies, except glibc (the node's own) and
# CUDA's driver and cuBLAS (the node's toolkit; far over the size limit).
base_re='^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|libpthread|librt|libresolv|libutil|libcuda|libcublas|libcublasLt)\.so'
copy_deps() {
  LD_LIBRARY_PATH=$BUNDLE/lib:$PREFIX/lib:$PREFIX/lib64 ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | while read -r name path; do
    [[ $name =~ $base_re ]] && continue
    [[ -e $BUNDLE/lib/$name ]] || cp -L "$path" "$BUNDLE/lib/$name"
  done
}
# ldd lists the whole closure of each file, so one pass covers the libraries' own dependencies.
for f in "$BUNDLE"/bin/* "$BUNDLE"/mpi/bin/orte* "$BUNDLE"/mpi/$MPI_REL/openmpi3/*.so \
  "$BUNDLE"/pmix/lib/pmix/*.so; do
  [[ -f $f && ! -L $f ]] && copy_deps "$f"
done
strip --strip-unneeded "$BUNDLE"/bin/* "$BUNDLE"/lib/* 2>/dev/null || true
git -C "$REPO" rev-parse HEAD >"$BUNDLE/COMMIT" 2>/dev/null || echo unknown >"$BUNDLE/COMMIT"
echo "$ARCH $(nvcc --version | tail -1)" >"$BUNDLE/BUILD"

# Checks that need no GPU: every dependency inside the bundle, the host-only tools run, size.
"$REPO/launch/gpu-check.sh" --bundle "$BUNDLE" --verify-only
# What travels is the folder as one xz archive (the folder itself is larger: HDF5's libcurl and
# OpenSSL dependencies, one program per test suite, and the GPU code compress well).
tar -C "$(dirname "$BUNDLE")" -cf - "$(basename "$BUNDLE")" | xz -T"$JOBS" -6 >"$BUNDLE.tar.xz"
folder_mib=$(($(du -sk "$BUNDLE" | cut -f1) / 1024))
size_mib=$((($(stat -c %s "$BUNDLE.tar.xz") + 1048575) / 1048576))
((size_mib <= LIMIT_MIB)) || die "$BUNDLE.tar.xz is $size_mib MiB, over the $LIMIT_MIB MiB limit"
echo "gpu-bundle.sh: $BUNDLE.tar.xz: $size_mib MiB (limit $LIMIT_MIB; the folder $folder_mib MiB), $(wc -l <"$BUNDLE/tests.tsv") test runs"
echo "gpu-bundle.sh: on the GPU node: launch/gpu-check.sh --bundle $(basename "$BUNDLE").tar.xz [OUT_DIR]"
