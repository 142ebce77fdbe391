// Data-path benchmark: prepare throughput (chips/s: decode, preprocess, write) and spike
// encoding throughput (samples/s of EventEncoder per spike code) on real chips.
#pragma once
#include <string>
#include <vector>

namespace supsnn {

struct DataBenchOptions {
  std::string input;    // chip folder (prepared into a temporary file), or
  std::string dataset;  // an existing dataset file (.h5)
  std::vector<std::string> more_datasets;  // bench --train: further datasets
  int batch = 32;
  int repeats = 3;      // encode passes per code (best is reported)
  int raw_steps = 70;
};

// Prints a table to stdout.
void run_data_bench(const DataBenchOptions& o);

}  // namespace supsnn
