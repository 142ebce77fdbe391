#include "train/run_dir.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "common/error_log.hpp"
#include "config/config_diff.hpp"

namespace fs = std::filesystem;

namespace supsnn {

namespace {

std::string os_error(int err) {
  return std::strerror(err);
}

// What an earlier run of `supsnn train` writes into its run directory. Temporary files of these
// (`<name>.tmp.<pid>`, left by a crash) belong to it too.
bool is_run_file(const std::string& name) {
  for (const char* f : {"config.toml", "train.log", "metrics.csv", "metrics.h5", "model.h5",
                        "selection.csv", "guided.h5"})
    if (name == f || name.rfind(std::string(f) + ".tmp.", 0) == 0) return true;
  return name.rfind("events.out.tfevents.", 0) == 0;
}

// Checkpoints (step-NNNNNNNN.h5) and their temporary files (.step-NNNNNNNN.h5.tmp-<id>).
bool is_checkpoint_file(const std::string& name) {
  return (name.rfind("step-", 0) == 0 && name.size() > 8 &&
          name.compare(name.size() - 3, 3, ".h5") == 0) ||
         name.rfind(".step-", 0) == 0;
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  return names;
}

// Creates `dir` (and parents) when missing; true when it did.
bool make_dir(const std::string& dir, const std::string& what) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return false;
  if (fs::exists(dir, ec)) throw Error(dir + ": " + what + " is not a directory");
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the " + what + ": " + ec.message());
  return true;
}

// A file can be created, written and removed in `dir`: read-only mounts, permissions and a full
// disk are found here rather than at the first checkpoint.
void check_writable(const std::string& dir, const std::string& what) {
  const std::string probe = dir + "/.supsnn-write-test." + std::to_string(::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(dir + ": cannot write files in the " + what + ": " + os_error(errno));
  const char byte = '\n';
  int err = 0;
  if (::write(fd, &byte, 1) != 1 || ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  ::unlink(probe.c_str());
  if (err != 0) throw Error(dir + ": cannot write files in the " + what + ": " + os_error(err));
}

std::string read_all(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

RunDirLock::RunDirLock(const std::string& dir) {
  const std::string path = file_of(dir);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw Error(dir + ": cannot write in the run directory (lock file " + path +
                "): " + os_error(errno));
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  // Open-file-description locks belong to this descriptor, not to the process, so no other
  // open/close of the file in this process drops them; kernels before 3.15 take a POSIX lock.
  int rc = ::fcntl(fd_, F_OFD_SETLK, &fl);
  if (rc != 0 && errno == EINVAL) rc = ::fcntl(fd_, F_SETLK, &fl);
  if (rc != 0) {
    const int err = errno;
    char buf[256] = {};
    const ssize_t got = ::pread(fd_, buf, sizeof buf - 1, 0);
    std::string holder = got > 0 ? std::string(buf, static_cast<std::size_t>(got)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\r')) holder.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (err == EACCES || err == EAGAIN)
      throw Error(dir + ": the run directory is in use by another supsnn train (" +
                  (holder.empty() ? std::string("holder unknown") : holder) + ", lock " + path +
                  "); wait for it to end, or use another run.dir");
    throw Error(path + ": cannot lock the run directory: " + os_error(err));
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string me = "host " + std::string(host) + ", PID " + std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 ||
      ::pwrite(fd_, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw Error(path + ": cannot write the run directory's lock file: " + os_error(err));
  }
}

RunDirLock::~RunDirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock; the file stays (the next run takes it)
}

std::vector<std::string> earlier_run_files(const std::string& dir,
                                           const std::string& checkpoint_dir) {
  std::vector<std::string> found;
  for (const auto& name : entries(dir))
    if (is_run_file(name)) found.push_back(dir + "/" + name);
  for (const auto& name : entries(checkpoint_dir))
    if (is_checkpoint_file(name)) found.push_back(checkpoint_dir + "/" + name);
  return found;
}

void check_on_rank0(const Comm& comm, const std::function<void()>& check) {
  std::string message;
  if (comm.rank() == 0) {
    try {
      check();
    } catch (const std::exception& e) {
      message = e.what();
      if (message.empty()) message = "unknown error";
    }
  }
  int len = static_cast<int>(message.size());
  MPI_Bcast(&len, 1, MPI_INT, 0, comm.raw());
  message.resize(static_cast<std::size_t>(len));
  MPI_Bcast(message.data(), len, MPI_CHAR, 0, comm.raw());
  if (len > 0) throw Error(message);
}

RunDir::RunDir(const Config& cfg, const Comm& comm, const std::string& resume, bool overwrite)
    : dir_(cfg.get_string("run.dir")),
      ckpt_dir_(cfg.get_string("checkpoint.dir").empty() ? dir_ + "/ckpt"
                                                         : cfg.get_string("checkpoint.dir")),
      root_(comm.rank() == 0) {
  auto setup = [&] {
    if (overwrite && resume == "auto")
      throw Error("--overwrite starts " + dir_ +
                  " over and --resume auto continues it: give one of them");
    before_ = entries(dir_);
    ckpt_before_ = entries(ckpt_dir_);
    made_dir_ = make_dir(dir_, "run directory");
    lock_ = std::make_unique<RunDirLock>(dir_);
    const auto earlier = earlier_run_files(dir_, ckpt_dir_);
    const bool own_checkpoint =
        !resume.empty() && resume != "auto" &&
        fs::weakly_canonical(fs::path(resume)).parent_path() == fs::weakly_canonical(ckpt_dir_);
    if (!earlier.empty() && overwrite) {
      if (own_checkpoint)
        throw Error("--overwrite would remove the checkpoint --resume " + resume +
                    " continues from; copy it elsewhere first, or drop --overwrite");
      for (const auto& f : earlier) {
        std::error_code ec;
        fs::remove(f, ec);
        if (ec) throw Error(f + ": --overwrite cannot remove it: " + ec.message());
      }
      before_ = entries(dir_);
      ckpt_before_ = entries(ckpt_dir_);
    } else if (!earlier.empty() && resume != "auto" && !own_checkpoint) {
      std::string names;
      for (std::size_t i = 0; i < earlier.size() && i < 3; ++i)
        names += (i ? ", " : "") + fs::relative(earlier[i], dir_).string();
      if (earlier.size() > 3) names += ", ...";
      throw Error(dir_ + ": the run directory holds an earlier run (" + names +
                  "); continue it with --resume auto, or start over with --overwrite (removes "
                  "that run's files)");
    } else if (resume == "auto") {
      // Continuing a run that wrote no checkpoint yet: it must be the same run.
      bool any_checkpoint = false;
      for (const auto& f : earlier) any_checkpoint |= f.rfind(ckpt_dir_ + "/step-", 0) == 0;
      const std::string old_config = dir_ + "/config.toml";
      if (!any_checkpoint && fs::is_regular_file(old_config)) {
        const auto diff = config_differences(read_all(old_config), cfg.to_toml());
        if (!diff.empty())
          throw Error(old_config + ": the run in this directory has other settings (" +
                      join_differences(diff) +
                      "); --resume auto continues it with its own, or start over with "
                      "--overwrite");
      }
    }
    check_writable(dir_, "run directory");
    made_ckpt_dir_ = make_dir(ckpt_dir_, "checkpoint directory (checkpoint.dir)");
    check_writable(ckpt_dir_, "checkpoint directory (checkpoint.dir)");
  };
  try {
    check_on_rank0(comm, setup);
  } catch (...) {
    if (root_) remove_created();
    throw;
  }
}

void RunDir::remove_created() {
  lock_.reset();
  auto is_new = [](const std::vector<std::string>& before, const std::string& name) {
    return std::find(before.begin(), before.end(), name) == before.end();
  };
  std::error_code ec;
  if (made_ckpt_dir_) {
    fs::remove_all(ckpt_dir_, ec);
  } else {
    for (const auto& name : entries(ckpt_dir_))
      if (is_new(ckpt_before_, name)) fs::remove(fs::path(ckpt_dir_) / name, ec);
  }
  for (const auto& name : entries(dir_))
    if (is_new(before_, name) && !fs::is_directory(fs::path(dir_) / name, ec))
      fs::remove(fs::path(dir_) / name, ec);
  if (made_dir_) fs::remove(dir_, ec);  // only when empty now
  // A log this run started went too (the error is on stderr); an earlier run's log stays and
  // gets the error line.
  if (!error_log().empty() && !fs::exists(error_log(), ec)) set_error_log("");
}

RunDir::~RunDir() {
  if (root_ && !started_ && std::uncaught_exceptions() > 0) remove_created();
}

}  // namespace supsnn
