// Checkpoints (parallel HDF5): bit-exact round trips in double and float, reading at other world
// sizes than the writer's, damaged files (truncation, a flipped bit in the parameters, a missing
// dataset or attribute, a flipped bit in any small value: progress, Adam steps, metrics, classes,
// config, data files), the fallback to an older checkpoint, rotation, data file identities, a
// full disk and a read-only folder (a tmpfs mounted here), old and newer schema versions, and
// `supsnn inspect` / `supsnn bench --checkpoint`, the model's buffers (batch normalisation's
// running statistics: exact round trips, checksummed, optional). Registered at np = 1, 2 and 4.
#include <gtest/gtest.h>
#include <mpi.h>
#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "bench/checkpoint_bench.hpp"
#include "ckpt/checkpoint.hpp"
#include "io/h5.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

namespace supsnn {
namespace {

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

// A folder every rank uses (one node): rank 0 creates it and shares its name; removed at the end.
class SharedDir {
 public:
  explicit SharedDir(const std::string& tag) {
    static int counter = 0;
    char buf[512] = {};
    if (world_rank() == 0) {
      const auto p =
          fs::temp_directory_path() /
          ("supsnn-ckpt-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter));
      fs::remove_all(p);
      fs::create_directories(p);
      std::snprintf(buf, sizeof buf, "%s", p.c_str());
    }
    ++counter;
    MPI_Bcast(buf, sizeof buf, MPI_CHAR, 0, MPI_COMM_WORLD);
    path_ = buf;
  }
  ~SharedDir() {
    MPI_Barrier(MPI_COMM_WORLD);
    if (world_rank() == 0) fs::remove_all(path_);
  }
  SharedDir(const SharedDir&) = delete;
  SharedDir& operator=(const SharedDir&) = delete;
  const std::string& str() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Rank 0 changes files; everyone waits for it.
template <class F>
void on_rank0(F&& f) {
  if (world_rank() == 0) f();
  MPI_Barrier(MPI_COMM_WORLD);
}

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

// A state with every field set, awkward values included (NaN, -0, infinities, subnormals).
TrainState full_state(std::size_t n, bool single) {
  TrainState s = synthetic_train_state(n, single);
  const double special[] = {-0.0,
                            std::numeric_limits<double>::infinity(),
                            -std::numeric_limits<double>::infinity(),
                            std::numeric_limits<double>::quiet_NaN(),
                            single ? static_cast<double>(std::numeric_limits<float>::denorm_min())
                                   : std::numeric_limits<double>::denorm_min(),
                            single ? static_cast<double>(std::numeric_limits<float>::max())
                                   : std::numeric_limits<double>::max()};
  for (std::size_t i = 0; i < std::size(special) && i < n; ++i) {
    s.params[i] = special[i];
    s.adam_v[n - 1 - i] = special[i];
  }
  s.adam_steps = 77;
  s.epoch = 4;
  s.step_in_epoch = 3;
  s.global_step = 123;
  s.seed = 0xfedcba9876543210ULL;  // above INT64_MAX: stored unsigned
  s.epoch_loss_sum = 0.1 + 0.2;
  s.epoch_correct_sum = 17;
  s.class_names = {"2S1", "BRDM_2", "ZSU_23_4", "\xc3\xa9t\xc3\xa9"};  // UTF-8 too
  s.config_toml =
      "# supsnn train --set x=1\n[train]\nepochs = 30\nname = \"r\xc3\xa9sum\xc3\xa9\"\n";
  s.world_size = 3;
  s.global_batch = 96;
  s.version = "0.1.0";
  s.git_commit = "0123abcd";
  s.data_files = {{"train", "/data/soc_train.h5", 123456789, 0x8000000000000001ULL},
                  {"test", "/data/soc_test.h5", 42, 7}};
  s.history.clear();
  for (int e = 1; e <= 3; ++e) {
    EpochMetrics m;
    m.epoch = e;
    m.train_loss = 1.0 / (3 * e);
    m.train_accuracy = 0.5 + 0.1 * e;
    m.test_loss = e == 2 ? NAN : 0.7 / e;  // an epoch without test split: NaN and no confusion
    m.test_accuracy = e == 2 ? NAN : 0.6;
    if (e != 2)
      for (int q = 0; q < 16; ++q) m.test_confusion.push_back(q % 5 + e);
    m.lr = 1e-3 / e;
    m.samples_per_s = 1234.5;
    m.seconds = 9.75;
    s.history.push_back(m);
  }
  return s;
}

// Running statistics as a batch-normalised model holds them (means, then variances), values of
// the run's precision, awkward ones included; n not a multiple of 2 or 4 ranks.
std::vector<double> model_buffers(std::size_t n, bool single) {
  std::vector<double> b(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double x = i < n / 2 ? 0.1 * i - 1.7 : 1.0 / (i + 3);
    b[i] = single ? static_cast<float>(x) : x;
  }
  // A NaN with a payload (survives float32 exactly: 0x7fc00001), -0, infinity, a subnormal.
  const std::uint64_t nan_bits = 0x7ff8000020000000ULL;
  double nan = 0;
  std::memcpy(&nan, &nan_bits, sizeof nan);
  const double special[] = {nan, -0.0, std::numeric_limits<double>::infinity(),
                            single ? static_cast<double>(std::numeric_limits<float>::denorm_min())
                                   : std::numeric_limits<double>::denorm_min()};
  for (std::size_t i = 0; i < std::size(special) && i < n; ++i) b[i] = special[i];
  return b;
}

void expect_same(const TrainState& a, const TrainState& b) {
  EXPECT_EQ(a.single_precision, b.single_precision);
  EXPECT_TRUE(same_bits(a.params, b.params));
  EXPECT_TRUE(same_bits(a.adam_m, b.adam_m));
  EXPECT_TRUE(same_bits(a.adam_v, b.adam_v));
  EXPECT_EQ(a.adam_steps, b.adam_steps);
  EXPECT_TRUE(same_bits(a.ema, b.ema));
  EXPECT_TRUE(same_bits(a.buffers, b.buffers));
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.step_in_epoch, b.step_in_epoch);
  EXPECT_EQ(a.global_step, b.global_step);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_TRUE(same_bits(a.epoch_loss_sum, b.epoch_loss_sum));
  EXPECT_TRUE(same_bits(a.epoch_correct_sum, b.epoch_correct_sum));
  EXPECT_EQ(a.class_names, b.class_names);
  EXPECT_EQ(a.config_toml, b.config_toml);
  EXPECT_EQ(a.world_size, b.world_size);
  EXPECT_EQ(a.global_batch, b.global_batch);
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.git_commit, b.git_commit);
  ASSERT_EQ(a.data_files.size(), b.data_files.size());
  for (std::size_t i = 0; i < a.data_files.size(); ++i) {
    EXPECT_EQ(a.data_files[i].role, b.data_files[i].role);
    EXPECT_EQ(a.data_files[i].path, b.data_files[i].path);
    EXPECT_EQ(a.data_files[i].bytes, b.data_files[i].bytes);
    EXPECT_EQ(a.data_files[i].checksum, b.data_files[i].checksum);
  }
  ASSERT_EQ(a.history.size(), b.history.size());
  for (std::size_t i = 0; i < a.history.size(); ++i) {
    const auto &x = a.history[i], &y = b.history[i];
    EXPECT_EQ(x.epoch, y.epoch);
    using MetricField = double EpochMetrics::*;
    for (MetricField f :
         {&EpochMetrics::train_loss, &EpochMetrics::train_accuracy, &EpochMetrics::val_loss,
          &EpochMetrics::val_accuracy, &EpochMetrics::test_loss, &EpochMetrics::test_accuracy,
          &EpochMetrics::lr, &EpochMetrics::samples_per_s, &EpochMetrics::seconds})
      EXPECT_TRUE(same_bits(x.*f, y.*f)) << "epoch " << x.epoch;
    EXPECT_TRUE(same_bits(x.test_confusion, y.test_confusion)) << "epoch " << x.epoch;
  }
}

TEST(Checkpoint, PathNamesTheStep) {
  EXPECT_EQ(checkpoint_path("run/ckpt", 7), "run/ckpt/step-00000007.h5");
  EXPECT_EQ(checkpoint_path("d", 123456789), "d/step-123456789.h5");
}

TEST(Checkpoint, DoubleRoundTripIsBitIdentical) {
  const Comm world;
  SharedDir dir("double");
  const TrainState s = full_state(1001, false);  // not a multiple of 2 or 4 ranks
  const std::string path = checkpoint_path(dir.str(), s.global_step);
  const std::uint64_t bytes = write_checkpoint(world, path, s);
  EXPECT_EQ(bytes, fs::file_size(path));
  EXPECT_GT(bytes, 3 * 1001 * 8u);
  expect_same(s, read_checkpoint(world, path));
  // Nothing but the checkpoint is left in the folder (the temporary file was renamed).
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.str())) ++files;
  EXPECT_EQ(files, 1);
}

