// Kernel family of the convolutional hidden layers of a deep SNN (docs/model.md, "Convolutional
// layers"): a 2-D convolution (no padding, one stride for both axes, weights shared over
// positions) applied independently at every time point to a (channels, height, width) map.
//
// Maps are stored flat per sample and time point: X(b, (c * H + y) * W + x, t), t = 0..Tt-1 (the
// raw grid for the first layer, the fine grid after it). Weights W(co, (ci * K + dy) * K + dx).
//   Y(b, (co * OH + oy) * OW + ox, t) = sum_{ci, dy, dx} W(co, ci, dy, dx)
//                                       X(b, (ci * H + oy * st + dy) * W + ox * st + dx, t)
// with OH = (H - K) / st + 1, OW = (W - K) / st + 1. Backward:
//   dW(co, ci, dy, dx) = sum_{b, oy, ox, t} dY(b, co, oy, ox, t) X(b, ci, oy st + dy, ox st + dx,
//   t) dX(b, ci, y, x, t) = sum_{co, dy, dx : (y - dy) = oy st, (x - dx) = ox st, oy, ox in range}
//                        W(co, ci, dy, dx) dY(b, co, oy, ox, t)
// Every kernel is a gather (each work item writes only its own outputs): no atomics, and the
// result does not depend on the backend's scheduling. events_to_dense turns the input events of a
// batch into the dense 0/1 map of the first layer; conv_event_forward / conv_event_backward_weights
// compute the first layer from the events directly (the same sums, cost following the events).
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include "common.hpp"

namespace supsnn {

// Sum pooling of a (channels, height, width) map over pool x pool blocks at every time point
// (rows / columns beyond the last whole block are dropped):
//   P(b, (c * PH + py) * PW + px, t) = sum_{dy, dx < pool} X(b, (c * H + py pool + dy) * W + px
//   pool + dx, t)
// with PH = H / pool, PW = W / pool. Backward: dX(b, c, y, x, t) = dP(b, c, y / pool, x / pool, t)
// inside the blocks, 0 outside.
struct PoolShape {
  int channels = 1, height = 1, width = 1, pool = 1;
  int out_height() const { return height / pool; }
  int out_width() const { return width / pool; }
  int inputs() const { return channels * height * width; }
  int outputs() const { return channels * out_height() * out_width(); }
};

struct ConvShape {
  int in_channels = 1, height = 1, width = 1;  // input map
  int out_channels = 1, kernel = 1, stride = 1;
  int pool = 1;  // sum pooling of the layer's spikes before the next layer (1 = none)
  int out_height() const { return (height - kernel) / stride + 1; }
  int out_width() const { return (width - kernel) / stride + 1; }
  int pooled_outputs() const { return out_channels * (out_height() / pool) * (out_width() / pool); }
  PoolShape pool_shape() const;
  int inputs() const { return in_channels * height * width; }
  int outputs() const { return out_channels * out_height() * out_width(); }
  int taps() const { return in_channels * kernel * kernel; }  // weights per output channel
  void check() const {
    if (in_channels < 1 || out_channels < 1 || kernel < 1 || stride < 1 || kernel > height ||
        kernel > width || pool < 1 || pool > out_height() || pool > out_width())
      throw std::invalid_argument("convolution: kernel " + std::to_string(kernel) + ", stride " +
                                  std::to_string(stride) + ", pool " + std::to_string(pool) +
                                  " does not fit a " + std::to_string(height) + " x " +
                                  std::to_string(width) + " map");
  }
};

inline PoolShape ConvShape::pool_shape() const {
  PoolShape p;
  p.channels = out_channels;
  p.height = out_height();
  p.width = out_width();
  p.pool = pool;
  return p;
}

// Input events -> X: (B, m, T+1) dense 0/1, overwritten. One work item per (b, k): the events of
// a (sample, step) name distinct neurons, so every element is written by one item.
template <class Real>
void events_to_dense(const EventBatch& ev, View3<Real> X) {
  Kokkos::deep_copy(X, Real(0));
  const int T1 = ev.raw_steps + 1;
  auto off = ev.fwd_offsets;
  auto nrn = ev.fwd_neuron;
  Kokkos::parallel_for(
      "supsnn::events_to_dense", RowMajorRange<2>({0, 0}, {ev.batch, T1}),
      KOKKOS_LAMBDA(const int b, const int k) {
        for (int e = off(b * T1 + k); e < off(b * T1 + k + 1); ++e) X(b, nrn(e), k) = Real(1);
      });
}

// X: (B, inputs, Tt), W: (out_channels, taps) -> Y: (B, outputs, Tt), overwritten. One work item
// per (b, output neuron); the time loop is innermost (contiguous).
template <class Real>
void conv_forward(const ConvShape cs, View3<const Real> X, View2<const Real> W, View3<Real> Y) {
  const int B = static_cast<int>(Y.extent(0)), Tt = static_cast<int>(Y.extent(2));
  const int OH = cs.out_height(), OW = cs.out_width(), K = cs.kernel, st = cs.stride;
  const int H = cs.height, Wd = cs.width, Cin = cs.in_channels;
  Kokkos::parallel_for(
      "supsnn::conv_forward", RowMajorRange<2>({0, 0}, {B, cs.outputs()}),
      KOKKOS_LAMBDA(const int b, const int o) {
        const int co = o / (OH * OW), oy = (o / OW) % OH, ox = o % OW;
        for (int t = 0; t < Tt; ++t) Y(b, o, t) = 0;
        for (int ci = 0; ci < Cin; ++ci)
          for (int dy = 0; dy < K; ++dy)
            for (int dx = 0; dx < K; ++dx) {
              const Real w = W(co, (ci * K + dy) * K + dx);
              const int i = (ci * H + oy * st + dy) * Wd + ox * st + dx;
              for (int t = 0; t < Tt; ++t) Y(b, o, t) += w * X(b, i, t);
            }
      });
}

// dW: (out_channels, taps), overwritten. One team per weight: its threads share the B x OH x OW
// output positions (each walking time in registers) and reduce in the team, instead of one
// thread walking them all (a few thousand threads for a GPU; issue #18). A one-thread team (host
// backends) adds in (b, oy, ox, t) order, as the reference.
template <class Real>
void conv_backward_weights(const ConvShape cs, View3<const Real> dY, View3<const Real> X,
                           View2<Real> dW) {
  const int B = static_cast<int>(dY.extent(0)), Tt = static_cast<int>(dY.extent(2));
  const int OH = cs.out_height(), OW = cs.out_width(), K = cs.kernel, st = cs.stride;
  const int H = cs.height, Wd = cs.width, taps = cs.taps();
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  Kokkos::parallel_for(
      "supsnn::conv_backward_weights", Policy(cs.out_channels * taps, Kokkos::AUTO),
      KOKKOS_LAMBDA(const typename Policy::member_type& team) {
        const int co = team.league_rank() / taps, tap = team.league_rank() % taps;
        const int ci = tap / (K * K), dy = (tap / K) % K, dx = tap % K;
        Real acc = 0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, B * OH * OW),
            [&](const int q, Real& part) {
              const int b = q / (OH * OW), oy = (q / OW) % OH, ox = q % OW;
              const int o = (co * OH + oy) * OW + ox;
              const int i = (ci * H + oy * st + dy) * Wd + ox * st + dx;
              for (int t = 0; t < Tt; ++t) part += dY(b, o, t) * X(b, i, t);
            },
            acc);
        // Every thread of the team holds the sum; one writes it.
        Kokkos::single(Kokkos::PerTeam(team), [&] { dW(co, tap) = acc; });
      });
}

