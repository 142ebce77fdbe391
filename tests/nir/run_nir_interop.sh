#!/usr/bin/env bash
# ctest's nir_interop: tests/nir/nir_interop.py in the Python environment of launch/peers-venv.sh
# (nir, nirtorch and snnTorch pinned from PyPI; launch/test.sh creates it before ctest runs).
# Usage: run_nir_interop.sh SUPSNN_BINARY WORK_DIR
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV=${SUPSNN_PEERS_VENV:-$ROOT/build/peers-venv}
[[ "$VENV" = /* ]] || VENV="$ROOT/$VENV"
PY="$VENV/bin/python"
if [[ ! -x "$PY" ]] || ! "$PY" -c 'import nir, nirtorch, snntorch' 2>/dev/null; then
  echo "nir_interop: FAIL: no Python environment with nir, nirtorch and snntorch at $VENV;" \
    "create it with: bash launch/peers-venv.sh (launch/test.sh does)" >&2
  exit 1
fi
exec "$PY" "$ROOT/tests/nir/nir_interop.py" --supsnn "$1" --work "$2"
