// Reading a whole input file into memory, for the readers of untrusted bytes (.npy, chips),
// which then parse from memory (the fuzz harnesses call the same parsers).
#pragma once
#include <string>
#include <vector>

namespace supsnn {

// The bytes of the regular file `path`. Errors are one line naming the file, the OS reason, and
// `expected` (e.g. "a .npy file").
std::vector<unsigned char> read_file_bytes(const std::string& path, const std::string& expected);

}  // namespace supsnn