// dX: (B, inputs, Tt), overwritten. One work item per (b, input neuron).
template <class Real>
void conv_backward_input(const ConvShape cs, View2<const Real> W, View3<const Real> dY,
                         View3<Real> dX) {
  const int B = static_cast<int>(dX.extent(0)), Tt = static_cast<int>(dX.extent(2));
  const int OH = cs.out_height(), OW = cs.out_width(), K = cs.kernel, st = cs.stride;
  const int H = cs.height, Wd = cs.width, Cout = cs.out_channels;
  Kokkos::parallel_for(
      "supsnn::conv_backward_input", RowMajorRange<2>({0, 0}, {B, cs.inputs()}),
      KOKKOS_LAMBDA(const int b, const int i) {
        const int ci = i / (H * Wd), y = (i / Wd) % H, x = i % Wd;
        for (int t = 0; t < Tt; ++t) dX(b, i, t) = 0;
        for (int dy = 0; dy < K; ++dy) {
          const int ry = y - dy;
          if (ry < 0 || ry % st != 0 || ry / st >= OH) continue;
          for (int dx = 0; dx < K; ++dx) {
            const int rx = x - dx;
            if (rx < 0 || rx % st != 0 || rx / st >= OW) continue;
            for (int co = 0; co < Cout; ++co) {
              const Real w = W(co, (ci * K + dy) * K + dx);
              const int o = (co * OH + ry / st) * OW + rx / st;
              for (int t = 0; t < Tt; ++t) dX(b, i, t) += w * dY(b, o, t);
            }
          }
        }
      });
}

