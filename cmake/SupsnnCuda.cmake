# Checks and flags for Kokkos CUDA builds (docs/building.md, "GPU builds"). Nothing here applies
# to host backends.

# SUPSNN_CUDA_FMAD: let nvcc contract a * b + c into one FMA instruction. OFF (the default) passes
# --fmad=false, so that GPU kernels round as the CPU references (host compilers get
# -ffp-contract=off in CMakeLists.txt) and the bit-identity claims of the docs hold on GPUs too;
# ON is a little faster and differs from the CPU in the last bits.
option(SUPSNN_CUDA_FMAD "CUDA builds: allow FMA contraction (results differ from the CPU in the last bits)" OFF)

if(NOT Kokkos_ENABLE_CUDA)
  return()
endif()

# Kokkos 3.x CUDA builds without CUDA_LAMBDA reject every KOKKOS_LAMBDA on the device at compile
# time, deep in supsnn's kernels; say it once here instead. Kokkos 4 always has it.
if(Kokkos_VERSION VERSION_LESS 4.0 AND NOT "CUDA_LAMBDA" IN_LIST Kokkos_OPTIONS)
  message(FATAL_ERROR
    "supsnn: Kokkos ${Kokkos_VERSION} was built with CUDA but without Kokkos_ENABLE_CUDA_LAMBDA; "
    "expected a Kokkos configured with -DKokkos_ENABLE_CUDA_LAMBDA=ON (or Kokkos 4)")
endif()

# Host-only code (kernels/*_host.cpp) passes ordinary lambdas, implicitly constexpr, to the
# KOKKOS_INLINE_FUNCTION helpers it shares with the device kernels (im2col.hpp's for_each_reach);
# nvcc warns (#20013) on every such call unless constexpr host functions may be called there.
if(CMAKE_CXX_COMPILER MATCHES "nvcc_wrapper" OR Kokkos_CXX_COMPILER_ID STREQUAL "NVIDIA")
  add_compile_options(--expt-relaxed-constexpr)
endif()

if(NOT SUPSNN_CUDA_FMAD)
  if(CMAKE_CXX_COMPILER MATCHES "nvcc_wrapper" OR Kokkos_CXX_COMPILER_ID STREQUAL "NVIDIA")
    # nvcc_wrapper forwards `--fmad=*` to nvcc in Kokkos 3.4 and 4.x except 4.3.00, which knows
    # only `-fmad=*` (and the two-word `--fmad false`): read the wrapper to pick the spelling.
    set(_fmad "--fmad=false")
    set(_wrapper "${CMAKE_CXX_COMPILER}")
    if(Kokkos_CXX_COMPILER)
      set(_wrapper "${Kokkos_CXX_COMPILER}")
    endif()
    if(EXISTS "${_wrapper}")
      file(STRINGS "${_wrapper}" _wrapper_fmad REGEX "--fmad=\\*")
      if(NOT _wrapper_fmad)
        set(_fmad "-fmad=false")
      endif()
    endif()
    # The host compiler must not contract either: test references, host scalars and the
    # target_clones variants of kernels/*_host.cpp run there (unknown flags reach g++).
    add_compile_options("${_fmad}" -ffp-contract=off)
  elseif(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    add_compile_options(-ffp-contract=off)
  else()
    message(WARNING "supsnn: unknown CUDA compiler ${CMAKE_CXX_COMPILER_ID} (${CMAKE_CXX_COMPILER}): "
                    "cannot turn off FMA contraction; GPU results may differ from the CPU in the "
                    "last bits")
  endif()
  message(STATUS "supsnn: CUDA kernels without FMA contraction (SUPSNN_CUDA_FMAD=OFF)")
else()
  message(STATUS "supsnn: CUDA kernels with FMA contraction (SUPSNN_CUDA_FMAD=ON): results "
                 "differ from the CPU references in the last bits")
endif()

# The dense products go through KokkosKernels' gemm; without its cuBLAS TPL that is a native
# kernel several times slower than cuBLAS. Allowed, but said loudly.
get_target_property(_kkk_inc Kokkos::kokkoskernels INTERFACE_INCLUDE_DIRECTORIES)
set(_kkk_config "")
foreach(_dir IN LISTS _kkk_inc KokkosKernels_INCLUDE_DIRS)
  if(NOT _dir MATCHES "^\\$<" AND EXISTS "${_dir}/KokkosKernels_config.h")
    set(_kkk_config "${_dir}/KokkosKernels_config.h")
    break()
  endif()
endforeach()
if(_kkk_config)
  file(STRINGS "${_kkk_config}" _kkk_cublas REGEX "^#define KOKKOSKERNELS_ENABLE_TPL_CUBLAS([ \t]|$)")
  if(_kkk_cublas)
    message(STATUS "supsnn: KokkosKernels has the cuBLAS TPL (dense products through cuBLAS)")
  else()
    message(WARNING
      "supsnn: KokkosKernels (${_kkk_config}) was built without the cuBLAS TPL: the dense and "
      "conv products fall back to KokkosKernels' native gemm, several times slower on GPUs; "
      "rebuild KokkosKernels with -DKokkosKernels_ENABLE_TPL_CUBLAS=ON")
  endif()
else()
  message(WARNING "supsnn: KokkosKernels_config.h not found in ${_kkk_inc}; cannot tell whether "
                  "the cuBLAS TPL is enabled")
endif()
