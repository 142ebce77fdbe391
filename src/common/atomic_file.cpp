#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include "common/error.hpp"

namespace supsnn {

namespace {

// Live AtomicFiles: temporary path -> final path and the failure reported for it, if any.
struct Live {
  std::string final_path, failure;
};
std::mutex live_mutex;
std::map<std::string, Live>& live() {
  static std::map<std::string, Live> m;
  return m;
}

std::string os_error(int code) {
  return std::strerror(code);
}

}  // namespace

AtomicFile::AtomicFile(std::string final_path) : final_(std::move(final_path)) {
  temp_ = final_ + ".tmp." + std::to_string(::getpid());
  namespace fs = std::filesystem;
  const auto parent = fs::path(final_).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::is_directory(parent, ec)) {
    if (fs::exists(parent, ec))
      throw Error(final_ + ": cannot write: " + parent.string() + " is not a directory");
    throw Error(final_ + ": output directory " + parent.string() + " does not exist");
  }
  if (fs::is_directory(final_, ec)) throw Error(final_ + ": is a directory, expected a file name");
  const std::lock_guard<std::mutex> lock(live_mutex);
  live()[temp_] = {final_, ""};
}

AtomicFile::~AtomicFile() {
  if (!committed_) std::remove(temp_.c_str());
  const std::lock_guard<std::mutex> lock(live_mutex);
  live().erase(temp_);
}

void AtomicFile::commit() {
  std::string failure;
  {
    const std::lock_guard<std::mutex> lock(live_mutex);
    const auto it = live().find(temp_);
    if (it != live().end()) failure = it->second.failure;
  }
  if (!failure.empty()) {
    std::remove(temp_.c_str());
    throw Error(final_ + ": " + failure);
  }
  if (std::rename(temp_.c_str(), final_.c_str()) != 0)
    throw Error(final_ + ": cannot move the finished file into place: " + os_error(errno));
  committed_ = true;
}

std::string user_path(const std::string& path) {
  const std::lock_guard<std::mutex> lock(live_mutex);
  const auto it = live().find(path);
  return it == live().end() ? path : it->second.final_path;
}

void mark_write_failed(const std::string& final_path, const std::string& reason) {
  const std::lock_guard<std::mutex> lock(live_mutex);
  for (auto& [temp, l] : live())
    if (l.final_path == final_path && l.failure.empty()) l.failure = reason;
}

void write_text_atomic(const std::string& path, const std::string& text) {
  AtomicFile out(path);
  // POSIX calls rather than a stream: errno then says exactly why (full disk, read-only, ...).
  const int fd = ::open(out.temp_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw Error(path + ": cannot write: " + os_error(errno));
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int code = errno;
      ::close(fd);
      throw Error(path + ": cannot write: " + os_error(code));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) throw Error(path + ": cannot write: " + os_error(errno));
  out.commit();
}

}  // namespace supsnn
