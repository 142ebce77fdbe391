#include "data/encode_split.hpp"

#include "common/error.hpp"

namespace supsnn {

void append_events_from_periods(const int* period, int inputs, int raw_steps, SpikeEvents& out) {
  for (int k = 1; k <= raw_steps; ++k)
    for (int i = 0; i < inputs; ++i)
      if (period[i] > 0 && k % period[i] == 0) {
        out.neuron.push_back(i);
        out.step.push_back(static_cast<std::uint8_t>(k));
      }
  out.offsets.push_back(static_cast<std::int64_t>(out.neuron.size()));
}

void encode_split(Split& s, const RateCode& code, int chunk) {
  if (!s.has_images()) throw Error("split " + s.name + ": no images to encode");
  if (code.raw_steps < 1 || code.raw_steps > 255)
    throw Error("encoder: raw_steps must be in 1..255");
  s.raw_steps = code.raw_steps;
  s.events = SpikeEvents{};
  const int H = s.height, W = s.width, m = s.inputs();
  View3<std::uint8_t> img("images", chunk, H, W);
  View2<int> period("periods", chunk, m);
  auto h_img = Kokkos::create_mirror_view(img);
  auto h_per = Kokkos::create_mirror_view(period);
  for (int b0 = 0; b0 < s.count; b0 += chunk) {
    const int B = std::min(chunk, s.count - b0);
    for (int b = 0; b < B; ++b)
      for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x)
          h_img(b, y, x) = s.images[(static_cast<std::size_t>(b0 + b) * H + y) * W + x];
    Kokkos::deep_copy(img, h_img);
    encode_rate_periods(code, Kokkos::subview(img, std::make_pair(0, B), Kokkos::ALL, Kokkos::ALL),
                        Kokkos::subview(period, std::make_pair(0, B), Kokkos::ALL));
    Kokkos::deep_copy(h_per, period);  // also waits for the kernel
    for (int b = 0; b < B; ++b) append_events_from_periods(&h_per(b, 0), m, s.raw_steps, s.events);
  }
}

}  // namespace supsnn
