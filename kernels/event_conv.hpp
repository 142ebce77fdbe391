// Kernel family: event-driven products of a conv or dense layer whose input is mostly zero (the
// spikes of the layer before it, after pooling or dropout), used instead of im2col + gemm
// (kernels/gemm_rows.hpp) when the input's density is low (docs/performance.md, "Event-driven
// hidden layers"). A dense layer is the conv of a 1 x 1 map with C = fan-in and K = 1.
//   events:          the nonzeros (index, value) of every image of X, CSR by image
//   forward:         Y(n, oy, ox, :) = b + sum over the events (y, x, c, v) of image n and the taps
//                    (dy, dx) that carry them to (oy, ox) of v Wt((dy K + dx) C + c, :)
//   weight gradient: dW(:, (dy K + dx) C + c) (+)= sum of v dY(n, oy, ox, :) over the same pairs
// Cost ~ events x taps x outputs instead of positions x taps x outputs. Each work item owns its
// outputs (one image in forward, one fixed block of images with its own partial dW in the
// gradient), so no atomics are needed and the sums do not depend on the thread count. The loops
// walk one image serially: a host kernel family (on a GPU the gemm path is taken, see
// default_event_density).
#pragma once
#include <algorithm>

#include "common.hpp"
#include "conv_host.hpp"
#include "im2col.hpp"

namespace supsnn {

template <class Real>
struct EventRows {
  View1<long> offset;  // images + 1: events of image n are [offset(n), offset(n + 1))
  View1<int> index;    // (y W + x) C + c within the image
  View1<Real> value;
  long count = 0;
};

// Most partial weight gradients (blocks of images); their number depends on the shapes only, so
// that the sum order, and hence the result, is the same on any number of threads.
constexpr int kEventGradBlocks = 8;

// Counts the nonzeros of the first `images` images of X (images x in) into ev.offset and
// returns their total; events_fill then writes them (split so that a caller can look at the
// density before paying for the fill).
template <class Real>
long events_count(long images, long in, View1<const Real> X, EventRows<Real>& ev) {
  if (static_cast<long>(ev.offset.extent(0)) < images + 1)
    ev.offset = View1<long>("event_offset", images + 1);
  const auto off = ev.offset;
  Kokkos::parallel_for(
      "supsnn::event_count", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, images),
      KOKKOS_LAMBDA(const long n) {
        long c = 0;
        const Real* x = X.data() + n * in;
        for (long i = 0; i < in; ++i) c += x[i] != Real(0);
        off(n + 1) = c;
      });
  long total = 0;
  Kokkos::parallel_scan(
      "supsnn::event_offsets", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, images),
      KOKKOS_LAMBDA(const long n, long& acc, const bool final) {
        const long c = off(n + 1);
        if (final) off(n) = acc;
        acc += c;
      },
      total);
  // The scan wrote offset(0 .. images-1) over the counts; the end offset is the total.
  Kokkos::deep_copy(Kokkos::subview(off, images), total);
  ev.count = total;
  return total;
}

template <class Real>
void events_fill(long images, long in, View1<const Real> X, EventRows<Real>& ev) {
  if (static_cast<long>(ev.index.extent(0)) < ev.count) {
    const long cap = ev.count + ev.count / 4 + 1;  // room for the next batches' fluctuation
    ev.index = View1<int>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "event_index"), cap);
    ev.value = View1<Real>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "event_value"), cap);
  }
  const auto off = ev.offset;
  const auto idx = ev.index;
  const auto val = ev.value;
  Kokkos::parallel_for(
      "supsnn::event_fill", Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, images),
      KOKKOS_LAMBDA(const long n) {
        long e = off(n);
        const Real* x = X.data() + n * in;
        for (long i = 0; i < in; ++i)
          if (x[i] != Real(0)) {
            idx(e) = static_cast<int>(i);
            val(e) = x[i];
            ++e;
          }
      });
}

// Wt (fan_in x out) = W^T, W (out x fan_in) row-major: output channels contiguous per tap.
template <class Real>
void transpose_weights(int out, int fan_in, const Real* W, View1<Real> Wt) {
  Kokkos::parallel_for(
      "supsnn::transpose_weights", Kokkos::RangePolicy<ExecSpace>(0, fan_in),
      KOKKOS_LAMBDA(const int j) {
        for (int o = 0; o < out; ++o)
          Wt(static_cast<long>(j) * out + o) = W[static_cast<long>(o) * fan_in + j];
      });
}

// Host execution spaces run the loops of kernels/conv_host.cpp (widest vectors of the CPU);
// devices the portable lambdas below. Dependent on Real so that the branch not taken is never
// instantiated (a host function cannot be called from a device lambda).
template <class Real>
constexpr bool kEventHostLoops = kHostExec;

