// The one exception type supsnn throws for bad input or failed I/O. Its message is a single
// line that names the file or key and says what was expected; the command prints it and exits 1.
#pragma once
#include <stdexcept>
#include <string>

namespace supsnn {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace supsnn
