// Errors of failed writes name the file the user asked for (never a temporary name) and the
// operating system's reason: a full disk ("No space left on device") and a read-only folder
// ("Read-only file system") on a small tmpfs mounted here, and a file where a folder should be.
// Text files (config.toml, metrics.csv: write_text_atomic), HDF5 files written through an
// AtomicFile (model.h5, metrics.h5, datasets) and the supsnn commands train and prepare.
// Checkpoints: test_checkpoint.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/atomic_file.hpp"
#include "io/h5.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;

namespace supsnn {
namespace {

// A tmpfs of `size` on a fresh folder, unmounted at the end. Mounting needs root (as here and
// in CI); when it is refused, ok() is false and why() says so: the test then skips loudly.
class Tmpfs {
 public:
  Tmpfs(const std::string& tag, const std::string& size) : dir_(tag), size_("size=" + size) {
    if (::mount("tmpfs", dir_.str().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, size_.c_str()) != 0)
      why_ = "cannot mount a tmpfs on " + dir_.str() + " (" + std::strerror(errno) +
             "): this test needs root (as in CI); NOT RUN";
    else
      mounted_ = true;
  }
  ~Tmpfs() {
    if (mounted_) ::umount2(dir_.str().c_str(), MNT_DETACH);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;
  bool ok() const { return mounted_; }
  const std::string& why() const { return why_; }
  std::string file(const std::string& name) const { return dir_.file(name); }
  std::string str() const { return dir_.str(); }
  void remount_read_only() {
    ASSERT_EQ(::mount("tmpfs", dir_.str().c_str(), "tmpfs",
                      MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, size_.c_str()),
              0)
        << std::strerror(errno);
  }
  // Fills the file system to the last byte with `name`.
  void fill(const std::string& name) {
    std::ofstream f(file(name), std::ios::binary);
    const std::string block(4096, 'x');
    while (f.write(block.data(), block.size())) {
    }
  }
  std::vector<std::string> names() const {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(dir_.str()))
      v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  }

