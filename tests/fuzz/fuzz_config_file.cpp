// libFuzzer harness: Config::load on arbitrary bytes as a TOML file (written to a scratch file,
// since the loader takes a path), then the resolved TOML of an accepted config. Only
// supsnn::Error may escape.
#include <cstddef>
#include <cstdint>

#include "common/error.hpp"
#include "config/config.hpp"
#include "fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const supsnn::Config c = supsnn::Config::load(supsnn::fuzz::write_scratch("toml", data, size));
    (void)c.to_toml();
  } catch (const supsnn::Error&) {
  }
  return 0;
}
