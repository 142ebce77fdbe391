#include "common/read_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/error.hpp"

namespace supsnn {

std::vector<unsigned char> read_file_bytes(const std::string& path, const std::string& expected) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(path + ": cannot open " + expected + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    std::fclose(f);
    throw Error(path + ": not a regular file (expected " + expected + ")");
  }
  std::vector<unsigned char> bytes(static_cast<std::size_t>(st.st_size));
  const std::size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f);
  const bool bad = std::ferror(f) != 0;
  std::fclose(f);
  if (bad || got != bytes.size())
    throw Error(path + ": read error after " + std::to_string(got) + " of " +
                std::to_string(bytes.size()) + " bytes of " + expected);
  return bytes;
}

}  // namespace supsnn
