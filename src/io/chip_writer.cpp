#include "io/chip_writer.hpp"

// jpeglib.h needs size_t and FILE declared first.
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <jpeglib.h>
#include <png.h>
#include <csetjmp>

#include "common/error.hpp"
#include "io/chip_common.hpp"

namespace supsnn {

namespace {

void check_args(const std::string& path, const char* what, int height, int width,
                const void* data) {
  if (height <= 0 || width <= 0)
    throw Error(path + ": cannot write " + what + " of " + std::to_string(width) + " x " +
                std::to_string(height) + " pixels (expected positive width and height)");
  if (!data) throw Error(path + ": cannot write " + what + ": no pixel data");
}

// A FILE* that is closed on every path; close() reports whether buffered data reached the disk.
class CFile {
 public:
  explicit CFile(const std::string& path) : f_(std::fopen(path.c_str(), "wb")) {
    if (!f_) throw Error(path + ": cannot open for writing: " + std::strerror(errno));
  }
  ~CFile() {
    if (f_) std::fclose(f_);
  }
  FILE* get() const { return f_; }
  bool close() {
    const bool ok = std::ferror(f_) == 0;
    const int rc = std::fclose(f_);
    f_ = nullptr;
    return ok && rc == 0;
  }
  CFile(const CFile&) = delete;
  CFile& operator=(const CFile&) = delete;

 private:
  FILE* f_;
};

// ---- PNG -----------------------------------------------------------------------------------
// libpng longjmps to png_jmpbuf on errors; png_encode holds no C++ objects, so no destructor is
// skipped.

void png_fail(png_structp png, png_const_charp msg) {
  auto* message = static_cast<char*>(png_get_error_ptr(png));
  std::snprintf(message, 256, "%s", msg);
  png_longjmp(png, 1);
}

void png_warn(png_structp, png_const_charp) {}

bool png_encode(png_structp png, png_infop info, FILE* f, int height, int width, int color_type,
                int channels, const std::uint8_t* data) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_init_io(png, f);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8,
               color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  const std::size_t stride = static_cast<std::size_t>(width) * channels;
  for (int y = 0; y < height; ++y) png_write_row(png, data + y * stride);
  png_write_end(png, info);
  return true;
}

void write_png(const std::string& path, int height, int width, const std::uint8_t* data,
               int color_type, int channels) {
  check_args(path, "PNG", height, width, data);
  CFile file(path);
  char message[256] = "unknown libpng error";
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, message, png_fail, png_warn);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    throw Error(path + ": cannot initialise libpng for writing");
  }
  const bool ok = png_encode(png, info, file.get(), height, width, color_type, channels, data);
  png_destroy_write_struct(&png, &info);
  // A half-written file would later read as a corrupt chip; remove it.
  if (!ok || !file.close()) {
    std::remove(path.c_str());
    throw Error(path + ": cannot write PNG: " + (ok ? "write error" : message));
  }
}

// ---- JPEG ----------------------------------------------------------------------------------
// Errors go through chip_io::jpeg_fail (chip_common.hpp), which longjmps back to jpeg_encode;
// jpeg_encode holds no C++ objects, so no destructor is skipped.

using chip_io::JpegErr;

void jpeg_quiet(j_common_ptr, int) {}

bool jpeg_encode(jpeg_compress_struct* cinfo, JpegErr* err, FILE* f, int height, int width,
                 int channels, int quality, const std::uint8_t* data) {
  if (setjmp(err->jump)) return false;
  jpeg_stdio_dest(cinfo, f);
  cinfo->image_width = static_cast<JDIMENSION>(width);
  cinfo->image_height = static_cast<JDIMENSION>(height);
  cinfo->input_components = channels;
  cinfo->in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(cinfo);
  jpeg_set_quality(cinfo, quality, TRUE);
  jpeg_start_compress(cinfo, TRUE);
  const std::size_t stride = static_cast<std::size_t>(width) * channels;
  while (cinfo->next_scanline < cinfo->image_height) {
    // libjpeg's API takes non-const rows but only reads them when compressing.
    JSAMPROW row = const_cast<JSAMPROW>(data + cinfo->next_scanline * stride);
    jpeg_write_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_compress(cinfo);
  return true;
}

void write_jpeg(const std::string& path, int height, int width, const std::uint8_t* data,
                int channels, int quality) {
  check_args(path, "JPEG", height, width, data);
  if (quality < 1 || quality > 100)
    throw Error(path + ": JPEG quality " + std::to_string(quality) + " is outside 1..100");
  if (height > JPEG_MAX_DIMENSION || width > JPEG_MAX_DIMENSION)
    throw Error(path + ": JPEG of " + std::to_string(width) + " x " + std::to_string(height) +
                " pixels exceeds the format's " + std::to_string(JPEG_MAX_DIMENSION) + " limit");
  CFile file(path);
  jpeg_compress_struct cinfo;
  JpegErr err;
  cinfo.err = chip_io::jpeg_init_err(&err, jpeg_quiet, "unknown libjpeg error");
  jpeg_create_compress(&cinfo);
  const bool ok = jpeg_encode(&cinfo, &err, file.get(), height, width, channels, quality, data);
  jpeg_destroy_compress(&cinfo);
  if (!ok || !file.close()) {
    std::remove(path.c_str());
    throw Error(path + ": cannot write JPEG: " + (ok ? "write error" : err.message));
  }
}

void put_be32(std::vector<char>& out, float v) {
  std::uint32_t u;
  std::memcpy(&u, &v, 4);
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((u >> s) & 0xFF));
}

}  // namespace

