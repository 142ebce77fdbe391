# Sourced by launch/sanitize.sh and launch/fuzz.sh: runtime options of the sanitizer build. The
# tests pass these on to the supsnn processes they start with `env -i` (tests/test_util.hpp).
_supsnn_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Leaks are checked, except inside Open MPI (tests/sanitizers/lsan.supp). Any report fails the run.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=0}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$_supsnn_root/tests/sanitizers/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
unset _supsnn_root
