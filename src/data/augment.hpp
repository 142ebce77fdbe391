// Training-time augmentation, a pure function of (seed, epoch, sample): random rotation and zoom
// about the image centre, random-shift crops, small random translations of the centre crop,
// horizontal flips and multiplicative speckle noise, then (training and evaluation) average
// pooling. Evaluation uses the centre crop only (evaluation_options).
#pragma once
#include <cstdint>
#include <vector>

namespace supsnn {

struct AugmentOptions {
  int crop = 0;               // output size (square); 0 = keep the image size
  bool random_shift = false;  // random crop offset (training) instead of the centre
  int max_shift = 0;          // random offset of the centre crop in [-max_shift, max_shift]
                              // (training; pixels outside the image read as 0)
  int pool = 1;               // average pooling factor after cropping (training and evaluation)
  bool flip = false;          // horizontal flip with probability 1/2
  double speckle =
      0.0;  // std of multiplicative noise: pixel * (1 + speckle * N(0,1)), clamped to 0..255
  double rotate = 0.0;  // max degrees of a uniform random rotation about the image centre
  double scale = 0.0;   // random zoom factor uniform in [1 - scale, 1 + scale]
};

// The rotation and zoom drawn for one (seed, epoch, sample); (0, 1) when rotate = scale = 0.
struct Warp {
  double angle_deg = 0.0;
  double zoom = 1.0;
};
Warp draw_warp(const AugmentOptions& a, std::uint64_t seed, long epoch, std::int64_t sample);

// What evaluation applies: the same crop size and pooling, none of the random parts.
AugmentOptions evaluation_options(AugmentOptions a);

// One image (H x W, uint8) -> out (crop/pool x crop/pool, or H/pool x W/pool when crop = 0).
// The warp (warp_image of the whole image) comes first, then crop, flip, speckle and pooling.
void augment_image(const AugmentOptions& a, std::uint64_t seed, long epoch, std::int64_t sample,
                   int H, int W, const std::uint8_t* in, std::uint8_t* out);

// Output size for an input of H x W (throws when the crop is larger than the image or the
// cropped size is not a multiple of the pooling factor).
void augmented_size(const AugmentOptions& a, int H, int W, int* oh, int* ow);

}  // namespace supsnn
