// The attnserve and attnctl binaries as an operator runs them: start, health,
// embed over gRPC, SIGTERM while a request is in flight (it must complete),
// clean exit.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/http_client.h"
#include "tests/support/test_model.h"

namespace attnserve {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Slurp(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs a shell command, returning its exit status and stdout.
int RunCommand(const std::string& command, std::string* out) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out->append(buf, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Both binaries answer --version with the CMake project version and exit 0
// without starting anything.
TEST(VersionTest, BothBinariesPrintTheProjectVersion) {
  for (const char* binary : {ATTNSERVE_PATH, ATTNCTL_PATH}) {
    std::string out;
    EXPECT_EQ(RunCommand(absl::StrCat(binary, " --version"), &out), 0) << binary;
    const std::string name = fs::path(binary).filename().string();
    EXPECT_EQ(out.rfind(absl::StrCat(name, " ", ATTNSERVE_PROJECT_VERSION, " ("), 0), 0u) << out;
  }
}

class ProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ATTNSERVE_REQUIRE_TEST_MODEL();
    dir_ = fs::temp_directory_path() / absl::StrCat("attnserve_process_", ::getpid());
    fs::create_directories(dir_);
    log_ = dir_ / "server.log";
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 2);
      BeforeExec();
      execl(ATTNSERVE_PATH, ATTNSERVE_PATH, "--model", testing::TestModelDir().c_str(),
            "--grpc_address", "127.0.0.1:0", "--metrics_address", "127.0.0.1:0", "--http_address",
            "127.0.0.1:0", static_cast<char*>(nullptr));
      _exit(127);
    }
    // Wait for "serving" and read the bound ports from the log.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < give_up) {
      const std::string log = Slurp(log_);
      if (log.find("serving:") != std::string::npos) {
        address_ = "127.0.0.1:" + PortAfter(log, "listening on ");
        metrics_port_ = std::atoi(PortAfter(log, "metrics on ").c_str());
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "server did not start: " << Slurp(log_);
  }
  // The N of the first "(port N" after `line_start` in the log ("" if none).
  // A plain search: GCC 12's <regex> trips -Wmaybe-uninitialized under ASan.
  static std::string PortAfter(const std::string& log, const std::string& line_start) {
    const std::string marker = "(port ";
    const size_t line = log.find(line_start);
    if (line == std::string::npos) return "";
    const size_t at = log.find(marker, line);
    if (at == std::string::npos) return "";
    const size_t digits = at + marker.size();
    return log.substr(digits, log.find_first_not_of("0123456789", digits) - digits);
  }
  // Runs in the child between fork and exec (what `taskset` or a container
  // runtime would set up).
  virtual void BeforeExec() {}
  void TearDown() override {
    if (pid_ > 0 && ::kill(pid_, 0) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }
  std::string Attnctl(const std::string& args) {
    return absl::StrCat(ATTNCTL_PATH, " --server ", address_, " ", args);
  }

  fs::path dir_, log_;
  pid_t pid_ = -1;
  std::string address_;
  int metrics_port_ = 0;
};

TEST_F(ProcessTest, HealthEmbedAndGracefulDrainOnSigterm) {
  std::string out;
  EXPECT_EQ(RunCommand(Attnctl("health"), &out), 0);
  EXPECT_EQ(out, "SERVING\n");
  // One line per lifecycle event, none per request.
  const auto lines = [&] {
    const std::string log = Slurp(log_);
    return std::count(log.begin(), log.end(), '\n');
  };
  const auto lines_at_start = lines();
  std::ofstream(dir_ / "short.jsonl")
      << "{\"text\": \"a\"}\n{\"text\": \"b\"}\n{\"text\": \"c\"}\n";
  std::string short_out;
  EXPECT_EQ(RunCommand(Attnctl("embed --batch-size 1 --input " + (dir_ / "short.jsonl").string()),
                       &short_out),
            0);
  EXPECT_EQ(lines(), lines_at_start);

  // A long request in flight when SIGTERM arrives must still be answered.
  std::string text;
  for (int i = 0; i < 1800; ++i) text += "tide ";
  std::ofstream(dir_ / "long.jsonl") << "{\"text\": \"" << text << "\"}\n";
  std::string embed_out;
  std::atomic<bool> answered = false;
  std::thread request([&] {
    EXPECT_EQ(RunCommand(Attnctl(absl::StrCat("embed --max-tokens 2048 --input ",
                                              (dir_ / "long.jsonl").string())),
                         &embed_out),
              0);
    answered = true;
  });
  // Wait until the server holds the request (a fixed sleep lost the race to a
  // slow attnctl start under ASan on a loaded machine), then ask it to stop.
  testing::WaitUntilServerHolds(metrics_port_, 1, [&] { return answered.load(); });
  ASSERT_EQ(::kill(pid_, SIGTERM), 0);
  request.join();
  int status = 0;
  ASSERT_EQ(::waitpid(pid_, &status, 0), pid_);
  pid_ = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Slurp(log_);
  const nlohmann::json line = nlohmann::json::parse(embed_out, nullptr, false);
  ASSERT_TRUE(line.is_object() && line.contains("embedding")) << embed_out;
  EXPECT_EQ(line["embedding"].size(), 512u);
  EXPECT_EQ(line["stats"]["tokens_used"].get<size_t>(),
            std::min<size_t>(line["token_ids"].size(), 2048));
  const std::string log = Slurp(log_);
  EXPECT_THAT(log, HasSubstr("received SIGTERM"));
  EXPECT_THAT(log, HasSubstr("drained"));
}

// `taskset -c 0 attnserve`: the affinity mask narrows the CPU budget, and the
// default workers and threads per request follow it (2 online CPUs here would
// give 2 workers x 2 threads), said in the log.
class PinnedProcessTest : public ProcessTest {
 protected:
  void BeforeExec() override {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    if (sched_setaffinity(0, sizeof(one), &one) != 0) _exit(126);
  }
};

TEST_F(PinnedProcessTest, AffinitySizesTheDefaults) {
  const std::string log = Slurp(log_);
  EXPECT_THAT(log, HasSubstr("cpu budget: 1 CPU ("));
  EXPECT_THAT(log, HasSubstr("affinity 1"));
  EXPECT_THAT(log, HasSubstr("serving: 1 workers x 1 threads"));
  std::string out;
  EXPECT_EQ(RunCommand(Attnctl("health"), &out), 0);
}

// The signal mask of one thread of `pid`, from /proc (the SigBlk hex field).
uint64_t BlockedSignals(pid_t pid, const std::string& task) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/task/", task, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("SigBlk:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  }
  return 0;
}