// Y (images, OH, OW, out) = the layer's current from the events; b: bias or null.
template <class Real>
void event_conv_forward(const ConvGeometry& g, int out, long images, const EventRows<Real>& ev,
                        View1<const Real> Wt, const Real* b, Real* Y) {
  const int OH = g.out_h(), OW = g.out_w();
  const long per_image = g.positions() * out;
  const auto off = ev.offset;
  const auto idx = ev.index;
  const auto val = ev.value;
  if constexpr (kEventHostLoops<Real>) {
    Kokkos::parallel_for("supsnn::event_conv_forward",
                         Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, images),
                         [=](const long n) {
                           event_conv_image_host(g, out, idx.data(), val.data(), off(n), off(n + 1),
                                                 Wt.data(), b, Y + n * per_image);
                         });
  } else {
    Kokkos::parallel_for(
        "supsnn::event_conv_forward",
        Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<long>>(0, images),
        KOKKOS_LAMBDA(const long n) {
          Real* y = Y + n * per_image;
          for (long q = 0; q < per_image; ++q) y[q] = b ? b[q % out] : Real(0);
          for (long e = off(n); e < off(n + 1); ++e) {
            const Real v = val(e);
            for_each_reach(g, OH, OW, idx(e), [&](int pos, int row) {
              Real* dst = y + static_cast<long>(pos) * out;
              const Real* w = Wt.data() + static_cast<long>(row) * out;
              for (int o = 0; o < out; ++o) dst[o] += v * w[o];
            });
          }
        });
  }
}

// Blocks of images with their own partial gradient: up to kEventGradBlocks, fewer when a
// block would have fewer output rows than the gradient has entries per output (then zeroing
// and summing the partials would cost more than the events; a dense layer on a small batch is
// one block). A function of the shapes only, not of the thread count.
inline int event_grad_blocks(const ConvGeometry& g, long images) {
  const long rows = images * g.positions();
  return static_cast<int>(std::clamp<long>(rows / std::max(1, g.taps()), 1, kEventGradBlocks));
}

// dW (out x fan_in) (+)= sum over images and events of v dY(n, reach, :); parts: scratch of at
// least event_grad_blocks(g, images) x fan_in x out entries.
template <class Real>
void event_conv_weight_grad(const ConvGeometry& g, int out, long images, const EventRows<Real>& ev,
                            const Real* dY, View1<Real> parts, Real* dW, bool accumulate) {
  const int OH = g.out_h(), OW = g.out_w();
  const long per_image = g.positions() * out;
  const long wsize = static_cast<long>(g.taps()) * out;
  const int blocks = event_grad_blocks(g, images);
  const auto off = ev.offset;
  const auto idx = ev.index;
  const auto val = ev.value;
  if constexpr (kEventHostLoops<Real>) {
    Kokkos::parallel_for("supsnn::event_conv_weight_grad",
                         Kokkos::RangePolicy<ExecSpace>(0, blocks), [=](const int k) {
                           event_grad_block_host(g, out, off.data(), idx.data(), val.data(),
                                                 images * k / blocks, images * (k + 1) / blocks, dY,
                                                 parts.data() + k * wsize);
                         });
  } else {
    // GPUs: one team per block, its threads splitting the output channels, so each partial
    // entry has one owner that adds the block's events in order (deterministic, no atomics);
    // blocks x out threads instead of one thread per block.
    using Policy = Kokkos::TeamPolicy<ExecSpace>;
    Kokkos::parallel_for(
        "supsnn::event_conv_weight_grad", Policy(blocks, Kokkos::AUTO),
        KOKKOS_LAMBDA(const typename Policy::member_type& team) {
          const int k = team.league_rank();
          Real* part = parts.data() + k * wsize;
          Kokkos::parallel_for(Kokkos::TeamThreadRange(team, wsize),
                               [&](const long q) { part[q] = Real(0); });
          team.team_barrier();  // the zeros before any thread adds (threads own o, not rows)
          const long n0 = images * k / blocks, n1 = images * (k + 1) / blocks;
          for (long n = n0; n < n1; ++n) {
            const Real* dy = dY + n * per_image;
            for (long e = off(n); e < off(n + 1); ++e) {
              const Real v = val(e);
              for_each_reach(g, OH, OW, idx(e), [&](int pos, int row) {
                Real* dst = part + static_cast<long>(row) * out;
                const Real* src = dy + static_cast<long>(pos) * out;
                Kokkos::parallel_for(Kokkos::TeamThreadRange(team, out),
                                     [&](const int o) { dst[o] += v * src[o]; });
              });
            }
          }
        });
  }
  // Fixed block order: the same sum on any thread count.
  const int fan_in = g.taps();
  Kokkos::parallel_for(
      "supsnn::event_grad_sum", RowMajorRange<2>({0, 0}, {fan_in, out}),
      KOKKOS_LAMBDA(const int j, const int o) {
        Real s = 0;
        for (int k = 0; k < blocks; ++k) s += parts(k * wsize + static_cast<long>(j) * out + o);
        Real& d = dW[static_cast<long>(o) * fan_in + j];
        d = accumulate ? d + s : s;
      });
}

}  // namespace supsnn
