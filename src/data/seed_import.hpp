// Reads the seed's released samples: <dir>/<Split>/Spikes/k.npy (m x (T+1) binary spike trains,
// float64/uint8/bool) and <dir>/<Split>/Labels/k.npy (n x T guidance traces), Split = Train/Test.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace supsnn {

struct SeedImportOptions {
  bool skip_bad_files = false;           // leave out malformed samples (logged) instead of failing
  int height = 0, width = 0;             // 0: square images
  std::vector<std::string> class_names;  // default class0..n-1
};

// Labels are the guidance winners (the seed's convention: the row with the largest sum).
DatasetFile import_seed_folder(const std::string& dir, const SeedImportOptions& opt);

// One spike-train file appended to `events`; returns m and T (checks 0/1 values and shape).
void read_seed_spikes(const std::string& path, SpikeEvents& events, int* inputs, int* raw_steps);

}  // namespace supsnn
