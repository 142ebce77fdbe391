#!/usr/bin/env bash
# Creates the virtual environment of the PyTorch SNN peers (tests/bench/snn_peers.py) and of the NIR
# interoperability test (tests/nir, ctest nir_interop): Debian's python3-torch (torch 1.13) seen
# through --system-site-packages, plus pinned snnTorch, SpikingJelly, nir and nirtorch from PyPI. Idempotent: a complete environment is left as it is (no network, no root needed).
# Prints the path of the environment's python on its last line.
#
# Usage: launch/peers-venv.sh            # environment at ${SUPSNN_PEERS_VENV:-build/peers-venv}
#        PY=$(launch/peers-venv.sh | tail -n 1); taskset -c 0 "$PY" tests/bench/snn_peers.py --net conv
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=${SUPSNN_PEERS_VENV:-build/peers-venv}
SNNTORCH_VERSION=1.0.0            # declares no dependencies; runs on torch 1.13
SPIKINGJELLY_VERSION=0.0.0.0.14   # the last release for torch < 2 (SpikingJelly 2.x needs a newer torch)
NIR_VERSION=1.0.8                 # NIR's reference reader (numpy, h5py: Debian's)
NIRTORCH_VERSION=2.6              # what snnTorch 1.0's NIR importer builds on (torch.fx; 1.x fails with nir >= 1.0.6)
PACKAGES=(python3-torch python3-numpy python3-h5py python3-venv)
# Debian's interpreter, the one python3-torch is installed for (a pyenv or other python3 may come
# first in PATH and would not see it).
SYSTEM_PYTHON=/usr/bin/python3

die() {
  echo "peers-venv.sh: $*" >&2
  exit 1
}

install_debian_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    die "needs a Debian-like system (Debian 12 is tested) with ${PACKAGES[*]}"
  fi
  local missing=() p status
  for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return
  [[ $(id -u) -eq 0 ]] ||
    die "missing ${missing[*]}; as root run: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  echo "peers-venv.sh: installing ${missing[*]}"
  apt-get update || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" ||
    die "apt-get install ${missing[*]} failed"
}

# The version pip reports for package $1 in the environment, empty when it is not installed.
installed_version() {
  "$VENV/bin/python" -m pip show "$1" 2>/dev/null | sed -n 's/^Version: //p'
}

# pip install "$@" unless package $1 is already at version $2.
pin() {
  local name=$1 version=$2
  shift 2
  [[ "$(installed_version "$name")" == "$version" ]] && return
  "$VENV/bin/python" -m pip install --disable-pip-version-check "$@" "$name==$version" ||
    die "pip install $name==$version failed"
}

install_debian_packages
[[ -x "$SYSTEM_PYTHON" ]] || die "$SYSTEM_PYTHON is missing"
torch_version=$("$SYSTEM_PYTHON" -c 'import torch; print(torch.__version__)') ||
  die "$SYSTEM_PYTHON cannot import torch (python3-torch)"
[[ "$torch_version" == 1.13* ]] || die "Debian's torch is $torch_version; the pins below are for torch 1.13"

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "peers-venv.sh: creating $VENV"
  "$SYSTEM_PYTHON" -m venv --system-site-packages "$VENV" || die "python3 -m venv $VENV failed"
fi
"$VENV/bin/python" -c 'import torch' 2>/dev/null ||
  die "$VENV does not see Debian's torch (made by another python?); remove it and rerun"

pin snntorch "$SNNTORCH_VERSION"
pin spikingjelly "$SPIKINGJELLY_VERSION" --no-deps   # its declared torchvision/scipy/... are not used here
pin nir "$NIR_VERSION" --no-deps                     # --no-deps: never replace Debian's numpy/h5py/torch
pin nirtorch "$NIRTORCH_VERSION" --no-deps

"$VENV/bin/python" -c '
import torch, numpy, h5py, snntorch, snntorch.surrogate, nir, nirtorch
from snntorch.import_nir import import_from_nir
from spikingjelly.activation_based import functional, layer, neuron, surrogate
print(f"peers-venv.sh: torch {torch.__version__}, snntorch {snntorch.__version__}, spikingjelly '"$SPIKINGJELLY_VERSION"', nir '"$NIR_VERSION"', nirtorch '"$NIRTORCH_VERSION"'")
' || die "the environment $VENV cannot import torch, numpy, h5py, snntorch, spikingjelly, nir and nirtorch"
echo "$(cd "$VENV" && pwd)/bin/python"
