#include "io/chip_reader.hpp"

// jpeglib.h needs size_t and FILE declared first.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <jpeglib.h>
#include <png.h>
#include <csetjmp>

#include "common/error.hpp"
#include "common/read_file.hpp"
#include "io/chip_common.hpp"

namespace supsnn {

namespace {

// Chips are at most a few hundred pixels wide; this only stops a corrupt header from asking for
// gigabytes.
constexpr long long kMaxPixels = 1LL << 26;
// What libjpeg may allocate for one chip (a progressive JPEG of kMaxPixels RGB pixels needs about
// 400 MB of coefficients); beyond it libjpeg fails with "insufficient memory" instead.
constexpr long kJpegMaxMemory = 512L << 20;

// A file's bytes, in memory.
struct Bytes {
  const unsigned char* data;
  std::size_t size;
};

std::vector<unsigned char> read_bytes(const std::string& path) {
  return read_file_bytes(path, "a JPEG, PNG or MSTAR raw chip");
}

ChipFormat detect_bytes(const unsigned char* b, std::size_t n) {
  if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return ChipFormat::Jpeg;
  if (n >= 8 && std::memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) return ChipFormat::Png;
  std::size_t i = 0;
  while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) ++i;
  const char* tag = "PhoenixHeaderVer";
  const std::size_t len = std::strlen(tag);
  if (i < n && b[i] == '[') ++i;
  if (n - i >= len && std::memcmp(b + i, tag, len) == 0) return ChipFormat::MstarRaw;
  return ChipFormat::Unknown;
}

// ITU-R BT.601 luma in integer arithmetic, so equal R, G, B give exactly that grey.
float luma(unsigned r, unsigned g, unsigned b) {
  return static_cast<float>((299 * r + 587 * g + 114 * b + 500) / 1000);
}

// A decoded JPEG / PNG: width x height pixels of `channels` (1 grey or 3 RGB) 8-bit samples in buf,
// row-major, turned into grey (luma for RGB).
Chip grey_chip(ChipFormat format, int width, int height, const std::vector<unsigned char>& buf,
               int channels) {
  Chip chip;
  chip.format = format;
  chip.width = width;
  chip.height = height;
  chip.pixels.resize(static_cast<std::size_t>(width) * height);
  for (std::size_t i = 0; i < chip.pixels.size(); ++i) {
    const unsigned char* p = &buf[i * channels];
    chip.pixels[i] = channels == 1 ? p[0] : luma(p[0], p[1], p[2]);
  }
  return chip;
}

// Each side is checked before the product, so huge sides cannot wrap around into a small area.
void check_size(const std::string& path, const char* what, long long w, long long h) {
  if (w <= 0 || h <= 0 || w > kMaxPixels || h > kMaxPixels || w * h > kMaxPixels)
    throw Error(path + ": " + what + " of " + std::to_string(w) + " x " + std::to_string(h) +
                " pixels is outside the supported 1 .. " + std::to_string(kMaxPixels) + " pixels");
}

// ---- JPEG ----------------------------------------------------------------------------------
// libjpeg reports errors through chip_io::jpeg_fail (chip_common.hpp), which longjmps back. The
// functions that call setjmp hold no C++ objects, so the jump skips no destructors.

using chip_io::JpegErr;

// Warnings (level -1) such as "Premature end of JPEG file" mean a damaged chip: fail on them.
// Trace messages (level >= 0) are ignored.
void jpeg_message(j_common_ptr cinfo, int msg_level) {
  if (msg_level < 0) chip_io::jpeg_fail(cinfo);
}

bool jpeg_start(jpeg_decompress_struct* cinfo, JpegErr* err, const unsigned char* data,
                std::size_t size, bool* too_large) {
  if (setjmp(err->jump)) return false;
  jpeg_mem_src(cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(cinfo, TRUE);
  // The claimed size, checked before libjpeg allocates for it (a progressive JPEG reserves its
  // whole coefficient buffer in jpeg_start_decompress).
  const long long w = cinfo->image_width, h = cinfo->image_height;
  if (w <= 0 || h <= 0 || w * h > kMaxPixels) {
    *too_large = true;
    return false;
  }
  if (cinfo->num_components == 1) {
    cinfo->out_color_space = JCS_GRAYSCALE;
  } else if (cinfo->jpeg_color_space == JCS_YCbCr || cinfo->jpeg_color_space == JCS_RGB) {
    cinfo->out_color_space = JCS_RGB;
  } else {
    std::snprintf(err->message, sizeof err->message,
                  "unsupported JPEG colour space with %d components (expected grey or RGB)",
                  cinfo->num_components);
    return false;
  }
  jpeg_start_decompress(cinfo);
  return true;
}

bool jpeg_rows(jpeg_decompress_struct* cinfo, JpegErr* err, unsigned char* out,
               std::size_t stride) {
  if (setjmp(err->jump)) return false;
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = out + cinfo->output_scanline * stride;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

Chip decode_jpeg(const std::string& path, Bytes bytes) {
  jpeg_decompress_struct cinfo;
  JpegErr err;
  cinfo.err = chip_io::jpeg_init_err(&err, jpeg_message, "");
  jpeg_create_decompress(&cinfo);
  cinfo.mem->max_memory_to_use = kJpegMaxMemory;
  auto fail = [&]() {
    jpeg_destroy_decompress(&cinfo);
    return Error(path + ": corrupt or truncated JPEG (" + std::to_string(bytes.size) +
                 " bytes): " + err.message);
  };
  bool too_large = false;
  if (!jpeg_start(&cinfo, &err, bytes.data, bytes.size, &too_large)) {
    if (!too_large) throw fail();
    const long long iw = cinfo.image_width, ih = cinfo.image_height;
    jpeg_destroy_decompress(&cinfo);
    check_size(path, "JPEG", iw, ih);
  }
  const long long w = cinfo.output_width, h = cinfo.output_height;
  const int channels = cinfo.output_components;
  if (w <= 0 || h <= 0 || w * h > kMaxPixels) {
    jpeg_destroy_decompress(&cinfo);
    check_size(path, "JPEG", w, h);
  }
  std::vector<unsigned char> buf(static_cast<std::size_t>(w * h * channels));
  if (!jpeg_rows(&cinfo, &err, buf.data(), static_cast<std::size_t>(w * channels))) throw fail();
  jpeg_destroy_decompress(&cinfo);

  return grey_chip(ChipFormat::Jpeg, static_cast<int>(w), static_cast<int>(h), buf, channels);
}

// ---- PNG -----------------------------------------------------------------------------------
// libpng longjmps to png_jmpbuf on errors; as for JPEG, the setjmp callers hold no C++ objects.

struct PngSource {
  const unsigned char* data;
  std::size_t size, pos;
  char message[256];
};

void png_read_mem(png_structp png, png_bytep out, png_size_t n) {
  auto* src = static_cast<PngSource*>(png_get_io_ptr(png));
  if (n > src->size - src->pos) png_error(png, "unexpected end of file (truncated PNG)");
  std::memcpy(out, src->data + src->pos, n);
  src->pos += n;
}

void png_fail(png_structp png, png_const_charp msg) {
  auto* src = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(src->message, sizeof src->message, "%s", msg);
  png_longjmp(png, 1);
}

// Benign ancillary-chunk complaints (e.g. an odd sRGB profile); the pixels are still right.
void png_warn(png_structp, png_const_charp) {}

bool png_start(png_structp png, png_infop info, PngSource* src, png_uint_32* w, png_uint_32* h,
               int* channels) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_read_fn(png, src, png_read_mem);
  png_read_info(png, info);
  // Palette and low-bit grey expand to 8-bit; 16-bit is scaled (not truncated) to 8-bit.
  png_set_palette_to_rgb(png);
  png_set_expand_gray_1_2_4_to_8(png);
  png_set_scale_16(png);
  png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  *w = png_get_image_width(png, info);
  *h = png_get_image_height(png, info);
  *channels = png_get_channels(png, info);
  return true;
}

bool png_rows(png_structp png, png_infop info, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  png_read_end(png, info);
  return true;
}

Chip decode_png(const std::string& path, Bytes bytes) {
  PngSource src{bytes.data, bytes.size, 0, {}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_fail, png_warn);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    throw Error(path + ": cannot initialise libpng");
  }
  auto fail = [&]() {
    png_destroy_read_struct(&png, &info, nullptr);
    return Error(path + ": corrupt or truncated PNG (" + std::to_string(bytes.size) +
                 " bytes): " + src.message);
  };
  png_uint_32 w = 0, h = 0;
  int channels = 0;
  if (!png_start(png, info, &src, &w, &h, &channels)) throw fail();
  if (static_cast<long long>(w) * h > kMaxPixels || (channels != 1 && channels != 3)) {
    png_destroy_read_struct(&png, &info, nullptr);
    check_size(path, "PNG", w, h);
    throw Error(path + ": PNG decodes to " + std::to_string(channels) +
                " channels (expected grey or RGB)");
  }
  const std::size_t stride = static_cast<std::size_t>(w) * channels;
  std::vector<unsigned char> buf(stride * h);
  std::vector<png_bytep> rows(h);
  for (png_uint_32 y = 0; y < h; ++y) rows[y] = buf.data() + y * stride;
  if (!png_rows(png, info, rows.data())) throw fail();
  png_destroy_read_struct(&png, &info, nullptr);

  return grey_chip(ChipFormat::Png, static_cast<int>(w), static_cast<int>(h), buf, channels);
}

// ---- MSTAR raw -----------------------------------------------------------------------------

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// A required non-negative decimal field; leading zeros are decimal, not octal ("00000512").
long required_long(const std::string& path, const PhoenixHeader& h, const std::string& key) {
  const auto it = h.fields.find(key);
  if (it == h.fields.end())
    throw Error(path + ": MSTAR raw header has no " + key +
                "= line (required: PhoenixHeaderLength, native_header_length, NumberOfRows, "
                "NumberOfColumns)");
  const std::string& v = it->second;
  char* end = nullptr;
  errno = 0;
  const long n = v.empty() ? -1 : std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || n < 0 || v[0] == '-' || v[0] == '+')
    throw Error(path + ": MSTAR raw header " + key + "= '" + v + "' is not a non-negative integer");
  return n;
}