TEST(Checkpoint, FloatRoundTripStoresFloat32) {
  const Comm world;
  SharedDir dir("float");
  const TrainState s = full_state(999, true);
  const std::string path = checkpoint_path(dir.str(), s.global_step);
  write_checkpoint(world, path, s);
  expect_same(s, read_checkpoint(world, path));
  on_rank0([&] {
    const auto f = h5::open_file(path);
    for (const char* name : {"model/params", "optimizer/adam_m", "optimizer/adam_v"}) {
      EXPECT_EQ(h5::shape(f, name), std::vector<hsize_t>{999});
      const h5::Handle ds(H5Dopen2(f.id(), name, H5P_DEFAULT), H5Dclose, path);
      const h5::Handle t(H5Dget_type(ds.id()), H5Tclose, path);
      EXPECT_EQ(H5Tget_class(t.id()), H5T_FLOAT);
      EXPECT_EQ(H5Tget_size(t.id()), 4u) << name;
    }
    EXPECT_EQ(h5::attr_string(f, "schema"), "supsnn-checkpoint");
    EXPECT_EQ(h5::attr_int(f, "param_count"), 999);
  });
}

TEST(Checkpoint, FewerParametersThanRanksAndNone) {
  const Comm world;
  SharedDir dir("tiny");
  for (std::size_t n : {0u, 1u, 3u}) {
    TrainState s = full_state(n, false);
    s.history.clear();
    s.class_names.clear();
    s.data_files.clear();
    s.config_toml.clear();
    const std::string path = checkpoint_path(dir.str(), static_cast<long>(n));
    write_checkpoint(world, path, s);
    expect_same(s, read_checkpoint(world, path));
  }
}

// Written by min(2, np) ranks, read by all np ranks and by each rank alone: at np = 4 a file of
// 2 writers is read at 4 and at 1, at np = 2 one of 2 writers at 2 and at 1.
TEST(Checkpoint, ReadsAtOtherWorldSizes) {
  const Comm world;
  SharedDir dir("worlds");
  const TrainState s = full_state(4099, false);
  const std::string path = checkpoint_path(dir.str(), s.global_step);
  MPI_Comm writers = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, world.rank() < 2 ? 0 : MPI_UNDEFINED, world.rank(), &writers);
  if (writers != MPI_COMM_NULL) {
    const Comm w(writers);
    EXPECT_EQ(w.size(), std::min(2, world.size()));
    write_checkpoint(w, path, s);
    MPI_Comm_free(&writers);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  expect_same(s, read_checkpoint(world, path));
  expect_same(s, read_checkpoint(Comm(MPI_COMM_SELF), path));
  MPI_Barrier(MPI_COMM_WORLD);
}

TEST(Checkpoint, TruncatedFileFailsNamingIt) {
  const Comm world;
  SharedDir dir("trunc");
  const TrainState s = full_state(20000, false);
  const std::string path = checkpoint_path(dir.str(), s.global_step);
  write_checkpoint(world, path, s);
  on_rank0([&] { fs::resize_file(path, fs::file_size(path) / 2); });
  const std::string err = test::error_of([&] { read_checkpoint(world, path); });
  EXPECT_EQ(err.rfind(path + ": ", 0), 0u) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
}

