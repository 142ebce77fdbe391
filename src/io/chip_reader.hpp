// Reader for single SAR target chips: 8/16-bit JPEG or PNG renderings and MSTAR raw files (a
// "Phoenix" text header followed by big-endian float32 magnitude and phase blocks). The format is
// detected from the file's content, not its extension. Bad files raise supsnn::Error naming the
// file and what was expected vs found.
#pragma once
#include <cmath>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace supsnn {

enum class ChipFormat { Jpeg, Png, MstarRaw, Unknown };

// By magic bytes: FF D8 FF (JPEG), 89 'PNG' \r\n 1A \n (PNG), a first line starting with
// "[PhoenixHeaderVer" or "PhoenixHeaderVer" (MSTAR raw). Unknown for an empty or other file;
// throws when the file cannot be opened.
ChipFormat detect_chip_format(const std::string& path);

struct Chip {
  int height = 0, width = 0;
  // Row-major height x width. JPEG/PNG: grey 0..255 (colour -> round(0.299R + 0.587G + 0.114B),
  // 16-bit PNG scaled to 8 bit, alpha ignored). MSTAR raw: the linear magnitude block as stored.
  std::vector<float> pixels;
  ChipFormat format = ChipFormat::Unknown;
  std::string target_type, serial_number;          // raw TargetType / TargetSerNum; else empty
  double azimuth_deg = NAN, depression_deg = NAN;  // raw TargetAz / DesiredDepression; else NaN
};

// Throws for: a missing or zero-byte file, an unknown format, a truncated or corrupt JPEG (libjpeg
// warnings such as "premature end of data" count as errors) or PNG, the raw-header and size
// problems of read_phoenix_header, and NaN/Inf raw magnitudes.
Chip read_chip(const std::string& path);

// The same on a file's bytes already in memory; `name` stands for the file in error messages.
Chip read_chip_bytes(const std::string& name, const unsigned char* data, std::size_t size);

struct PhoenixHeader {
  std::map<std::string, std::string> fields;  // "key= value" lines, keys and values trimmed
  long phoenix_header_length = 0, native_header_length = 0;
  int rows = 0, cols = 0;  // NumberOfRows (height), NumberOfColumns (width)
};

// Parses the text header up to the line "[EndofPhoenixHeader]". PhoenixHeaderLength,
// native_header_length, NumberOfRows and NumberOfColumns are required. The data start at
// PhoenixHeaderLength + native_header_length, and the file must end exactly after rows*cols
// float32 magnitudes and rows*cols float32 phases; otherwise the error gives both byte counts.
PhoenixHeader read_phoenix_header(const std::string& path);
PhoenixHeader parse_phoenix_header(const std::string& name, const unsigned char* data,
                                   std::size_t size);

}  // namespace supsnn
