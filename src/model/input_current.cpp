#include "model/input_current.hpp"

#include <algorithm>
#include <limits>

#include "common/error.hpp"
#include "kernels/dense_current.hpp"
#include "kernels/event_current.hpp"

namespace supsnn {

InputPath parse_input_path(const std::string& s) {
  if (s == "auto") return InputPath::Auto;
  if (s == "events") return InputPath::Events;
  if (s == "dense") return InputPath::Dense;
  throw Error("model.input_path: expected auto, events or dense, got '" + s + "'");
}

const char* input_path_name(InputPath p) {
  return p == InputPath::Dense ? "dense" : p == InputPath::Events ? "events" : "auto";
}

double default_dense_density(int outputs) {
  // Per-sample cost model, float, seed geometry (m = 16384, T+1 = 71), fitted to
  // `supsnn bench --train --input-path events,dense` on one core of the development machine
  // (OpenBLAS through KokkosKernels; docs/performance.md, "Dense input path"), in ms:
  //   events: e * density * n          (forward gathers + backward scatters per spike and output)
  //   dense:  g * n + x + d * density  (two products; X traffic; densify/clear per spike)
  // The dense path wins above (g n + x) / (e n - d): never for the bilayer's 3 outputs (the
  // skinny products are bound by reading X), about 4 % for a 128-neuron first layer.
  double e = 1.04, g = 0.038, x = 0.64, d = 3.4;
  // GPUs: not measured. cuBLAS reads X at HBM speed while event gathers are scattered; the dense
  // terms are taken 4x cheaper relative to the events until a measurement replaces them.
  if constexpr (!kHostExec) {
    g /= 4;
    x /= 4;
    d /= 4;
  }
  const double n = std::max(outputs, 1), denom = e * n - d;
  if (denom <= 0) return std::numeric_limits<double>::infinity();
  return (g * n + x) / denom;
}

long long event_count(const EventBatch& ev) {
  if (ev.batch == 0) return 0;           // the offsets may not even exist yet
  if (ev.events >= 0) return ev.events;  // known on the host: no device-to-host copy
  const std::size_t last = static_cast<std::size_t>(ev.batch) * (ev.raw_steps + 1);
  int e = 0;
  Kokkos::deep_copy(Kokkos::View<int, Kokkos::HostSpace>(&e),
                    Kokkos::subview(ev.fwd_offsets, last));
  return e;
}

template <class Real>
int InputCurrent<Real>::chunk(const EventBatch& ev) {
  // CPUs: at most 8 MiB of dense spikes, so that densify, gemm and clear find X in the last-level
  // cache (one seed sample of 16384 x 71 floats is 4.6 MiB; 64 MiB chunks ran 3x slower per
  // sample). GPUs: 256 MiB, fewer and larger products. At least one sample.
  constexpr bool host = kHostExec;
  constexpr std::size_t budget = host ? (8u << 20) : (256u << 20);
  const std::size_t per = static_cast<std::size_t>(ev.inputs) * (ev.raw_steps + 1);
  const std::size_t fit = opt_.dense_chunk > 0 ? opt_.dense_chunk : budget / (per * sizeof(Real));
  const int c = static_cast<int>(std::clamp<std::size_t>(fit, 1, std::max(ev.batch, 1)));
  if (X_.extent(0) < per * c) X_ = View1<Real>("dense_input_spikes", per * c);  // zero-filled
  return c;
}

template <class Real>
void InputCurrent<Real>::forward(const EventBatch& ev, View2<const Real> W, View3<Real> c) {
  const double threshold = opt_.dense_density > 0
                               ? opt_.dense_density
                               : default_dense_density(static_cast<int>(W.extent(0)));
  // The event count is the batch's host-side E (else a device-to-host copy): read it only when it
  // decides.
  density_ = -1;
  if (opt_.path == InputPath::Auto && ev.batch > 0 && threshold <= 1)
    density_ = static_cast<double>(event_count(ev)) /
               (static_cast<double>(ev.batch) * ev.inputs * (ev.raw_steps + 1));
  dense_ = opt_.path == InputPath::Dense || (density_ >= 0 && density_ >= threshold);
  if (!dense_) {
    event_current_forward<Real>(ev, W, c);
    return;
  }
  const int nc = chunk(ev);
  for (int b0 = 0; b0 < ev.batch; b0 += nc) {
    const int nb = std::min(nc, ev.batch - b0);
    // Kernels and gemm calls run in issue order on the default execution space: X is complete
    // before the products read it and is cleared only after them, without fences.
    densify_events<Real>(ev, b0, nb, X_);
    dense_current_forward<Real>(X_, b0, nb, W, c);
    clear_events<Real>(ev, b0, nb, X_);
  }
}

template <class Real>
void InputCurrent<Real>::backward(const EventBatch& ev, View3<const Real> dc, View2<Real> dW) {
  if (!dense_) {
    event_current_backward<Real>(ev, dc, dW);
    return;
  }
  if (ev.batch == 0) {  // no product runs: the gradient of an empty batch is 0
    Kokkos::deep_copy(dW, Real(0));
    return;
  }
  // The spikes are scattered again rather than kept from forward(): X stays one chunk, and the
  // batch's event views are what the caller guarantees unchanged between the two calls.
  const int nc = chunk(ev);
  for (int b0 = 0; b0 < ev.batch; b0 += nc) {
    const int nb = std::min(nc, ev.batch - b0);
    densify_events<Real>(ev, b0, nb, X_);
    dense_current_backward<Real>(X_, b0, nb, dc, dW, b0 > 0);
    clear_events<Real>(ev, b0, nb, X_);
  }
}

template class InputCurrent<double>;
template class InputCurrent<float>;

}  // namespace supsnn
