// The only file compiled with the version and commit definitions (src/CMakeLists.txt), so a new
// commit recompiles this file alone instead of the whole library.
#include "common/build_info.hpp"

namespace supsnn {

const char* build_version() {
  return SUPSNN_VERSION_STRING;
}
const char* build_commit() {
  return SUPSNN_GIT_COMMIT_STRING;
}

}  // namespace supsnn
