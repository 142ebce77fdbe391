// `supsnn prepare`: class-folder trees of chips (JPEG, PNG, MSTAR raw) -> a supsnn image dataset.
// Layout: <input>/<CLASS>/**/<chip>, or <input>/train/<CLASS>/... and <input>/test/<CLASS>/...
// Class names are the folder names; class indices follow their sorted order over all splits.
#pragma once
#include <string>

#include "data/dataset.hpp"

namespace supsnn {

struct PrepareOptions {
  std::string input;
  std::string split = "train";     // name of the split when <input> holds class folders directly
  int crop = 128;                  // centre crop to crop x crop; 0: keep sizes (all chips must agree)
  std::string scale = "linear";    // raw magnitude -> 8 bit: linear (per-chip min-max) or db
  double db_range = 40.0;          // db: [max - db_range, max] dB maps to 0..255
  std::string contrast = "none";   // none, or stretch: per-chip quantiles [low, high] -> 0..255
  double stretch_low = 0.01, stretch_high = 0.99;
  std::string dtype = "uint8";     // stored image type: uint8 or float32 (0..255, unrounded)
};

struct PrepareStats {
  long chips = 0;
  double seconds = 0;
};

DatasetFile prepare_dataset(const PrepareOptions& opt, PrepareStats* stats = nullptr);

// One chip through the preprocessing chain (scaling, crop, contrast), as 0..255 floats of
// out_h x out_w. `path` names the file in errors.
std::vector<float> preprocess_chip(const PrepareOptions& opt, const std::string& path, int* out_h, int* out_w,
                                   struct Chip* chip_out = nullptr);

}  // namespace supsnn
