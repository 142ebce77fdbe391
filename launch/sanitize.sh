#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build of supsnn and its tests in build-asan/,
# then the ctest suite under it (docs/building.md). With clang (the default when installed) the
# build also instruments coverage and builds the libFuzzer harnesses that launch/fuzz.sh runs.
# Usage: launch/sanitize.sh [ctest args, default: -LE slurm (everything but the SLURM test)]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source launch/sanitizer-env.sh

bash launch/install-deps.sh

BUILD=build-asan
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
if command -v clang++ >/dev/null 2>&1; then
  COMPILERS=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSUPSNN_FUZZ=ON)
  SAN="$SAN -fsanitize=fuzzer-no-link"
else
  echo "sanitize.sh: clang++ not found, using the default compiler (no libFuzzer harnesses)" >&2
  COMPILERS=()
fi
if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  cmake -S . -B $BUILD -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${COMPILERS[@]}" \
    -DCMAKE_C_FLAGS="$SAN" -DCMAKE_CXX_FLAGS="$SAN" \
    -DCMAKE_EXE_LINKER_FLAGS="$SAN" -DCMAKE_SHARED_LINKER_FLAGS="$SAN"
fi
cmake --build $BUILD -j"$(nproc)"

if [[ $# -eq 0 ]]; then set -- -LE slurm; fi
ctest --test-dir $BUILD --output-on-failure -j2 "$@"
