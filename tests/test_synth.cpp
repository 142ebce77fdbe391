// Tests for src/data/synth.hpp: determinism, split layout, image statistics, class separability.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include "data/synth.hpp"

namespace supsnn {
namespace {

uint64_t fnv1a(const std::vector<uint8_t>& bytes) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001B3ULL;
  return h;
}

SynthOptions small_options() {
  SynthOptions o;
  o.classes = 3;
  o.train_per_class = 4;
  o.test_per_class = 2;
  o.height = 48;
  o.width = 40;
  o.seed = 7;
  return o;
}

TEST(Synth, ClassNames) {
  const auto names = synth_class_names(3);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0], "tank");
  EXPECT_EQ(names[1], "apc");
  EXPECT_EQ(names[2], "truck");
  const auto all = synth_class_names(10);
  ASSERT_EQ(all.size(), 10u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 10u);
  EXPECT_TRUE(std::equal(names.begin(), names.end(), all.begin()));
}

TEST(Synth, Deterministic) {
  const SynthOptions o = small_options();
  const SynthSplit a = synth_generate(o, false), b = synth_generate(o, false);
  EXPECT_EQ(a.images, b.images);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.azimuth_deg, b.azimuth_deg);
  SynthOptions o2 = o;
  o2.seed = 8;
  const SynthSplit c = synth_generate(o2, false);
  EXPECT_NE(a.images, c.images);
  EXPECT_NE(a.azimuth_deg, c.azimuth_deg);
}

// Same bytes on every platform: the generator uses no libm transcendental and no std
// distributions. Update this value only when the image model is changed on purpose.
TEST(Synth, GoldenChecksum) {
  const SynthSplit a = synth_generate(small_options(), false);
  EXPECT_EQ(fnv1a(a.images), 0xD070E5023E986359ULL) << std::hex << fnv1a(a.images);
}

TEST(Synth, ChipsDoNotDependOnSplitSize) {
  SynthOptions o = small_options();
  const SynthSplit small = synth_generate(o, false);
  o.train_per_class = 9;
  const SynthSplit big = synth_generate(o, false);
  ASSERT_LT(small.images.size(), big.images.size());
  EXPECT_TRUE(std::equal(small.images.begin(), small.images.end(), big.images.begin()));
  EXPECT_TRUE(
      std::equal(small.azimuth_deg.begin(), small.azimuth_deg.end(), big.azimuth_deg.begin()));
}

TEST(Synth, SplitsLayoutAndLabels) {
  SynthOptions o = small_options();
  o.classes = 4;
  o.train_per_class = 5;
  o.test_per_class = 3;
  const SynthSplit tr = synth_generate(o, false), te = synth_generate(o, true);
  for (const auto* s : {&tr, &te}) {
    const int per = s == &tr ? o.train_per_class : o.test_per_class;
    EXPECT_EQ(s->count, o.classes * per);
    EXPECT_EQ(s->height, o.height);
    EXPECT_EQ(s->width, o.width);
    EXPECT_EQ(s->images.size(), static_cast<size_t>(s->count) * o.height * o.width);
    ASSERT_EQ(s->labels.size(), static_cast<size_t>(s->count));
    ASSERT_EQ(s->azimuth_deg.size(), static_cast<size_t>(s->count));
    std::vector<int> counts(o.classes, 0);
    for (int l : s->labels) {
      ASSERT_GE(l, 0);
      ASSERT_LT(l, o.classes);
      ++counts[l];
    }
    for (int c : counts) EXPECT_EQ(c, per);
    for (double a : s->azimuth_deg) {
      EXPECT_GE(a, 0.0);
      EXPECT_LT(a, 360.0);
    }
  }
  // Train and test come from different streams: no chip is shared.
  const size_t chip = static_cast<size_t>(o.height) * o.width;
  for (int i = 0; i < te.count; ++i)
    for (int j = 0; j < tr.count; ++j)
      EXPECT_FALSE(std::equal(te.images.begin() + chip * i, te.images.begin() + chip * (i + 1),
                              tr.images.begin() + chip * j));
}

