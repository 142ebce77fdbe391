// supsnn prepare: real MSTAR chips (soc3, odd sizes), raw chips written here, preprocessing,
// provenance, and malformed inputs failing with the file named and no output written.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "data/dataset.hpp"
#include "data/prepare.hpp"
#include "io/chip_writer.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

namespace supsnn {
namespace {

TEST(Prepare, Soc3HasTheProtocolCounts) {
  PrepareOptions o;
  o.input = test::shared_path("data/mstar/soc3");
  PrepareStats st;
  const DatasetFile ds = prepare_dataset(o, &st);
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"BMP2", "BTR70", "T72"}));
  ASSERT_EQ(ds.splits.size(), 2u);
  EXPECT_EQ(ds.splits[0].name, "train");
  EXPECT_EQ(ds.splits[0].count, 698);
  EXPECT_EQ(ds.splits[1].name, "test");
  EXPECT_EQ(ds.splits[1].count, 1365);
  std::vector<int> per_class(3, 0);
  for (int l : ds.splits[1].labels) ++per_class[l];
  EXPECT_EQ(per_class, (std::vector<int>{587, 196, 582}));
  EXPECT_EQ(ds.splits[0].height, 128);
  EXPECT_EQ(ds.splits[0].images.size(), 698u * 128 * 128);
  EXPECT_EQ(ds.splits[0].source[0].rfind("train/BMP2/", 0), 0u) << ds.splits[0].source[0];
  EXPECT_TRUE(std::isnan(ds.splits[0].azimuth_deg[0]));  // JPEG chips carry no header
  EXPECT_EQ(st.chips, 698 + 1365);
  EXPECT_EQ(nlohmann::json::parse(ds.preprocessing)["crop"], 128);
}