void write_png_gray8(const std::string& path, int height, int width, const std::uint8_t* pixels) {
  write_png(path, height, width, pixels, PNG_COLOR_TYPE_GRAY, 1);
}

void write_png_rgb8(const std::string& path, int height, int width, const std::uint8_t* rgb) {
  write_png(path, height, width, rgb, PNG_COLOR_TYPE_RGB, 3);
}

void write_jpeg_gray8(const std::string& path, int height, int width, const std::uint8_t* pixels,
                      int quality) {
  write_jpeg(path, height, width, pixels, 1, quality);
}

void write_jpeg_rgb8(const std::string& path, int height, int width, const std::uint8_t* rgb,
                     int quality) {
  write_jpeg(path, height, width, rgb, 3, quality);
}

void write_mstar_raw(const std::string& path, int rows, int cols,
                     const std::vector<float>& magnitude, const std::vector<float>& phase,
                     const std::map<std::string, std::string>& extra_fields) {
  if (rows <= 0 || cols <= 0)
    throw Error(path + ": cannot write an MSTAR raw chip of " + std::to_string(rows) + " rows x " +
                std::to_string(cols) + " columns (expected positive sizes)");
  const std::size_t n = static_cast<std::size_t>(rows) * cols;
  if (magnitude.size() != n || (!phase.empty() && phase.size() != n))
    throw Error(path + ": MSTAR raw chip of " + std::to_string(rows) + " x " +
                std::to_string(cols) + " needs " + std::to_string(n) +
                " magnitudes and phases, got " + std::to_string(magnitude.size()) + " and " +
                std::to_string(phase.size()));

  std::string fields = "native_header_length= 0\nNumberOfColumns= " + std::to_string(cols) +
                       "\nNumberOfRows= " + std::to_string(rows) + "\n";
  for (const auto& [key, value] : extra_fields) {
    if (key == "PhoenixHeaderLength" || key == "native_header_length" || key == "NumberOfRows" ||
        key == "NumberOfColumns")
      throw Error(path + ": MSTAR raw extra field '" + key + "' is computed by the writer");
    if (key.empty() || key.find_first_of("=\r\n") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos)
      throw Error(path + ": MSTAR raw extra field '" + key +
                  "' is not a valid 'key= value' line (empty key, '=' in key or line break)");
    fields += key + "= " + value + "\n";
  }
  fields += "[EndofPhoenixHeader]\n";
  // The length is printed with 8 digits, so the text size does not depend on its value.
  const std::size_t text =
      std::strlen("[PhoenixHeaderVer01.04]\nPhoenixHeaderLength= 00000000\n") + fields.size();
  const std::size_t header_len = (text + 511) / 512 * 512;
  char len_line[64];
  std::snprintf(len_line, sizeof len_line, "PhoenixHeaderLength= %08zu\n", header_len);
  std::string header = std::string("[PhoenixHeaderVer01.04]\n") + len_line + fields;
  if (header.size() < header_len) {
    header.append(header_len - header.size() - 1, ' ');
    header += '\n';
  }

  std::vector<char> data;
  data.reserve(8 * n);
  for (float v : magnitude) put_be32(data, v);
  for (std::size_t i = 0; i < n; ++i) put_be32(data, phase.empty() ? 0.0f : phase[i]);

  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw Error(path + ": cannot open for writing");
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  f.close();
  if (!f) throw Error(path + ": write error while saving MSTAR raw chip");
}

}  // namespace supsnn
