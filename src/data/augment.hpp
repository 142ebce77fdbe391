// Training-time augmentation, a pure function of (seed, epoch, sample): random-shift crops,
// small random translations of the centre crop, horizontal flips and multiplicative speckle
// noise, then (training and evaluation) average pooling. Evaluation uses the centre crop only.
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
};

// One image (H x W, uint8) -> out (crop/pool x crop/pool, or H/pool x W/pool when crop = 0).
void augment_image(const AugmentOptions& a, std::uint64_t seed, long epoch, std::int64_t sample,
                   int H, int W, const std::uint8_t* in, std::uint8_t* out);

// Output size for an input of H x W (throws when the crop is larger than the image or the
// cropped size is not a multiple of the pooling factor).
void augmented_size(const AugmentOptions& a, int H, int W, int* oh, int* ow);

}  // namespace supsnn