TEST(Synth, ImageStatisticsLookLikeLinearMstar) {
  SynthOptions o;  // 3 classes, 128 x 128
  o.train_per_class = 20;
  const SynthSplit s = synth_generate(o, false);
  const size_t chip = static_cast<size_t>(s.height) * s.width;
  double total = 0;
  for (int k = 0; k < s.count; ++k) {
    const uint8_t* im = s.images.data() + chip * k;
    double sum = 0;
    int mx = 0, bright = 0, dark = 0;
    for (size_t i = 0; i < chip; ++i) {
      sum += im[i];
      mx = std::max<int>(mx, im[i]);
      bright += im[i] >= 128;
      dark += im[i] < 40;
    }
    const double mean = sum / chip;
    total += mean;
    EXPECT_GT(mean, 8.0) << k;
    EXPECT_LT(mean, 35.0) << k;
    EXPECT_GE(mx, 200) << k;  // bright target returns
    EXPECT_GT(bright, 5) << k;
    EXPECT_LT(bright, 0.03 * chip) << k;  // ... on a small part of the chip
    EXPECT_GT(dark, 0.8 * chip) << k;     // mostly dark background
  }
  const double mean = total / s.count;
  EXPECT_GT(mean, 10.0);
  EXPECT_LT(mean, 30.0);
}

TEST(Synth, NonSquareAndSmallSizes) {
  for (auto hw : {std::pair<int, int>{16, 16}, {64, 96}, {129, 128}}) {
    SynthOptions o;
    o.train_per_class = 2;
    o.height = hw.first;
    o.width = hw.second;
    const SynthSplit s = synth_generate(o, false);
    EXPECT_EQ(s.images.size(), static_cast<size_t>(s.count) * hw.first * hw.second);
    EXPECT_GE(*std::max_element(s.images.begin(), s.images.end()), 150);
  }
}

// Nearest class-mean image (train) classifies test chips well above chance: the classes differ.
void check_separable(int classes, double min_acc) {
  SynthOptions o;
  o.classes = classes;
  o.train_per_class = 60;
  o.test_per_class = 30;
  const SynthSplit tr = synth_generate(o, false), te = synth_generate(o, true);
  const size_t chip = static_cast<size_t>(tr.height) * tr.width;
  std::vector<std::vector<double>> mu(classes, std::vector<double>(chip, 0.0));
  for (int k = 0; k < tr.count; ++k)
    for (size_t i = 0; i < chip; ++i) mu[tr.labels[k]][i] += tr.images[chip * k + i];
  for (auto& m : mu)
    for (double& v : m) v /= o.train_per_class;
  std::vector<int> correct(classes, 0);
  for (int k = 0; k < te.count; ++k) {
    int best = -1;
    double best_d = 0;
    for (int c = 0; c < classes; ++c) {
      double d = 0;
      for (size_t i = 0; i < chip; ++i) {
        const double e = te.images[chip * k + i] - mu[c][i];
        d += e * e;
      }
      if (best < 0 || d < best_d) best = c, best_d = d;
    }
    correct[te.labels[k]] += best == te.labels[k];
  }
  int total = 0;
  for (int c = 0; c < classes; ++c) {
    total += correct[c];
    // Every class's mean is distinctive: its own recall is above chance.
    EXPECT_GT(static_cast<double>(correct[c]) / o.test_per_class, 1.0 / classes) << "class " << c;
  }
  const double acc = static_cast<double>(total) / te.count;
  EXPECT_GT(acc, min_acc) << classes << " classes";
  std::printf("nearest class mean, %d classes: test accuracy %.3f\n", classes, acc);
}

TEST(Synth, ClassesAreSeparable3) {
  check_separable(3, 0.6);
}
TEST(Synth, ClassesAreSeparable10) {
  check_separable(10, 0.3);
}

TEST(Synth, BadOptionsThrow) {
  auto bad = [](auto edit) {
    SynthOptions o = small_options();
    edit(o);
    return o;
  };
  const SynthOptions cases[] = {
      bad([](SynthOptions& o) { o.classes = 1; }),
      bad([](SynthOptions& o) { o.classes = 11; }),
      bad([](SynthOptions& o) { o.height = 15; }),
      bad([](SynthOptions& o) { o.width = 8; }),
      bad([](SynthOptions& o) { o.width = 100000; }),
      bad([](SynthOptions& o) { o.train_per_class = 0; }),
      bad([](SynthOptions& o) { o.test_per_class = -1; }),
  };
  for (const auto& o : cases) {
    EXPECT_THROW(synth_generate(o, false), std::invalid_argument);
    EXPECT_THROW(synth_generate(o, true), std::invalid_argument);
  }
  EXPECT_THROW(synth_class_names(1), std::invalid_argument);
  EXPECT_THROW(synth_class_names(11), std::invalid_argument);
}

}  // namespace
}  // namespace supsnn