// Offset in the file of dataset `name`'s first byte (contiguous storage).
std::uint64_t data_offset(const std::string& path, const char* name) {
  const auto f = h5::open_file(path);
  const h5::Handle ds(H5Dopen2(f.id(), name, H5P_DEFAULT), H5Dclose, path);
  return H5Dget_offset(ds.id());
}

void flip_bit(const std::string& path, std::uint64_t at) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(at));
  char c = 0;
  f.read(&c, 1);
  c ^= 0x10;
  f.seekp(static_cast<std::streamoff>(at));
  f.write(&c, 1);
}

// Flips bit `bit` of byte `byte` of attribute `attr` of object `obj` ("." = the root) through
// the HDF5 C API: the value as stored (numbers, fixed-length strings) with one bit changed. The
// attribute is deleted and created again with the same type (HDF5 1.10 cannot always H5Awrite
// an attribute of a file written through MPI-IO: "can't locate open attribute").
void flip_attr_bit(const std::string& path, const char* obj, const char* attr, std::size_t byte,
                   int bit) {
  const h5::Handle f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose, path);
  ASSERT_GE(f.id(), 0) << path;
  std::vector<unsigned char> buf;
  h5::Handle t;
  {
    const h5::Handle a(H5Aopen_by_name(f.id(), obj, attr, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
                       path);
    ASSERT_GE(a.id(), 0) << obj << " " << attr;
    t = h5::Handle(H5Aget_type(a.id()), H5Tclose, path);
    buf.resize(H5Tget_size(t.id()));
    ASSERT_LT(byte, buf.size()) << attr;
    ASSERT_GE(H5Aread(a.id(), t.id(), buf.data()), 0);
  }
  buf[byte] ^= static_cast<unsigned char>(1u << bit);
  ASSERT_GE(H5Adelete_by_name(f.id(), obj, attr, H5P_DEFAULT), 0);
  const h5::Handle sp(H5Screate(H5S_SCALAR), H5Sclose, path);
  const h5::Handle a(
      H5Acreate_by_name(f.id(), obj, attr, t.id(), sp.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose, path);
  ASSERT_GE(a.id(), 0) << attr << ": " << h5::error_reason();
  ASSERT_GE(H5Awrite(a.id(), t.id(), buf.data()), 0) << attr << ": " << h5::error_reason();
}

// The same for byte `byte` of all the stored elements of dataset `name`, in row-major order.
void flip_dataset_bit(const std::string& path, const char* name, std::size_t byte, int bit) {
  const h5::Handle f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose, path);
  ASSERT_GE(f.id(), 0) << path;
  const h5::Handle d(H5Dopen2(f.id(), name, H5P_DEFAULT), H5Dclose, path);
  ASSERT_GE(d.id(), 0) << name;
  const h5::Handle t(H5Dget_type(d.id()), H5Tclose, path), sp(H5Dget_space(d.id()), H5Sclose, path);
  std::vector<unsigned char> buf(H5Tget_size(t.id()) * H5Sget_simple_extent_npoints(sp.id()));
  ASSERT_LT(byte, buf.size()) << name;
  ASSERT_GE(H5Dread(d.id(), t.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), 0);
  buf[byte] ^= static_cast<unsigned char>(1u << bit);
  ASSERT_GE(H5Dwrite(d.id(), t.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), 0)
      << name << ": " << h5::error_reason();
}

TEST(Checkpoint, FlippedBitInParametersFailsChecksum) {
  const Comm world;
  SharedDir dir("flip");
  for (const char* name : {"model/params", "optimizer/adam_v"}) {
    for (bool single : {false, true}) {
      const TrainState s = full_state(5000, single);
      const std::string path = checkpoint_path(dir.str(), single);
      write_checkpoint(world, path, s);
      on_rank0([&] { flip_bit(path, data_offset(path, name) + 4321); });
      const std::string err = test::error_of([&] { read_checkpoint(world, path); });
      EXPECT_EQ(err.rfind(path + ": ", 0), 0u) << err;
      EXPECT_NE(err.find("checksum mismatch"), std::string::npos) << name << ": " << err;
    }
  }
}

// optim.ema: the weight average is a fourth parameter-sized array, read back exactly at another
// world size and covered by the checksum; a state without one reads back without one.
TEST(Checkpoint, WeightAverageRoundTripsAndIsChecksummed) {
  const Comm world;
  SharedDir dir("ema");
  for (bool single : {false, true}) {
    TrainState s = full_state(3001, single);
    s.ema.assign(s.adam_m.rbegin(), s.adam_m.rend());  // values of the run's precision
    const std::string path = checkpoint_path(dir.str(), single);
    write_checkpoint(world, path, s);
    expect_same(s, read_checkpoint(world, path));
    expect_same(s, read_checkpoint(Comm(MPI_COMM_SELF), path));
    MPI_Barrier(MPI_COMM_WORLD);  // every rank's own read is done before rank 0 damages the file
    on_rank0([&] { flip_bit(path, data_offset(path, "optimizer/ema") + 1234); });
    const std::string err = test::error_of([&] { read_checkpoint(world, path); });
    EXPECT_NE(err.find("checksum mismatch"), std::string::npos) << err;
  }
  TrainState s = full_state(10, false);
  s.ema.assign(9, 0.0);
  const std::string bad = dir.file("step-00000009.h5");
  const std::string err = test::error_of([&] { write_checkpoint(world, bad, s); });
  EXPECT_NE(err.find("weight average has 9 values, expected 10"), std::string::npos) << err;
  on_rank0([&] { EXPECT_FALSE(fs::exists(bad)); });
}

