#!/usr/bin/env bash
# Short libFuzzer runs of every harness in tests/fuzz (docs/building.md), on the clang sanitizer
# build that launch/sanitize.sh makes in build-asan/ (configured here if it is missing; only the
# fuzzers are built). Each run starts from tests/fuzz/corpus/<name>; new inputs go to
# build-asan/fuzz/<name>/corpus, crashes to build-asan/fuzz/<name>/crash-* (add a minimised one to
# tests/fuzz/corpus/<name> as a regression test once the reader is fixed). Non-zero exit when any
# harness finds a crash, a leak, a timeout or an allocation above the limits.
# Usage: launch/fuzz.sh [seconds per harness, default 30] [harness ...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export SUPSNN_DETECT_LEAKS=1  # leak checks on: the fuzzers never start MPI
source launch/sanitizer-env.sh

SECONDS_EACH=${1:-30}
shift || true
HARNESSES=("$@")
[[ ${#HARNESSES[@]} -gt 0 ]] || HARNESSES=(npy chip mstar_header config_file config_set)
BUILD=build-asan

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz.sh: libFuzzer needs clang++ (bash launch/install-deps.sh installs it)" >&2
  exit 1
fi
if [[ ! -f $BUILD/CMakeCache.txt ]]; then bash launch/install-deps.sh; fi
configure_sanitizer_build $BUILD
cmake --build $BUILD -j"$(nproc)" --target "${HARNESSES[@]/#/fuzz_}"

# LeakSanitizer is on here (libFuzzer's -detect_leaks=1): a reader that leaks on some input is a
# finding too.
failed=()
for h in "${HARNESSES[@]}"; do
  work=$BUILD/fuzz/$h
  mkdir -p "$work/corpus"
  echo "fuzz.sh: fuzz_$h for ${SECONDS_EACH} s"
  # -rss_limit_mb / -malloc_limit_mb: a reader that asks for more than 2 GB for a small input is
  # a finding (the size checks should have refused it). -timeout: one input taking 10 s is too.
  if ! "$BUILD/tests/fuzz_$h" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
      -malloc_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" \
      "$work/corpus" "tests/fuzz/corpus/$h" > "$work/log.txt" 2>&1; then
    tail -n 60 "$work/log.txt" >&2
    failed+=("$h")
  fi
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|Done [0-9]+ runs)' "$work/log.txt" || true
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: FAILED: ${failed[*]} (inputs under $BUILD/fuzz/<name>/)" >&2
  exit 1
fi
echo "fuzz.sh: ${#HARNESSES[@]} harnesses, ${SECONDS_EACH} s each, no findings"
