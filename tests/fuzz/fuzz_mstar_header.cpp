// libFuzzer harness: the MSTAR raw "Phoenix" header parser on arbitrary bytes. Only
// supsnn::Error may escape; an accepted header must describe exactly the bytes it was given.
#include <cstddef>
#include <cstdint>

#include "common/error.hpp"
#include "io/chip_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const supsnn::PhoenixHeader h = supsnn::parse_phoenix_header("fuzz.hdr", data, size);
    const unsigned long long need =
        static_cast<unsigned long long>(h.phoenix_header_length) +
        static_cast<unsigned long long>(h.native_header_length) +
        8ULL * static_cast<unsigned long long>(h.rows) * static_cast<unsigned long long>(h.cols);
    if (h.rows <= 0 || h.cols <= 0 || need != size) __builtin_trap();
  } catch (const supsnn::Error&) {
  }
  return 0;
}