// The model's buffers (batch normalisation's running statistics) come back bit for bit in the
// run's precision, at other world sizes too; a model without any writes no model/buffers and
// reads back none.
TEST(Checkpoint, ModelBuffersRoundTripExactly) {
  const Comm world;
  SharedDir dir("buffers");
  for (bool single : {false, true}) {
    SCOPED_TRACE(single ? "float" : "double");
    TrainState s = full_state(1001, single);
    s.buffers = model_buffers(203, single);
    const std::string path = checkpoint_path(dir.str(), single);
    write_checkpoint(world, path, s);
    expect_same(s, read_checkpoint(world, path));
    expect_same(s, read_checkpoint(Comm(MPI_COMM_SELF), path));
    MPI_Barrier(MPI_COMM_WORLD);
    on_rank0([&] {
      const auto f = h5::open_file(path);
      EXPECT_EQ(h5::shape(f, "model/buffers"), std::vector<hsize_t>{203});
      const h5::Handle ds(H5Dopen2(f.id(), "model/buffers", H5P_DEFAULT), H5Dclose, path);
      const h5::Handle t(H5Dget_type(ds.id()), H5Tclose, path);
      EXPECT_EQ(H5Tget_class(t.id()), H5T_FLOAT);
      EXPECT_EQ(H5Tget_size(t.id()), single ? 4u : 8u);
    });
  }
  for (bool single : {false, true}) {
    const TrainState s = full_state(100, single);
    ASSERT_TRUE(s.buffers.empty());
    const std::string path = checkpoint_path(dir.str(), 10 + single);
    write_checkpoint(world, path, s);
    const TrainState got = read_checkpoint(world, path);
    EXPECT_TRUE(got.buffers.empty());
    expect_same(s, got);
    on_rank0([&] { EXPECT_FALSE(h5::exists(h5::open_file(path), "model/buffers")); });
  }
}

// One flipped bit in the stored buffers is a checksum mismatch of the small values, naming the
// file, in either precision; the quiet bit of a float32 NaN too (the checksum is over the stored
// bits, not the values widened to double, which would quiet a signalling NaN again). Removing
// the dataset is a mismatch as well.
TEST(Checkpoint, FlippedBitInModelBuffersFailsChecksum) {
  const Comm world;
  SharedDir dir("buffers-flip");
  struct Case {
    bool single;
    std::size_t byte;
    int bit;
  };
  // Element 0 is a NaN with a payload: byte 2 bit 6 of a float32 is its quiet bit, and clearing it
  // makes a signalling NaN. Element 57: a running mean.
  for (const Case c : {Case{false, 8 * 57 + 3, 1}, Case{true, 4 * 57 + 0, 0}, Case{true, 2, 6}}) {
    SCOPED_TRACE(std::to_string(c.single) + " byte " + std::to_string(c.byte));
    TrainState s = full_state(300, c.single);
    s.buffers = model_buffers(120, c.single);
    const std::string path = checkpoint_path(dir.str(), 1);
    write_checkpoint(world, path, s);
    on_rank0([&] { flip_dataset_bit(path, "model/buffers", c.byte, c.bit); });
    const std::string err = test::error_of([&] { read_checkpoint(world, path); });
    EXPECT_EQ(err.rfind(path + ": checksum mismatch (stored checksum_small_crc32 ", 0), 0u) << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
    MPI_Barrier(MPI_COMM_WORLD);  // all reads done before the next write replaces the file
  }
  TrainState s = full_state(300, false);
  s.buffers = model_buffers(120, false);
  const std::string path = checkpoint_path(dir.str(), 2);
  write_checkpoint(world, path, s);
  on_rank0([&] {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "model/buffers", H5P_DEFAULT);
    H5Fclose(f);
  });
  EXPECT_EQ(test::error_of([&] {
              read_checkpoint(world, path);
            }).rfind(path + ": checksum mismatch (stored checksum_small_crc32 ", 0),
            0u);
}

// A checkpoint as supsnn wrote it before model/buffers existed still verifies and reads with no
// buffers: without buffers the file and its checksum_small_crc32 are unchanged. The pinned
// values are what the previous supsnn (commit f28461b) wrote for these states.
TEST(Checkpoint, FileWithoutBuffersKeepsItsChecksum) {
  const Comm world;
  SharedDir dir("buffers-old");
  const std::uint64_t crc_before[2] = {0x0aeaec75 /* double */, 0xd162baa4 /* float */};
  for (bool single : {false, true}) {
    const TrainState s = full_state(777, single);
    const std::string path = checkpoint_path(dir.str(), single);
    write_checkpoint(world, path, s);
    on_rank0([&] {
      const auto f = h5::open_file(path);
      const std::uint64_t crc = h5::attr_u64(f, "checksum_small_crc32");
      EXPECT_EQ(crc, crc_before[single]) << std::hex << crc;
      EXPECT_EQ(h5::attr_int(f, "schema_version"), 2);
      EXPECT_FALSE(h5::exists(h5::open_group(f, "model"), "buffers"));
    });
    const TrainState got = read_checkpoint(world, path);
    EXPECT_TRUE(got.buffers.empty());
    expect_same(s, got);
  }
}

