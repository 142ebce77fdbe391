// Augmentation: a pure function of (seed, epoch, sample); crops stay inside the image; the centre
// crop is exact; flips mirror; speckle keeps the mean and stays in 0..255.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "common/error.hpp"
#include "data/augment.hpp"

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

}  // namespace
}  // namespace supsnn
