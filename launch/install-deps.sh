#!/usr/bin/env bash
# Installs the Debian 12 packages supsnn's build and tests need, only those that are missing.
# Idempotent: when everything is present it exits without touching apt (no network, no root needed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGES=(
  cmake ninja-build g++ pkg-config
  libtrilinos-kokkos-dev libtrilinos-kokkos-kernels-dev   # Kokkos 3.4 (Serial) + KokkosKernels
  libopenblas0-serial                                     # the BLAS behind KokkosKernels gemm (dense input path)
  libopenmpi-dev openmpi-bin libhdf5-openmpi-dev          # MPI and parallel HDF5
  libgtest-dev libcli11-dev libtoml11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libpng-dev libjpeg-dev zlib1g-dev
  slurm-wlm munge                                         # the private SLURM of the integration test
  python3-matplotlib python3-h5py python3-numpy           # supsnn report (tools/report.py)
  clang libclang-rt-14-dev                                # sanitizer build and libFuzzer (launch/sanitize.sh, launch/fuzz.sh)
)

# The package names above are Debian's; anything without dpkg/apt-get needs its own recipe.
if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps.sh: this script needs a Debian-like system with dpkg and apt-get (Debian 12 is tested)." >&2
  echo "install-deps.sh: install the equivalents of these packages by hand: ${PACKAGES[*]}" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  # "deinstall ... config-files" and unknown packages both count as missing.
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps.sh: all ${#PACKAGES[@]} build packages are already installed"
  exit 0
fi

# Root installs directly; otherwise sudo if it exists; otherwise say what to run.
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps.sh: missing packages (${missing[*]}) and not root, and sudo is not available." >&2
    echo "install-deps.sh: as root run: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps.sh: installing ${missing[*]}"
# The package lists may be stale or absent (fresh containers), so refresh them first.
"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
