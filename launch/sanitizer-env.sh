# Sourced by launch/sanitize.sh and launch/fuzz.sh: runtime options of the sanitizer build. The
# tests pass these on to the supsnn processes they start with `env -i` (tests/test_util.hpp).
# Any report fails the run. LeakSanitizer is off for the test suite (SUPSNN_DETECT_LEAKS=0): every
# test process runs MPI_Init, and Open MPI's components, loaded with dlopen and unloaded at
# MPI_Finalize, leave ~3,000 allocations that LSan reports from an "<unknown module>", which
# suppressions cannot name. The fuzzers never start MPI and run with leak checks on.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=${SUPSNN_DETECT_LEAKS:-0}:halt_on_error=1:strict_string_checks=1:check_initialization_order=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
