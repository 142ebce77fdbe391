#!/usr/bin/env bash
# Training throughput of supsnn against a PyTorch baseline of the same seed model, in one run on
# the same machine and core(s) (issue #8). Prints supsnn's table (samples/s and the time split),
# the baseline's figures and the ratios.
#   [BENCH_SECONDS=3] [BATCHES=1,8,64] [NETS="conv conv-bn"] [DENSITIES=0.007,0.25] [THREADS=1] launch/bench.sh
# (not SECONDS: bash keeps its own SECONDS, the time since the shell started)
# The baseline needs PyTorch: $SUPSNN_PYTHON, else the first of python3 / /usr/bin/python3 that
# imports torch; as root, Debian's python3-torch is installed when none does.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_PER_CASE=${BENCH_SECONDS:-3}
BATCHES=${BATCHES:-1,8,64}
DENSITIES=${DENSITIES:-0.007,0.25}
THREADS=${THREADS:-1}
BIN=build/src/supsnn
[[ -x $BIN ]] || { echo "bench.sh: build first (bash launch/build.sh)" >&2; exit 1; }

find_python() {
  local p
  for p in ${SUPSNN_PYTHON:-} python3 /usr/bin/python3; do
    command -v "$p" >/dev/null 2>&1 && "$p" -c "import torch" 2>/dev/null && { echo "$p"; return 0; }
  done
  return 1
}
if ! PY=$(find_python); then
  [[ $(id -u) -eq 0 ]] || { echo "bench.sh: no Python with torch; install python3-torch (Debian) or set SUPSNN_PYTHON" >&2; exit 1; }
  echo "bench.sh: installing Debian's python3-torch for the baseline"
  apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-torch >/dev/null
  PY=$(find_python) || { echo "bench.sh: python3-torch did not install" >&2; exit 1; }
fi

datasets=()
for f in data/soc3.h5 data/soc3_e.h5; do [[ -f $f ]] && datasets+=(--also "$f"); done
out=$(mktemp "${TMPDIR:-/tmp}/supsnn-bench.XXXXXX")
trap 'rm -f "$out" "$out.torch"' EXIT
echo "== supsnn ($THREADS thread(s), $(date -u +%F), $(lscpu | sed -n 's/^Model name: *//p'))"
OMP_NUM_THREADS=$THREADS OMP_PROC_BIND=${OMP_PROC_BIND:-false} $BIN bench --train \
  --density "$DENSITIES" --batches "$BATCHES" --seconds "$SECONDS_PER_CASE" "${datasets[@]}" | tee "$out"
echo "== PyTorch baseline (tests/bench/seed_torch.py, $($PY -c 'import torch; print("torch", torch.__version__)'), $THREADS thread(s))"
for d in ${DENSITIES//,/ }; do
  $PY tests/bench/seed_torch.py --density "$d" --batches "$BATCHES" --seconds "$SECONDS_PER_CASE" \
    --threads "$THREADS" --variant current | tee -a "$out.torch"
  $PY tests/bench/seed_torch.py --density "$d" --batches 1 --seconds "$SECONDS_PER_CASE" \
    --threads "$THREADS" --variant inputs | tee -a "$out.torch"
done
echo "== ratio supsnn / PyTorch (seed bilayer, random inputs of the density)"
echo "   step: forward + backward + optimiser on encoded inputs, the work the PyTorch loop times"
echo "   (its inputs are made before timing); whole: supsnn's step plus its event assembly"
printf '%-8s %-6s %10s %10s %14s %8s %8s %14s %8s\n' density batch "step/s" "whole/s" torch-current \
  ratio whole torch-inputs ratio
ratio() { awk -v s="$1" -v t="$2" 'BEGIN {if (t > 0) printf "%.0fx", s / t; else print "-"}'; }
for d in ${DENSITIES//,/ }; do
  for b in ${BATCHES//,/ }; do
    row=$(awk -v p="p=$d" -v b="$b" '$1 == "random" && $2 == p && $3 == "bilayer" && $6 == b {print $8, $9}' "$out")
    read -r whole step <<<"$row"
    tc=$(awk -v d="$d" -v b="$b" '$1 == "torch-current" && $2 == d && $3 == b {print $4}' "$out.torch")
    ti=$(awk -v d="$d" '$1 == "torch-inputs" && $2 == d && $3 == 1 {print $4}' "$out.torch")
    [[ $b == 1 ]] || ti=""
    printf '%-8s %-6s %10s %10s %14s %8s %8s %14s %8s\n' "$d" "$b" "$step" "$whole" "$tc" \
      "$(ratio "$step" "$tc")" "$(ratio "$whole" "$tc")" "${ti:--}" "$(ratio "$step" "$ti")"
  done
done

# Layered networks (issue #16): supsnn's conv SNNs of configs/bench-conv.toml and
# configs/bench-conv-bn.toml (with batch normalisation over batch and time, as the trained SOC-10
# model) against the same networks in SpikingJelly (multi-step) and snnTorch, written as their
# users would (tests/bench/snn_peers.py, whose --check verifies that they compute supsnn's
# function). The peers run in the virtual environment of launch/peers-venv.sh; PEERS=0 skips them.
if [[ ${PEERS:-1} != 0 ]]; then
  PEER_PY=$(launch/peers-venv.sh | tail -n 1)
  core=$(taskset -pc $$ 2>/dev/null | sed 's/.*: *//; s/[,-].*//')
  pin=(); [[ -n $core ]] && command -v taskset >/dev/null && pin=(taskset -c "$core")
  for net in ${NETS:-conv conv-bn}; do
    echo "== layered $net SNN (configs/bench-$net.toml), one core ($core), random images"
    OMP_NUM_THREADS=1 "${pin[@]}" $BIN bench --train --layers "configs/bench-$net.toml" \
      --batches "$BATCHES" --seconds "$SECONDS_PER_CASE" | tee "$out.layered"
    "${pin[@]}" "$PEER_PY" tests/bench/snn_peers.py --net "$net" --batches "$BATCHES" \
      --seconds "$SECONDS_PER_CASE" --threads 1 | tee "$out.peers"
    echo "== ratio supsnn / best peer ($net SNN, samples/s of whole training steps)"
    printf '%-6s %10s %12s %10s %8s\n' batch supsnn spikingjelly snntorch ratio
    for b in ${BATCHES//,/ }; do
      s=$(awk -v b="$b" '$2 ~ /^layered/ && $4 == b {print $6}' "$out.layered")
      sj=$(awk -v b="$b" '$2 == "spikingjelly" && $5 == b {print $6}' "$out.peers")
      st=$(awk -v b="$b" '$2 == "snntorch" && $5 == b {print $6}' "$out.peers")
      best=$(awk -v a="${sj:-0}" -v c="${st:-0}" 'BEGIN {print (a > c ? a : c)}')
      r=$(awk -v s="$s" -v t="$best" 'BEGIN {if (t > 0) printf "%.2fx", s / t; else print "-"}')
      printf '%-6s %10s %12s %10s %8s\n' "$b" "$s" "${sj:--}" "${st:--}" "$r"
    done
    rm -f "$out.layered" "$out.peers"
  done
fi
