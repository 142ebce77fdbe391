// The version and git commit this binary was built from (recorded in checkpoints and model.h5).
#pragma once

namespace supsnn {

const char* build_version();
const char* build_commit();  // "unknown" outside a git checkout

}  // namespace supsnn
