#include "common/atomic_file.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/error.hpp"

namespace supsnn {

AtomicFile::AtomicFile(std::string final_path) : final_(std::move(final_path)) {
  temp_ = final_ + ".tmp." + std::to_string(::getpid());
  const auto parent = std::filesystem::path(final_).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent))
    throw Error(final_ + ": output directory " + parent.string() + " does not exist");
}

AtomicFile::~AtomicFile() {
  if (!committed_) std::remove(temp_.c_str());
}

void AtomicFile::commit() {
  if (std::rename(temp_.c_str(), final_.c_str()) != 0)
    throw Error(final_ + ": cannot move finished file into place from " + temp_);
  committed_ = true;
}

void write_text_atomic(const std::string& path, const std::string& text) {
  AtomicFile out(path);
  {
    std::ofstream f(out.temp_path(), std::ios::binary);
    f << text;
    f.close();
    if (!f) throw Error(path + ": write failed");
  }
  out.commit();
}

}  // namespace supsnn
