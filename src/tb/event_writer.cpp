#include "tb/event_writer.hpp"

#include <png.h>
#include <unistd.h>

#include <chrono>
#include <csetjmp>
#include <cstring>

#include "common/error.hpp"
#include "tb/crc32c.hpp"

namespace supsnn {

namespace pb {
void varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void tag(std::string& out, int field, int wire_type) {
  varint(out, (static_cast<std::uint64_t>(field) << 3) | wire_type);
}
void bytes_field(std::string& out, int field, const std::string& bytes) {
  tag(out, field, 2);
  varint(out, bytes.size());
  out += bytes;
}
template <class T>
void fixed(std::string& out, int field, T v) {  // double: wire type 1, float: wire type 5
  tag(out, field, sizeof(T) == 8 ? 1 : 5);
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian hosts only (x86-64, aarch64)
  out.append(b, sizeof(T));
}
}  // namespace pb

namespace {

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void append_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

// libpng reports errors by longjmp; the callback collects bytes into a std::vector owned by the
// caller, which outlives the jump.
void png_append(png_structp png, png_bytep data, png_size_t n) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + n);
}
void png_flush_nop(png_structp) {}
void png_fail(png_structp png, png_const_charp) {
  png_longjmp(png, 1);
}
void png_warn(png_structp, png_const_charp) {}

bool png_encode(png_structp png, png_infop info, std::vector<std::uint8_t>* out, int height,
                int width, const std::uint8_t* pixels) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_write_fn(png, out, png_append, png_flush_nop);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8,
               PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height; ++y) png_write_row(png, pixels + static_cast<std::size_t>(y) * width);
  png_write_end(png, info);
  return true;
}

}  // namespace

std::vector<std::uint8_t> encode_png_gray8(int height, int width, const std::uint8_t* pixels) {
  if (height <= 0 || width <= 0) throw Error("encode_png_gray8: empty image");
  std::vector<std::uint8_t> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, png_fail, png_warn);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  const bool ok = info && png_encode(png, info, &out, height, width, pixels);
  png_destroy_write_struct(&png, info ? &info : nullptr);
  if (!ok) throw Error("encode_png_gray8: libpng failed");
  return out;
}

EventWriter::EventWriter(const std::string& dir) {
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  const long t = static_cast<long>(wall_time());
  path_ = dir + "/events.out.tfevents." + std::to_string(t) + "." + host;
  f_ = std::fopen(path_.c_str(), "wb");
  if (!f_) throw Error(path_ + ": cannot create TensorBoard event file");
  std::string v;
  pb::bytes_field(v, 3, "brain.Event:2");
  write_event(0, v);
  flush();
}

EventWriter::~EventWriter() {
  if (f_) std::fclose(f_);
}

void EventWriter::write_event(long step, const std::string& payload) {
  std::string ev;
  pb::fixed<double>(ev, 1, wall_time());
  pb::tag(ev, 2, 0);
  pb::varint(ev, static_cast<std::uint64_t>(static_cast<std::int64_t>(step)));
  ev += payload;
  // TFRecord: length, masked CRC of the length, data, masked CRC of the data (little-endian).
  std::string rec;
  append_le(rec, ev.size(), 8);
  const std::uint32_t len_crc = masked_crc32c(rec.data(), 8);
  append_le(rec, len_crc, 4);
  rec += ev;
  append_le(rec, masked_crc32c(ev.data(), ev.size()), 4);
  if (std::fwrite(rec.data(), 1, rec.size(), f_) != rec.size())
    throw Error(path_ + ": cannot write TensorBoard event");
}

void EventWriter::scalar(const std::string& tag, long step, double value) {
  std::string val;
  pb::bytes_field(val, 1, tag);
  pb::fixed<float>(val, 2, static_cast<float>(value));
  std::string summary;
  pb::bytes_field(summary, 1, val);
  std::string payload;
  pb::bytes_field(payload, 5, summary);
  write_event(step, payload);
}

void EventWriter::image(const std::string& tag, long step, int height, int width,
                        const std::vector<std::uint8_t>& pixels) {
  if (pixels.size() != static_cast<std::size_t>(height) * width)
    throw Error("TensorBoard image '" + tag + "': pixel count is not height x width");
  const auto png = encode_png_gray8(height, width, pixels.data());
  std::string img;
  pb::tag(img, 1, 0);
  pb::varint(img, height);
  pb::tag(img, 2, 0);
  pb::varint(img, width);
  pb::tag(img, 3, 0);
  pb::varint(img, 1);  // colorspace 1: grey
  pb::bytes_field(img, 4, std::string(png.begin(), png.end()));
  std::string val;
  pb::bytes_field(val, 1, tag);
  pb::bytes_field(val, 4, img);
  std::string summary;
  pb::bytes_field(summary, 1, val);
  std::string payload;
  pb::bytes_field(payload, 5, summary);
  write_event(step, payload);
}

void EventWriter::flush() {
  if (std::fflush(f_) != 0) throw Error(path_ + ": cannot write TensorBoard event file");
}

}  // namespace supsnn