// Event-driven forms of the first layer (binary input spikes, one channel per input map
// position as in X above): the cost follows the events, not inputs x time.
// Y: (B, outputs, T+1), overwritten. One work item per (b, k) adds the kernel taps of each of its
// events into Y(b, ., k): items write disjoint slices, so no atomics.
template <class Real>
void conv_event_forward(const ConvShape cs, const EventBatch& ev, View2<const Real> W,
                        View3<Real> Y) {
  Kokkos::deep_copy(Y, Real(0));
  const int T1 = ev.raw_steps + 1;
  const int OH = cs.out_height(), OW = cs.out_width(), K = cs.kernel, st = cs.stride;
  const int H = cs.height, Wd = cs.width, Cout = cs.out_channels;
  auto off = ev.fwd_offsets;
  auto nrn = ev.fwd_neuron;
  Kokkos::parallel_for(
      "supsnn::conv_event_forward", RowMajorRange<2>({0, 0}, {ev.batch, T1}),
      KOKKOS_LAMBDA(const int b, const int k) {
        for (int e = off(b * T1 + k); e < off(b * T1 + k + 1); ++e) {
          const int i = nrn(e), ci = i / (H * Wd), y = (i / Wd) % H, x = i % Wd;
          for (int dy = 0; dy < K; ++dy) {
            const int ry = y - dy;
            if (ry < 0 || ry % st != 0 || ry / st >= OH) continue;
            for (int dx = 0; dx < K; ++dx) {
              const int rx = x - dx;
              if (rx < 0 || rx % st != 0 || rx / st >= OW) continue;
              for (int co = 0; co < Cout; ++co)
                Y(b, (co * OH + ry / st) * OW + rx / st, k) += W(co, (ci * K + dy) * K + dx);
            }
          }
        }
      });
}

// dW: (out_channels, taps), overwritten. One team per weight, its threads sharing the batch's
// (sample, step) slots and reducing in the team (issue #18: one thread per weight walking every
// event left a GPU mostly idle); a one-thread team walks the slots in (sample, step) order.
template <class Real>
void conv_event_backward_weights(const ConvShape cs, const EventBatch& ev, View3<const Real> dY,
                                 View2<Real> dW) {
  const int T1 = ev.raw_steps + 1, nslots = ev.batch * T1;
  const int OH = cs.out_height(), OW = cs.out_width(), K = cs.kernel, st = cs.stride;
  const int H = cs.height, Wd = cs.width, taps = cs.taps();
  auto off = ev.fwd_offsets;
  auto nrn = ev.fwd_neuron;
  using Policy = Kokkos::TeamPolicy<ExecSpace>;
  Kokkos::parallel_for(
      "supsnn::conv_event_backward_weights", Policy(cs.out_channels * taps, Kokkos::AUTO),
      KOKKOS_LAMBDA(const typename Policy::member_type& team) {
        const int co = team.league_rank() / taps, tap = team.league_rank() % taps;
        const int tci = tap / (K * K), dy = (tap / K) % K, dx = tap % K;
        Real acc = 0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, nslots),
            [&](const int sl, Real& part) {
              const int b = sl / T1, k = sl % T1;
              for (int e = off(sl); e < off(sl + 1); ++e) {
                const int i = nrn(e), ci = i / (H * Wd), y = (i / Wd) % H, x = i % Wd;
                const int ry = y - dy, rx = x - dx;
                if (ci != tci || ry < 0 || rx < 0 || ry % st != 0 || rx % st != 0 ||
                    ry / st >= OH || rx / st >= OW)
                  continue;
                part += dY(b, (co * OH + ry / st) * OW + rx / st, k);
              }
            },
            acc);
        Kokkos::single(Kokkos::PerTeam(team), [&] { dW(co, tap) = acc; });
      });
}

// X: (B, inputs, Tt) -> P: (B, outputs, Tt), overwritten. One work item per (b, pooled neuron).
template <class Real>
void sum_pool_forward(const PoolShape ps, View3<const Real> X, View3<Real> P) {
  const int B = static_cast<int>(P.extent(0)), Tt = static_cast<int>(P.extent(2));
  const int PH = ps.out_height(), PW = ps.out_width(), H = ps.height, Wd = ps.width, p = ps.pool;
  Kokkos::parallel_for(
      "supsnn::sum_pool_forward", RowMajorRange<2>({0, 0}, {B, ps.outputs()}),
      KOKKOS_LAMBDA(const int b, const int o) {
        const int c = o / (PH * PW), py = (o / PW) % PH, px = o % PW;
        for (int t = 0; t < Tt; ++t) P(b, o, t) = 0;
        for (int dy = 0; dy < p; ++dy)
          for (int dx = 0; dx < p; ++dx) {
            const int i = (c * H + py * p + dy) * Wd + px * p + dx;
            for (int t = 0; t < Tt; ++t) P(b, o, t) += X(b, i, t);
          }
      });
}

