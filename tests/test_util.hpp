// Helpers for tests: where shared/ data lives, scratch directories, running the supsnn binary.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/error.hpp"

namespace supsnn::test {

// Paths compiled into the tests, each overridable by the environment variable of the same name,
// so that a relocated build (launch/gpu-bundle.sh) runs them on another machine.
inline std::string env_or(const char* name, const char* compiled) {
  const char* env = std::getenv(name);
  return env && *env ? env : compiled;
}
inline std::string supsnn_binary() {
  return env_or("SUPSNN_TEST_BINARY", SUPSNN_TEST_BINARY);
}
inline std::string source_dir() {
  return env_or("SUPSNN_TEST_SOURCE_DIR", SUPSNN_TEST_SOURCE_DIR);
}
// SUPSNN_SHARED_DIR overrides the configured default (../shared beside the repository).
inline std::string shared_dir() {
  return env_or("SUPSNN_SHARED_DIR", SUPSNN_TEST_SHARED_DIR);
}
#ifdef SUPSNN_TEST_MPIEXEC
inline std::string mpiexec() {
  return env_or("SUPSNN_TEST_MPIEXEC", SUPSNN_TEST_MPIEXEC);
}
inline std::string mpiexec_flags() {
  return env_or("SUPSNN_TEST_MPIEXEC_FLAGS", SUPSNN_TEST_MPIEXEC_FLAGS);
}
#endif

// Path of a file under shared/; fails the test loudly (not a silent skip) when it is absent.
inline std::string shared_path(const std::string& rel) {
  const std::string p = shared_dir() + "/" + rel;
  if (!std::filesystem::exists(p))
    ADD_FAILURE() << "shared data missing: " << p
                  << " (set SUPSNN_SHARED_DIR to the shared/ folder with data/ and golden/)";
  return p;
}

// A fresh empty directory under the system temp dir, removed by the destructor.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    path_ = std::filesystem::temp_directory_path() /
            ("supsnn-test-" + tag + "-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter()++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string str() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  static int& counter() {
    static int c = 0;
    return c;
  }
  std::filesystem::path path_;
};

// The message of the supsnn::Error that f() throws, or "" when it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

struct CommandResult {
  int status = -1;
  std::string output;  // stdout and stderr together
};

// The sanitizer build's runtime options (docs/building.md), passed on to children.
inline std::string sanitizer_env() {
  std::string out;
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"})
    if (const char* v = std::getenv(name); v && *v) out += std::string(" ") + name + "='" + v + "'";
  return out;
}

// A relocated build's library path and Open MPI prefix (launch/gpu-check.sh), passed on to
// children.
inline std::string relocation_env() {
  std::string out;
  for (const char* name : {"LD_LIBRARY_PATH", "OPAL_PREFIX"})
    if (const char* v = std::getenv(name); v && *v) out += std::string(" ") + name + "='" + v + "'";
  return out;
}

// `env -i` with only what a child needs (the test process is itself an MPI singleton whose
// variables would confuse the child).
inline std::string clean_env() {
  const char* path = std::getenv("PATH");
  // Kokkos' OpenMP backend warns on stderr (4 lines) when OMP_PROC_BIND is unset, which would
  // break the one-line error checks; keep the caller's OpenMP settings (default: no binding).
  const char* bind = std::getenv("OMP_PROC_BIND");
  const char* threads = std::getenv("OMP_NUM_THREADS");
  return "env -i PATH='" + std::string(path ? path : "/usr/bin:/bin") +
         "' HOME=/tmp OMP_PROC_BIND='" + std::string(bind && *bind ? bind : "false") + "'" +
         (threads && *threads ? " OMP_NUM_THREADS='" + std::string(threads) + "'" : std::string()) +
         sanitizer_env() + relocation_env() + " SUPSNN='" + supsnn_binary() + "'";
}

// Runs a command line in `workdir` with clean_env(); stdout and stderr together.
inline CommandResult run_command(const std::string& command, const std::string& workdir = ".") {
  const std::string cmd = "cd '" + workdir + "' && " + clean_env() + " " + command + " 2>&1";
  CommandResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) r.output += buf;
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// Runs the supsnn binary (serial, no mpirun) with the given arguments.
inline CommandResult run_supsnn(const std::string& args, const std::string& workdir = ".") {
  return run_command(supsnn_binary() + " " + args, workdir);
}

// Runs a bash script (the binary is $SUPSNN in it).
inline CommandResult run_bash(const std::string& script, const std::string& workdir = ".") {
  std::string quoted = "'";
  for (char c : script) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return run_command("bash -c " + quoted + "'", workdir);
}

}  // namespace supsnn::test