TEST(Checkpoint, MissingFieldsAndOtherFilesFail) {
  const Comm world;
  SharedDir dir("missing");
  const TrainState s = full_state(100, false);
  const std::string a = dir.file("step-00000001.h5"), b = dir.file("step-00000002.h5"),
                    other = dir.file("model.h5"), text = dir.file("notes.h5");
  write_checkpoint(world, a, s);
  write_checkpoint(world, b, s);
  on_rank0([&] {
    hid_t f = H5Fopen(a.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "metrics/lr", H5P_DEFAULT);
    H5Fclose(f);
    f = H5Fopen(b.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Adelete(f, "checksum_crc32");  // as if the writer had died before its last attribute
    H5Fclose(f);
    const auto m = h5::create_file(other);
    h5::set_attr(m, "schema", std::string("supsnn-model"));
    std::ofstream(text) << "not hdf5\n";
  });
  std::string err = test::error_of([&] { read_checkpoint(world, a); });
  EXPECT_EQ(err, a + ": missing dataset 'lr'");
  err = test::error_of([&] { read_checkpoint(world, b); });
  EXPECT_EQ(err, b + ": missing attribute 'checksum_crc32'");
  err = test::error_of([&] { read_checkpoint(world, other); });
  EXPECT_NE(err.find(other + ": not a supsnn checkpoint (schema 'supsnn-model'"), std::string::npos)
      << err;
  err = test::error_of([&] { read_checkpoint(world, text); });
  EXPECT_EQ(err, text + ": not an HDF5 file (or truncated)");
  err = test::error_of([&] { read_checkpoint(world, dir.file("absent.h5")); });
  EXPECT_EQ(err, dir.file("absent.h5") + ": file not found");
}

TEST(Checkpoint, WriteIntoMissingFolderFails) {
  const Comm world;
  SharedDir dir("nofolder");
  const std::string path = dir.file("no/such/step-00000001.h5");
  const std::string err =
      test::error_of([&] { write_checkpoint(world, path, full_state(10, false)); });
  EXPECT_NE(err.find("does not exist"), std::string::npos) << err;
}

TEST(Checkpoint, FindLatestFallsBackToOlderGoodOne) {
  const Comm world;
  SharedDir dir("latest");
  std::vector<std::string> warnings;
  auto warn = [&](const std::string& w) { warnings.push_back(w); };
  EXPECT_EQ(find_latest_checkpoint(world, dir.str(), warn), "");
  EXPECT_EQ(find_latest_checkpoint(world, dir.file("absent"), warn), "");
  EXPECT_TRUE(warnings.empty());

  TrainState s = full_state(3000, false);
  for (long step : {10, 20, 30, 9}) {
    s.global_step = step;
    write_checkpoint(world, checkpoint_path(dir.str(), step), s);
  }
  const std::string p20 = checkpoint_path(dir.str(), 20), p30 = checkpoint_path(dir.str(), 30);
  on_rank0([&] {
    fs::resize_file(p30, fs::file_size(p30) / 2);
    // Temporary files (even complete ones) and other names are never candidates.
    fs::copy_file(p20, dir.file(".step-00000040.h5.tmp-999"));
    fs::copy_file(p20, dir.file("step-00000050.h5.bak"));
    fs::copy_file(p20, dir.file("step-x.h5"));
  });
  EXPECT_EQ(find_latest_checkpoint(world, dir.str(), warn), p20);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].rfind(p30 + ": ", 0), 0u) << warnings[0];
  EXPECT_NE(warnings[0].find("; falling back to older checkpoint"), std::string::npos)
      << warnings[0];
  EXPECT_EQ(read_checkpoint(world, p20).global_step, 20);

  // Steps compare as numbers, not as text.
  s.global_step = 123456789;
  write_checkpoint(world, checkpoint_path(dir.str(), s.global_step), s);
  warnings.clear();
  EXPECT_EQ(find_latest_checkpoint(world, dir.str(), warn), checkpoint_path(dir.str(), 123456789));
  EXPECT_TRUE(warnings.empty());

  // All damaged: none, and a warning for each.
  SharedDir bad("latest-bad");
  on_rank0([&] {
    std::ofstream(checkpoint_path(bad.str(), 1)) << "x";
    std::ofstream(checkpoint_path(bad.str(), 2)) << "y";
  });
  warnings.clear();
  EXPECT_EQ(find_latest_checkpoint(world, bad.str(), warn), "");
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0].rfind(checkpoint_path(bad.str(), 2) + ": ", 0), 0u) << warnings[0];
  EXPECT_NE(warnings[1].find("no older checkpoint"), std::string::npos) << warnings[1];
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

TEST(Checkpoint, RotationKeepsLastAndEveryMth) {
  if (world_rank() != 0) GTEST_SKIP() << "rank 0's job";
  test::ScratchDir dir("rotate");
  auto fill = [&] {
    for (long step = 1; step <= 12; ++step) std::ofstream(checkpoint_path(dir.str(), step)) << "c";
    std::ofstream(dir.file(".step-00000013.h5.tmp-4242")) << "partial";
    std::ofstream(dir.file("notes.txt")) << "kept";
  };
  fill();
  rotate_checkpoints(dir.str(), 3, 5);
  EXPECT_EQ(names_in(dir.str()),
            (std::vector<std::string>{"notes.txt", "step-00000005.h5", "step-00000010.h5",
                                      "step-00000011.h5", "step-00000012.h5"}));
  fill();
  rotate_checkpoints(dir.str(), 2, 0);
  EXPECT_EQ(names_in(dir.str()),
            (std::vector<std::string>{"notes.txt", "step-00000011.h5", "step-00000012.h5"}));
  fill();
  rotate_checkpoints(dir.str(), 0, 0);  // the newest always stays
  EXPECT_EQ(names_in(dir.str()), (std::vector<std::string>{"notes.txt", "step-00000012.h5"}));
  rotate_checkpoints(dir.file("absent"), 1, 0);  // nothing to do, no error
}

TEST(Checkpoint, DataFileIdentity) {
  if (world_rank() != 0) GTEST_SKIP() << "rank 0's job";
  test::ScratchDir dir("ident");
  const std::string a = dir.file("a.h5"), small = dir.file("small.h5");
  std::vector<char> bytes(3 << 20);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 + (i >> 12));
  auto write = [&](const std::vector<char>& b) {
    std::ofstream(a, std::ios::binary).write(b.data(), static_cast<std::streamsize>(b.size()));
    return identify_data_file("train", a);
  };
  const DataFileId id = write(bytes);
  EXPECT_EQ(id.role, "train");
  EXPECT_EQ(id.path, a);
  EXPECT_EQ(id.bytes, bytes.size());
  EXPECT_EQ(write(bytes).checksum, id.checksum);
  auto changed = bytes;
  changed[bytes.size() - 10] ^= 1;  // last MiB
  EXPECT_NE(write(changed).checksum, id.checksum);
  changed = bytes;
  changed[100] ^= 1;  // first MiB
  EXPECT_NE(write(changed).checksum, id.checksum);
  changed = bytes;
  changed[bytes.size() / 2] ^= 1;  // the middle is not read (by design: cheap on large files)
  EXPECT_EQ(write(changed).checksum, id.checksum);
  changed = bytes;
  changed.push_back(0);
  EXPECT_NE(write(changed).checksum, id.checksum);
  std::ofstream(small) << "tiny";
  EXPECT_EQ(identify_data_file("test", small).bytes, 4u);
  EXPECT_NE(
      test::error_of([&] { identify_data_file("test", dir.file("absent.h5")); }).find("absent.h5"),
      std::string::npos);
}

