#!/usr/bin/env bash
# README command 2: build (with tests) and run the whole test suite; non-zero exit on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash launch/build.sh
# The Python environment of the NIR interoperability test (nir, nirtorch, snnTorch from PyPI).
bash launch/peers-venv.sh
# -j2: the MPI tests reserve their rank count via the PROCESSORS property, so ctest won't overload.
ctest --test-dir build --output-on-failure -j2