TEST(Prepare, OddSizesNeedACrop) {
  PrepareOptions o;
  o.input = test::shared_path("data/mstar/odd-sizes");
  const DatasetFile ds = prepare_dataset(o);  // default --crop 128
  ASSERT_EQ(ds.splits.size(), 1u);
  EXPECT_EQ(ds.splits[0].count, 10);
  EXPECT_EQ(ds.class_names.size(), 5u);
  EXPECT_EQ(ds.splits[0].width, 128);
  o.crop = 0;
  const std::string e = test::error_of([&] { prepare_dataset(o); });
  EXPECT_NE(e.find("BRDM_2/HB19377.001.jpeg: 128 x 129 (w x h) differs from 158 x 158"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("--crop"), std::string::npos) << e;
  o.crop = 160;  // larger than the 128 x 129 chips
  EXPECT_NE(test::error_of([&] { prepare_dataset(o); }).find("smaller than --crop 160"),
            std::string::npos);
}

TEST(Prepare, CentreCropTakesTheMiddle) {
  test::ScratchDir dir("prep");
  fs::create_directories(dir.file("a"));
  std::vector<std::uint8_t> img(7 * 9);
  for (int i = 0; i < 63; ++i) img[i] = static_cast<std::uint8_t>(i * 4);
  write_png_gray8(dir.file("a/x.png"), 7, 9, img.data());  // 7 rows, 9 columns
  fs::create_directories(dir.file("b"));  // a second class: one class alone is refused
  write_png_gray8(dir.file("b/y.png"), 7, 9, img.data());
  PrepareOptions o;
  o.input = dir.str();
  o.crop = 3;
  const DatasetFile ds = prepare_dataset(o);
  // Rows 2..4, columns 3..5 of the 7 x 9 image.
  const std::vector<std::uint8_t> want = {84, 88, 92, 120, 124, 128, 156, 160, 164};
  ASSERT_EQ(ds.splits[0].images.size(), 18u);
  EXPECT_EQ(std::vector<std::uint8_t>(ds.splits[0].images.begin(), ds.splits[0].images.begin() + 9),
            want);
  o.contrast = "stretch";
  o.stretch_low = 0;
  o.stretch_high = 1;
  const DatasetFile st = prepare_dataset(o);
  EXPECT_EQ(st.splits[0].images.front(), 0);
  EXPECT_EQ(st.splits[0].images.back(), 255);
  o.contrast = "none";
  o.dtype = "float32";
  const DatasetFile f = prepare_dataset(o);
  EXPECT_EQ(f.splits[0].images_f32[4], 124.0f);
}

TEST(Prepare, RawChipsScaleAndKeepMetadata) {
  test::ScratchDir dir("prep");
  fs::create_directories(dir.file("T72/SN_132"));
  const int rows = 6, cols = 5;
  std::vector<float> mag(rows * cols), phase(rows * cols, 0.f);
  for (int i = 0; i < rows * cols; ++i) mag[i] = 0.01f * (i + 1);
  write_mstar_raw(dir.file("T72/SN_132/HB03333.015"), rows, cols, mag, phase,
                  {{"TargetType", "t72_tank"},
                   {"TargetSerNum", "132"},
                   {"TargetAz", "35.5"},
                   {"DesiredDepression", "17"}});
  fs::create_directories(dir.file("ZSU"));  // a second class, sorted after T72
  fs::copy_file(dir.file("T72/SN_132/HB03333.015"), dir.file("ZSU/HB03334.015"));
  PrepareOptions o;
  o.input = dir.str();
  o.crop = 4;
  DatasetFile ds = prepare_dataset(o);
  const Split& s = ds.splits[0];
  EXPECT_EQ(s.serial[0], "132");
  EXPECT_DOUBLE_EQ(s.azimuth_deg[0], 35.5);
  EXPECT_DOUBLE_EQ(s.depression_deg[0], 17);
  EXPECT_EQ(s.source[0], "T72/SN_132/HB03333.015");
  // Linear min-max over the whole chip (0.01 -> 0, 0.30 -> 255), then the centre 4 x 4 crop
  // (rows 1..4, columns 0..3 of the 6 x 5 chip: values 0.06 .. 0.24).
  EXPECT_EQ(s.images[0], static_cast<std::uint8_t>(std::lround((0.06 - 0.01) / 0.29 * 255)));
  o.scale = "db";
  o.db_range = 20;
  ds = prepare_dataset(o);
  // 20 log10(0.06 / 0.30) = -13.98 dB -> (20 - 13.98) / 20 * 255
  EXPECT_NEAR(ds.splits[0].images[0], (20 - 13.979) / 20 * 255, 1.0);
}

TEST(Prepare, MalformedInputsNameTheFileAndWriteNothing) {
  test::ScratchDir dir("prep");
  const std::string soc3 = test::shared_path("data/mstar/soc3/train/BMP2");
  const fs::path good = *fs::directory_iterator(soc3);
  auto fresh = [&](const std::string& name) {
    const std::string root = dir.file(name);
    fs::create_directories(root + "/BMP2");
    fs::create_directories(root + "/T72");
    fs::copy_file(good, root + "/BMP2/a.jpeg");
    fs::copy_file(good, root + "/T72/b.jpeg");
    return root;
  };
  struct Case {
    std::string name, needle;
    std::function<void(const std::string&)> spoil;
  };
  const std::vector<Case> cases = {
      {"text", "T72/notes.txt: not a JPEG, PNG or MSTAR raw chip",
       [](const std::string& r) { std::ofstream(r + "/T72/notes.txt") << "hello"; }},
      {"empty_class", "ZSU: empty class folder",
       [](const std::string& r) { fs::create_directories(r + "/ZSU"); }},
      {"zero_byte", "T72/zero.jpeg",
       [](const std::string& r) { std::ofstream(r + "/T72/zero.jpeg").close(); }},
      {"truncated", "T72/cut.jpeg: corrupt or truncated JPEG",
       [&](const std::string& r) {
         fs::copy_file(good, r + "/T72/cut.jpeg");
         fs::resize_file(r + "/T72/cut.jpeg", fs::file_size(good) / 2);
       }},
      {"raw_missing_key", "T72/r.000: MSTAR raw header has no NumberOfRows",
       [](const std::string& r) {
         write_mstar_raw(r + "/T72/r.000", 128, 128, std::vector<float>(128 * 128, 1.f), {}, {});
         std::fstream f(r + "/T72/r.000", std::ios::in | std::ios::out | std::ios::binary);
         std::string text(512, '\0');
         f.read(text.data(), 512);
         const auto at = text.find("NumberOfRows");
         f.seekp(static_cast<std::streamoff>(at));
         f << "NumberOfRowz";  // the key disappears, the length stays
       }},
      {"raw_length", "T72/r.001: MSTAR raw chip of 128 rows x 128 columns: expected",
       [](const std::string& r) {
         write_mstar_raw(r + "/T72/r.001", 128, 128, std::vector<float>(128 * 128, 1.f), {}, {});
         fs::resize_file(r + "/T72/r.001", fs::file_size(r + "/T72/r.001") - 100);
       }},
      {"loose_file", "stray.jpeg: file outside a class folder",
       [&](const std::string& r) { fs::copy_file(good, r + "/stray.jpeg"); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string root = fresh(c.name);
    c.spoil(root);
    auto r = test::run_supsnn("prepare --input " + root + " --output " + root + ".h5");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("supsnn: error: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(c.needle), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(fs::exists(root + ".h5"));
    for (const auto& e : fs::directory_iterator(dir.str()))
      EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
  }
  // The unspoiled tree prepares.
  const std::string ok = fresh("ok");
  auto r = test::run_supsnn("prepare --input " + ok + " --output " + ok + ".h5");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("train 2 chips; 2 classes, 128 x 128"), std::string::npos) << r.output;
}

// One class folder is no classification problem: one line naming the folder, nothing written.
TEST(Prepare, OneClassIsRefused) {
  test::ScratchDir dir("prep");
  const fs::path good = *fs::directory_iterator(test::shared_path("data/mstar/soc3/train/BMP2"));
  fs::create_directories(dir.file("in/BMP2"));
  fs::copy_file(good, dir.file("in/BMP2/a.jpeg"));
  const std::string in = dir.file("in"), out = dir.file("one.h5");
  auto r = test::run_supsnn("prepare --input " + in + " --output " + out);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(r.output, "supsnn: error: " + in +
                          ": one class folder (BMP2); at least 2 classes are needed to train a "
                          "classifier\n");
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.str()), fs::directory_iterator()), 1);
  // train/ and test/ splits with the same single class: refused too.
  fs::create_directories(dir.file("split/train/T72"));
  fs::create_directories(dir.file("split/test/T72"));
  fs::copy_file(good, dir.file("split/train/T72/a.jpeg"));
  fs::copy_file(good, dir.file("split/test/T72/b.jpeg"));
  PrepareOptions o;
  o.input = dir.file("split");
  EXPECT_NE(test::error_of([&] {
              prepare_dataset(o);
            }).find("split: one class folder (T72); at least 2 classes are needed"),
            std::string::npos);
}

