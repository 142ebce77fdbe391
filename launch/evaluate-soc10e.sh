#!/usr/bin/env bash
# The shipped SOC-10 model (models/soc10e/model.h5, docs/results.md) on the whole 10-class MSTAR
# test split: prepares data/soc10_e.h5 from the chips when it is not there, then prints the
# accuracy, the per-class accuracy and the confusion matrix.
#   [SUPSNN_SHARED_DIR=../shared] bash launch/evaluate-soc10e.sh [MODEL]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN=build/src/supsnn
MODEL=${1:-models/soc10e/model.h5}
CHIPS=${SUPSNN_SHARED_DIR:-../shared}/data/mstar/soc10_e
[[ -x $BIN ]] || { echo "evaluate-soc10e.sh: build first (bash launch/build.sh)" >&2; exit 1; }
[[ -f $MODEL ]] || { echo "evaluate-soc10e.sh: $MODEL: no such model" >&2; exit 1; }
if [[ ! -f data/soc10_e.h5 ]]; then
  [[ -d $CHIPS ]] || { echo "evaluate-soc10e.sh: $CHIPS: no such folder (the SOC-10 chips; set SUPSNN_SHARED_DIR)" >&2; exit 1; }
  mkdir -p data
  "$BIN" prepare --input "$CHIPS" --output data/soc10_e.h5
fi
"$BIN" evaluate --model "$MODEL" --data data/soc10_e.h5
