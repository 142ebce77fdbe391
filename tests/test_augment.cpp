// Augmentation: a pure function of (seed, epoch, sample); crops stay inside the image; the centre
// crop is exact; flips mirror; speckle keeps the mean and stays in 0..255; rotation and zoom map
// pixels where the geometry says and never reach evaluation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "common/error.hpp"
#include "data/augment.hpp"
#include "data/warp.hpp"

namespace supsnn {
namespace {

std::vector<std::uint8_t> ramp(int H, int W) {
  std::vector<std::uint8_t> v(H * W);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) v[y * W + x] = static_cast<std::uint8_t>((y * 16 + x) & 0xff);
  return v;
}

TEST(Augment, CentreCropIsExact) {
  const auto img = ramp(10, 12);
  AugmentOptions a;
  a.crop = 4;
  std::vector<std::uint8_t> out(16);
  augment_image(a, 1, 0, 0, 10, 12, img.data(), out.data());
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) EXPECT_EQ(out[y * 4 + x], img[(3 + y) * 12 + 4 + x]);
}

TEST(Augment, RandomShiftsAreDeterministicAndCoverTheRange) {
  const auto img = ramp(12, 12);
  AugmentOptions a;
  a.crop = 8;
  a.random_shift = true;
  std::vector<std::uint8_t> o1(64), o2(64);
  std::set<int> corners;
  for (long sample = 0; sample < 200; ++sample) {
    augment_image(a, 3, 2, sample, 12, 12, img.data(), o1.data());
    augment_image(a, 3, 2, sample, 12, 12, img.data(), o2.data());
    EXPECT_EQ(o1, o2);
    const int y0 = o1[0] / 16, x0 = o1[0] % 16;  // the ramp encodes the source position
    EXPECT_LE(y0, 4);
    EXPECT_LE(x0, 4);
    corners.insert(y0 * 16 + x0);
  }
  EXPECT_EQ(corners.size(), 25u) << "all 5 x 5 offsets occur";
  augment_image(a, 3, 3, 0, 12, 12, img.data(), o2.data());
  augment_image(a, 3, 2, 0, 12, 12, img.data(), o1.data());
  std::vector<std::uint8_t> o3(64);
  int differ = 0;
  for (long e = 0; e < 10; ++e) {
    augment_image(a, 3, e, 0, 12, 12, img.data(), o3.data());
    differ += o3 != o1;
  }
  EXPECT_GT(differ, 5) << "offsets change with the epoch";
  a.crop = 13;
  EXPECT_THROW(augment_image(a, 3, 2, 0, 12, 12, img.data(), o1.data()), Error);
}

TEST(Augment, MaxShiftTranslatesTheCentreCropByAtMostMaxShift) {
  const auto img = ramp(14, 14);  // centre crop of 6: offset (4, 4)
  AugmentOptions a;
  a.crop = 6;
  a.max_shift = 2;
  std::vector<std::uint8_t> o1(36), o2(36);
  std::set<int> offsets;
  for (long sample = 0; sample < 300; ++sample) {
    augment_image(a, 7, 1, sample, 14, 14, img.data(), o1.data());
    augment_image(a, 7, 1, sample, 14, 14, img.data(), o2.data());
    EXPECT_EQ(o1, o2);
    const int y0 = o1[0] / 16, x0 = o1[0] % 16;
    EXPECT_GE(y0, 2);
    EXPECT_LE(y0, 6);
    EXPECT_GE(x0, 2);
    EXPECT_LE(x0, 6);
    for (int y = 0; y < 6; ++y)
      for (int x = 0; x < 6; ++x) ASSERT_EQ(o1[y * 6 + x], img[(y0 + y) * 14 + x0 + x]);
    offsets.insert(y0 * 16 + x0);
  }
  EXPECT_EQ(offsets.size(), 25u) << "all 5 x 5 offsets occur";
  // Without max_shift (what evaluation uses) the crop is the centre one.
  a.max_shift = 0;
  augment_image(a, 7, 1, 0, 14, 14, img.data(), o1.data());
  EXPECT_EQ(o1[0], img[4 * 14 + 4]);
  // Shifts past the border read zeros.
  a.crop = 0;
  a.max_shift = 3;
  std::vector<std::uint8_t> full(14 * 14);
  int padded = 0;
  for (long sample = 0; sample < 50; ++sample) {
    augment_image(a, 7, 1, sample, 14, 14, img.data(), full.data());
    padded += full[14 * 14 - 1] == 0;  // the ramp is 221 there; shifted down or right: 0
  }
  EXPECT_GT(padded, 20);
}

