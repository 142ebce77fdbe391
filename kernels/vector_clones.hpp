// SUPSNN_VECTOR_CLONES: compile a host function once per x86-64 vector ISA (AVX-512, AVX2,
// baseline) and pick the variant at load time by the CPU (GCC/Clang target_clones), so one
// portable binary runs its loops with the widest vectors the machine has. Empty elsewhere.
// For .cpp files of host loops only (kernels/adam_host.cpp, kernels/conv_host.cpp).
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__) && !defined(__NVCOMPILER)
#define SUPSNN_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SUPSNN_VECTOR_CLONES
#endif
