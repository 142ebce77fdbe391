# Locates NCCL (header nccl.h and libnccl) in the usual CUDA places or NCCL_ROOT.
find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${NCCL_ROOT} ENV NCCL_ROOT ENV CUDA_HOME /usr/local/cuda
  PATH_SUFFIXES include)
find_library(NCCL_LIBRARY nccl HINTS ${NCCL_ROOT} ENV NCCL_ROOT ENV CUDA_HOME /usr/local/cuda
  PATH_SUFFIXES lib lib64 lib/x86_64-linux-gnu)
if(NOT NCCL_INCLUDE_DIR OR NOT NCCL_LIBRARY)
  message(FATAL_ERROR "supsnn: SUPSNN_ENABLE_NCCL is ON but nccl.h/libnccl were not found; "
    "set NCCL_ROOT or configure with -DSUPSNN_ENABLE_NCCL=OFF")
endif()
add_library(supsnn_nccl INTERFACE IMPORTED)
set_target_properties(supsnn_nccl PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${NCCL_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES "${NCCL_LIBRARY}")
message(STATUS "supsnn: NCCL ${NCCL_LIBRARY}")
