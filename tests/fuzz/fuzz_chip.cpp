// libFuzzer harness: the chip reader (JPEG, PNG, MSTAR raw; format by content) on arbitrary
// bytes. Only supsnn::Error may escape, and an accepted chip must be consistent.
#include <cstddef>
#include <cstdint>

#include "common/error.hpp"
#include "io/chip_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const supsnn::Chip c = supsnn::read_chip_bytes("fuzz.chip", data, size);
    if (c.height <= 0 || c.width <= 0 ||
        c.pixels.size() != static_cast<std::size_t>(c.height) * static_cast<std::size_t>(c.width))
      __builtin_trap();
  } catch (const supsnn::Error&) {
  }
  return 0;
}
