#!/usr/bin/env bash
# Repeats one experiment over seeds 1..K and prints the final test (and validation) accuracy of
# each run and their mean, standard deviation, min and max (and, for the seed's pipeline,
# data.guidance = "stdp", the same for its STDP stage alone). A stop-gap until `supsnn sweep`.
# "Final" is the epoch that train.select chose (selection.csv: the last epoch, or the one with the
# best validation accuracy). Run again, it continues unfinished seeds (--resume auto) and reports
# finished ones as they are; with other settings it stops (start over: rm -r runs/<name>-seed*).
#   launch/repeat.sh configs/mstar-soc3e-ce-bilayer.toml 3 [--set key=value ...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
config=${1:?usage: launch/repeat.sh CONFIG K [--set key=value ...]}
repeats=${2:?usage: launch/repeat.sh CONFIG K [--set key=value ...]}
shift 2
name=$(basename "$config" .toml)
for seed in $(seq 1 "$repeats"); do
  build/src/supsnn train --config "$config" --set train.seed="$seed" --set run.log_level=warn \
    --run-dir "runs/$name-seed$seed" --resume auto "$@"
  # selection.csv columns: epoch, val_loss, val_accuracy, test_loss, test_accuracy, rule
  # data.guidance = "stdp" runs also report their STDP stage (RUN/guided.h5, `supsnn inspect`).
  guide=""
  if [[ -f "runs/$name-seed$seed/guided.h5" ]]; then
    guide=$(build/src/supsnn inspect "runs/$name-seed$seed/guided.h5" |
      awk '$1 == "validation_accuracy" {v = $2} $1 == "test_accuracy" {t = $2}
           END {printf " stdp-guide val %.4f test %.4f", v, t}')
  fi
  tail -n 1 "runs/$name-seed$seed/selection.csv" |
    awk -F, -v s="$seed" -v g="$guide" \
      '{printf "seed %s: val %.4f test %.4f (epoch %d, %s)%s\n", s, $3, $5, $1, $6, g}'
done | tee "/tmp/supsnn-repeat-$$.txt"
# Lines read "seed K: val V test A": fields 4 (validation) and 6 (test).
awk '{v[NR] = $6; sum += $6; vs += $4} END {
  mean = sum / NR; for (i = 1; i <= NR; ++i) sq += (v[i] - mean) ^ 2
  min = v[1]; max = v[1]; for (i = 2; i <= NR; ++i) { if (v[i] < min) min = v[i]; if (v[i] > max) max = v[i] }
  printf "test accuracy over %d seeds: mean %.4f, std %.4f, min %.4f, max %.4f (validation mean %.4f)\n",
         NR, mean, (NR > 1 ? sqrt(sq / (NR - 1)) : 0), min, max, vs / NR }' "/tmp/supsnn-repeat-$$.txt"
# The STDP stage's own accuracy (fields after "stdp-guide val"), when the runs have one.
awk '/stdp-guide/ {for (i = 1; i <= NF; ++i) if ($i == "stdp-guide") {gv[++n] = $(i + 2); gt[n] = $(i + 4)}}
  END { if (n == 0) exit; for (i = 1; i <= n; ++i) {sv += gv[i]; st += gt[i]}; mt = st / n
  for (i = 1; i <= n; ++i) sq += (gt[i] - mt) ^ 2; min = gt[1]; max = gt[1]
  for (i = 2; i <= n; ++i) { if (gt[i] < min) min = gt[i]; if (gt[i] > max) max = gt[i] }
  printf "STDP stage alone over %d seeds: test mean %.4f, std %.4f, min %.4f, max %.4f (validation mean %.4f)\n",
         n, mt, (n > 1 ? sqrt(sq / (n - 1)) : 0), min, max, sv / n }' "/tmp/supsnn-repeat-$$.txt"
rm -f "/tmp/supsnn-repeat-$$.txt"
