#!/usr/bin/env bash
# Installs missing dependencies, configures (first time, or when given CMake arguments) and builds supsnn.
# Usage: launch/build.sh [extra cmake configure args, e.g. -DSUPSNN_ENABLE_TESTS=OFF]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash launch/install-deps.sh

# Re-configuring an existing tree is slow and unnecessary (Ninja re-runs CMake itself when
# CMakeLists change); only do it for a fresh tree or when the caller asks for new settings.
if [[ ! -f build/CMakeCache.txt || $# -gt 0 ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
fi
cmake --build build -j"$(nproc)"