// `supsnn inspect` and `supsnn bench --checkpoint` (serial commands: run once, at np = 1).
TEST(Checkpoint, InspectCommand) {
  if (Comm().size() != 1) GTEST_SKIP() << "serial command, tested at np = 1";
  test::ScratchDir dir("inspect");
  const TrainState s = full_state(1001, false);
  const std::string path = checkpoint_path(dir.str(), s.global_step);
  write_checkpoint(Comm(), path, s);
  auto r = test::run_supsnn("inspect " + path);
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* want :
       {"schema:            supsnn-checkpoint", "supsnn 0.1.0 (commit 0123abcd)",
        "epoch 4, step 3 of the epoch next; 123 steps done", "world size:        3",
        "global batch:      96", "precision:         double (float64)",
        "parameters:        1001 (+ Adam moments, 77 Adam steps)", "checksum verified: yes",
        "data file:         train /data/soc_train.h5 (123456789 bytes",
        "metrics:           3 epochs", "last: epoch 3", "config:            "})
    EXPECT_NE(r.output.find(want), std::string::npos) << want << "\n" << r.output;
  EXPECT_EQ(r.output.find("epochs = 30"), std::string::npos) << r.output;
  r = test::run_supsnn("inspect --config " + path);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("config:\n" + s.config_toml), std::string::npos) << r.output;

  // A model file: its attributes and dataset shapes.
  const std::string model = dir.file("model.h5");
  {
    const auto f = h5::create_file(model);
    h5::set_attr(f, "schema", std::string("supsnn-model"));
    h5::set_attr(f, "schema_version", static_cast<std::int64_t>(1));
    h5::set_attr(f, "height", static_cast<std::int64_t>(2));
    const std::vector<double> w(12, 0.5);
    h5::write(f, "W", {3, 4}, w.data());
    h5::write_strings(f, "class_names", {"a", "b", "c"});
  }
  r = test::run_supsnn("inspect " + model);
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* want :
       {"schema", "\"supsnn-model\"", "height", "W ", "float64", "3 x 4", "class_names", "string"})
    EXPECT_NE(r.output.find(want), std::string::npos) << want << "\n" << r.output;

  // Anything else: one clear line and exit 1.
  const std::string other = dir.file("data.h5"), text = dir.file("notes.txt");
  {
    const auto f = h5::create_file(other);
    h5::set_attr(f, "schema", std::string("supsnn-other"));
  }
  std::ofstream(text) << "hello\n";
  for (const auto& [file, needle] :
       {std::pair{other, "not a supsnn checkpoint, model or dataset file (schema 'supsnn-other')"},
        std::pair{text, "not an HDF5 file (or truncated)"},
        std::pair{dir.file("absent.h5"), "file not found"}}) {
    r = test::run_supsnn("inspect " + file);
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_EQ(r.output, "supsnn: error: " + file + ": " + needle + "\n");
  }

  // A damaged checkpoint: what its attributes say, "no", the reason, exit 1.
  flip_bit(path, data_offset(path, "optimizer/adam_m") + 100);
  r = test::run_supsnn("inspect " + path);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("global_step"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("checksum verified: no"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("supsnn: error: " + path + ": checksum mismatch"), std::string::npos)
      << r.output;

  // Schema 2 names both checksums; a flipped bit in a small value is caught by inspect too.
  const std::string p2 = checkpoint_path(dir.str(), 7);
  write_checkpoint(Comm(), p2, s);
  r = test::run_supsnn("inspect " + p2);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(" of the arrays, "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" of all other values)"), std::string::npos) << r.output;
  flip_attr_bit(p2, "progress", "step_in_epoch", 0, 2);
  r = test::run_supsnn("inspect " + p2);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("checksum verified: no"), std::string::npos) << r.output;
  EXPECT_NE(
      r.output.find("supsnn: error: " + p2 + ": checksum mismatch (stored checksum_small_crc32"),
      std::string::npos)
      << r.output;
}

