// fuzz_corpus_test: every fuzz target over its committed corpus
// (tests/fuzz/corpus/<target>/), built with the ordinary compiler. Inputs that
// once crashed a target live there too (named regression-*), so each stays a
// regression test in every build, sanitizers included.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/fuzz/fuzz_target.h"

namespace attnserve::fuzz {
namespace {

std::map<std::string, FuzzFunction>& Targets() {
  static auto* targets = new std::map<std::string, FuzzFunction>;
  return *targets;
}

bool ModelRequired() {
  const char* env = std::getenv("ATTNSERVE_REQUIRE_MODEL");
  return env != nullptr && std::string(env) == "1";
}

class CorpusTest : public ::testing::Test {
 public:
  CorpusTest(std::string name, FuzzFunction function)
      : name_(std::move(name)), function_(function) {}

  void TestBody() override {
    const std::filesystem::path dir = std::filesystem::path("tests/fuzz/corpus") / name_;
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir << " is missing";
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    ASSERT_FALSE(files.empty()) << dir << " has no inputs";
    for (const auto& file : files) {
      SCOPED_TRACE(file.string());
      std::ifstream in(file, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      EXPECT_EQ(function_(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
      if (!UnavailableReason().empty()) {
        if (ModelRequired()) FAIL() << UnavailableReason();
        GTEST_SKIP() << UnavailableReason();
      }
    }
  }

 private:
  const std::string name_;
  const FuzzFunction function_;
};

}  // namespace

bool RegisterTarget(const char* name, FuzzFunction function) {
  Targets()[name] = function;
  return true;
}

}  // namespace attnserve::fuzz

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (const auto& [name, function] : attnserve::fuzz::Targets()) {
    const std::string target = name;
    const attnserve::fuzz::FuzzFunction fn = function;
    ::testing::RegisterTest(
        "FuzzCorpus", target.c_str(), nullptr, nullptr, __FILE__, __LINE__,
        [target, fn]() -> ::testing::Test* { return new attnserve::fuzz::CorpusTest(target, fn); });
  }
  return RUN_ALL_TESTS();
}
