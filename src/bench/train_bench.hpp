// Training-throughput benchmark (`supsnn bench --train`): samples/s of forward + loss + backward +
// gradient reduce + optimiser step on real chips, with the time split per phase and the peak
// device memory per sample, for the seed bilayer and a deep configuration at several batch sizes.
#pragma once
#include <string>
#include <vector>

namespace supsnn {

struct TrainBenchOptions {
  std::vector<double> densities;      // synthetic inputs: independent spikes of this density
  std::vector<std::string> datasets;  // datasets (.h5, images or spikes); their train split
  std::vector<int> batches{1, 8, 64};
  std::vector<int> hidden{128};                  // the deep configuration (empty: bilayer only)
  std::vector<std::string> input_paths{"auto"};  // model.input_path values, each a case
  double seconds = 2.0;                          // timed training per case (after one warm-up step)
  int max_images = 512;                          // images read per dataset (cycled through)
  int steps = 100;                               // fine time grid (the seed's)
  bool single = true;  // float (the seed's TensorFlow precision) or double
  std::string layers;  // a config whose [[model.layers]] network is benchmarked instead (direct)
};

// Prints one table row per (dataset, model, batch) to stdout. Collective over MPI_COMM_WORLD:
// every rank trains its own batch and gradients are all-reduced (the "reduce" phase).
void run_train_bench(const TrainBenchOptions& o);

}  // namespace supsnn
