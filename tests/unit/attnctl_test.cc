// The attnctl embed JSON-lines contract, run as a real process.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/attention/length_defaults.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/test_model.h"

namespace attnserve {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

struct RunResult {
  int exit_code = -1;
  std::vector<std::string> lines;  // stdout
  std::string err;
};

class AttnctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    input_ = std::filesystem::temp_directory_path() /
             ("attnctl_test_" + std::to_string(::getpid()) + "_" + name + ".jsonl");
    err_ = input_.string() + ".err";
  }
  void TearDown() override {
    std::filesystem::remove(input_);
    std::filesystem::remove(err_);
  }

  RunResult Run(const std::string& args, const std::string& input) {
    std::ofstream(input_, std::ios::binary) << input;
    const std::string cmd =
        std::string(ATTNCTL_PATH) + " " + args + " < " + input_.string() + " 2> " + err_;
    RunResult result;
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) return result;
    std::string out;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) result.lines.push_back(line);
    std::ifstream err(err_);
    result.err.assign(std::istreambuf_iterator<char>(err), {});
    return result;
  }
  std::string ModelArg() { return "--model " + testing::TestModelDir(); }

  std::filesystem::path input_;
  std::string err_;
};

TEST_F(AttnctlTest, EveryLineAnsweredInOrderAndBadLinesNamed) {
  ATTNSERVE_REQUIRE_TEST_MODEL();
  const std::string input =
      "{\"text\": \"hello\"}\n"
      "not json\n"
      "\n"  // blank lines carry no input
      "{\"text\": \"bad \xff byte\"}\n"
      "{\"text\": \"\"}\n"
      "{\"txt\": \"wrong field\"}\n"
      "{\"text\": \"The quick brown fox jumps over the lazy dog.\"}\n";
  RunResult r = Run("embed " + ModelArg() + " --batch-size 2", input);
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_EQ(r.lines.size(), 6u) << r.err;
  const json first = json::parse(r.lines[0]);
  EXPECT_EQ(first["token_ids"], json({2002, 102}));
  EXPECT_EQ(first["embedding"].size(), 512u);
  EXPECT_EQ(first["stats"]["tokens_used"], 2);
  EXPECT_EQ(first["stats"]["attention"], "dense");
  EXPECT_THAT(json::parse(r.lines[1])["error"].get<std::string>(),
              HasSubstr("line 2: invalid JSON"));
  EXPECT_THAT(json::parse(r.lines[2])["error"].get<std::string>(),
              HasSubstr("line 4: invalid UTF-8 at byte 14"));
  EXPECT_THAT(json::parse(r.lines[3])["error"].get<std::string>(),
              HasSubstr("line 5: text is empty"));
  EXPECT_THAT(json::parse(r.lines[4])["error"].get<std::string>(),
              HasSubstr("line 6: missing field \"text\""));
  const json last = json::parse(r.lines[5]);
  EXPECT_EQ(last["token_ids"].size(), 12u);
  EXPECT_NEAR(last["embedding"][0].get<double>(), -0.0135338, 2e-6);
}

// Found by fuzz_json_lines: a number that overflows made nlohmann throw
// out_of_range (not parse_error), which escaped and killed attnctl.
TEST_F(AttnctlTest, OverflowingNumberIsAnErrorLine) {
  ATTNSERVE_REQUIRE_TEST_MODEL();
  RunResult r =
      Run("embed " + ModelArg(), "{\"text\": \"a\", \"n\": 1e999}\n{\"text\": \"hello\"}\n");
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_EQ(r.lines.size(), 2u) << r.err;
  EXPECT_THAT(json::parse(r.lines[0])["error"].get<std::string>(),
              HasSubstr("line 1: invalid JSON"));
  EXPECT_EQ(json::parse(r.lines[1])["token_ids"], json({2002, 102}));
}

TEST_F(AttnctlTest, AllGoodExitsZeroAndMaxTokensLiftsTheClip) {
  ATTNSERVE_REQUIRE_TEST_MODEL();
  std::string text;
  for (int i = 0; i < 300; ++i) text += "and ";
  RunResult clipped = Run("embed " + ModelArg(), "{\"text\": \"" + text + "\"}\n");
  EXPECT_EQ(clipped.exit_code, 0) << clipped.err;
  ASSERT_EQ(clipped.lines.size(), 1u);
  const json c = json::parse(clipped.lines[0]);
  EXPECT_EQ(c["stats"]["tokens_used"], 128);
  EXPECT_GT(c["token_ids"].size(), 128u);  // full tokenizer output, before the clip
  RunResult lifted =
      Run("embed " + ModelArg() + " --max-tokens 1000", "{\"text\": \"" + text + "\"}\n");
  ASSERT_EQ(lifted.lines.size(), 1u);
  EXPECT_EQ(json::parse(lifted.lines[0])["stats"]["tokens_used"], c["token_ids"].size());
}

TEST_F(AttnctlTest, BadOptionsFailFastWithAMessage) {
  ATTNSERVE_REQUIRE_TEST_MODEL();
  RunResult kernel = Run("embed " + ModelArg() + " --attention nope", "{\"text\": \"x\"}\n");
  EXPECT_EQ(kernel.exit_code, 2);
  EXPECT_THAT(kernel.err, HasSubstr("unknown attention kernel 'nope'"));
  RunResult param = Run("embed " + ModelArg() + " --attention-param novalue", "");
  EXPECT_EQ(param.exit_code, 2);
  EXPECT_THAT(param.err, HasSubstr("expected key=value"));
  RunResult model = Run("embed --model /nonexistent/dir", "");
  EXPECT_EQ(model.exit_code, 2);
  EXPECT_THAT(model.err, HasSubstr("cannot load model"));
}

TEST_F(AttnctlTest, KernelsListsTheCatalogue) {
  RunResult r = Run("kernels --json", "");
  EXPECT_EQ(r.exit_code, 0);
  std::string all;
  for (const std::string& l : r.lines) all += l;
  const json list = json::parse(all);
  ASSERT_TRUE(list.is_array());
  EXPECT_EQ(list[0]["name"], "dense");
  EXPECT_EQ(list[0]["exact"], true);
  // Length-dependent defaults come with their points.
  const LengthDefault& rule = AllLengthDefaults().front();
  bool found = false;
  for (const json& k : list) {
    if (k["name"] != rule.kernel) continue;
    for (const json& p : k["params"]) {
      if (p["name"] != rule.param) continue;
      found = true;
      ASSERT_TRUE(p.contains("default_by_length")) << p.dump();
      EXPECT_EQ(p["default_by_length"].size(), rule.points.size());
      EXPECT_EQ(p["default_by_length"][0][0], rule.points[0].first);
    }
  }
  EXPECT_TRUE(found) << rule.kernel << "." << rule.param;
}

}  // namespace
}  // namespace attnserve