TEST(Augment, PoolAveragesBlocks) {
  std::vector<std::uint8_t> img(8 * 8);
  for (int i = 0; i < 64; ++i) img[i] = static_cast<std::uint8_t>(i);
  AugmentOptions a;
  a.pool = 2;
  int oh = 0, ow = 0;
  augmented_size(a, 8, 8, &oh, &ow);
  EXPECT_EQ(oh, 4);
  EXPECT_EQ(ow, 4);
  std::vector<std::uint8_t> out(16);
  augment_image(a, 1, 0, 0, 8, 8, img.data(), out.data());
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) {
      const int s = img[2 * y * 8 + 2 * x] + img[2 * y * 8 + 2 * x + 1] +
                    img[(2 * y + 1) * 8 + 2 * x] + img[(2 * y + 1) * 8 + 2 * x + 1];
      EXPECT_EQ(out[y * 4 + x], (2 * s + 4) / 8);  // rounded half up
    }
  // Crop then pool: the centre 4 x 4 pooled by 4 is one pixel, the mean of rows/cols 2..5.
  a.crop = 4;
  a.pool = 4;
  augmented_size(a, 8, 8, &oh, &ow);
  EXPECT_EQ(oh, 1);
  int s = 0;
  for (int y = 2; y < 6; ++y)
    for (int x = 2; x < 6; ++x) s += img[y * 8 + x];
  augment_image(a, 1, 0, 0, 8, 8, img.data(), out.data());
  EXPECT_EQ(out[0], (2 * s + 16) / 32);
  a.pool = 3;
  EXPECT_THROW(augmented_size(a, 8, 8, &oh, &ow), Error);
}

TEST(Augment, FlipsMirrorAboutHalfTheTime) {
  const auto img = ramp(4, 6);
  AugmentOptions a;
  a.flip = true;
  std::vector<std::uint8_t> out(24);
  int flipped = 0;
  for (long s = 0; s < 400; ++s) {
    augment_image(a, 9, 1, s, 4, 6, img.data(), out.data());
    if (out == img) continue;
    ++flipped;
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 6; ++x) ASSERT_EQ(out[y * 6 + x], img[y * 6 + 5 - x]);
  }
  EXPECT_GT(flipped, 150);
  EXPECT_LT(flipped, 250);
}

TEST(Augment, SpeckleKeepsTheMeanAndRange) {
  std::vector<std::uint8_t> img(64 * 64, 100), out(64 * 64);
  AugmentOptions a;
  a.speckle = 0.2;
  augment_image(a, 5, 1, 3, 64, 64, img.data(), out.data());
  double sum = 0, sq = 0;
  for (auto v : out) {
    sum += v;
    sq += (v - 100.0) * (v - 100.0);
  }
  const double mean = sum / out.size(), sd = std::sqrt(sq / out.size());
  EXPECT_NEAR(mean, 100, 1.5);
  EXPECT_NEAR(sd, 20, 2);
  std::vector<std::uint8_t> again(64 * 64);
  augment_image(a, 5, 1, 3, 64, 64, img.data(), again.data());
  EXPECT_EQ(out, again);
}

TEST(Warp, ZeroAngleUnitZoomIsTheIdentity) {
  const auto img = ramp(9, 12);
  std::vector<std::uint8_t> out(9 * 12);
  warp_image(9, 12, img.data(), 0.0, 1.0, out.data());
  EXPECT_EQ(out, img);
}

TEST(Warp, NinetyDegreesTurnsXTowardsY) {
  // 9 x 9: the centre is pixel (4, 4). Input (x = 4 + r, y = 4) lands on (x = 4, y = 4 + r), so
  // out(x, y) = in(x' = y, y' = 8 - x) for every pixel (the rotated grid is the pixel grid).
  const auto img = ramp(9, 9);
  std::vector<std::uint8_t> out(81);
  warp_image(9, 9, img.data(), 90.0, 1.0, out.data());
  EXPECT_EQ(out[(4 + 3) * 9 + 4], img[4 * 9 + 4 + 3]);
  for (int y = 0; y < 9; ++y)
    for (int x = 0; x < 9; ++x) ASSERT_EQ(out[y * 9 + x], img[(8 - x) * 9 + y]) << y << "," << x;
  // Even size: the centre (3.5, 3.5) lies between pixels; -90 undoes +90.
  const auto even = ramp(8, 8);
  std::vector<std::uint8_t> r(64), back(64);
  warp_image(8, 8, even.data(), 90.0, 1.0, r.data());
  EXPECT_EQ(r[0], even[7 * 8 + 0]);  // out (0, 0) reads in (x = 0, y = 7)
  warp_image(8, 8, r.data(), -90.0, 1.0, back.data());
  EXPECT_EQ(back, even);
}

