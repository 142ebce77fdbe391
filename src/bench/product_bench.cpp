#include "bench/product_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "config/config.hpp"
#include "config/layers.hpp"
#include "kernels/event_conv.hpp"
#include "kernels/gemm_rows.hpp"
#include "kernels/im2col.hpp"
#include "model/layered_snn.hpp"

namespace supsnn {

namespace {

// Mean seconds per call of f over about `seconds` (after one warm-up call).
template <class F>
double time_per_call(double seconds, F&& f) {
  using Clock = std::chrono::steady_clock;
  f();
  Kokkos::fence();
  int calls = 0;
  const auto t0 = Clock::now();
  double dt = 0;
  do {
    f();
    Kokkos::fence();
    ++calls;
    dt = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (dt < seconds);
  return dt / calls;
}

}  // namespace

void run_product_bench(const TrainBenchOptions& o) {
  using Real = float;
  const Config cfg = Config::load(o.layers);
  const auto specs = layer_specs(cfg);
  if (specs.empty()) throw Error(o.layers + ": no [[model.layers]] to benchmark");
  const int crop = cfg.get_int("data.crop") > 0 ? static_cast<int>(cfg.get_int("data.crop")) : 128;
  const int T = static_cast<int>(cfg.get_int("model.steps"));
  const LayeredSnn<Real> net(specs, 1, crop, crop, T, 2);
  std::printf(
      "hidden-layer products of %s, float, backend %s: forward + weight gradient, ms per "
      "pass of T x batch images\n",
      std::filesystem::path(o.layers).filename().c_str(), ExecSpace::name());
  std::printf("%-6s %-28s %6s %8s %10s %10s %8s\n", "layer", "shape", "images", "density",
              "events ms", "gemm ms", "gemm/ev");
  for (const auto& p : net.hidden_layers())
    for (int B : o.batches) {
      const ConvGeometry& g = p.geometry;
      const long images = static_cast<long>(T) * B, in = g.in_size();
      const long M = images * g.positions();
      const long wsize = static_cast<long>(g.taps()) * p.outputs;
      View1<Real> X("X", images * in), W("W", wsize), Wt("Wt", wsize), dW("dW", wsize);
      View1<Real> Y("Y", M * p.outputs), dY("dY", M * p.outputs);
      View1<Real> col("col", M * g.taps()), parts("parts", kEventGradBlocks * wsize);
      Kokkos::deep_copy(W, Real(0.01));
      Kokkos::deep_copy(dY, Real(0.01));
      EventRows<Real> ev;
      for (double d : o.densities) {
        auto h = Kokkos::create_mirror_view(X);
        for (long i = 0; i < images * in; ++i) h(i) = uniform01(3, 5, i) < d ? Real(1) : Real(0);
        Kokkos::deep_copy(X, h);
        const double te = time_per_call(o.seconds, [&] {
          events_count<Real>(images, in, X, ev);
          events_fill<Real>(images, in, X, ev);
          transpose_weights<Real>(p.outputs, g.taps(), W.data(), Wt);
          event_conv_forward<Real>(g, p.outputs, images, ev, Wt, nullptr, Y.data());
          event_conv_weight_grad<Real>(g, p.outputs, images, ev, dY.data(), parts, dW.data(),
                                       false);
        });
        const double tg = time_per_call(o.seconds, [&] {
          im2col<Real>(g, static_cast<int>(images), X, col);  // forward
          rows_forward<Real>(M, g.taps(), p.outputs, col.data(), W.data(), nullptr, Y.data());
          im2col<Real>(g, static_cast<int>(images), X, col);  // backward (recomputed there too)
          rows_weight_grad<Real>(M, g.taps(), p.outputs, dY.data(), col.data(), dW.data(), false);
        });
        const std::string shape = std::to_string(g.H) + "x" + std::to_string(g.W) + "x" +
                                  std::to_string(g.C) + " k" + std::to_string(g.K) + " -> " +
                                  std::to_string(p.outputs);
        std::printf("%-6d %-28s %6ld %7.1f%% %10.3f %10.3f %8.2f\n", p.layer, shape.c_str(), images,
                    100 * d, 1e3 * te, 1e3 * tg, tg / te);
        std::fflush(stdout);
      }
    }
}

}  // namespace supsnn
