// Tests for kernels/encode_rate.hpp: receptive field, rate code, kernel vs CPU reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/encode_rate.hpp"

namespace supsnn {
namespace {

// Kernel periods for B row-major images, copied back to the host.
std::vector<int> run_ref(const RateCode& rc, int B, int H, int W, const std::vector<uint8_t>& img) {
  std::vector<int> out(static_cast<size_t>(B) * H * W);
  encode_rate_periods_ref(rc, B, H, W, img.data(), out.data());
  return out;
}

// Period by the doc's formula, written independently with std::ceil (np.interp order).
int period_by_hand(const RateCode& rc, double pot) {
  if (pot <= 0) return 0;
  double freq = rc.f_hi;
  if (pot < rc.pot_hi)
    freq = (rc.f_hi - rc.f_lo) / (rc.pot_hi - rc.pot_lo) * (pot - rc.pot_lo) + rc.f_lo;
  return static_cast<int>(std::ceil(rc.period_scale / freq));
}

TEST(EncodeRate, SingleBrightPixelTaps) {
  const int H = 9, W = 11, y0 = 4, x0 = 5;
  std::vector<uint8_t> img(H * W, 0);
  img[y0 * W + x0] = 255;
  std::vector<double> pot(H * W);
  receptive_field_ref(H, W, img.data(), pot.data());
  auto at = [&](int dy, int dx) { return pot[(y0 + dy) * W + (x0 + dx)]; };
  EXPECT_EQ(at(0, 0), 1.0);
  EXPECT_EQ(at(-1, 0), 0.625);
  EXPECT_EQ(at(1, 0), 0.625);
  EXPECT_EQ(at(0, -1), 0.625);
  EXPECT_EQ(at(0, 1), 0.625);
  EXPECT_EQ(at(1, 1), 0.125);
  EXPECT_EQ(at(-1, 1), 0.125);
  EXPECT_EQ(at(0, 2), 0.125);
  EXPECT_EQ(at(-2, 0), 0.125);
  EXPECT_EQ(at(1, 2), -0.125);
  EXPECT_EQ(at(-2, -1), -0.125);
  EXPECT_EQ(at(2, 2), -0.5);
  EXPECT_EQ(at(-2, 2), -0.5);
  EXPECT_EQ(at(0, 3), 0.0);
  EXPECT_EQ(at(3, 3), 0.0);
  EXPECT_EQ(at(-3, 0), 0.0);
  // Only the 5x5 window is non-zero.
  int nonzero = 0;
  for (double v : pot) nonzero += (v != 0.0);
  EXPECT_EQ(nonzero, 25);
}

TEST(EncodeRate, BrightPixelAtCornerIsClipped) {
  const int H = 6, W = 7;
  std::vector<uint8_t> img(H * W, 0);
  img[0] = 255;  // (0, 0)
  std::vector<double> pot(H * W);
  receptive_field_ref(H, W, img.data(), pot.data());
  EXPECT_EQ(pot[0], 1.0);
  EXPECT_EQ(pot[1], 0.625);
  EXPECT_EQ(pot[W], 0.625);
  EXPECT_EQ(pot[W + 1], 0.125);
  EXPECT_EQ(pot[2 * W + 2], -0.5);
  int nonzero = 0;
  for (double v : pot) nonzero += (v != 0.0);
  EXPECT_EQ(nonzero, 9);  // the in-image quarter of the window
}

TEST(EncodeRate, ZeroPaddingOnWhiteImage) {
  // All-white image: the potential is the sum of the in-image kernel taps.
  const int H = 8, W = 10;
  std::vector<uint8_t> img(H * W, 255);
  std::vector<double> pot(H * W);
  receptive_field_ref(H, W, img.data(), pot.data());
  EXPECT_EQ(pot[0], 1.875);  // corner: taps dy, dx in {0, 1, 2}
  EXPECT_EQ(pot[(H - 1) * W + (W - 1)], 1.875);
  EXPECT_EQ(pot[0 * W + 5], 2.0);   // top edge: dy in {0, 1, 2}
  EXPECT_EQ(pot[4 * W + 0], 2.0);   // left edge
  EXPECT_EQ(pot[1 * W + 1], 3.25);  // one in from the corner: rows/cols -1..2
  EXPECT_EQ(pot[4 * W + 5], 1.5);   // interior: sum of all 25 taps
}

TEST(EncodeRate, AllBlackNeverSpikes) {
  const RateCode rc;
  const int B = 2, H = 7, W = 9;
  std::vector<uint8_t> img(B * H * W, 0);
  for (int p : run_ref(rc, B, H, W, img)) EXPECT_EQ(p, 0);
  for (int p : run_ref(rc, B, H, W, img)) EXPECT_EQ(p, 0);
}

TEST(EncodeRate, HandComputedPeriods) {
  const RateCode rc;
  // pot = 1.0: freq = 1 + (1 + 1.069) * 19 / 3.85 = 11.2106..., 600 / freq = 53.52 -> 54.
  EXPECT_EQ(detail::rate_period(rc, 1.0), 54);
  EXPECT_EQ(period_by_hand(rc, 1.0), 54);
  // At and above pot_hi: freq = 20 -> period 30 exactly.
  EXPECT_EQ(detail::rate_period(rc, 2.781), 30);
  EXPECT_EQ(detail::rate_period(rc, 4.0), 30);
  // pot <= 0 never spikes.
  EXPECT_EQ(detail::rate_period(rc, 0.0), 0);
  EXPECT_EQ(detail::rate_period(rc, -0.5), 0);
  // Tiny positive pot: freq ~ 1 + 1.069 * 19 / 3.85 = 6.2756 -> 600 / freq = 95.6 -> 96 (> T).
  EXPECT_EQ(detail::rate_period(rc, 1.0 / 2040.0), 96);

  // Through the kernel: single bright pixel -> 54 at the centre; 3x3 white square -> pot 4.0.
  const int H = 9, W = 9;
  std::vector<uint8_t> img(2 * H * W, 0);
  img[4 * W + 4] = 255;
  for (int y = 3; y <= 5; ++y)
    for (int x = 3; x <= 5; ++x) img[H * W + y * W + x] = 255;
  const auto per = run_ref(rc, 2, H, W, img);
  EXPECT_EQ(per[4 * W + 4], 54);
  EXPECT_EQ(per[4 * W + 5], period_by_hand(rc, 0.625));
  EXPECT_EQ(per[6 * W + 6], 0);  // pot -0.5
  EXPECT_EQ(per[H * W + 4 * W + 4], 30);
}

TEST(EncodeRate, CeilMatchesStdCeil) {
  std::vector<double> qs = {0.0, 1.0, 30.0, 53.52, 54.0, 600.0, 80.0, 0.5, 1e-300, 95.6};
  for (int k = 1; k <= 700; ++k) {
    const double q = static_cast<double>(k);
    qs.push_back(q);
    qs.push_back(std::nextafter(q, 0.0));
    qs.push_back(std::nextafter(q, 1e9));
    qs.push_back(600.0 / (600.0 / q));  // round trips that may land just off an integer
  }
  for (double q : qs) EXPECT_EQ(detail::ceil_nonneg(q), static_cast<int>(std::ceil(q))) << q;
  // Integral quotients of 600 (freq = 600 / k) give exactly k.
  const RateCode rc;
  for (double f : {1.0, 2.0, 7.5, 12.0, 15.0, 20.0}) {
    EXPECT_EQ(detail::ceil_nonneg(rc.period_scale / f), static_cast<int>(std::ceil(600.0 / f)));
  }
}

TEST(EncodeRate, RatePeriodMatchesFormulaOverAllPotentials) {
  // Every potential the receptive field can produce is s / 2040 for an integer s.
  const RateCode rc;
  for (int s = -9180; s <= 9180; ++s) {
    const double pot = s / 2040.0;
    EXPECT_EQ(detail::rate_period(rc, pot), period_by_hand(rc, pot)) << s;
  }
}

// (The device encoder is checked against this reference in test_encode_events.cpp.)
TEST(EncodeRate, ReferenceMatchesPotentialAndFormulaOnRandomImages) {
  const RateCode rc;
  struct Shape {
    int B, H, W;
  };
  const std::vector<Shape> shapes = {{1, 1, 1},   {1, 3, 2},  {3, 7, 9},    {2, 9, 7},
                                     {4, 16, 16}, {1, 5, 31}, {2, 128, 128}};
  std::mt19937 gen(12345);
  for (const Shape& s : shapes) {
    for (int mode = 0; mode < 3; ++mode) {
      std::vector<uint8_t> img(static_cast<size_t>(s.B) * s.H * s.W);
      for (auto& v : img) {
        const uint32_t r = gen();
        if (mode == 0) v = static_cast<uint8_t>(r & 0xFF);                      // uniform noise
        if (mode == 1) v = (r % 10 == 0) ? 255 : static_cast<uint8_t>(r % 30);  // dark, sparse
        if (mode == 2) v = (r % 3 == 0) ? 255 : 0;                              // binary
      }
      const auto r = run_ref(rc, s.B, s.H, s.W, img);
      // The reference agrees with the potential map plus the hand formula.
      std::vector<double> pot(static_cast<size_t>(s.H) * s.W);
      for (int b = 0; b < s.B; ++b) {
        receptive_field_ref(s.H, s.W, img.data() + static_cast<size_t>(b) * s.H * s.W, pot.data());
        for (int p = 0; p < s.H * s.W; ++p)
          ASSERT_EQ(r[static_cast<size_t>(b) * s.H * s.W + p], period_by_hand(rc, pot[p]));
      }
    }
  }
}

TEST(EncodeRate, NonDefaultRateCode) {
  RateCode rc;
  rc.f_lo = 2.0;
  rc.f_hi = 40.0;
  rc.period_scale = 1000.0;
  std::mt19937 gen(7);
  const int B = 2, H = 12, W = 10;
  std::vector<uint8_t> img(B * H * W);
  for (auto& v : img) v = static_cast<uint8_t>(gen() & 0xFF);
  const auto per = run_ref(rc, B, H, W, img);
  std::vector<double> pot(H * W);
  for (int b = 0; b < B; ++b) {
    receptive_field_ref(H, W, img.data() + b * H * W, pot.data());
    for (int p = 0; p < H * W; ++p) EXPECT_EQ(per[b * H * W + p], period_by_hand(rc, pot[p]));
  }
  EXPECT_EQ(detail::rate_period(rc, 3.0), 25);  // freq 40
}

}  // namespace
}  // namespace supsnn