double optional_double(const PhoenixHeader& h, const std::string& key) {
  const auto it = h.fields.find(key);
  if (it == h.fields.end() || it->second.empty()) return NAN;
  char* end = nullptr;
  const double d = std::strtod(it->second.c_str(), &end);
  return *end == '\0' ? d : NAN;
}

std::string optional_string(const PhoenixHeader& h, const std::string& key) {
  const auto it = h.fields.find(key);
  return it == h.fields.end() ? "" : it->second;
}

PhoenixHeader parse_phoenix(const std::string& path, Bytes bytes) {
  if (detect_bytes(bytes.data, bytes.size) != ChipFormat::MstarRaw)
    throw Error(path + ": not an MSTAR raw chip (expected a first line [PhoenixHeaderVer...])");
  PhoenixHeader h;
  bool ended = false;
  std::size_t pos = 0;
  while (pos < bytes.size && !ended) {
    std::size_t eol = pos;
    while (eol < bytes.size && bytes.data[eol] != '\n') ++eol;
    const std::string line = trim(std::string(bytes.data + pos, bytes.data + eol));
    pos = eol + 1;
    if (line == "[EndofPhoenixHeader]") {
      ended = true;
    } else if (const auto eq = line.find('='); eq != std::string::npos) {
      h.fields[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
    }
  }
  if (!ended)
    throw Error(path + ": MSTAR raw header has no [EndofPhoenixHeader] line (file has " +
                std::to_string(bytes.size) + " bytes)");

  h.phoenix_header_length = required_long(path, h, "PhoenixHeaderLength");
  h.native_header_length = required_long(path, h, "native_header_length");
  const long rows = required_long(path, h, "NumberOfRows");
  const long cols = required_long(path, h, "NumberOfColumns");
  check_size(path, "MSTAR raw chip (NumberOfColumns x NumberOfRows)", cols, rows);
  h.rows = static_cast<int>(rows);
  h.cols = static_cast<int>(cols);

  // Each length is checked against the file size before they are added, so the sum cannot wrap.
  const long long size = static_cast<long long>(bytes.size);
  const long long offset =
      h.phoenix_header_length > size || h.native_header_length > size
          ? -1
          : static_cast<long long>(h.phoenix_header_length) + h.native_header_length;
  if (offset < 0 || offset > size)
    throw Error(path + ": MSTAR raw header puts the data at byte " +
                (offset < 0 ? std::string("(past the end)") : std::to_string(offset)) +
                " (PhoenixHeaderLength " + std::to_string(h.phoenix_header_length) +
                " + native_header_length " + std::to_string(h.native_header_length) +
                ") but the file has only " + std::to_string(size) + " bytes");
  const long long expected = offset + 2LL * rows * cols * 4;
  if (size != expected)
    throw Error(path + ": MSTAR raw chip of " + std::to_string(rows) + " rows x " +
                std::to_string(cols) + " columns: expected " + std::to_string(expected) +
                " bytes (header " + std::to_string(offset) +
                " + float32 magnitude and phase blocks), found " + std::to_string(size) + " bytes");
  return h;
}

Chip decode_mstar(const std::string& path, Bytes bytes) {
  const PhoenixHeader h = parse_phoenix(path, bytes);
  Chip chip;
  chip.format = ChipFormat::MstarRaw;
  chip.height = h.rows;
  chip.width = h.cols;
  chip.pixels.resize(static_cast<std::size_t>(h.rows) * h.cols);
  const unsigned char* p = bytes.data + h.phoenix_header_length + h.native_header_length;
  for (std::size_t i = 0; i < chip.pixels.size(); ++i, p += 4) {
    const std::uint32_t u = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                            (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
    float v;
    std::memcpy(&v, &u, 4);
    if (!std::isfinite(v))
      throw Error(path + ": MSTAR raw magnitude at row " + std::to_string(i / h.cols) +
                  ", column " + std::to_string(i % h.cols) + " is " + std::to_string(v) +
                  " (expected a finite value)");
    chip.pixels[i] = v;
  }
  chip.target_type = optional_string(h, "TargetType");
  chip.serial_number = optional_string(h, "TargetSerNum");
  chip.azimuth_deg = optional_double(h, "TargetAz");
  chip.depression_deg = optional_double(h, "DesiredDepression");
  return chip;
}

}  // namespace

ChipFormat detect_chip_format(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open chip file");
  unsigned char head[64] = {};
  f.read(reinterpret_cast<char*>(head), sizeof head);
  return detect_bytes(head, static_cast<std::size_t>(f.gcount()));
}

Chip read_chip(const std::string& path) {
  const std::vector<unsigned char> bytes = read_bytes(path);
  return read_chip_bytes(path, bytes.data(), bytes.size());
}

Chip read_chip_bytes(const std::string& path, const unsigned char* data, std::size_t size) {
  const Bytes bytes{data, size};
  if (size == 0) throw Error(path + ": empty chip file (0 bytes)");
  switch (detect_bytes(data, size)) {
    case ChipFormat::Jpeg:
      return decode_jpeg(path, bytes);
    case ChipFormat::Png:
      return decode_png(path, bytes);
    case ChipFormat::MstarRaw:
      return decode_mstar(path, bytes);
    case ChipFormat::Unknown:
      break;
  }
  throw Error(path + ": not a JPEG, PNG or MSTAR raw chip (" + std::to_string(size) +
              " bytes, no JPEG/PNG magic or [PhoenixHeaderVer line)");
}

PhoenixHeader read_phoenix_header(const std::string& path) {
  const std::vector<unsigned char> bytes = read_bytes(path);
  return parse_phoenix(path, Bytes{bytes.data(), bytes.size()});
}

PhoenixHeader parse_phoenix_header(const std::string& path, const unsigned char* data,
                                   std::size_t size) {
  return parse_phoenix(path, Bytes{data, size});
}

}  // namespace supsnn
