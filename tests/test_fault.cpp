// Failure behaviour of a multi-rank job: when one rank dies by SIGKILL, the launcher ends the
// others and exits non-zero within 60 s instead of leaving them blocked in a collective.
// Checked with a minimal MPI program (fault_child) and with `supsnn train` itself.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace supsnn {
namespace {

constexpr double kLimitS = 60;  // what the job must meet
constexpr double kHardS = 120;  // the test kills everything it started after this

// The MPI program that fails on cue; SUPSNN_TEST_FAULT_CHILD overrides it in relocated builds.
std::string fault_child() {
  return test::env_or("SUPSNN_TEST_FAULT_CHILD", SUPSNN_TEST_FAULT_CHILD);
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// mpirun -np n <flags> <program> <args...>
std::vector<std::string> mpirun(int n, const std::vector<std::string>& program) {
  std::vector<std::string> cmd = {test::mpiexec(), "-np", std::to_string(n)};
  for (const auto& f : split_words(test::mpiexec_flags())) cmd.push_back(f);
  cmd.insert(cmd.end(), program.begin(), program.end());
  return cmd;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Pids of processes whose executable is `exe` and whose command line contains `tag`.
std::vector<pid_t> find_processes(const std::string& exe, const std::string& tag) {
  std::vector<pid_t> out;
  const fs::path want = fs::weakly_canonical(exe);
  for (const auto& d : fs::directory_iterator("/proc")) {
    const std::string name = d.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec;
    const fs::path target = fs::read_symlink(d.path() / "exe", ec);
    if (ec || target != want) continue;
    std::string cmdline = slurp((d.path() / "cmdline").string());
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(tag) != std::string::npos) out.push_back(std::stoi(name));
  }
  return out;
}

// A launched job in its own process group, stdout+stderr to a file. The destructor kills the
// group and every process of `exe` tagged with `tag` (ranks may have their own groups), so the
// test never leaves anything running.
class Job {
 public:
  Job(const std::vector<std::string>& cmd, const std::string& workdir, const std::string& log,
      std::string exe, std::string tag)
      : exe_(std::move(exe)), tag_(std::move(tag)), log_(log) {
    // The test process is an MPI singleton: its OMPI_/PMIX_ variables would make the child
    // mpirun think it runs inside a job. Keep the rest of the environment.
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      const std::string v = *e;
      bool drop = false;
      for (const char* p : {"OMPI_", "PMIX_", "OPAL_", "ORTE_", "PMI_", "OMP_"})
        drop = drop || v.rfind(p, 0) == 0;
      if (!drop) env.push_back(v);
    }
    env.push_back("OMP_NUM_THREADS=1");
    env.push_back("OMP_PROC_BIND=false");
    start_ = Clock::now();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      if (::chdir(workdir.c_str()) != 0) ::_exit(126);
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0) ::_exit(126);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv, envp;
      for (const auto& a : cmd) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      for (const auto& v : env) envp.push_back(const_cast<char*>(v.c_str()));
      envp.push_back(nullptr);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    if (pid_ > 0) ::setpgid(pid_, pid_);  // also from here: no race with the first kill
  }

  ~Job() {
    if (!done_ && pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    for (pid_t p : find_processes(exe_, tag_)) ::kill(p, SIGKILL);
  }

  bool started() const { return pid_ > 0; }
  bool running() {
    if (done_) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      done_ = true;
      status_ = st;
    }
    return !done_;
  }
  // Waits up to `seconds`; false when the job is still running then.
  bool wait(double seconds) {
    const auto until = Clock::now() + std::chrono::duration<double>(seconds);
    while (running() && Clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return !running();
  }
  int status() const { return status_; }
  std::string output() const { return slurp(log_); }

 private:
  std::string exe_, tag_, log_;
  pid_t pid_ = -1;
  bool done_ = false;
  int status_ = 0;
  Clock::time_point start_;
};

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

bool failed(int status) {
  return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

TEST(Fault, RankKilledInAllreduceEndsTheJob) {
  test::ScratchDir dir("fault");
  const std::string tag = "--tag=" + dir.str();  // lets the cleanup find exactly our ranks
  Job job(mpirun(3, {fault_child(), tag}), dir.str(), dir.file("out.txt"), fault_child(), tag);
  ASSERT_TRUE(job.started());
  const auto t0 = Clock::now();
  const bool ended = job.wait(kHardS);
  const double s = seconds_since(t0);
  ASSERT_TRUE(ended) << "mpirun still running after " << kHardS << " s:\n" << job.output();
  EXPECT_TRUE(failed(job.status())) << describe(job.status()) << "\n" << job.output();
  // Includes the start-up of 3 ranks; the kill itself comes right after the first barrier.
  EXPECT_LT(s, kLimitS) << job.output();
  std::printf("fault_child: mpirun ended after %.2f s with %s\n", s,
              describe(job.status()).c_str());
}

TEST(Fault, TrainingRankKilledEndsTheJob) {
  test::ScratchDir dir("fault-train");
  auto r = test::run_supsnn(
      "synth --output data.h5 --train-per-class 30 --test-per-class 10 --size 32", dir.str());
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string run_dir = dir.file("run");  // unique: names the ranks of this job
  Job job(mpirun(2, {test::supsnn_binary(), "train", "--set", "data.train=" + dir.file("data.h5"),
                     "--set", "train.epochs=100000", "--set", "train.batch_size=4", "--run-dir",
                     run_dir}),
          dir.str(), dir.file("out.txt"), test::supsnn_binary(), run_dir);
  ASSERT_TRUE(job.started());

  // Wait until both ranks run and the first epoch finished (both are inside the training loop).
  std::vector<pid_t> ranks;
  const auto t_start = Clock::now();
  while (seconds_since(t_start) < kHardS && job.running()) {
    ranks = find_processes(test::supsnn_binary(), run_dir);
    if (ranks.size() == 2 && slurp(run_dir + "/metrics.csv").find("\n1,") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(job.running()) << "training ended before the kill:\n" << job.output();
  ASSERT_EQ(ranks.size(), 2u) << "expected 2 supsnn ranks tagged " << run_dir << "\n"
                              << job.output();
  ASSERT_NE(slurp(run_dir + "/metrics.csv").find("\n1,"), std::string::npos)
      << "no epoch finished within " << kHardS << " s\n"
      << job.output();

  const pid_t victim = std::max(ranks[0], ranks[1]);
  ASSERT_EQ(::kill(victim, SIGKILL), 0) << std::strerror(errno);
  const auto t0 = Clock::now();
  const bool ended = job.wait(kHardS);
  const double s = seconds_since(t0);
  ASSERT_TRUE(ended) << "mpirun still running " << kHardS << " s after kill -9 of rank pid "
                     << victim << ":\n"
                     << job.output();
  EXPECT_TRUE(failed(job.status())) << describe(job.status()) << "\n" << job.output();
  EXPECT_LT(s, kLimitS) << job.output();
  // The surviving rank is gone too (the launcher killed it), not left behind.
  const auto t_gone = Clock::now();
  while (!find_processes(test::supsnn_binary(), run_dir).empty() && seconds_since(t_gone) < 10)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(find_processes(test::supsnn_binary(), run_dir).empty());
  std::printf("supsnn train: mpirun ended %.2f s after kill -9 of pid %d with %s\n", s,
              static_cast<int>(victim), describe(job.status()).c_str());
}

}  // namespace
}  // namespace supsnn
