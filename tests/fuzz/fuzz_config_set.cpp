// libFuzzer harness: `--set section.key=value` overrides; the input is one assignment. Only
// supsnn::Error may escape.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    supsnn::Config c;
    c.set_override(std::string(reinterpret_cast<const char*>(data), size));
    (void)c.to_toml();
  } catch (const supsnn::Error&) {
  }
  return 0;
}
