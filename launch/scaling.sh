#!/usr/bin/env bash
# Data-parallel scaling on this machine: training samples/s of `supsnn train` at np = 1, 2, ...
# ranks (one OpenMP thread each), and the parallel efficiency S(np) / (np * S(1)).
#   launch/scaling.sh [NPS="1 2"] [LOCAL=8] [EPOCHS=12] [MODES="weak strong"] [CONFIG=file]
#                     [extra supsnn train args...]
# CONFIG (default configs/default.toml on data/synth.h5) is trained with its own data.
# Weak scaling: every rank keeps the local batch LOCAL (global batch = np x LOCAL). Strong
# scaling: the global batch stays LOCAL x max(NPS). Throughput is the median over the last 3
# epochs: earlier ones fill each rank's event cache (a rank meets new samples every epoch, as
# the sampler reshuffles over ranks). Data: data/synth.h5 (made if missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
NPS=${NPS:-"1 2"}
LOCAL=${LOCAL:-8}
EPOCHS=${EPOCHS:-12}
MODES=${MODES:-"weak strong"}
CONFIG=${CONFIG:-}
BIN=build/src/supsnn
[[ -x $BIN ]] || { echo "scaling.sh: build first (bash launch/build.sh)" >&2; exit 1; }
data=()
if [[ -z $CONFIG ]]; then
  CONFIG=configs/default.toml
  data=(--set data.train=data/synth.h5)
  [[ -f data/synth.h5 ]] || $BIN synth --output data/synth.h5 >/dev/null
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/supsnn-scaling.XXXXXX")
trap 'rm -rf "$out"' EXIT
max_np=0
for np in $NPS; do ((np > max_np)) && max_np=$np; done

# samples/s of one run: the median of its last 3 epoch lines.
run() {  # np global_batch tag
  OMP_NUM_THREADS=1 OMP_PROC_BIND=false mpirun -np "$1" --oversubscribe --allow-run-as-root \
    $BIN train --config "$CONFIG" "${data[@]}" \
    --set train.batch_size="$2" --set train.epochs="$EPOCHS" --set checkpoint.every_epochs=0 \
    --set run.dir="$out/$3" "${@:4}" 2>&1 |
    grep -v ' step ' | sed -n 's/.* \([0-9.]*\) samples\/s$/\1/p' | tail -n 3 | sort -g |
    awk '{a[NR]=$1} END {if (NR == 0) exit 1; print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}

printf '%-8s %-4s %-12s %-14s %-10s\n' mode np global_batch samples_per_s efficiency
for mode in $MODES; do
  base=""
  for np in $NPS; do
    gb=$([[ $mode == weak ]] && echo $((np * LOCAL)) || echo $((max_np * LOCAL)))
    s=$(run "$np" "$gb" "$mode-$np" "$@")
    [[ -z $base ]] && base=$(awk -v s="$s" -v n="$np" 'BEGIN {print s / n}')
    eff=$(awk -v s="$s" -v b="$base" -v n="$np" 'BEGIN {printf "%.2f", s / (n * b)}')
    printf '%-8s %-4s %-12s %-14s %-10s\n' "$mode" "$np" "$gb" "$s" "$eff"
  done
done
echo "($CONFIG; $(nproc) cores; ${EPOCHS} epochs per run, median of the last 3; $(date -u +%F))"
