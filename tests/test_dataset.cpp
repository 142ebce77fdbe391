// Dataset files: write/read round trips of both kinds, schema and shape checks, the seed import
// (good, truncated and malformed samples) and image encoding into events.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.hpp"
#include "data/dataset.hpp"
#include "data/seed_import.hpp"
#include "data/synth.hpp"
#include "io/h5.hpp"
#include "npy_writer.hpp"
#include "test_fixtures.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

namespace supsnn {
namespace {

TEST(Dataset, SpikeDatasetRoundTrips) {
  test::ScratchDir dir("ds");
  DatasetFile ds;
  ds.kind = "spikes";
  ds.class_names = {"a", "b", "c"};
  ds.splits.push_back(test::random_split(4, 3, 5, 9, 3, 0.2, 1));
  write_dataset(dir.file("s.h5"), ds, "unit test");
  std::vector<std::string> names;
  const Split s = read_split(dir.file("s.h5"), "train", &names);
  EXPECT_EQ(names, ds.class_names);
  EXPECT_EQ(s.count, 4);
  EXPECT_EQ(s.inputs(), 15);
  EXPECT_EQ(s.events.offsets, ds.splits[0].events.offsets);
  EXPECT_EQ(s.events.neuron, ds.splits[0].events.neuron);
  EXPECT_EQ(s.events.step, ds.splits[0].events.step);
  EXPECT_EQ(s.labels, ds.splits[0].labels);
  EXPECT_EQ(s.guidance, ds.splits[0].guidance);
  EXPECT_FALSE(has_split(dir.file("s.h5"), "test"));
  EXPECT_NE(test::error_of([&] {
              read_split(dir.file("s.h5"), "test", nullptr);
            }).find("no 'test' split"),
            std::string::npos);
}

TEST(Dataset, ImageDatasetRoundTripsAndEncodes) {
  test::ScratchDir dir("ds");
  SynthOptions opt;
  opt.train_per_class = 2;
  opt.height = opt.width = 32;
  const SynthSplit g = synth_generate(opt, false);
  DatasetFile ds;
  ds.kind = "images";
  ds.class_names = synth_class_names(3);
  Split s;
  s.name = "train";
  s.count = g.count;
  s.height = s.width = 32;
  s.images = g.images;
  s.labels.assign(g.labels.begin(), g.labels.end());
  ds.splits.push_back(s);
  write_dataset(dir.file("i.h5"), ds, "unit test");
  Split r = read_split(dir.file("i.h5"), "train", nullptr);
  EXPECT_EQ(r.images, g.images);
  EXPECT_EQ(r.guide_rows, 0);

  EXPECT_EQ(r.source.size(), 0u);
}

TEST(Dataset, SchemaAndShapeMismatchesAreClear) {
  test::ScratchDir dir("ds");
  EXPECT_NE(test::error_of([&] {
              read_split(dir.file("none.h5"), "train", nullptr);
            }).find("file not found"),
            std::string::npos);
  std::ofstream(dir.file("junk.h5")) << "not hdf5";
  EXPECT_NE(test::error_of([&] {
              read_split(dir.file("junk.h5"), "train", nullptr);
            }).find("not an HDF5 file"),
            std::string::npos);
  {
    auto f = h5::create_file(dir.file("other.h5"));
    h5::set_attr(f, "schema", std::string("something-else"));
  }
  EXPECT_NE(test::error_of([&] {
              read_split(dir.file("other.h5"), "train", nullptr);
            }).find("not a supsnn dataset"),
            std::string::npos);

  DatasetFile ds;
  ds.kind = "spikes";
  ds.class_names = {"a", "b", "c"};
  ds.splits.push_back(test::random_split(3, 2, 2, 5, 3, 0.5, 2));
  write_dataset(dir.file("v.h5"), ds, "unit test");
  { auto f = h5::open_file(dir.file("v.h5")); }
  // Future schema version.
  fs::copy_file(dir.file("v.h5"), dir.file("v2.h5"));
  {
    hid_t f = H5Fopen(dir.file("v2.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    h5::Handle h(f, H5Fclose, dir.file("v2.h5"));
    h5::set_attr(h, "schema_version", static_cast<std::int64_t>(99));
    // And a labels dataset of the wrong length in another copy below.
  }
  EXPECT_NE(test::error_of([&] {
              read_split(dir.file("v2.h5"), "train", nullptr);
            }).find("schema version 99"),
            std::string::npos);
  fs::copy_file(dir.file("v.h5"), dir.file("v3.h5"));
  {
    hid_t f = H5Fopen(dir.file("v3.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    h5::Handle h(f, H5Fclose, dir.file("v3.h5"));
    auto g = h5::open_group(h, "train");
    h5::set_attr(g, "count", static_cast<std::int64_t>(5));
  }
  const std::string e = test::error_of([&] { read_split(dir.file("v3.h5"), "train", nullptr); });
  EXPECT_NE(e.find("dataset labels has shape 3, expected 5"), std::string::npos) << e;
}

TEST(SeedImport, SharedSeedSamples) {
  const std::string seed = test::shared_path("data/seed");
  // The seed's archive has a truncated Test/Spikes/0.npy: importing fails and names it...
  const std::string e = test::error_of([&] { import_seed_folder(seed, {}); });
  EXPECT_NE(e.find("Test/Spikes/0.npy"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  // ...unless the user asks to skip malformed samples.
  SeedImportOptions skip;
  skip.skip_bad_files = true;
  const DatasetFile ds = import_seed_folder(seed, skip);
  ASSERT_EQ(ds.splits.size(), 2u);
  EXPECT_EQ(ds.splits[0].count, 3);
  EXPECT_EQ(ds.splits[1].count, 2);
  EXPECT_EQ(ds.splits[0].labels, (std::vector<std::int32_t>{0, 2, 1}));  // guidance winners
  EXPECT_EQ(ds.splits[0].events.offsets[1], 6921);  // spikes in Train/Spikes/0.npy
  EXPECT_EQ(ds.splits[0].height, 128);
  EXPECT_EQ(ds.splits[0].guide_rows, 3);
}

TEST(SeedImport, MalformedSamplesNameTheFile) {
  test::ScratchDir dir("seed");
  fs::create_directories(dir.file("Train/Spikes"));
  fs::create_directories(dir.file("Train/Labels"));
  const std::vector<double> spikes = {0, 1, 1, 0, 0, 0, 1, 1};  // 4 inputs x 2 samples
  const std::vector<double> guide = {1, 5, 2};                  // 3 rows x 1 step
  test::write_npy(dir.file("Train/Spikes/0.npy"), "<f8", {4, 2}, spikes.data(), 64);
  test::write_npy(dir.file("Train/Labels/0.npy"), "<f8", {3, 1}, guide.data(), 24);
  const DatasetFile ok = import_seed_folder(dir.str(), {});
  EXPECT_EQ(ok.splits[0].labels[0], 1);
  EXPECT_EQ(ok.splits[0].height, 2);

  const std::vector<double> half = {0, 0.5, 1, 0, 0, 0, 1, 1};
  test::write_npy(dir.file("Train/Spikes/1.npy"), "<f8", {4, 2}, half.data(), 64);
  test::write_npy(dir.file("Train/Labels/1.npy"), "<f8", {3, 1}, guide.data(), 24);
  std::string e = test::error_of([&] { import_seed_folder(dir.str(), {}); });
  EXPECT_NE(e.find("Train/Spikes/1.npy: value 0.5"), std::string::npos) << e;

  test::write_npy(dir.file("Train/Spikes/1.npy"), "<f8", {4, 2}, spikes.data(), 64);
  const std::vector<double> nan_guide = {1, NAN, 2};
  test::write_npy(dir.file("Train/Labels/1.npy"), "<f8", {3, 1}, nan_guide.data(), 24);
  e = test::error_of([&] { import_seed_folder(dir.str(), {}); });
  EXPECT_NE(e.find("Train/Labels/1.npy: guidance holds NaN"), std::string::npos) << e;

  const std::vector<double> wide(4 * 3, 0.0);
  test::write_npy(dir.file("Train/Labels/1.npy"), "<f8", {3, 1}, guide.data(), 24);
  test::write_npy(dir.file("Train/Spikes/1.npy"), "<f8", {4, 3}, wide.data(), 96);
  e = test::error_of([&] { import_seed_folder(dir.str(), {}); });
  EXPECT_NE(e.find("Train/Spikes/1.npy: shape 4 x 3 differs"), std::string::npos) << e;
}

}  // namespace
}  // namespace supsnn
