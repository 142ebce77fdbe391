// Shared by the libFuzzer harnesses: a scratch file for readers that only take a path. Each
// harness defines LLVMFuzzerTestOneInput; built with clang's -fsanitize=fuzzer it is a fuzzer,
// otherwise fuzz_replay.cpp supplies main() and runs it over the committed inputs (ctest).
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace supsnn::fuzz {

// A per-process file under /dev/shm (tmpfs) when it exists, else the temp directory, holding the
// latest input; removed at exit.
inline const std::string& scratch_file(const char* tag) {
  static const std::string path = [tag] {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path dir =
        fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    return (dir / ("supsnn-fuzz-" + std::string(tag) + "-" + std::to_string(::getpid()))).string();
  }();
  static const bool registered = [] {
    std::atexit([] { std::remove(path.c_str()); });
    return true;
  }();
  (void)registered;
  return path;
}

inline const std::string& write_scratch(const char* tag, const std::uint8_t* data,
                                        std::size_t size) {
  const std::string& path = scratch_file(tag);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace supsnn::fuzz
