#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build of supsnn and its tests in build-asan/,
# then the ctest suite under it (docs/building.md). With clang (the default when installed) the
# build also instruments coverage and builds the libFuzzer harnesses that launch/fuzz.sh runs.
# Usage: launch/sanitize.sh [ctest args, default: -LE "slurm|shipped" (everything but the SLURM
# test and the shipped model's whole-test-split evaluation, 8 min under the sanitizers)]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source launch/sanitizer-env.sh

bash launch/install-deps.sh

BUILD=build-asan
configure_sanitizer_build $BUILD
cmake --build $BUILD -j"$(nproc)"

if [[ $# -eq 0 ]]; then set -- -LE "slurm|shipped"; fi
ctest --test-dir $BUILD --output-on-failure -j2 "$@"
