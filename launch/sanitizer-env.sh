# Sourced by launch/sanitize.sh and launch/fuzz.sh: runtime options of the sanitizer build. The
# tests pass these on to the supsnn processes they start with `env -i` (tests/test_util.hpp).
# Any report fails the run. LeakSanitizer is off for the test suite (SUPSNN_DETECT_LEAKS=0): every
# test process runs MPI_Init, and Open MPI's components, loaded with dlopen and unloaded at
# MPI_Finalize, leave ~3,000 allocations that LSan reports from an "<unknown module>", which
# suppressions cannot name. The fuzzers never start MPI and run with leak checks on.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=${SUPSNN_DETECT_LEAKS:-0}:halt_on_error=1:strict_string_checks=1:check_initialization_order=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# Configures build-asan/ (once): clang with ASan + UBSan and the libFuzzer harnesses, or the
# default compiler without them. -O1 and line tables only: about half the build time of -O2 -g,
# still full stack traces.
configure_sanitizer_build() {
  local build=$1 san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  local compilers=()
  if command -v clang++ >/dev/null 2>&1; then
    compilers=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSUPSNN_FUZZ=ON)
    san="$san -fsanitize=fuzzer-no-link"
  else
    echo "sanitizer-env.sh: clang++ not found, using the default compiler (no libFuzzer harnesses)" >&2
  fi
  [[ -f $build/CMakeCache.txt ]] && return 0
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${compilers[@]}" \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" \
    -DCMAKE_EXE_LINKER_FLAGS="$san" -DCMAKE_SHARED_LINKER_FLAGS="$san"
}
