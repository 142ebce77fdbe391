#!/usr/bin/env bash
# README command 1: build, make the synthetic dataset, train the default experiment.
# Extra arguments go to `supsnn train`, e.g. launch/quickstart.sh --set train.epochs=5
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash launch/build.sh

# The synthetic set is deterministic and takes under a second, so always regenerate it
# rather than trusting a file written by an older binary.
mkdir -p data
build/src/supsnn synth --output data/synth.h5

# Keep a copy of the console output to report the run directory and final accuracy at the end
# (both are read from what supsnn printed, so --set run.dir=... overrides are reported correctly).
log=$(mktemp "${TMPDIR:-/tmp}/supsnn-quickstart.XXXXXX")
trap 'rm -f "$log"' EXIT
# The demo starts over each time (--overwrite removes the previous demo run's files from its run
# directory; a plain `supsnn train` refuses a directory that holds an earlier run).
build/src/supsnn train --config configs/default.toml --overwrite "$@" 2>&1 | tee "$log"

run_dir=$(sed -n 's/.*supsnn train, run directory \(.*\)$/\1/p' "$log" | tail -n 1)
final=$(grep -o 'final test accuracy.*' "$log" | tail -n 1 || true)
echo
echo "quickstart: run directory: ${run_dir:-runs/default} (config.toml, train.log, metrics, model.h5)"
echo "quickstart: ${final:-no final test accuracy was reported (no test split?)}"
