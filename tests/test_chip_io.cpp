// Chip reader and writers: PNG/JPEG/MSTAR raw round trips, colour-to-luma, detection by content,
// the real MSTAR JPEG chips in shared/, and one-line errors that name the file.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SUPSNN_HAS_ASAN 1
#endif
#endif
#ifndef SUPSNN_HAS_ASAN
#define SUPSNN_HAS_ASAN 0
#endif

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "io/chip_reader.hpp"
#include "io/chip_writer.hpp"
#include "test_util.hpp"

namespace supsnn {
namespace {

std::string error_of(const std::string& path) {
  try {
    read_chip(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A hand-made raw file: header text, padded to header_len bytes, then 'floats' zero float32s.
std::string raw_bytes(const std::string& header_text, std::size_t header_len, std::size_t floats) {
  std::string s = header_text;
  s.resize(std::max(header_len, s.size()), ' ');
  return s + std::string(4 * floats, '\0');
}

std::vector<std::uint8_t> ramp(int h, int w) {
  std::vector<std::uint8_t> v(static_cast<std::size_t>(h) * w);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::uint8_t>((i * 37 + 11) % 256);
  return v;
}

TEST(ChipIo, PngGreyRoundTripIsExact) {
  test::ScratchDir dir("chip");
  const int h = 13, w = 21;  // 273 pixels: every byte value occurs
  const auto px = ramp(h, w);
  write_png_gray8(dir.file("g.png"), h, w, px.data());
  const Chip c = read_chip(dir.file("g.png"));
  EXPECT_EQ(c.format, ChipFormat::Png);
  ASSERT_EQ(c.height, h);
  ASSERT_EQ(c.width, w);
  for (std::size_t i = 0; i < px.size(); ++i) ASSERT_EQ(c.pixels[i], px[i]) << "pixel " << i;
  EXPECT_TRUE(c.target_type.empty());
  EXPECT_TRUE(std::isnan(c.azimuth_deg));
}

TEST(ChipIo, PngRgbBecomesBt601Luma) {
  test::ScratchDir dir("chip");
  // One row of colours; luma = round(0.299 R + 0.587 G + 0.114 B).
  const std::vector<std::uint8_t> rgb = {255, 0,   0,   0,   255, 0,   0,  0, 255, 255, 255,
                                         255, 100, 100, 100, 10,  200, 30, 0, 0,   0};
  write_png_rgb8(dir.file("c.png"), 1, 7, rgb.data());
  const Chip c = read_chip(dir.file("c.png"));
  EXPECT_EQ(c.format, ChipFormat::Png);
  ASSERT_EQ(c.height, 1);
  ASSERT_EQ(c.width, 7);
  EXPECT_EQ(c.pixels, (std::vector<float>{76, 150, 29, 255, 100, 124, 0}));
}

TEST(ChipIo, JpegGreyRoundTripWithinJpegError) {
  test::ScratchDir dir("chip");
  const int h = 40, w = 56;
  std::vector<std::uint8_t> px(h * w);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      px[y * w + x] = static_cast<std::uint8_t>(120 + 100 * std::sin(0.2 * x) * std::cos(0.15 * y));
  write_jpeg_gray8(dir.file("g.jpg"), h, w, px.data(), 100);
  const Chip c = read_chip(dir.file("g.jpg"));
  EXPECT_EQ(c.format, ChipFormat::Jpeg);
  ASSERT_EQ(c.height, h);
  ASSERT_EQ(c.width, w);
  double sum = 0, worst = 0;
  for (std::size_t i = 0; i < px.size(); ++i) {
    const double d = std::abs(c.pixels[i] - px[i]);
    sum += d;
    worst = std::max(worst, d);
  }
  EXPECT_LT(sum / px.size(), 1.0);
  EXPECT_LE(worst, 4.0);
}

TEST(ChipIo, JpegRgbBecomesGrey) {
  test::ScratchDir dir("chip");
  // Four flat 16x16 blocks (red, green, blue, grey 90) so 4:2:0 chroma does not blur the centres.
  const int n = 32;
  const std::uint8_t colours[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {90, 90, 90}};
  const float expected[4] = {76, 150, 29, 90};
  std::vector<std::uint8_t> rgb(n * n * 3);
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x)
      for (int k = 0; k < 3; ++k) rgb[(y * n + x) * 3 + k] = colours[(y / 16) * 2 + x / 16][k];
  write_jpeg_rgb8(dir.file("c.jpg"), n, n, rgb.data(), 100);
  const Chip c = read_chip(dir.file("c.jpg"));
  EXPECT_EQ(c.format, ChipFormat::Jpeg);
  ASSERT_EQ(c.height, n);
  ASSERT_EQ(c.width, n);
  for (int b = 0; b < 4; ++b) {
    const int y = (b / 2) * 16 + 8, x = (b % 2) * 16 + 8;
    EXPECT_NEAR(c.pixels[y * n + x], expected[b], 3.0) << "block " << b;
  }
}

TEST(ChipIo, MstarRawRoundTripNonSquare) {
  test::ScratchDir dir("chip");
  const int rows = 5, cols = 7;
  std::vector<float> mag(rows * cols), phase(rows * cols);
  for (int i = 0; i < rows * cols; ++i) {
    mag[i] = 0.0371f * i + 1e-7f * i * i;  // values that do not survive a lossy path
    phase[i] = -3.0f + 0.17f * i;
  }
  mag[3] = 0.0f;
  mag[4] = 1.0e-30f;
  const std::map<std::string, std::string> extra = {{"TargetType", "bmp2_tank"},
                                                    {"TargetSerNum", "9563"},
                                                    {"TargetAz", "123.45"},
                                                    {"DesiredDepression", "17"}};
  const std::string path = dir.file("HB03787.000");
  write_mstar_raw(path, rows, cols, mag, phase, extra);
  EXPECT_EQ(detect_chip_format(path), ChipFormat::MstarRaw);

  const PhoenixHeader h = read_phoenix_header(path);
  EXPECT_EQ(h.rows, rows);
  EXPECT_EQ(h.cols, cols);
  EXPECT_EQ(h.phoenix_header_length % 512, 0);
  EXPECT_EQ(h.native_header_length, 0);
  EXPECT_EQ(h.fields.at("TargetType"), "bmp2_tank");
  EXPECT_EQ(h.fields.at("PhoenixHeaderLength"), "00000512");  // zero-padded, read as decimal
  EXPECT_EQ(std::filesystem::file_size(path), h.phoenix_header_length + 8u * rows * cols);

  const Chip c = read_chip(path);
  EXPECT_EQ(c.format, ChipFormat::MstarRaw);
  EXPECT_EQ(c.height, rows);  // NumberOfRows
  EXPECT_EQ(c.width, cols);   // NumberOfColumns
  EXPECT_EQ(c.pixels, mag);
  EXPECT_EQ(c.target_type, "bmp2_tank");
  EXPECT_EQ(c.serial_number, "9563");
  EXPECT_DOUBLE_EQ(c.azimuth_deg, 123.45);
  EXPECT_DOUBLE_EQ(c.depression_deg, 17.0);
}

TEST(ChipIo, MstarRawHandWrittenHeaderWithNativeHeader) {
  // Like the real files: header length not a multiple of 512, padded values, CRLF line ends,
  // a native header between the Phoenix header and the data.
  test::ScratchDir dir("chip");
  const std::string text =
      "[PhoenixHeaderVer01.04]\r\nPhoenixHeaderLength=   0000600\r\nnative_header_length= 0100\r\n"
      "NumberOfColumns= 3\r\n  NumberOfRows =2\r\nTargetType= t72_tank \r\n"
      "[EndofPhoenixHeader]\r\n";
  std::string bytes = raw_bytes(text, 600, 0) + std::string(100, 'x');
  const unsigned char one[4] = {0x3F, 0x80, 0x00, 0x00};   // 1.0f big-endian
  const unsigned char half[4] = {0x3F, 0x00, 0x00, 0x00};  // 0.5f
  for (int i = 0; i < 6; ++i) bytes.append(reinterpret_cast<const char*>(i % 2 ? half : one), 4);
  bytes += std::string(24, '\0');  // phases
  spit(dir.file("r.raw"), bytes);
  const Chip c = read_chip(dir.file("r.raw"));
  EXPECT_EQ(c.height, 2);
  EXPECT_EQ(c.width, 3);
  EXPECT_EQ(c.pixels, (std::vector<float>{1, 0.5f, 1, 0.5f, 1, 0.5f}));
  EXPECT_EQ(c.target_type, "t72_tank");
  EXPECT_TRUE(std::isnan(c.depression_deg));
}

TEST(ChipIo, FormatIsDetectedByContentNotExtension) {
  test::ScratchDir dir("chip");
  const auto px = ramp(4, 6);
  write_png_gray8(dir.file("png.jpeg"), 4, 6, px.data());
  write_jpeg_gray8(dir.file("jpeg.png"), 4, 6, px.data());
  write_mstar_raw(dir.file("raw.jpeg"), 4, 6, std::vector<float>(24, 2.0f), {}, {});
  spit(dir.file("text.png"), "hello, not an image\n");
  spit(dir.file("empty.jpeg"), "");
  EXPECT_EQ(detect_chip_format(dir.file("png.jpeg")), ChipFormat::Png);
  EXPECT_EQ(detect_chip_format(dir.file("jpeg.png")), ChipFormat::Jpeg);
  EXPECT_EQ(detect_chip_format(dir.file("raw.jpeg")), ChipFormat::MstarRaw);
  EXPECT_EQ(detect_chip_format(dir.file("text.png")), ChipFormat::Unknown);
  EXPECT_EQ(detect_chip_format(dir.file("empty.jpeg")), ChipFormat::Unknown);

  const Chip p = read_chip(dir.file("png.jpeg"));
  EXPECT_EQ(p.format, ChipFormat::Png);
  EXPECT_EQ(p.pixels[5], px[5]);
  EXPECT_EQ(read_chip(dir.file("jpeg.png")).format, ChipFormat::Jpeg);
  EXPECT_EQ(read_chip(dir.file("raw.jpeg")).pixels, std::vector<float>(24, 2.0f));
}

TEST(ChipIo, RealSoc3ChipIsDark128Square) {
  const std::string path = test::shared_path("data/mstar/soc3/train/BMP2/HB03787.000.jpeg");
  EXPECT_EQ(detect_chip_format(path), ChipFormat::Jpeg);
  const Chip c = read_chip(path);
  EXPECT_EQ(c.format, ChipFormat::Jpeg);
  ASSERT_EQ(c.height, 128);
  ASSERT_EQ(c.width, 128);
  double sum = 0;
  for (float v : c.pixels) {
    ASSERT_GE(v, 0.0f);
    ASSERT_LE(v, 255.0f);
    sum += v;
  }
  const double mean = sum / c.pixels.size();
  EXPECT_GT(mean, 0.5);
  EXPECT_LT(mean, 40.0);
}

TEST(ChipIo, RealOddSizedChipsHaveReadmeSizes) {
  // README lists w x h: 2S1 158x158, BRDM_2 128x129, D7 177x178, T62 172x173, ZIL131 192x193.
  struct Odd {
    const char* cls;
    const char* code;
    int width, height;
  };
  const Odd odd[] = {{"2S1", "000", 158, 158},
                     {"BRDM_2", "001", 128, 129},
                     {"D7", "005", 177, 178},
                     {"T62", "016", 172, 173},
                     {"ZIL131", "025", 192, 193}};
  for (const Odd& o : odd) {
    for (const char* scene : {"HB19377", "HB19379"}) {
      const std::string rel =
          std::string("data/mstar/odd-sizes/") + o.cls + "/" + scene + "." + o.code + ".jpeg";
      const Chip c = read_chip(test::shared_path(rel));
      EXPECT_EQ(c.width, o.width) << rel;
      EXPECT_EQ(c.height, o.height) << rel;
      EXPECT_EQ(c.pixels.size(), static_cast<std::size_t>(o.width) * o.height) << rel;
    }
  }
}

TEST(ChipIo, EveryRealSoc3ChipDecodesWithoutLibjpegWarnings) {
  // Warnings are errors in the reader, so this guards against rejecting good real data.
  std::size_t count = 0;
  for (const char* set : {"data/mstar/soc3", "data/mstar/soc3_e"}) {
    const std::string root = test::shared_path(set);
    if (!std::filesystem::exists(root)) continue;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
      if (!e.is_regular_file()) continue;
      EXPECT_NO_THROW({
        const Chip c = read_chip(e.path().string());
        EXPECT_EQ(c.width, 128) << e.path();
        EXPECT_EQ(c.height, 128) << e.path();
      }) << e.path();
      ++count;
    }
  }
  EXPECT_EQ(count, 2u * (698 + 1365));  // README counts for soc3 and soc3_e
}

TEST(ChipIo, ErrorsNameTheFile) {
  test::ScratchDir dir("chip");
  std::string e;

  e = error_of(dir.file("missing.jpeg"));
  EXPECT_TRUE(has(e, dir.file("missing.jpeg")) && has(e, "cannot open")) << e;

  spit(dir.file("empty.jpeg"), "");
  e = error_of(dir.file("empty.jpeg"));
  EXPECT_TRUE(has(e, dir.file("empty.jpeg")) && has(e, "0 bytes")) << e;

  spit(dir.file("notes.txt"), "a text file, not an image\n");
  e = error_of(dir.file("notes.txt"));
  EXPECT_TRUE(has(e, dir.file("notes.txt")) && has(e, "not a JPEG, PNG or MSTAR raw chip")) << e;

  // A real chip cut to half its bytes ("premature end" is only a libjpeg warning).
  const std::string real = slurp(test::shared_path("data/mstar/soc3/train/BMP2/HB03787.000.jpeg"));
  ASSERT_GT(real.size(), 100u);
  spit(dir.file("half.jpeg"), real.substr(0, real.size() / 2));
  e = error_of(dir.file("half.jpeg"));
  EXPECT_TRUE(has(e, dir.file("half.jpeg")) && has(e, "JPEG")) << e;

  const auto px = ramp(32, 32);
  write_jpeg_gray8(dir.file("w.jpeg"), 32, 32, px.data());
  const std::string jpg = slurp(dir.file("w.jpeg"));
  spit(dir.file("w.jpeg"), jpg.substr(0, jpg.size() / 2));
  e = error_of(dir.file("w.jpeg"));
  EXPECT_TRUE(has(e, dir.file("w.jpeg")) && has(e, "truncated")) << e;

  write_png_gray8(dir.file("t.png"), 32, 32, px.data());
  const std::string png = slurp(dir.file("t.png"));
  spit(dir.file("t.png"), png.substr(0, png.size() / 2));
  e = error_of(dir.file("t.png"));
  EXPECT_TRUE(has(e, dir.file("t.png")) && has(e, "PNG")) << e;

  std::string bad_crc = png;
  bad_crc[45] ^= 0x55;  // inside the IDAT data: the chunk CRC no longer matches
  spit(dir.file("crc.png"), bad_crc);
  e = error_of(dir.file("crc.png"));
  EXPECT_TRUE(has(e, dir.file("crc.png")) && has(e, "PNG")) << e;
}

TEST(ChipIo, MstarRawErrorsNameFileKeyAndSizes) {
  test::ScratchDir dir("chip");
  std::string e;

  const std::string no_rows =
      "[PhoenixHeaderVer01.04]\nPhoenixHeaderLength= 00000512\nnative_header_length= 0\n"
      "NumberOfColumns= 4\n[EndofPhoenixHeader]\n";
  spit(dir.file("norows.000"), raw_bytes(no_rows, 512, 32));
  e = error_of(dir.file("norows.000"));
  EXPECT_TRUE(has(e, dir.file("norows.000")) && has(e, "NumberOfRows")) << e;
  try {
    read_phoenix_header(dir.file("norows.000"));
    ADD_FAILURE() << "read_phoenix_header accepted a header without NumberOfRows";
  } catch (const Error& err) {
    EXPECT_TRUE(has(err.what(), "NumberOfRows")) << err.what();
  }

  // 4 x 4 needs 512 + 2 * 16 * 4 = 640 bytes; give it only the magnitudes (576 bytes).
  std::vector<float> mag(16, 1.0f);
  write_mstar_raw(dir.file("short.000"), 4, 4, mag, {}, {{"TargetType", "x"}});
  const std::string full = slurp(dir.file("short.000"));
  ASSERT_EQ(full.size(), 640u);
  spit(dir.file("short.000"), full.substr(0, 576));
  e = error_of(dir.file("short.000"));
  EXPECT_TRUE(has(e, dir.file("short.000")) && has(e, "expected 640 bytes") &&
              has(e, "found 576 bytes"))
      << e;
  spit(dir.file("long.000"), full + "extra");
  e = error_of(dir.file("long.000"));
  EXPECT_TRUE(has(e, dir.file("long.000")) && has(e, "expected 640") && has(e, "found 645")) << e;

  const std::string big_header =
      "[PhoenixHeaderVer01.04]\nPhoenixHeaderLength= 00099999\nnative_header_length= 0\n"
      "NumberOfColumns= 4\nNumberOfRows= 4\n[EndofPhoenixHeader]\n";
  spit(dir.file("bighdr.000"), raw_bytes(big_header, 512, 32));
  e = error_of(dir.file("bighdr.000"));
  EXPECT_TRUE(has(e, dir.file("bighdr.000")) && has(e, "99999") && has(e, "640 bytes")) << e;

  const std::string no_end =
      "[PhoenixHeaderVer01.04]\nPhoenixHeaderLength= 00000512\nnative_header_length= 0\n"
      "NumberOfColumns= 4\nNumberOfRows= 4\n";
  spit(dir.file("noend.000"), raw_bytes(no_end, 512, 32));
  e = error_of(dir.file("noend.000"));
  EXPECT_TRUE(has(e, dir.file("noend.000")) && has(e, "[EndofPhoenixHeader]")) << e;

  mag[5] = std::nanf("");
  write_mstar_raw(dir.file("nan.000"), 4, 4, mag, {}, {});
  e = error_of(dir.file("nan.000"));
  EXPECT_TRUE(has(e, dir.file("nan.000")) && has(e, "row 1, column 1")) << e;
}

// ---- Hostile headers (issue #15): sizes and offsets that overflowed -------------------------

// Each test below failed before the fix: it read out of bounds, allocated gigabytes or returned a
// 0 x 0 chip instead of raising one supsnn::Error naming the file.

std::string mstar_header(const std::string& phoenix_len, const std::string& native_len,
                         const std::string& rows, const std::string& cols) {
  return "[PhoenixHeaderVer01.04]\nPhoenixHeaderLength= " + phoenix_len +
         "\nnative_header_length= " + native_len + "\nNumberOfRows= " + rows +
         "\nNumberOfColumns= " + cols + "\n[EndofPhoenixHeader]\n";
}

TEST(ChipIo, MstarHeaderLengthSumCannotWrap) {
  // 2 * (2^63 - 1) wrapped to -2, and -2 + 8 * 4 * 8 = 254 = the file size: the magnitudes were
  // read from 2 bytes before the buffer.
  test::ScratchDir dir("chip");
  const std::string big = "9223372036854775807";
  const std::string f = dir.file("wrap.000");
  spit(f, raw_bytes(mstar_header(big, big, "4", "8"), 254, 0));
  ASSERT_EQ(slurp(f).size(), 254u);
  const std::string e = error_of(f);
  EXPECT_TRUE(has(e, f) && has(e, "PhoenixHeaderLength " + big) && has(e, "254 bytes")) << e;
  const std::string one_big = mstar_header(big, "0", "4", "8");
  spit(f, raw_bytes(one_big, 254, 0));
  EXPECT_TRUE(has(error_of(f), "past the end")) << error_of(f);
}

TEST(ChipIo, MstarRowsTimesColumnsCannotWrap) {
  test::ScratchDir dir("chip");
  // 65537 x (65536 + 2^32 * 65535) = 2^64 + 65536 wrapped to 65536 pixels: the size check passed
  // for a 513 KB file, and int(cols) = 65536 then asked for 65537 x 65536 floats (17 GB).
  // read_phoenix_header is used so that a regression fails here instead of allocating.
  const std::string hdr = mstar_header("512", "0", "65537", "281470681808896");
  const std::string f = dir.file("wrap.000");
  spit(f, raw_bytes(hdr, 512, 2 * 65536));
  try {
    const PhoenixHeader h = read_phoenix_header(f);
    ADD_FAILURE() << "accepted " << h.rows << " x " << h.cols;
  } catch (const Error& err) {
    EXPECT_TRUE(has(err.what(), f) && has(err.what(), "outside the supported")) << err.what();
  }
  // 2^32 x 2^32 = 2^64 wrapped to 0 pixels: a 0 x 0 chip from a header-only file.
  spit(f, raw_bytes(mstar_header("512", "0", "4294967296", "4294967296"), 512, 0));
  const std::string e = error_of(f);
  EXPECT_TRUE(has(e, f) && has(e, "4294967296 x 4294967296") && has(e, "outside the supported"))
      << e;
}

// What read_chip(path) throws, computed in a child process whose address space is capped at
// `cap` bytes above the parent's (a reader that tries to allocate more fails there).
std::string error_with_memory_cap(const std::string& path, long long cap) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
#if !defined(__SANITIZE_ADDRESS__) && !SUPSNN_HAS_ASAN
    // Sanitizers reserve terabytes of shadow memory up front; the cap only works without them.
    long long pages = 0;
    std::ifstream("/proc/self/statm") >> pages;
    const rlim_t limit = static_cast<rlim_t>(pages * ::sysconf(_SC_PAGESIZE) + cap);
    const rlimit rl{limit, limit};
    ::setrlimit(RLIMIT_AS, &rl);
#else
    (void)cap;
#endif
    std::string msg;
    try {
      read_chip(path);
      msg = "no error";
    } catch (const Error& e) {
      msg = e.what();
    } catch (const std::exception& e) {
      msg = std::string("not a supsnn::Error: ") + e.what();
    }
    const ssize_t n = ::write(fds[1], msg.data(), msg.size());
    ::_exit(n == static_cast<ssize_t>(msg.size()) ? 0 : 1);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return out;
}

TEST(ChipIo, HugeProgressiveJpegFailsBeforeLibjpegAllocates) {
  // A 302-byte progressive JPEG (a 16 x 16 grey image whose SOF2 marker was patched) claims
  // 65500 x 65500 pixels: libjpeg reserved its 8.4 GB coefficient buffer in
  // jpeg_start_decompress before the pixel limit was checked. With 1 GiB of address space the
  // old reader failed with libjpeg's "insufficient memory" instead of the size error.
  const std::string f =
      test::source_dir() + "/tests/fuzz/corpus/chip/crash-progressive-65500x65500.jpg";
  const std::string e = error_with_memory_cap(f, 1LL << 30);
  EXPECT_TRUE(has(e, f) && has(e, "JPEG of 65500 x 65500 pixels is outside the supported")) << e;
}

TEST(ChipIo, WritersRejectBadArguments) {
  test::ScratchDir dir("chip");
  const auto px = ramp(2, 2);
  EXPECT_THROW(write_png_gray8(dir.file("a.png"), 0, 2, px.data()), Error);
  EXPECT_THROW(write_jpeg_gray8(dir.file("a.jpg"), 2, 2, px.data(), 0), Error);
  EXPECT_THROW(write_png_gray8(dir.file("no/such/dir/a.png"), 2, 2, px.data()), Error);
  EXPECT_THROW(write_mstar_raw(dir.file("a.raw"), 2, 2, {1, 2, 3}, {}, {}), Error);
  EXPECT_THROW(write_mstar_raw(dir.file("a.raw"), 2, 2, {1, 2, 3, 4}, {}, {{"NumberOfRows", "9"}}),
               Error);
}

}  // namespace
}  // namespace supsnn
