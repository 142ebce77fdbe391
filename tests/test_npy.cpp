// The .npy reader: dtypes, orders, and clear one-line errors for truncated or malformed files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "data/seed_import.hpp"
#include "io/npy.hpp"
#include "npy_writer.hpp"
#include "test_util.hpp"

namespace supsnn {
namespace {

std::string error_of(const std::string& path) {
  try {
    read_npy(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Npy, ReadsFloat64Uint8BoolAndFortranOrder) {
  test::ScratchDir dir("npy");
  const std::vector<double> f = {0, 1, 2, 3, 4, 5};
  test::write_npy(dir.file("f.npy"), "<f8", {2, 3}, f.data(), 48);
  auto a = read_npy(dir.file("f.npy"));
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(a.data, f);

  const std::uint8_t u[6] = {1, 0, 1, 1, 0, 0};
  test::write_npy(dir.file("u.npy"), "|u1", {3, 2}, u, 6);
  a = read_npy(dir.file("u.npy"));
  EXPECT_EQ(a.data, (std::vector<double>{1, 0, 1, 1, 0, 0}));
  test::write_npy(dir.file("b.npy"), "|b1", {6}, u, 6);
  EXPECT_EQ(read_npy(dir.file("b.npy")).shape, (std::vector<std::size_t>{6}));

  // Column-major on disk: element (i, j) at j*rows + i; returned row-major.
  const std::vector<double> col = {0, 3, 1, 4, 2, 5};
  test::write_npy(dir.file("fo.npy"), "<f8", {2, 3}, col.data(), 48, true);
  EXPECT_EQ(read_npy(dir.file("fo.npy")).data, f);
}

TEST(Npy, TruncatedFileNamesFileAndSizes) {
  test::ScratchDir dir("npy");
  std::vector<double> v(100, 1.0);
  test::write_npy(dir.file("t.npy"), "<f8", {10, 10}, v.data(), 800, false, 400);
  const std::string e = error_of(dir.file("t.npy"));
  EXPECT_NE(e.find(dir.file("t.npy")), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  EXPECT_NE(e.find("10 x 10 = 100 values"), std::string::npos) << e;
  EXPECT_NE(e.find("found 50 values"), std::string::npos) << e;
}

TEST(Npy, SeedsOwnTruncatedTestSampleIsRejected) {
  const std::string path = test::shared_path("data/seed/Test/Spikes/0.npy");
  const std::string e = error_of(path);
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("16384 x 71 = 1163264 values"), std::string::npos) << e;
  EXPECT_NE(e.find("found 1146864 values"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << "one line: " << e;
}

TEST(Npy, MalformedFilesAreRejected) {
  test::ScratchDir dir("npy");
  std::ofstream(dir.file("empty.npy")).close();
  EXPECT_NE(error_of(dir.file("empty.npy")).find("not a .npy file"), std::string::npos);
  std::ofstream(dir.file("text.npy")) << "hello world, not numpy at all";
  EXPECT_NE(error_of(dir.file("text.npy")).find("not a .npy file"), std::string::npos);
  const float fl[2] = {1, 2};
  test::write_npy(dir.file("f4.npy"), "<f4", {2}, fl, 8);
  EXPECT_NE(error_of(dir.file("f4.npy")).find("unsupported .npy dtype '<f4'"), std::string::npos);
  const double d[3] = {1, 2, 3};
  test::write_npy(dir.file("long.npy"), "<f8", {2}, d, 24);
  EXPECT_NE(error_of(dir.file("long.npy")).find("beyond"), std::string::npos);
  EXPECT_NE(error_of(dir.file("missing.npy")).find("cannot open"), std::string::npos);
}

// A version 1.0 .npy file from raw header text (as a hostile file would have it) and data bytes.
std::string npy_bytes(const std::string& header, const std::string& data) {
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  return out + header + data;
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Any exception but supsnn::Error escapes error_of() and fails the test as "threw an uncaught
// exception"; each of these files crashed the reader or threw something else before (issue #15).
TEST(Npy, WrappingShapeProductIsRejected) {
  test::ScratchDir dir("npy");
  // 3 x 6148914691236517206 = 2^64 + 2: the product wrapped to 2 and matched the 2 data bytes.
  for (const char* order : {"False", "True"}) {
    const std::string f = dir.file(std::string("wrap-") + order + ".npy");
    spit(f, npy_bytes(std::string("{'descr': '|u1', 'fortran_order': ") + order +
                          ", 'shape': (3, 6148914691236517206), }\n",
                      "\x01\x01"));
    const std::string e = error_of(f);
    EXPECT_NE(e.find(f), std::string::npos) << e;
    EXPECT_NE(e.find("more elements than fit"), std::string::npos) << e;
  }
  // <f8 with 2^61 + 1 elements: the byte count wrapped to 8 (std::length_error before).
  const std::string f8 = dir.file("f8.npy");
  spit(f8,
       npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693953,), }\n",
                 std::string(8, '\0')));
  const std::string e = error_of(f8);
  EXPECT_NE(e.find(f8), std::string::npos) << e;
  EXPECT_NE(e.find("more elements than fit"), std::string::npos) << e;
  // The seed's spike reader indexed (int) 6148914691236517206 rows of a 2-value array.
  const std::string seed = dir.file("seed.npy");
  spit(seed,
       npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (6148914691236517206, 3), "
                 "}\n",
                 "\x01\x01"));
  SpikeEvents ev;
  int m = 0, T = 0;
  const std::string es = test::error_of([&] { read_seed_spikes(seed, ev, &m, &T); });
  EXPECT_NE(es.find(seed), std::string::npos) << es;
  EXPECT_TRUE(ev.neuron.empty());
}

TEST(Npy, HugeOrMalformedShapeNumbersAreErrors) {
  test::ScratchDir dir("npy");
  // 21 digits: std::stoull threw std::out_of_range ("stoull", no file name) before.
  const std::string f = dir.file("digits.npy");
  spit(f, npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (123456789012345678901,), "
                    "}\n",
                    "\x01"));
  std::string e = error_of(f);
  EXPECT_NE(e.find(f), std::string::npos) << e;
  EXPECT_NE(e.find("too large"), std::string::npos) << e;
  for (const char* shape : {"(2, -1)", "(2, x)", "[2, 3]", "(2 3)", "(2,"}) {
    spit(f, npy_bytes(
                std::string("{'descr': '|u1', 'fortran_order': False, 'shape': ") + shape + ", }\n",
                std::string(6, '\1')));
    e = error_of(f);
    EXPECT_NE(e.find(f), std::string::npos) << shape << ": " << e;
    EXPECT_NE(e.find("malformed .npy header"), std::string::npos) << shape << ": " << e;
  }
  // A valid header with keys in another order and double quotes, as Python may write them.
  spit(f, npy_bytes("{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"|u1\"}",
                    std::string("\1\0", 2)));
  EXPECT_EQ(read_npy(f).data, (std::vector<double>{1, 0}));
}

TEST(Npy, OverlongHeaderIsRejectedWithoutRegex) {
  test::ScratchDir dir("npy");
  // A 50 KB descr overflowed the stack inside std::regex (exit 139) before.
  const std::string f = dir.file("descr.npy");
  spit(f, npy_bytes("{'descr': '" + std::string(50000, 'x') + "', 'fortran_order': False, " +
                        "'shape': (1,), }\n",
                    "\1"));
  std::string e = error_of(f);
  EXPECT_NE(e.find(f), std::string::npos) << e;
  EXPECT_NE(e.find("longer than the 10000 bytes"), std::string::npos) << e;
  // Under the cap: the dtype is refused and quoted, shortened, on one line.
  spit(f, npy_bytes("{'descr': '" + std::string(9000, 'x') + "\n', 'fortran_order': False, " +
                        "'shape': (1,), }\n",
                    "\1"));
  e = error_of(f);
  EXPECT_NE(e.find("unsupported .npy dtype 'xxxx"), std::string::npos) << e;
  EXPECT_LT(e.size(), 300u) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST(Npy, DirectoryAndUnreadablePathsGiveOsReason) {
  test::ScratchDir dir("npy");
  std::string e = error_of(dir.str());
  EXPECT_NE(e.find(dir.str() + ": not a regular file"), std::string::npos) << e;
  e = error_of(dir.file("missing.npy"));
  EXPECT_NE(e.find("No such file or directory"), std::string::npos) << e;
}

TEST(Npy, SkipBadFilesSkipsHostileSamples) {
  // --on-bad-file skip caught only supsnn::Error, so the 21-digit shape aborted the import.
  test::ScratchDir dir("npy");
  for (const char* sub : {"Train/Spikes", "Train/Labels"})
    std::filesystem::create_directories(dir.file(sub));
  const std::uint8_t spikes[8] = {1, 0, 0, 1, 0, 1, 1, 0};  // 4 inputs x 2 steps
  const double guide[2] = {0.5, 0.25};                      // 2 rows x T = 1
  test::write_npy(dir.file("Train/Spikes/0.npy"), "|u1", {4, 2}, spikes, 8);
  test::write_npy(dir.file("Train/Labels/0.npy"), "<f8", {2, 1}, guide, 16);
  spit(dir.file("Train/Spikes/1.npy"),
       npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (123456789012345678901, 2), "
                 "}\n",
                 "\1"));
  test::write_npy(dir.file("Train/Labels/1.npy"), "<f8", {2, 1}, guide, 16);
  // A 30-digit numeric file name made the numeric sort throw std::out_of_range.
  test::write_npy(dir.file("Train/Spikes/123456789012345678901234567890.npy"), "|u1", {4, 2},
                  spikes, 8);
  test::write_npy(dir.file("Train/Labels/123456789012345678901234567890.npy"), "<f8", {2, 1}, guide,
                  16);
  SeedImportOptions skip;
  skip.skip_bad_files = true;
  const DatasetFile ds = import_seed_folder(dir.str(), skip);
  ASSERT_EQ(ds.splits.size(), 1u);
  EXPECT_EQ(ds.splits[0].count, 2);
  const std::string e = test::error_of([&] { import_seed_folder(dir.str(), {}); });
  EXPECT_NE(e.find(dir.file("Train/Spikes/1.npy")), std::string::npos) << e;
}

}  // namespace
}  // namespace supsnn