// dP: (B, outputs, Tt) -> dX: (B, inputs, Tt), overwritten. One work item per (b, input neuron).
template <class Real>
void sum_pool_backward(const PoolShape ps, View3<const Real> dP, View3<Real> dX) {
  const int B = static_cast<int>(dX.extent(0)), Tt = static_cast<int>(dX.extent(2));
  const int PH = ps.out_height(), PW = ps.out_width(), H = ps.height, Wd = ps.width, p = ps.pool;
  Kokkos::parallel_for(
      "supsnn::sum_pool_backward", RowMajorRange<2>({0, 0}, {B, ps.inputs()}),
      KOKKOS_LAMBDA(const int b, const int i) {
        const int c = i / (H * Wd), py = ((i / Wd) % H) / p, px = (i % Wd) / p;
        const bool inside = py < PH && px < PW;
        const int o = (c * PH + py) * PW + px;
        for (int t = 0; t < Tt; ++t) dX(b, i, t) = inside ? dP(b, o, t) : Real(0);
      });
}

template <class Real>
void sum_pool_forward_ref(const PoolShape& ps, int B, int Tt, const Real* X, Real* P) {
  const int PH = ps.out_height(), PW = ps.out_width();
  for (long q = 0; q < static_cast<long>(B) * ps.outputs() * Tt; ++q) P[q] = 0;
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < ps.channels; ++c)
      for (int y = 0; y < PH * ps.pool; ++y)
        for (int x = 0; x < PW * ps.pool; ++x)
          for (int t = 0; t < Tt; ++t)
            P[(static_cast<long>(b) * ps.outputs() + (c * PH + y / ps.pool) * PW + x / ps.pool) *
                  Tt +
              t] +=
                X[(static_cast<long>(b) * ps.inputs() + (c * ps.height + y) * ps.width + x) * Tt +
                  t];
}

// Plain CPU references on flat row-major arrays: X (B, inputs, Tt), Y (B, outputs, Tt), W
// (out_channels, taps). They loop over (b, co, oy, ox) and scatter, the textbook form.
template <class Real>
void conv_forward_ref(const ConvShape& cs, int B, int Tt, const Real* X, const Real* W, Real* Y) {
  const int OH = cs.out_height(), OW = cs.out_width(), K = cs.kernel, st = cs.stride;
  for (int b = 0; b < B; ++b)
    for (int co = 0; co < cs.out_channels; ++co)
      for (int oy = 0; oy < OH; ++oy)
        for (int ox = 0; ox < OW; ++ox)
          for (int t = 0; t < Tt; ++t) {
            double acc = 0;
            for (int ci = 0; ci < cs.in_channels; ++ci)
              for (int dy = 0; dy < K; ++dy)
                for (int dx = 0; dx < K; ++dx)
                  acc += W[co * cs.taps() + (ci * K + dy) * K + dx] *
                         X[(static_cast<long>(b) * cs.inputs() +
                            (ci * cs.height + oy * st + dy) * cs.width + ox * st + dx) *
                               Tt +
                           t];
            Y[(static_cast<long>(b) * cs.outputs() + (co * OH + oy) * OW + ox) * Tt + t] =
                static_cast<Real>(acc);
          }
}

template <class Real>
void conv_backward_ref(const ConvShape& cs, int B, int Tt, const Real* X, const Real* W,
                       const Real* dY, Real* dW, Real* dX) {
  const int OH = cs.out_height(), OW = cs.out_width(), K = cs.kernel, st = cs.stride;
  std::vector<double> gW(static_cast<std::size_t>(cs.out_channels) * cs.taps(), 0.0),
      gX(static_cast<std::size_t>(B) * cs.inputs() * Tt, 0.0);
  for (int b = 0; b < B; ++b)
    for (int co = 0; co < cs.out_channels; ++co)
      for (int oy = 0; oy < OH; ++oy)
        for (int ox = 0; ox < OW; ++ox)
          for (int t = 0; t < Tt; ++t) {
            const double g =
                dY[(static_cast<long>(b) * cs.outputs() + (co * OH + oy) * OW + ox) * Tt + t];
            for (int ci = 0; ci < cs.in_channels; ++ci)
              for (int dy = 0; dy < K; ++dy)
                for (int dx = 0; dx < K; ++dx) {
                  const int tap = (ci * K + dy) * K + dx;
                  const long xi = (static_cast<long>(b) * cs.inputs() +
                                   (ci * cs.height + oy * st + dy) * cs.width + ox * st + dx) *
                                      Tt +
                                  t;
                  gW[co * cs.taps() + tap] += g * X[xi];
                  gX[xi] += g * W[co * cs.taps() + tap];
                }
          }
  for (std::size_t q = 0; q < gW.size(); ++q) dW[q] = static_cast<Real>(gW[q]);
  for (std::size_t q = 0; q < gX.size(); ++q) dX[q] = static_cast<Real>(gX[q]);
}

}  // namespace supsnn
