// Writes small .npy files for tests (version 1.0 header, padded to 64 bytes as NumPy does).
#pragma once
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace supsnn::test {

inline void write_npy(const std::string& path, const std::string& descr,
                      const std::vector<std::size_t>& shape, const void* data, std::size_t bytes,
                      bool fortran = false, std::size_t drop_bytes = 0) {
  std::string sh = "(";
  for (std::size_t i = 0; i < shape.size(); ++i)
    sh += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? ", " : "");
  sh += ")";
  std::string header = "{'descr': '" + descr +
                       "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + sh +
                       ", }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(static_cast<const char*>(data), bytes);
  out.resize(out.size() - drop_bytes);  // simulate a truncated file
  std::ofstream(path, std::ios::binary) << out;
}

}  // namespace supsnn::test
