// `supsnn evaluate`: a trained layered network's model.h5 (weights, normalisation statistics and
// the resolved configuration that describes it) run on a whole split of a dataset, with the
// accuracy, the per-class accuracy and the confusion matrix.
#pragma once
#include <string>
#include <vector>

namespace supsnn {

struct Evaluation {
  std::vector<std::string> classes;
  long samples = 0, correct = 0;
  std::vector<long> confusion;  // classes x classes, true x predicted
  double accuracy() const { return samples > 0 ? static_cast<double>(correct) / samples : 0.0; }
};

// data_path empty: the config's data.test (or data.train when that is empty). Throws one line
// naming the file for a model that is not a layered network, missing datasets or other classes.
// outputs non-empty: also writes an HDF5 file of per-sample labels, predictions and the readout
// over time (N x outputs x T); `inputs`: with the encoded inputs (N x H x W x C), for checking
// the model elsewhere (docs/interop.md).
Evaluation evaluate_model(const std::string& model_path, const std::string& data_path,
                          const std::string& split, int batch, const std::string& outputs = "",
                          bool inputs = false);

}  // namespace supsnn
