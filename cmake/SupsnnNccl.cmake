# NCCL backend of the gradient reducer. nccl_reducer.cpp needs only cuda_runtime.h and nccl.h,
# so any C++ compiler builds it (no nvcc, no CUDA Kokkos): SUPSNN_ENABLE_NCCL defaults to ON
# whenever the CUDA runtime (CUDAToolkit) and NCCL (nccl.h, libnccl; NCCL_ROOT, CUDA_HOME or
# /usr/local/cuda) are found, so CI compiles and links it even without a GPU.
find_package(CUDAToolkit QUIET)
find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${NCCL_ROOT} ENV NCCL_ROOT ENV CUDA_HOME
  ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda PATH_SUFFIXES include)
find_library(NCCL_LIBRARY nccl HINTS ${NCCL_ROOT} ENV NCCL_ROOT ENV CUDA_HOME
  ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda PATH_SUFFIXES lib lib64 lib/x86_64-linux-gnu)

set(_supsnn_nccl_found OFF)
if(TARGET CUDA::cudart AND NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
  set(_supsnn_nccl_found ON)
endif()
option(SUPSNN_ENABLE_NCCL "Sum gradients with NCCL on GPUs" ${_supsnn_nccl_found})

if(NOT SUPSNN_ENABLE_NCCL)
  if(_supsnn_nccl_found)
    message(STATUS "supsnn: NCCL backend off (SUPSNN_ENABLE_NCCL=OFF)")
  else()
    message(STATUS "supsnn: NCCL backend off: CUDA runtime or nccl.h/libnccl not found "
      "(set NCCL_ROOT / CUDAToolkit_ROOT to enable it)")
  endif()
  return()
endif()
if(NOT _supsnn_nccl_found)
  message(FATAL_ERROR "supsnn: SUPSNN_ENABLE_NCCL is ON but the CUDA runtime (CUDAToolkit) or "
    "nccl.h/libnccl were not found; set NCCL_ROOT / CUDAToolkit_ROOT or configure with "
    "-DSUPSNN_ENABLE_NCCL=OFF")
endif()
add_library(supsnn_nccl INTERFACE IMPORTED)
set_target_properties(supsnn_nccl PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${NCCL_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES "${NCCL_LIBRARY};CUDA::cudart")
message(STATUS "supsnn: NCCL ${NCCL_LIBRARY}, CUDA runtime ${CUDAToolkit_VERSION}")
