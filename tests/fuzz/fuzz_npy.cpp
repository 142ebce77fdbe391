// libFuzzer harness: the .npy reader on arbitrary bytes (in memory), and for files it accepts the
// seed spike-train reader on the same bytes as a file. Only supsnn::Error may escape the readers.
#include <cstddef>
#include <cstdint>

#include "common/error.hpp"
#include "data/seed_import.hpp"
#include "fuzz_util.hpp"
#include "io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const supsnn::NpyArray a = supsnn::parse_npy("fuzz.npy", data, size);
    if (a.data.size() != a.size()) __builtin_trap();
  } catch (const supsnn::Error&) {
    return 0;
  }
  try {
    supsnn::SpikeEvents ev;
    int m = 0, T = 0;
    supsnn::read_seed_spikes(supsnn::fuzz::write_scratch("npy", data, size), ev, &m, &T);
  } catch (const supsnn::Error&) {
  }
  return 0;
}
