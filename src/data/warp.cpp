#include "data/warp.hpp"

#include <cmath>

#include "common/error.hpp"

namespace supsnn {

namespace {
double pixel(int H, int W, const std::uint8_t* in, int y, int x) {
  return y >= 0 && y < H && x >= 0 && x < W ? in[y * W + x] : 0.0;
}
}  // namespace

void warp_image(int H, int W, const std::uint8_t* in, double angle_deg, double zoom,
                std::uint8_t* out) {
  if (!(zoom > 0)) throw Error("warp_image: zoom must be positive");
  const double t = angle_deg * 3.14159265358979323846 / 180.0;
  // Inverse map: output offset d reads the input at R(-t) d / zoom.
  const double c = std::cos(t) / zoom, s = std::sin(t) / zoom;
  const double cx = 0.5 * (W - 1), cy = 0.5 * (H - 1);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const double dx = x - cx, dy = y - cy;
      const double sx = cx + c * dx + s * dy, sy = cy - s * dx + c * dy;
      const double fx = std::floor(sx), fy = std::floor(sy);
      const double ax = sx - fx, ay = sy - fy;
      const int x0 = static_cast<int>(fx), y0 = static_cast<int>(fy);
      const double v =
          (1 - ay) * ((1 - ax) * pixel(H, W, in, y0, x0) + ax * pixel(H, W, in, y0, x0 + 1)) +
          ay * ((1 - ax) * pixel(H, W, in, y0 + 1, x0) + ax * pixel(H, W, in, y0 + 1, x0 + 1));
      out[y * W + x] = static_cast<std::uint8_t>(std::lround(std::fmin(255.0, std::fmax(0.0, v))));
    }
}

}  // namespace supsnn
