#include "data/augment.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/error.hpp"
#include "common/rng.hpp"
#include "data/warp.hpp"

namespace supsnn {

namespace {
enum : std::uint64_t { kAugShift = 11, kAugFlip = 12, kAugNoise = 13, kAugWarp = 14 };
std::uint64_t key(std::uint64_t seed, long epoch, std::int64_t sample) {
  return splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(epoch) * 0x9E3779B97F4A7C15ull +
                                      static_cast<std::uint64_t>(sample)));
}
}  // namespace

Warp draw_warp(const AugmentOptions& a, std::uint64_t seed, long epoch, std::int64_t sample) {
  const std::uint64_t k = key(seed, epoch, sample);
  Warp w;
  if (a.rotate > 0) w.angle_deg = a.rotate * (2 * uniform01(k, kAugWarp, 0) - 1);
  if (a.scale > 0) w.zoom = 1 + a.scale * (2 * uniform01(k, kAugWarp, 1) - 1);
  return w;
}

AugmentOptions evaluation_options(AugmentOptions a) {
  a.random_shift = false;
  a.max_shift = 0;
  a.flip = false;
  a.speckle = 0;
  a.rotate = 0;
  a.scale = 0;
  return a;
}

void augmented_size(const AugmentOptions& a, int H, int W, int* oh, int* ow) {
  if (a.crop > 0 && (a.crop > H || a.crop > W))
    throw Error("data.crop = " + std::to_string(a.crop) + " is larger than the " +
                std::to_string(H) + " x " + std::to_string(W) + " images");
  const int ch = a.crop > 0 ? a.crop : H, cw = a.crop > 0 ? a.crop : W;
  if (a.pool < 1 || ch % a.pool != 0 || cw % a.pool != 0)
    throw Error("data.pool = " + std::to_string(a.pool) + " does not divide the " +
                std::to_string(ch) + " x " + std::to_string(cw) + " (cropped) images");
  *oh = ch / a.pool;
  *ow = cw / a.pool;
}

void augment_image(const AugmentOptions& a, std::uint64_t seed, long epoch, std::int64_t sample,
                   int H, int W, const std::uint8_t* in, std::uint8_t* out) {
  int ph, pw;
  augmented_size(a, H, W, &ph, &pw);
  const int oh = ph * a.pool, ow = pw * a.pool;  // the crop before pooling
  const std::uint64_t k = key(seed, epoch, sample);
  std::vector<std::uint8_t> warped;
  if (a.rotate > 0 || a.scale > 0) {
    const Warp w = draw_warp(a, seed, epoch, sample);
    warped.resize(static_cast<std::size_t>(H) * W);
    warp_image(H, W, in, w.angle_deg, w.zoom, warped.data());
    in = warped.data();
  }
  int y0 = (H - oh) / 2, x0 = (W - ow) / 2;
  if (a.random_shift) {
    y0 = static_cast<int>(uniform01(k, kAugShift, 0) * (H - oh + 1));
    x0 = static_cast<int>(uniform01(k, kAugShift, 1) * (W - ow + 1));
  } else if (a.max_shift > 0) {
    const int span = 2 * a.max_shift + 1;
    y0 += std::min(span - 1, static_cast<int>(uniform01(k, kAugShift, 2) * span)) - a.max_shift;
    x0 += std::min(span - 1, static_cast<int>(uniform01(k, kAugShift, 3) * span)) - a.max_shift;
  }
  const bool flip = a.flip && uniform01(k, kAugFlip, 0) < 0.5;
  std::vector<std::uint8_t> crop;
  std::uint8_t* dst = out;
  if (a.pool > 1) {
    crop.resize(static_cast<std::size_t>(oh) * ow);
    dst = crop.data();
  }
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x) {
      const int sx = flip ? x0 + ow - 1 - x : x0 + x, sy = y0 + y;
      double v = sy >= 0 && sy < H && sx >= 0 && sx < W ? in[sy * W + sx] : 0;
      if (a.speckle > 0) {
        // Box-Muller from two counter-based uniforms per output pixel.
        const std::uint64_t p = static_cast<std::uint64_t>(y) * ow + x;
        const double u1 = 1.0 - uniform01(k, kAugNoise, 2 * p),
                     u2 = uniform01(k, kAugNoise, 2 * p + 1);
        const double n = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
        v = std::min(255.0, std::max(0.0, std::round(v * (1.0 + a.speckle * n))));
      }
      dst[y * ow + x] = static_cast<std::uint8_t>(v);
    }
  if (a.pool > 1) {  // average of each pool x pool block, rounded half up
    const int p = a.pool, area = p * p;
    for (int y = 0; y < ph; ++y)
      for (int x = 0; x < pw; ++x) {
        int sum = 0;
        for (int dy = 0; dy < p; ++dy)
          for (int dx = 0; dx < p; ++dx) sum += crop[(y * p + dy) * ow + x * p + dx];
        out[y * pw + x] = static_cast<std::uint8_t>((2 * sum + area) / (2 * area));
      }
  }
}

}  // namespace supsnn
