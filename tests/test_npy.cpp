// The .npy reader: dtypes, orders, and clear one-line errors for truncated or malformed files.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.hpp"
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

}  // namespace
}  // namespace supsnn
