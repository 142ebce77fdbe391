#include "io/npy.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>

#include "common/error.hpp"
#include "common/read_file.hpp"

namespace supsnn {

namespace {

// NumPy's own limit on the header it will read (numpy.lib.format, max_header_size).
constexpr std::size_t kMaxHeaderLen = 10000;

// a * b, or false when it does not fit in std::size_t.
bool mul_fits(std::size_t a, std::size_t b, std::size_t* out) {
  if (a != 0 && b > std::numeric_limits<std::size_t>::max() / a) return false;
  *out = a * b;
  return true;
}

std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? " x " : "") + std::to_string(shape[i]);
  return s.empty() ? "scalar" : s;
}

// Header text quoted in an error message: one line, at most 40 characters.
std::string printable(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return s.size() > 40 ? out + "..." : out;
}

// A hand-written parser for the header dict, e.g. {'descr': '<f8', 'fortran_order': False,
// 'shape': (3, 4), }: Python literals of exactly the three keys NumPy writes.
class HeaderParser {
 public:
  HeaderParser(const std::string& name, const std::string& text) : name_(name), s_(text) {}

  void parse(std::string* descr, bool* fortran, std::vector<std::size_t>* shape) {
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    for (;;) {
      skip_ws();
      if (peek() == '}') break;
      const std::string key = quoted();
      expect(':');
      if (key == "descr") {
        if (have_descr) fail("duplicate 'descr' entry");
        *descr = quoted();
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_order) fail("duplicate 'fortran_order' entry");
        *fortran = boolean();
        have_order = true;
      } else if (key == "shape") {
        if (have_shape) fail("duplicate 'shape' entry");
        *shape = tuple();
        have_shape = true;
      } else {
        fail("unexpected key '" + printable(key) +
             "' (expected 'descr', 'fortran_order' and 'shape')");
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') fail("expected ',' or '}' at byte " + std::to_string(pos_));
    }
    if (!have_descr) fail("no 'descr' entry");
    if (!have_order) fail("no 'fortran_order' entry");
    if (!have_shape) fail("no 'shape' entry");
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(name_ + ": malformed .npy header: " + what);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c)
      fail(std::string("expected '") + c + "' at byte " + std::to_string(pos_) + " of the header");
    ++pos_;
  }
  std::string quoted() {
    skip_ws();
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string at byte " + std::to_string(pos_));
    const std::size_t end = s_.find(q, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string at byte " + std::to_string(pos_));
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_ws();
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("'fortran_order' is not True or False");
  }
  // (), (n,), (n, m), (n, m, ) ...: non-negative decimal integers that fit in std::size_t.
  std::vector<std::size_t> tuple() {
    std::vector<std::size_t> dims;
    expect('(');
    for (;;) {
      skip_ws();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9')
        fail("'shape' is not a tuple of non-negative integers (byte " + std::to_string(pos_) + ")");
      std::size_t d = 0;
      const std::size_t start = pos_;
      while (peek() >= '0' && peek() <= '9') {
        const std::size_t digit = static_cast<std::size_t>(peek() - '0');
        if (d > (std::numeric_limits<std::size_t>::max() - digit) / 10) {
          std::size_t end = pos_;
          while (end < s_.size() && s_[end] >= '0' && s_[end] <= '9') ++end;
          fail("'shape' dimension " + printable(s_.substr(start, end - start)) +
               " is too large (more than 2^64 - 1)");
        }
        d = d * 10 + digit;
        ++pos_;
      }
      dims.push_back(d);
      if (dims.size() > 64) fail("'shape' has more than 64 dimensions");
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') fail("expected ',' or ')' in 'shape' at byte " + std::to_string(pos_));
    }
    ++pos_;
    return dims;
  }

  const std::string& name_;
  const std::string& s_;
  std::size_t pos_ = 0;
};

}  // namespace

std::size_t NpyArray::size() const {
  std::size_t n = 1;
  for (auto d : shape)
    if (!mul_fits(n, d, &n))
      throw Error(".npy shape " + shape_text(shape) + ": element count overflows");
  return n;
}