 private:
  test::ScratchDir dir_;
  std::string size_, why_;
  bool mounted_ = false;
};

// An HDF5 file written as model.h5 and metrics.h5 are (h5::create_file on an AtomicFile's
// temporary name, the file closed by its handle's destructor, then commit).
void write_h5_like_model(const std::string& path, std::size_t values) {
  AtomicFile out(path);
  {
    auto f = h5::create_file(out.temp_path());
    h5::set_attr(f, "schema", std::string("supsnn-model"));
    const std::vector<double> w(values, 0.25);
    h5::write(f, "W", {values}, w.data());
  }
  out.commit();
}

TEST(Errors, FullDiskNamesTheFileAndTheReason) {
  Tmpfs disk("full", "64k");
  if (!disk.ok()) GTEST_SKIP() << disk.why();
  // Text: one write() that does not fit.
  const std::string cfg = disk.file("config.toml");
  std::string err = test::error_of([&] { write_text_atomic(cfg, std::string(200000, '#')); });
  EXPECT_EQ(err, cfg + ": cannot write: No space left on device");
  // HDF5, a dataset larger than the disk: the write itself fails.
  const std::string model = disk.file("model.h5");
  err = test::error_of([&] { write_h5_like_model(model, 100000); });
  EXPECT_EQ(err.rfind(model + ": ", 0), 0u) << err;
  EXPECT_NE(err.find("No space left on device"), std::string::npos) << err;
  EXPECT_EQ(err.find(".tmp"), std::string::npos) << err;
  EXPECT_TRUE(disk.names().empty()) << disk.names()[0];
  // HDF5, small datasets on a disk full to the last byte: whether creating, writing or the
  // final flush in the closing destructor fails, the commit does not happen and the error says
  // why (a flush failing in a destructor used to commit a truncated file silently).
  disk.fill("filler");
  const std::string metrics = disk.file("metrics.h5");
  err = test::error_of([&] { write_h5_like_model(metrics, 10); });
  EXPECT_EQ(err.rfind(metrics + ": ", 0), 0u) << err;
  EXPECT_NE(err.find("No space left on device"), std::string::npos) << err;
  EXPECT_EQ(err.find(".tmp"), std::string::npos) << err;
  err = test::error_of([&] { write_text_atomic(cfg, "x = 1\n"); });
  EXPECT_EQ(err, cfg + ": cannot write: No space left on device");
  EXPECT_EQ(disk.names(), std::vector<std::string>{"filler"});
}

TEST(Errors, ReadOnlyFolderNamesTheFileAndTheReason) {
  Tmpfs disk("ro", "64k");
  if (!disk.ok()) GTEST_SKIP() << disk.why();
  write_text_atomic(disk.file("old.csv"), "a,b\n");
  disk.remount_read_only();
  const std::string cfg = disk.file("config.toml"), model = disk.file("model.h5");
  EXPECT_EQ(test::error_of([&] { write_text_atomic(cfg, "x = 1\n"); }),
            cfg + ": cannot write: Read-only file system");
  // Replacing an existing file is refused the same way.
  EXPECT_EQ(test::error_of([&] { write_text_atomic(disk.file("old.csv"), "c\n"); }),
            disk.file("old.csv") + ": cannot write: Read-only file system");
  const std::string err = test::error_of([&] { write_h5_like_model(model, 10); });
  EXPECT_EQ(err.rfind(model + ": cannot create HDF5 file", 0), 0u) << err;
  EXPECT_NE(err.find("Read-only file system"), std::string::npos) << err;
  EXPECT_EQ(disk.names(), std::vector<std::string>{"old.csv"});
}

TEST(Errors, FileWhereAFolderShouldBe) {
  test::ScratchDir dir("errors");
  std::ofstream(dir.file("plain")) << "x";
  const std::string path = dir.file("plain/config.toml");
  EXPECT_EQ(test::error_of([&] { write_text_atomic(path, "x\n"); }),
            path + ": cannot write: " + dir.file("plain") + " is not a directory");
  fs::create_directories(dir.file("folder"));
  EXPECT_EQ(test::error_of([&] { write_text_atomic(dir.file("folder"), "x\n"); }),
            dir.file("folder") + ": is a directory, expected a file name");
}

// The commands: a read-only run directory and prepare's output on a read-only or full disk.
TEST(Errors, CommandsSayWhyAWriteFailed) {
  Tmpfs disk("cmd", "64k");
  if (!disk.ok()) GTEST_SKIP() << disk.why();
  test::ScratchDir dir("errors");
  auto r = test::run_supsnn(
      "synth --output data.h5 --train-per-class 4 --test-per-class 2 --size 16", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string odd = test::shared_path("data/mstar/odd-sizes");  // 10 chips of 128 x 128
  r = test::run_supsnn("prepare --input " + odd + " --output " + disk.file("odd.h5"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(r.output.rfind("supsnn: error: " + disk.file("odd.h5") + ": ", 0), 0u) << r.output;
  EXPECT_NE(r.output.find("No space left on device\n"), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_TRUE(disk.names().empty()) << disk.names()[0];

  disk.remount_read_only();
  r = test::run_supsnn(
      "train --set data.train=data.h5 --set train.epochs=1 --run-dir " + disk.str(), dir.str());
  EXPECT_EQ(r.status, 1) << r.output;
  // The run directory is tried before anything else is written (its lock file comes first).
  EXPECT_EQ(r.output, "supsnn: error: " + disk.str() +
                          ": cannot write in the run directory (lock file " +
                          disk.file(".supsnn.lock") + "): Read-only file system\n");
  r = test::run_supsnn("prepare --input " + odd + " --output " + disk.file("odd.h5"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(
      r.output.rfind("supsnn: error: " + disk.file("odd.h5") + ": cannot create HDF5 file", 0), 0u)
      << r.output;
  EXPECT_NE(r.output.find("Read-only file system\n"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace supsnn