TEST(Checkpoint, BenchCommand) {
  if (Comm().size() != 1) GTEST_SKIP() << "serial command, tested at np = 1";
  test::ScratchDir dir("bench");
  const auto r = test::run_supsnn("bench --checkpoint " + dir.str() +
                                  " --checkpoint-mb 3 --checkpoint-repeats 1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("125000 parameters"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("MB/s"), std::string::npos) << r.output;
  EXPECT_TRUE(names_in(dir.str()).empty());
}

// Every small value that a resume reads is covered by checksum_small_crc32: one flipped bit in
// any of them is a checksum error naming the file, and `--resume auto` falls back to the
// previous checkpoint (as for the parameter arrays).
TEST(Checkpoint, FlippedBitInAnySmallValueFailsChecksumAndFallsBack) {
  const Comm world;
  SharedDir dir("flip-small");
  TrainState s = full_state(501, false);
  s.buffers = model_buffers(57, false);
  s.global_step = 10;
  const std::string p10 = checkpoint_path(dir.str(), 10), p20 = checkpoint_path(dir.str(), 20);
  write_checkpoint(world, p10, s);
  struct Case {
    const char* obj;   // attribute of this object, or nullptr: dataset `name`
    const char* name;  // attribute or dataset
    std::size_t byte;
    int bit;
  };
  const Case cases[] = {
      {"optimizer", "adam_steps", 0, 3},
      {"progress", "epoch", 0, 4},
      {"progress", "step_in_epoch", 0, 1},
      {"progress", "global_step", 1, 0},
      {"progress", "seed", 7, 6},
      {"progress", "epoch_loss_sum", 0, 0},  // the lowest mantissa bit: a tiny change
      {"progress", "epoch_correct_sum", 6, 2},
      {".", "world_size", 0, 4},
      {".", "global_batch", 0, 0},
      {".", "version", 1, 4},
      {".", "git_commit", 7, 1},
      {nullptr, "metrics/test_accuracy", 8, 0},  // epoch 2's value (a NaN) changes payload
      {nullptr, "metrics/train_loss", 16, 5},
      {nullptr, "metrics/epoch", 0, 1},
      {nullptr, "metrics/test_confusion", 8 * 5, 3},
      {nullptr, "model/class_names", 1, 4},
      {nullptr, "model/buffers", 8 * 30 + 7, 3},
      {nullptr, "run/config_toml", 10, 0},
      {nullptr, "data/path", 3, 2},
      {nullptr, "data/role", 0, 5},
      {nullptr, "data/bytes", 2, 7},
      {nullptr, "data/checksum", 8 + 4, 1},
  };
  std::vector<std::string> warnings;
  auto warn = [&](const std::string& w) { warnings.push_back(w); };
  for (const auto& c : cases) {
    const std::string what = std::string(c.obj ? c.obj : "") + (c.obj ? "@" : "") + c.name;
    SCOPED_TRACE(what);
    s.global_step = 20;
    write_checkpoint(world, p20, s);
    expect_same(s, read_checkpoint(world, p20));
    MPI_Barrier(MPI_COMM_WORLD);  // every rank has finished reading before rank 0 damages it
    on_rank0([&] {
      if (c.obj)
        flip_attr_bit(p20, c.obj, c.name, c.byte, c.bit);
      else
        flip_dataset_bit(p20, c.name, c.byte, c.bit);
    });
    const std::string err = test::error_of([&] { read_checkpoint(world, p20); });
    EXPECT_EQ(err.rfind(p20 + ": checksum mismatch (stored checksum_small_crc32 ", 0), 0u) << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
    warnings.clear();
    TrainState got;
    EXPECT_EQ(find_latest_checkpoint(world, dir.str(), warn, &got), p10);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0].rfind(p20 + ": checksum mismatch", 0), 0u) << warnings[0];
    EXPECT_NE(warnings[0].find("; falling back to older checkpoint"), std::string::npos)
        << warnings[0];
    EXPECT_EQ(got.global_step, 10);
    MPI_Barrier(MPI_COMM_WORLD);  // all reads done before the next write replaces the file
  }
  // The checksum attribute itself damaged: a mismatch too; it missing: a named error.
  s.global_step = 20;
  write_checkpoint(world, p20, s);
  on_rank0([&] { flip_attr_bit(p20, ".", "checksum_small_crc32", 0, 0); });
  EXPECT_EQ(test::error_of([&] {
              read_checkpoint(world, p20);
            }).rfind(p20 + ": checksum mismatch (stored checksum_small_crc32 ", 0),
            0u);
  MPI_Barrier(MPI_COMM_WORLD);
  on_rank0([&] {
    const hid_t f = H5Fopen(p20.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Adelete(f, "checksum_small_crc32");
    H5Fclose(f);
  });
  EXPECT_EQ(test::error_of([&] { read_checkpoint(world, p20); }),
            p20 + ": missing attribute 'checksum_small_crc32'");
}

// A trainer's ranks can hold different small values (each rank times its own epochs): the
// checkpoint holds rank 0's, and its checksum matches them at any world size.
TEST(Checkpoint, RanksWithDifferentSmallValuesWriteRankZeros) {
  const Comm world;
  SharedDir dir("ranks-differ");
  const TrainState s0 = full_state(300, false);
  TrainState s = s0;
  if (world.rank() != 0) {
    s.history[1].seconds += world.rank();
    s.history[2].samples_per_s *= 2;
    s.epoch_loss_sum += world.rank();
    s.version = "other";
  }
  const std::string path = checkpoint_path(dir.str(), s.global_step);
  write_checkpoint(world, path, s);
  expect_same(s0, read_checkpoint(world, path));
  expect_same(s0, read_checkpoint(Comm(MPI_COMM_SELF), path));
  MPI_Barrier(MPI_COMM_WORLD);
}

