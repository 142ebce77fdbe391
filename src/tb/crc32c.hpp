// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord framing needs it.
#pragma once
#include <cstddef>
#include <cstdint>

namespace supsnn {

std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc = 0);
// TFRecord's masked CRC: rotate right by 15 and add 0xa282ead8.
std::uint32_t masked_crc32c(const void* data, std::size_t size);

}  // namespace supsnn
