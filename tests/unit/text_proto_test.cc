// Atomic text-proto files: what the policy store persists through.
#include "server/text_proto.h"

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "attnserve/v1/admin.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/per_test_dir.h"

namespace attnserve {
namespace {

namespace fs = std::filesystem;

class TextProtoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::PerTestDir("attnserve_text_proto_");
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void Touch(const fs::path& path) { std::ofstream(path) << "partial"; }

  // A pid that is certainly not running: a child that has been reaped.
  static pid_t DeadPid() {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    ::waitpid(pid, nullptr, 0);
    return pid;
  }

  fs::path dir_;
};

TEST_F(TextProtoTest, WriteThenParseRoundTrips) {
  v1::Policy policy;
  policy.set_version(7);
  policy.mutable_defaults()->mutable_attention()->set_kernel("flash");
  const std::string path = (dir_ / "policy.textproto").string();
  ASSERT_TRUE(WriteTextProtoFileAtomically(path, policy).ok());
  v1::Policy read;
  ASSERT_TRUE(ParseTextProtoFile(path, &read).ok());
  EXPECT_EQ(read.version(), 7);
  EXPECT_EQ(read.defaults().attention().kernel(), "flash");
  // Nothing is left beside it.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(TextProtoTest, StaleTemporariesOfDeadWritersAreRemovedOthersKept) {
  const fs::path path = dir_ / "policy.textproto";
  Touch(path);
  const fs::path dead = dir_ / ("policy.textproto.tmp." + std::to_string(DeadPid()));
  const fs::path live = dir_ / ("policy.textproto.tmp." + std::to_string(::getpid()));
  const fs::path other_file = dir_ / "other.textproto.tmp.1";
  const fs::path not_a_pid = dir_ / "policy.textproto.tmp.x1";
  for (const fs::path& p : {dead, live, other_file, not_a_pid}) Touch(p);

  EXPECT_EQ(RemoveStaleTemporaries(path.string()), 1);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));  // this process could still rename it
  EXPECT_TRUE(fs::exists(other_file));
  EXPECT_TRUE(fs::exists(not_a_pid));
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(RemoveStaleTemporaries((dir_ / "missing_dir" / "p").string()), 0);
}

TEST_F(TextProtoTest, UnparsableFileNamesFileLineAndColumn) {
  const fs::path path = dir_ / "torn.textproto";
  std::ofstream(path) << "version: 3\ndefaults { attention { kernel: \"fla";
  v1::Policy read;
  const absl::Status s = ParseTextProtoFile(path.string(), &read);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("torn.textproto: line 2"));
}

}  // namespace
}  // namespace attnserve
