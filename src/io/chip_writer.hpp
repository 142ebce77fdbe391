// Writers for chip images: 8-bit grey/RGB PNG and JPEG (tests, figures) and MSTAR-style raw chips
// (tests). Every failure raises supsnn::Error naming the file.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace supsnn {

// pixels: row-major height x width grey bytes; rgb: row-major height x width x 3 (R, G, B).
void write_png_gray8(const std::string& path, int height, int width, const std::uint8_t* pixels);
void write_png_rgb8(const std::string& path, int height, int width, const std::uint8_t* rgb);
// quality 1..100; colour JPEGs use libjpeg's default YCbCr 4:2:0.
void write_jpeg_gray8(const std::string& path, int height, int width, const std::uint8_t* pixels,
                      int quality = 95);
void write_jpeg_rgb8(const std::string& path, int height, int width, const std::uint8_t* rgb,
                     int quality = 95);

// An MSTAR-style raw chip: "[PhoenixHeaderVer01.04]", the computed PhoenixHeaderLength (the
// smallest multiple of 512 that holds the text), native_header_length 0, NumberOfRows,
// NumberOfColumns, then extra_fields as "key= value" lines and "[EndofPhoenixHeader]", padded
// with spaces; then rows*cols big-endian float32 magnitudes and phases (an empty phase vector
// writes zeros). Extra keys must not repeat the computed ones or contain '=' or line breaks.
void write_mstar_raw(const std::string& path, int rows, int cols,
                     const std::vector<float>& magnitude, const std::vector<float>& phase,
                     const std::map<std::string, std::string>& extra_fields);

}  // namespace supsnn