TEST(Warp, ZoomEnlargesAboutTheCentreAndPadsWithZero) {
  // A single bright pixel 2 right of the centre moves 4 right at zoom 2.
  std::vector<std::uint8_t> img(81, 0), out(81);
  img[4 * 9 + 6] = 200;
  warp_image(9, 9, img.data(), 0.0, 2.0, out.data());
  EXPECT_EQ(out[4 * 9 + 8], 200);
  EXPECT_EQ(out[4 * 9 + 7], 100);  // halfway between input pixels 5 and 6: bilinear
  EXPECT_EQ(out[4 * 9 + 6], 0);
  // Shrinking reads outside the image near the border: zeros there.
  std::vector<std::uint8_t> flat(81, 50);
  warp_image(9, 9, flat.data(), 0.0, 0.5, out.data());
  EXPECT_EQ(out[4 * 9 + 4], 50);
  EXPECT_EQ(out[0], 0);
  EXPECT_THROW(warp_image(9, 9, flat.data(), 0.0, 0.0, out.data()), Error);
}

TEST(Augment, RotateAndScaleAreDeterministicBoundedAndAppliedBeforeTheCrop) {
  const auto img = ramp(16, 16);
  AugmentOptions a;
  a.crop = 8;
  a.rotate = 15;
  a.scale = 0.1;
  std::vector<std::uint8_t> o1(64), o2(64), full(256), crop(64);
  double amin = 1e9, amax = -1e9, zmin = 1e9, zmax = -1e9;
  int differ = 0;
  for (long sample = 0; sample < 200; ++sample) {
    augment_image(a, 4, 2, sample, 16, 16, img.data(), o1.data());
    augment_image(a, 4, 2, sample, 16, 16, img.data(), o2.data());
    EXPECT_EQ(o1, o2);
    const Warp w = draw_warp(a, 4, 2, sample);
    EXPECT_EQ(w.angle_deg, draw_warp(a, 4, 2, sample).angle_deg);
    amin = std::min(amin, w.angle_deg);
    amax = std::max(amax, w.angle_deg);
    zmin = std::min(zmin, w.zoom);
    zmax = std::max(zmax, w.zoom);
    // The same as warping the whole image, then taking the centre crop.
    warp_image(16, 16, img.data(), w.angle_deg, w.zoom, full.data());
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x) crop[y * 8 + x] = full[(4 + y) * 16 + 4 + x];
    ASSERT_EQ(o1, crop);
    const Warp other_epoch = draw_warp(a, 4, 3, sample);
    differ += other_epoch.angle_deg != w.angle_deg;
  }
  EXPECT_GE(amin, -15);
  EXPECT_LE(amax, 15);
  EXPECT_LT(amin, -12) << "the angle covers the range";
  EXPECT_GT(amax, 12);
  EXPECT_GE(zmin, 0.9);
  EXPECT_LE(zmax, 1.1);
  EXPECT_LT(zmin, 0.92);
  EXPECT_GT(zmax, 1.08);
  EXPECT_GT(differ, 190) << "the warp changes with the epoch";
  // Without rotate and scale the warp is the identity.
  const Warp none = draw_warp(AugmentOptions{}, 4, 2, 0);
  EXPECT_EQ(none.angle_deg, 0.0);
  EXPECT_EQ(none.zoom, 1.0);
}

TEST(Augment, EvaluationOptionsKeepOnlyCropAndPool) {
  const auto img = ramp(16, 16);
  AugmentOptions a;
  a.crop = 8;
  a.pool = 2;
  a.rotate = 30;
  a.scale = 0.2;
  a.max_shift = 2;
  a.flip = true;
  a.speckle = 0.3;
  const AugmentOptions e = evaluation_options(a);
  EXPECT_EQ(e.crop, 8);
  EXPECT_EQ(e.pool, 2);
  AugmentOptions centre;
  centre.crop = 8;
  centre.pool = 2;
  std::vector<std::uint8_t> expect(16), out(16), train(16);
  augment_image(centre, 1, 0, 0, 16, 16, img.data(), expect.data());
  int changed = 0;
  for (long sample = 0; sample < 20; ++sample) {
    augment_image(e, 1, 5, sample, 16, 16, img.data(), out.data());
    ASSERT_EQ(out, expect) << "evaluation images do not depend on the epoch or sample";
    augment_image(a, 1, 5, sample, 16, 16, img.data(), train.data());
    changed += train != expect;
  }
  EXPECT_GT(changed, 15) << "while training images do";
}

}  // namespace
}  // namespace supsnn