// --output naming an existing folder: said at once, before any chip is read, and nothing is
// written into the folder.
TEST(Prepare, OutputThatIsADirectoryIsRefused) {
  test::ScratchDir dir("prep");
  fs::create_directories(dir.file("outdir"));
  const std::string in = test::shared_path("data/mstar/odd-sizes");
  auto r = test::run_supsnn("prepare --input " + in + " --output " + dir.file("outdir"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(r.output, "supsnn: error: " + dir.file("outdir") +
                          ": --output is a directory; give a file name, e.g. " +
                          dir.file("outdir") + "/dataset.h5\n");
  EXPECT_TRUE(fs::is_empty(dir.file("outdir")));
  r = test::run_supsnn("prepare --input " + in + " --output " + dir.file("no/such/d.h5"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(r.output, "supsnn: error: " + dir.file("no/such/d.h5") + ": output directory " +
                          dir.file("no/such") + " does not exist\n");
  // The library path (write_dataset through AtomicFile) says the same about a folder.
  PrepareOptions o;
  o.input = in;
  const std::string err =
      test::error_of([&] { write_dataset(dir.file("outdir"), prepare_dataset(o), "test"); });
  EXPECT_EQ(err, dir.file("outdir") + ": is a directory, expected a file name");
  EXPECT_TRUE(fs::is_empty(dir.file("outdir")));
}

TEST(Prepare, WrittenFileReadsBackWithProvenance) {
  test::ScratchDir dir("prep");
  PrepareOptions o;
  o.input = test::shared_path("data/mstar/odd-sizes");
  write_dataset(dir.file("odd.h5"), prepare_dataset(o), "test");
  SplitReader r(dir.file("odd.h5"), "train");
  EXPECT_EQ(r.class_names().size(), 5u);
  EXPECT_EQ(nlohmann::json::parse(r.preprocessing())["scale"], "linear");
  const Split all = r.read_all();
  EXPECT_EQ(all.source.size(), 10u);
  EXPECT_EQ(all.source[0], "2S1/HB19377.000.jpeg");
  // A subset in any order, with a repeat, comes back in that order.
  const Split some = r.read({7, 2, 7});
  ASSERT_EQ(some.count, 3);
  EXPECT_EQ(some.labels[0], all.labels[7]);
  EXPECT_TRUE(std::equal(some.images.begin(), some.images.begin() + 128 * 128,
                         all.images.begin() + 7 * 128 * 128));
  EXPECT_TRUE(std::equal(some.images.begin() + 128 * 128, some.images.begin() + 2 * 128 * 128,
                         all.images.begin() + 2 * 128 * 128));
}

}  // namespace
}  // namespace supsnn
