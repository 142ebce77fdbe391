// Strict reader for NumPy .npy files (format versions 1-3) holding float64, uint8 or bool arrays,
// little-endian, C or Fortran order. Truncated, malformed or hostile files (headers over 10,000
// bytes, shapes whose element count overflows) raise supsnn::Error naming the file and the
// expected and found sizes; nothing else is thrown.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace supsnn {

struct NpyArray {
  std::vector<std::size_t> shape;
  std::string descr;         // "<f8", "|u1" or "|b1"
  std::vector<double> data;  // converted to double, C (row-major) order
  std::size_t size() const;  // product of shape; throws Error if it overflows std::size_t
};

NpyArray read_npy(const std::string& path);

// The same parser on a file's bytes already in memory; `name` is used in error messages.
NpyArray parse_npy(const std::string& name, const unsigned char* bytes, std::size_t size);

}  // namespace supsnn
