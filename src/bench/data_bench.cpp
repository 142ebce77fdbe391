#include "bench/data_bench.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "common/error.hpp"
#include "data/data_options.hpp"
#include "data/dataset.hpp"
#include "data/prepare.hpp"
#include "kernels/encode_events.hpp"

namespace supsnn {

void run_data_bench(const DataBenchOptions& o) {
  using Clock = std::chrono::steady_clock;
  std::string path = o.dataset;
  std::filesystem::path tmp;
  if (!o.input.empty()) {
    tmp = std::filesystem::temp_directory_path() /
          ("supsnn-bench-" + std::to_string(::getpid()) + ".h5");
    path = tmp.string();
    PrepareOptions p;
    p.input = o.input;
    const auto t0 = Clock::now();
    PrepareStats st;
    const DatasetFile ds = prepare_dataset(p, &st);
    write_dataset(path, ds, "supsnn bench");
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf(
        "prepare  %s: %ld chips in %.3f s = %.0f chips/s (read+decode+crop: %.0f chips/s)\n",
        o.input.c_str(), st.chips, s, st.chips / s, st.chips / st.seconds);
  }
  if (path.empty()) throw Error("bench: give --input DIR (chips) or --dataset FILE.h5");
  const Split s = SplitReader(path, "train").read_all();
  if (!s.has_images()) throw Error(path + ": bench encodes images; this dataset holds spikes");
  const int B = o.batch, H = s.height, W = s.width;
  View3<std::uint8_t> img("img", B, H, W);
  View1<std::int64_t> ids("ids", B);
  auto h_img = Kokkos::create_mirror_view(img);
  auto h_ids = Kokkos::create_mirror_view(ids);
  std::printf("encode   %d images of %d x %d, batch %d, T = %d, backend %s:\n", s.count, H, W, B,
              o.raw_steps, ExecSpace::name());
  for (const auto& [name, code] :
       {std::pair{"rate", SpikeCode::Rate}, std::pair{"poisson", SpikeCode::Poisson},
        std::pair{"latency", SpikeCode::Latency}}) {
    DataOptions d = data_options(Config());  // the default data.* settings, this code
    d.code = code;
    const SpikeCodeParams p = spike_code_params(d, o.raw_steps, 0);
    EventEncoder enc;
    EventBatch ev;
    double best = 1e300;
    long events = 0;
    for (int r = 0; r < o.repeats; ++r) {
      events = 0;
      double seconds = 0;
      for (int b0 = 0; b0 < s.count; b0 += B) {
        const int n = std::min(B, s.count - b0);
        for (int b = 0; b < n; ++b) {
          std::copy_n(s.images.begin() + static_cast<std::size_t>(b0 + b) * H * W, H * W,
                      &h_img(b, 0, 0));
          h_ids(b) = b0 + b;
        }
        Kokkos::deep_copy(img, h_img);
        Kokkos::deep_copy(ids, h_ids);
        const auto t0 = Clock::now();  // encoding only: the upload above is not timed
        enc.encode(p, Kokkos::subview(img, std::make_pair(0, n), Kokkos::ALL, Kokkos::ALL),
                   Kokkos::subview(ids, std::make_pair(0, n)), ev);
        Kokkos::fence();
        seconds += std::chrono::duration<double>(Clock::now() - t0).count();
        int total = 0;
        Kokkos::deep_copy(total, Kokkos::subview(ev.fwd_offsets, n * (o.raw_steps + 1)));
        events += total;
      }
      best = std::min(best, seconds);
    }
    std::printf("  %-8s %10.0f samples/s  %8.0f events/sample\n", name, s.count / best,
                static_cast<double>(events) / s.count);
  }
  if (!tmp.empty()) std::filesystem::remove(tmp);
}

}  // namespace supsnn
