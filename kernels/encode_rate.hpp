// Input-encoding maths of seed-model.md section 1, shared by the device encoder
// (kernels/encode_events.hpp) and its CPU reference: a 5x5 receptive field turns the grey image
// (scaled to [0, 1]) into a potential per pixel; the deterministic rate code turns the potential
// into a firing period (spikes at steps period, 2*period, ... <= T).
//
// All receptive-field weights are multiples of 1/8, so the potential is computed as an exact
// integer sum s = sum(pixel * 8 * weight) and then pot = s / 2040 (one rounding). Device and
// reference therefore agree bit for bit on every backend, and pot > 0 exactly when s > 0.
#pragma once
#include <cstdint>
#include <stdexcept>
#include "common.hpp"

namespace supsnn {

struct RateCode {
  double pot_lo = -1.069, pot_hi = 2.781;  // potential range mapped to [f_lo, f_hi]
  double f_lo = 1.0, f_hi = 20.0;          // f_lo must be > 0
  double period_scale = 600.0;             // period = ceil(period_scale / freq)
  int raw_steps = 70;                      // T
};

namespace detail {

// 8 x receptive-field weight at offset (dy, dx), |dy|, |dx| <= 2. The kernel is symmetric under
// sign flips and transposition, so it depends only on the sorted pair (min, max) of |dy|, |dx|:
//   -0.5    -0.125  0.125  -0.125  -0.5
//   -0.125   0.125  0.625   0.125  -0.125
//    0.125   0.625  1.0     0.625   0.125
//   -0.125   0.125  0.625   0.125  -0.125
//   -0.5    -0.125  0.125  -0.125  -0.5
KOKKOS_INLINE_FUNCTION int rf_weight8(int dy, int dx) {
  const int a = dy < 0 ? -dy : dy, b = dx < 0 ? -dx : dx;
  const int lo = a < b ? a : b, hi = a < b ? b : a;
  switch (lo * 3 + hi) {
    case 0:
      return 8;  // (0,0) 1.0
    case 1:
      return 5;  // (0,1) 0.625
    case 2:
      return 1;  // (0,2) 0.125
    case 4:
      return 1;  // (1,1) 0.125
    case 5:
      return -1;  // (1,2) -0.125
    case 8:
      return -4;  // (2,2) -0.5
    default:
      return 0;
  }
}

// Integer tap sum s = sum(pixel * 8 * weight) at (y, x), zero padding (out-of-image taps
// skipped), so it is safe at the border. pix(yy, xx) returns the pixel. The one loop behind both
// rf_potential and the border path of rf_sum (encode_events.hpp).
template <class Pixels>
KOKKOS_INLINE_FUNCTION int rf_tap_sum(const Pixels& pix, int H, int W, int y, int x) {
  int s = 0;
  for (int dy = -2; dy <= 2; ++dy) {
    const int yy = y + dy;
    if (yy < 0 || yy >= H) continue;
    for (int dx = -2; dx <= 2; ++dx) {
      const int xx = x + dx;
      if (xx < 0 || xx >= W) continue;
      s += static_cast<int>(pix(yy, xx)) * rf_weight8(dy, dx);
    }
  }
  return s;
}

// Potential at (y, x): zero padding (out-of-image taps skipped). pix(yy, xx) returns the pixel.
template <class Pixels>
KOKKOS_INLINE_FUNCTION double rf_potential(const Pixels& pix, int H, int W, int y, int x) {
  return static_cast<double>(rf_tap_sum(pix, H, W, y, x)) / 2040.0;  // s / (8 * 255)
}

// ceil(q) for q >= 0 without libm (device-safe); exact for integral q. Saturates at INT_MAX.
KOKKOS_INLINE_FUNCTION int ceil_nonneg(double q) {
  if (q >= 2147483647.0) return 2147483647;
  const int c = static_cast<int>(q);  // truncation == floor for q >= 0
  return static_cast<double>(c) < q ? c + 1 : c;
}

// np.interp(pot, [pot_lo, pot_hi], [f_lo, f_hi]) then ceil(period_scale / freq); 0 if pot <= 0.
// Same operation order as NumPy: slope * (x - xp[0]) + fp[0], right end returns fp[1] exactly.
KOKKOS_INLINE_FUNCTION int rate_period(const RateCode& rc, double pot) {
  if (!(pot > 0.0)) return 0;
  double freq;
  if (pot < rc.pot_lo) {
    freq = rc.f_lo;
  } else if (pot >= rc.pot_hi) {
    freq = rc.f_hi;
  } else {
    const double slope = (rc.f_hi - rc.f_lo) / (rc.pot_hi - rc.pot_lo);
    freq = slope * (pot - rc.pot_lo) + rc.f_lo;
  }
  return ceil_nonneg(rc.period_scale / freq);
}

// Potential of a pixel of grey value v without the receptive field (data.receptive_field =
// false): the grey value scaled onto [0, pot_hi], so that the brightest pixel gets the top of every
// code's range (f_hi, latency step 1).
KOKKOS_INLINE_FUNCTION double pixel_potential(const RateCode& rc, int v) {
  return static_cast<double>(v) / 255.0 * rc.pot_hi;
}

// Pixels of image b of a device view, by reference (no reference-count traffic on host
// backends); for use inside a kernel, where img outlives the accessor.
struct ViewRefPixels {
  const View3<const uint8_t>& img;
  int b;
  KOKKOS_INLINE_FUNCTION uint8_t operator()(int y, int x) const { return img(b, y, x); }
};

struct PtrPixels {
  const uint8_t* p;
  int W;
  KOKKOS_INLINE_FUNCTION uint8_t operator()(int y, int x) const { return p[y * W + x]; }
};

}  // namespace detail

// Potential map of one image (H, W), row-major; pot = conv(img / 255, kernel), same size.
inline void receptive_field_ref(int H, int W, const uint8_t* img, double* pot) {
  const detail::PtrPixels pix{img, W};
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) pot[y * W + x] = detail::rf_potential(pix, H, W, y, x);
}

// Potential map without the receptive field: pixel_potential of every pixel.
inline void pixel_potential_ref(const RateCode& rc, int H, int W, const uint8_t* img, double* pot) {
  for (int i = 0; i < H * W; ++i) pot[i] = detail::pixel_potential(rc, img[i]);
}

// Plain CPU reference: the period of every pixel of B row-major images; period: B * H * W.
// 0 means never spikes (pot <= 0); periods > T are stored as they are (no spikes in the window).
inline void encode_rate_periods_ref(const RateCode& rc, int B, int H, int W, const uint8_t* img,
                                    int* period) {
  for (int b = 0; b < B; ++b) {
    const detail::PtrPixels pix{img + static_cast<size_t>(b) * H * W, W};
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x)
        period[static_cast<size_t>(b) * H * W + y * W + x] =
            detail::rate_period(rc, detail::rf_potential(pix, H, W, y, x));
  }
}

}  // namespace supsnn