// Schema 1 (before the small-value checksum) is still read, its arrays verified; a newer
// schema is refused with one line naming the file and both versions.
TEST(Checkpoint, SchemaVersionOneIsReadNewerIsRefused) {
  const Comm world;
  SharedDir dir("schema");
  const TrainState s = full_state(777, false);
  const std::string v1 = dir.file("step-00000001.h5"), v3 = dir.file("step-00000003.h5");
  write_checkpoint(world, v1, s);
  write_checkpoint(world, v3, s);
  on_rank0([&] {
    // A version 1 file is a version 2 file without checksum_small_crc32.
    hid_t f = H5Fopen(v1.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    H5Adelete(f, "checksum_small_crc32");
    H5Fclose(f);
    h5::Handle h(H5Fopen(v1.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose, v1);
    h5::set_attr(h, "schema_version", static_cast<std::int64_t>(1));
    h.reset();
    h = h5::Handle(H5Fopen(v3.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose, v3);
    h5::set_attr(h, "schema_version", static_cast<std::int64_t>(3));
  });
  expect_same(s, read_checkpoint(world, v1));
  MPI_Barrier(MPI_COMM_WORLD);
  on_rank0([&] { flip_bit(v1, data_offset(v1, "model/params") + 99); });
  EXPECT_NE(test::error_of([&] { read_checkpoint(world, v1); }).find("checksum mismatch"),
            std::string::npos);
  EXPECT_EQ(test::error_of([&] { read_checkpoint(world, v3); }),
            v3 + ": checkpoint schema_version 3, this supsnn reads versions 1 to 2 (written by a "
                 "newer supsnn)");
}

// A tmpfs of `size` mounted by rank 0 on a fresh folder that all ranks use (one node), unmounted
// at the end. Mounting needs root, as here and in CI; when it is refused, why() says so and the
// test skips loudly.
class Tmpfs {
 public:
  Tmpfs(const std::string& tag, const std::string& size) : dir_(tag), size_("size=" + size) {
    int err = 0;
    if (world_rank() == 0 &&
        ::mount("tmpfs", dir_.str().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, size_.c_str()) != 0)
      err = errno;
    MPI_Bcast(&err, 1, MPI_INT, 0, MPI_COMM_WORLD);
    mounted_ = err == 0;
    if (!mounted_)
      why_ = "cannot mount a tmpfs on " + dir_.str() + " (" + std::strerror(err) +
             "): this test needs root (as in CI); NOT RUN";
  }
  ~Tmpfs() {
    MPI_Barrier(MPI_COMM_WORLD);
    if (mounted_ && world_rank() == 0) ::umount2(dir_.str().c_str(), MNT_DETACH);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;
  bool ok() const { return mounted_; }
  const std::string& why() const { return why_; }
  const std::string& str() const { return dir_.str(); }
  // Collective: remounts it read-only; false (and a failure) when that is refused.
  bool remount_read_only() {
    MPI_Barrier(MPI_COMM_WORLD);
    int err = 0;
    if (world_rank() == 0 &&
        ::mount("tmpfs", dir_.str().c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
                size_.c_str()) != 0)
      err = errno;
    MPI_Bcast(&err, 1, MPI_INT, 0, MPI_COMM_WORLD);
    EXPECT_EQ(err, 0) << "remount read-only: " << std::strerror(err);
    return err == 0;
  }

 private:
  SharedDir dir_;
  std::string size_, why_;
  bool mounted_ = false;
};

// A checkpoint that does not fit: one line naming the checkpoint (not its temporary file) and
// the system's reason; nothing left behind; the previous checkpoint still verifies and is what
// a resume picks; the same write succeeds once there is room. A checkpoint that may not fit is
// refused before any rank writes (HDF5 1.10 cannot fail a parallel write on a full disk cleanly
// on every rank), even when its arrays alone would fit.
TEST(Checkpoint, FullDiskNamesTheCheckpointAndTheReason) {
  const Comm world;
  Tmpfs disk("full", "1m");
  if (!disk.ok()) GTEST_SKIP() << disk.why();
  TrainState s = full_state(2000, false);
  s.global_step = 10;
  const std::string p10 = checkpoint_path(disk.str(), 10), p20 = checkpoint_path(disk.str(), 20);
  write_checkpoint(world, p10, s);
  auto expect_clean_failure = [&](const TrainState& big) -> std::string {
    const std::string err = test::error_of([&] { write_checkpoint(world, p20, big); });
    EXPECT_EQ(err.rfind(p20 + ": ", 0), 0u) << err;
    EXPECT_NE(err.find("No space left on device"), std::string::npos) << err;
    EXPECT_EQ(err.find(".tmp"), std::string::npos) << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
    MPI_Barrier(MPI_COMM_WORLD);
    on_rank0([&] {
      auto names = names_in(disk.str());
      names.erase(std::remove(names.begin(), names.end(), "filler"), names.end());
      EXPECT_EQ(names, std::vector<std::string>{"step-00000010.h5"});
    });
    expect_same(s, read_checkpoint(world, p10));
    std::vector<std::string> warnings;
    EXPECT_EQ(find_latest_checkpoint(world, disk.str(),
                                     [&](const std::string& w) { warnings.push_back(w); }),
              p10);
    EXPECT_TRUE(warnings.empty()) << warnings[0];
    return err;
  };
  for (bool single : {false, true}) {
    SCOPED_TRACE(single ? "float, too large" : "double, too large");
    TrainState big = full_state(single ? 400000 : 200000, single);  // 4.8 MB: does not fit
    big.global_step = 20;
    expect_clean_failure(big);
  }
  {
    SCOPED_TRACE("the model's buffers too large");  // counted by the free-space check
    TrainState big = full_state(2000, false);
    big.buffers.assign(200000, 0.5);  // 1.6 MB
    big.global_step = 20;
    const std::string err = expect_clean_failure(big);
    EXPECT_NE(err.find(" bytes needed, "), std::string::npos) << err;  // refused before writing
  }
  s.global_step = 20;
  write_checkpoint(world, p20, s);  // fits: the failed writes took no space
  expect_same(s, read_checkpoint(world, p20));
  on_rank0([&] { fs::remove(p20); });
  s.global_step = 10;

  // Room for the arrays but not for the rest (alignment, metadata, small values).
  SCOPED_TRACE("arrays fit, the rest does not");
  TrainState mid = full_state(8000, false);
  mid.global_step = 20;
  on_rank0([&] {
    const auto space = fs::space(disk.str());
    const std::uintmax_t keep = 3 * 8000 * 8 + 4096, fill = (space.available - keep) / 4096 * 4096;
    ASSERT_GT(space.available, keep);
    std::ofstream(disk.str() + "/filler", std::ios::binary)
        .write(std::string(fill, 'f').data(), static_cast<std::streamsize>(fill));
  });
  expect_clean_failure(mid);
}

// A folder that refuses new files (a read-only mount: root ignores chmod) or a file where the
// folder should be: the checkpoint named with the system's reason.
TEST(Checkpoint, ReadOnlyFolderNamesTheReason) {
  const Comm world;
  {
    SharedDir dir("notdir");
    on_rank0([&] { std::ofstream(dir.file("file")) << "x"; });
    const std::string path = dir.file("file/step-00000001.h5");
    EXPECT_EQ(test::error_of([&] { write_checkpoint(world, path, full_state(10, false)); }),
              path + ": checkpoint directory " + dir.file("file") + " is not a directory");
  }
  Tmpfs disk("ro", "1m");
  if (!disk.ok()) GTEST_SKIP() << disk.why();
  TrainState s = full_state(100, false);
  const std::string p10 = checkpoint_path(disk.str(), 10), p20 = checkpoint_path(disk.str(), 20);
  write_checkpoint(world, p10, s);
  ASSERT_TRUE(disk.remount_read_only());
  EXPECT_EQ(test::error_of([&] { write_checkpoint(world, p20, s); }),
            p20 + ": cannot create the checkpoint: Read-only file system");
  expect_same(s, read_checkpoint(world, p10));
  on_rank0([&] { EXPECT_EQ(names_in(disk.str()), std::vector<std::string>{"step-00000010.h5"}); });
}

}  // namespace
}  // namespace supsnn
