// TEMPORARY stub so that supsnn links while src/ckpt/checkpoint.cpp is being written elsewhere.
// Drop this file (and its CMake line) when the real implementation lands.
#include "ckpt/checkpoint.hpp"

#include "common/error.hpp"

namespace supsnn {

DataFileId identify_data_file(const std::string& role, const std::string& path) {
  DataFileId id;
  id.role = role;
  id.path = path;
  return id;
}

std::uint64_t write_checkpoint(const Comm&, const std::string&, const TrainState&) {
  throw Error("checkpoints not available in this build");
}

TrainState read_checkpoint(const Comm&, const std::string&) {
  throw Error("checkpoints not available in this build");
}

std::string checkpoint_path(const std::string&, long) {
  throw Error("checkpoints not available in this build");
}

std::string find_latest_checkpoint(const Comm&, const std::string&,
                                   const std::function<void(const std::string&)>&) {
  return "";
}

void rotate_checkpoints(const std::string&, int, long) {}

}  // namespace supsnn
