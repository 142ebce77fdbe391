#include "data/augment.hpp"

#include <cmath>

#include "common/error.hpp"
#include "common/rng.hpp"

namespace supsnn {

namespace {
enum : std::uint64_t { kAugShift = 11, kAugFlip = 12, kAugNoise = 13 };
std::uint64_t key(std::uint64_t seed, long epoch, std::int64_t sample) {
  return splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(epoch) * 0x9E3779B97F4A7C15ull +
                                      static_cast<std::uint64_t>(sample)));
}
}  // namespace

void augmented_size(const AugmentOptions& a, int H, int W, int* oh, int* ow) {
  if (a.crop > 0 && (a.crop > H || a.crop > W))
    throw Error("data.crop = " + std::to_string(a.crop) + " is larger than the " +
                std::to_string(H) + " x " + std::to_string(W) + " images");
  *oh = a.crop > 0 ? a.crop : H;
  *ow = a.crop > 0 ? a.crop : W;
}

void augment_image(const AugmentOptions& a, std::uint64_t seed, long epoch, std::int64_t sample,
                   int H, int W, const std::uint8_t* in, std::uint8_t* out) {
  int oh, ow;
  augmented_size(a, H, W, &oh, &ow);
  const std::uint64_t k = key(seed, epoch, sample);
  int y0 = (H - oh) / 2, x0 = (W - ow) / 2;
  if (a.random_shift) {
    y0 = static_cast<int>(uniform01(k, kAugShift, 0) * (H - oh + 1));
    x0 = static_cast<int>(uniform01(k, kAugShift, 1) * (W - ow + 1));
  }
  const bool flip = a.flip && uniform01(k, kAugFlip, 0) < 0.5;
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x) {
      const int sx = flip ? x0 + ow - 1 - x : x0 + x;
      double v = in[(y0 + y) * W + sx];
      if (a.speckle > 0) {
        // Box-Muller from two counter-based uniforms per output pixel.
        const std::uint64_t p = static_cast<std::uint64_t>(y) * ow + x;
        const double u1 = 1.0 - uniform01(k, kAugNoise, 2 * p),
                     u2 = uniform01(k, kAugNoise, 2 * p + 1);
        const double n = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
        v = std::min(255.0, std::max(0.0, std::round(v * (1.0 + a.speckle * n))));
      }
      out[y * ow + x] = static_cast<std::uint8_t>(v);
    }
}

}  // namespace supsnn
