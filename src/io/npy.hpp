// Strict reader for NumPy .npy files (format versions 1-3) holding float64, uint8 or bool arrays,
// little-endian, C or Fortran order. Truncated or malformed files raise supsnn::Error naming the
// file and the expected and found sizes.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace supsnn {

struct NpyArray {
  std::vector<std::size_t> shape;
  std::string descr;         // "<f8", "|u1" or "|b1"
  std::vector<double> data;  // converted to double, C (row-major) order
  std::size_t size() const;
};

NpyArray read_npy(const std::string& path);

}  // namespace supsnn
