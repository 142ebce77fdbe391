// Host (CPU) inner loops of the event-driven products (kernels/event_conv.hpp): one image's
// forward and one block of images' partial weight gradient. Compiled once per x86-64 vector ISA
// (AVX-512, AVX2, baseline SSE2) and chosen at load time (target_clones, as kernels/adam_host.cpp):
// each event adds a row of outputs (32-128 floats), which the vector width sets the speed of. The
// variants add in the same order without contraction (-ffp-contract=off), so they round alike.
#pragma once
#include "im2col.hpp"

namespace supsnn {

// y (positions x out) = b (or 0) + the image's events [e0, e1) through Wt (taps x out).
void event_conv_image_host(const ConvGeometry& g, int out, const int* index, const float* value,
                           long e0, long e1, const float* Wt, const float* b, float* y);
void event_conv_image_host(const ConvGeometry& g, int out, const int* index, const double* value,
                           long e0, long e1, const double* Wt, const double* b, double* y);

// part (taps x out) = sum over images [n0, n1) and their events of v dY(n, reach, :).
void event_grad_block_host(const ConvGeometry& g, int out, const long* offset, const int* index,
                           const float* value, long n0, long n1, const float* dY, float* part);
void event_grad_block_host(const ConvGeometry& g, int out, const long* offset, const int* index,
                           const double* value, long n0, long n1, const double* dY, double* part);

}  // namespace supsnn
