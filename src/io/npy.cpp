#include "io/npy.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <regex>

#include "common/error.hpp"

namespace supsnn {

std::size_t NpyArray::size() const {
  std::size_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

namespace {

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? " x " : "") + std::to_string(shape[i]);
  return s.empty() ? "scalar" : s;
}

// Extracts the value text of 'key' from the header dict, e.g. {'descr': '<f8', ...}.
std::string dict_value(const std::string& path, const std::string& header, const std::string& key) {
  std::smatch m;
  const std::regex re("'" + key + "'\\s*:\\s*('[^']*'|True|False|\\([^)]*\\))");
  if (!std::regex_search(header, m, re))
    throw Error(path + ": malformed .npy header: no '" + key + "' entry");
  return m[1].str();
}

}  // namespace

NpyArray read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) throw Error(path + ": cannot open .npy file");
  const std::uint64_t file_size = static_cast<std::uint64_t>(f.tellg());
  f.seekg(0);
  unsigned char pre[8] = {};
  if (file_size < 10 || !f.read(reinterpret_cast<char*>(pre), 8) ||
      std::memcmp(pre, "\x93NUMPY", 6) != 0)
    throw Error(path + ": not a .npy file (missing \\x93NUMPY magic)");
  const int major = pre[6];
  std::uint64_t header_len = 0, prefix = 0;
  if (major == 1) {
    unsigned char l[2];
    f.read(reinterpret_cast<char*>(l), 2);
    header_len = l[0] | (l[1] << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    unsigned char l[4];
    f.read(reinterpret_cast<char*>(l), 4);
    header_len = l[0] | (l[1] << 8) | (l[2] << 16) | (static_cast<std::uint64_t>(l[3]) << 24);
    prefix = 12;
  } else {
    throw Error(path + ": unsupported .npy format version " + std::to_string(major));
  }
  if (!f || prefix + header_len > file_size)
    throw Error(path + ": truncated .npy header (file has " + std::to_string(file_size) +
                " bytes)");
  std::string header(header_len, '\0');
  f.read(header.data(), static_cast<std::streamsize>(header_len));

  NpyArray a;
  std::string descr = dict_value(path, header, "descr");
  a.descr = descr.substr(1, descr.size() - 2);
  const bool fortran = dict_value(path, header, "fortran_order") == "True";
  const std::string shape = dict_value(path, header, "shape");
  const std::regex digits("\\d+");
  for (std::sregex_iterator it(shape.begin(), shape.end(), digits), end; it != end; ++it)
    a.shape.push_back(std::stoull(it->str()));

  std::size_t item = 0;
  if (a.descr == "<f8")
    item = 8;
  else if (a.descr == "|u1" || a.descr == "|b1")
    item = 1;
  else
    throw Error(path + ": unsupported .npy dtype '" + a.descr +
                "' (expected float64 '<f8', uint8 '|u1' or bool '|b1')");

  const std::size_t count = a.size();
  const std::uint64_t data_bytes = file_size - prefix - header_len;
  if (data_bytes < count * item)
    throw Error(path + ": truncated .npy: expected " + shape_text(a.shape) + " = " +
                std::to_string(count) + " values (" + std::to_string(count * item) +
                " data bytes), found " + std::to_string(data_bytes / item) + " values (" +
                std::to_string(data_bytes) + " data bytes)");
  if (data_bytes > count * item)
    throw Error(path + ": malformed .npy: " + std::to_string(data_bytes - count * item) +
                " bytes beyond the " + shape_text(a.shape) + " array");

  std::vector<unsigned char> raw(count * item);
  f.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
  if (!f) throw Error(path + ": read error in .npy data");

  std::vector<double> vals(count);
  if (item == 8) {
    std::memcpy(vals.data(), raw.data(), raw.size());  // little-endian hosts only (x86, ARM)
  } else {
    for (std::size_t i = 0; i < count; ++i) vals[i] = raw[i];
  }
  if (fortran && a.shape.size() == 2) {  // transpose column-major into row-major
    const std::size_t r = a.shape[0], c = a.shape[1];
    a.data.resize(count);
    for (std::size_t i = 0; i < r; ++i)
      for (std::size_t j = 0; j < c; ++j) a.data[i * c + j] = vals[j * r + i];
  } else if (fortran && a.shape.size() > 2) {
    throw Error(path + ": Fortran-order .npy arrays of rank > 2 are not supported");
  } else {
    a.data = std::move(vals);
  }
  return a;
}

}  // namespace supsnn
