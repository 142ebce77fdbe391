# Finds every library supsnn needs through CMake's normal search, with one repair for
# Debian 12's Kokkos package (see docs/building.md).

find_package(Kokkos 3.4 REQUIRED)

# Debian's Trilinos build of Kokkos 3.4 exports Kokkos::kokkos with the include directory
# /usr/lib/include, which does not exist (the headers live in <prefix>/include/trilinos).
# Replace only directories that do not exist, so a correct Kokkos 4 install is left alone.
if(TARGET Kokkos::kokkos)
  get_target_property(_kk_inc Kokkos::kokkos INTERFACE_INCLUDE_DIRECTORIES)
  set(_kk_fixed "")
  set(_kk_changed FALSE)
  if(_kk_inc)
    foreach(_dir IN LISTS _kk_inc)
      if(_dir MATCHES "^\\$<" OR EXISTS "${_dir}")
        list(APPEND _kk_fixed "${_dir}")
      else()
        set(_kk_changed TRUE)
      endif()
    endforeach()
  endif()
  if(DEFINED Kokkos_INCLUDE_DIRS)
    foreach(_dir IN LISTS Kokkos_INCLUDE_DIRS)
      get_filename_component(_dir "${_dir}" ABSOLUTE)
      if(EXISTS "${_dir}/Kokkos_Core.hpp" AND NOT _dir IN_LIST _kk_fixed)
        list(APPEND _kk_fixed "${_dir}")
        set(_kk_changed TRUE)
      endif()
    endforeach()
  endif()
  if(_kk_changed)
    message(STATUS "supsnn: repaired Kokkos::kokkos include directories -> ${_kk_fixed}")
    set_target_properties(Kokkos::kokkos PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_kk_fixed}")
  endif()
else()
  message(FATAL_ERROR "supsnn: find_package(Kokkos) succeeded but defined no Kokkos::kokkos target")
endif()
message(STATUS "supsnn: Kokkos ${Kokkos_VERSION}, devices: ${Kokkos_DEVICES}")

find_package(MPI REQUIRED COMPONENTS CXX)

set(HDF5_PREFER_PARALLEL TRUE)
find_package(HDF5 REQUIRED COMPONENTS C)
if(NOT HDF5_IS_PARALLEL)
  message(FATAL_ERROR
    "supsnn: the HDF5 found (${HDF5_C_INCLUDE_DIRS}) has no parallel I/O support. "
    "Install an MPI build of HDF5 (Debian: libhdf5-openmpi-dev) or point HDF5_ROOT at one.")
endif()
if(NOT TARGET hdf5::hdf5)
  add_library(hdf5::hdf5 INTERFACE IMPORTED)
  set_target_properties(hdf5::hdf5 PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${HDF5_C_INCLUDE_DIRS}"
    INTERFACE_LINK_LIBRARIES "${HDF5_C_LIBRARIES}"
    INTERFACE_COMPILE_DEFINITIONS "${HDF5_C_DEFINITIONS}")
endif()

find_package(CLI11 REQUIRED)
find_package(toml11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(JPEG REQUIRED)
find_package(PNG REQUIRED)

# KokkosKernels (the dense input path's gemm: the system BLAS on CPUs, cuBLAS on CUDA when it was
# built with that TPL). A standalone KokkosKernels 4 exports Kokkos::kokkoskernels; Debian's
# Trilinos 13.2 package only the variables below (and targets without a namespace).
find_package(KokkosKernels REQUIRED)
if(NOT TARGET Kokkos::kokkoskernels)
  add_library(Kokkos::kokkoskernels INTERFACE IMPORTED)
  set_target_properties(Kokkos::kokkoskernels PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${KokkosKernels_INCLUDE_DIRS}"
    INTERFACE_LINK_LIBRARIES "${KokkosKernels_LIBRARIES}")
endif()
message(STATUS "supsnn: KokkosKernels ${KokkosKernels_VERSION}")