NpyArray parse_npy(const std::string& path, const unsigned char* bytes, std::size_t file_size) {
  if (file_size < 10 || std::memcmp(bytes, "\x93NUMPY", 6) != 0)
    throw Error(path + ": not a .npy file (missing \\x93NUMPY magic)");
  const int major = bytes[6];
  std::uint64_t header_len = 0, prefix = 0;
  if (major == 1) {
    header_len = bytes[8] | (bytes[9] << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (file_size < 12)
      throw Error(path + ": truncated .npy header (file has " + std::to_string(file_size) +
                  " bytes)");
    header_len = bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) |
                 (static_cast<std::uint64_t>(bytes[11]) << 24);
    prefix = 12;
  } else {
    throw Error(path + ": unsupported .npy format version " + std::to_string(major));
  }
  if (header_len > kMaxHeaderLen)
    throw Error(path + ": .npy header of " + std::to_string(header_len) +
                " bytes is longer than the " + std::to_string(kMaxHeaderLen) +
                " bytes NumPy accepts");
  if (prefix + header_len > file_size)
    throw Error(path + ": truncated .npy header (file has " + std::to_string(file_size) +
                " bytes, header needs " + std::to_string(prefix + header_len) + ")");
  const std::string header(reinterpret_cast<const char*>(bytes + prefix),
                           static_cast<std::size_t>(header_len));

  NpyArray a;
  bool fortran = false;
  HeaderParser(path, header).parse(&a.descr, &fortran, &a.shape);

  std::size_t item = 0;
  if (a.descr == "<f8")
    item = 8;
  else if (a.descr == "|u1" || a.descr == "|b1")
    item = 1;
  else
    throw Error(path + ": unsupported .npy dtype '" + printable(a.descr) +
                "' (expected float64 '<f8', uint8 '|u1' or bool '|b1')");

  // Element count and data bytes, checked for overflow (a wrapped product would pass the size
  // checks below and read out of bounds). A zero dimension makes the array empty.
  bool fits = true, empty = false;
  std::size_t count = 1, need = 0;
  for (auto d : a.shape) empty = empty || d == 0;
  if (empty)
    count = 0;
  else
    for (auto d : a.shape) fits = fits && mul_fits(count, d, &count);
  const std::uint64_t data_bytes = file_size - prefix - header_len;
  if (!fits || !mul_fits(count, item, &need))
    throw Error(path + ": .npy shape " + shape_text(a.shape) + " of '" + a.descr +
                "' has more elements than fit in memory (the file has " +
                std::to_string(data_bytes) + " data bytes)");
  if (data_bytes < need)
    throw Error(path + ": truncated .npy: expected " + shape_text(a.shape) + " = " +
                std::to_string(count) + " values (" + std::to_string(need) +
                " data bytes), found " + std::to_string(data_bytes / item) + " values (" +
                std::to_string(data_bytes) + " data bytes)");
  if (data_bytes > need)
    throw Error(path + ": malformed .npy: " + std::to_string(data_bytes - need) +
                " bytes beyond the " + shape_text(a.shape) + " array");
  if (fortran && a.shape.size() > 2)
    throw Error(path + ": Fortran-order .npy arrays of rank > 2 are not supported");

  const unsigned char* raw = bytes + prefix + header_len;
  std::vector<double> vals(count);
  if (item == 8) {
    if (need > 0) std::memcpy(vals.data(), raw, need);  // little-endian hosts only (x86, ARM)
  } else {
    for (std::size_t i = 0; i < count; ++i) vals[i] = raw[i];
  }
  if (fortran && a.shape.size() == 2) {  // transpose column-major into row-major
    const std::size_t r = a.shape[0], c = a.shape[1];
    a.data.resize(count);
    for (std::size_t i = 0; i < r; ++i)
      for (std::size_t j = 0; j < c; ++j) a.data[i * c + j] = vals[j * r + i];
  } else {
    a.data = std::move(vals);
  }
  return a;
}

NpyArray read_npy(const std::string& path) {
  const std::vector<unsigned char> bytes = read_file_bytes(path, "a .npy file");
  return parse_npy(path, bytes.data(), bytes.size());
}

}  // namespace supsnn