// SIGTERM and SIGINT are taken by sigwait on the main thread only, so no
// signal handler ever runs on a compute thread: oneDNN's GEMM runs with its
// stack pointer in a heap workspace, where a handler's frame would overwrite
// other heap memory (docs/RELIABILITY.md, "The fuzz timeout and oneDNN").
TEST_F(ProcessTest, EveryThreadBlocksTheShutdownSignals) {
  std::string out;
  std::ofstream(dir_ / "one.jsonl") << "{\"text\": \"threads start on first use\"}\n";
  ASSERT_EQ(RunCommand(Attnctl("embed --input " + (dir_ / "one.jsonl").string()), &out), 0);
  const uint64_t shutdown = (uint64_t{1} << (SIGTERM - 1)) | (uint64_t{1} << (SIGINT - 1));
  int threads = 0;
  for (const auto& task : fs::directory_iterator(absl::StrCat("/proc/", pid_, "/task"))) {
    const std::string tid = task.path().filename().string();
    // The main thread sits in sigwait, which unblocks the waited-for signals
    // while it waits; it runs no engine code.
    if (tid == std::to_string(pid_)) continue;
    EXPECT_EQ(BlockedSignals(pid_, tid) & shutdown, shutdown) << "thread " << tid;
    ++threads;
  }
  EXPECT_GT(threads, 4);  // gRPC's pollers, the admission workers and the metrics exposer
}

}  // namespace
}  // namespace attnserve
