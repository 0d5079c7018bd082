// The engine against the reference runtime's recorded outputs: token ids
// exactly, embeddings to cosine >= 0.99999 and max |diff| <= 1e-4 per text.
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/test_model.h"
#include "tests/support/token_offsets.h"

namespace attnserve {
namespace {

using nlohmann::json;

constexpr char kEmbeddingCases[] = "tests/golden/data/use_lite_golden.jsonl";
constexpr char kTokenizerCases[] = "tests/golden/data/tokenizer_golden.jsonl";
constexpr double kMinCosine = 0.99999;
constexpr double kMaxAbsDiff = 1e-4;

std::vector<json> ReadJsonLines(const char* path) {
  std::vector<json> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) rows.push_back(json::parse(line));
  }
  return rows;
}

const Engine* SharedEngine() {
  static const Engine* engine = [] {
    EngineConfig config;
    config.model_dir = testing::TestModelDir();
    auto loaded = Engine::Load(config);
    return loaded.ok() ? loaded->release() : nullptr;
  }();
  return engine;
}

class GoldenEmbeddingTest : public ::testing::TestWithParam<json> {
 protected:
  void SetUp() override {
    ATTNSERVE_REQUIRE_TEST_MODEL();
    ASSERT_NE(SharedEngine(), nullptr) << "model failed to load";
  }
};

TEST_P(GoldenEmbeddingTest, MatchesReferenceRuntime) {
  const json& c = GetParam();
  const std::vector<std::string> texts = c["texts"].get<std::vector<std::string>>();
  RunOptions options;
  options.max_tokens = c.value("max_tokens", 0);
  if (c.contains("expect_error")) {
    auto result = SharedEngine()->Embed(texts, options);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(absl::StatusCodeToString(result.status().code()), "INVALID_ARGUMENT");
    return;
  }
  auto result = SharedEngine()->Embed(texts, options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->token_ids.size(), texts.size());
  for (size_t t = 0; t < texts.size(); ++t) {
    SCOPED_TRACE("text " + std::to_string(t));
    EXPECT_EQ(result->token_ids[t], c["token_ids"][t].get<std::vector<int32_t>>());
    const std::vector<double> want = c["embeddings"][t].get<std::vector<double>>();
    ASSERT_EQ(want.size(), static_cast<size_t>(result->dim));
    const float* got = result->embedding(t);
    double dot = 0, na = 0, nb = 0, worst = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      dot += got[i] * want[i];
      na += double{got[i]} * got[i];
      nb += want[i] * want[i];
      worst = std::max(worst, std::abs(got[i] - want[i]));
    }
    const double cosine = dot / std::sqrt(na * nb);
    EXPECT_GE(cosine, kMinCosine);
    EXPECT_LE(worst, kMaxAbsDiff);
  }
}

std::string CaseName(const ::testing::TestParamInfo<json>& info) {
  std::string name = std::to_string(info.index) + "_" + info.param["name"].get<std::string>();
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Reference, GoldenEmbeddingTest,
                         ::testing::ValuesIn(ReadJsonLines(kEmbeddingCases)), CaseName);

TEST(GoldenDataTest, FilesArePresentAndLargeEnough) {
  EXPECT_GE(ReadJsonLines(kEmbeddingCases).size(), 50u) << kEmbeddingCases;
  EXPECT_GE(ReadJsonLines(kTokenizerCases).size(), 1000u) << kTokenizerCases;
}

TEST(GoldenTokenizerTest, EveryStringGivesTheReferenceIds) {
  ATTNSERVE_REQUIRE_TEST_MODEL();
  ASSERT_NE(SharedEngine(), nullptr);
  int mismatches = 0;
  const std::vector<json> rows = ReadJsonLines(kTokenizerCases);
  for (const json& row : rows) {
    const std::string text = row["text"].get<std::string>();
    auto ids = SharedEngine()->Tokenize(text);
    ASSERT_TRUE(ids.ok()) << ids.status();
    if (*ids != row["ids"].get<std::vector<int32_t>>() && ++mismatches <= 10) {
      ADD_FAILURE() << "ids differ for " << json(text).dump();
    }
  }
  EXPECT_EQ(mismatches, 0) << "of " << rows.size() << " strings";
}

// /tokenize's offsets path normalizes segment by segment: it must give the
// reference ids too, with offsets that fit each string.
TEST(GoldenTokenizerTest, OffsetsPathGivesTheReferenceIds) {
  ATTNSERVE_REQUIRE_TEST_MODEL();
  ASSERT_NE(SharedEngine(), nullptr);
  int mismatches = 0;
  const std::vector<json> rows = ReadJsonLines(kTokenizerCases);
  for (const json& row : rows) {
    const std::string text = row["text"].get<std::string>();
    std::vector<int32_t> ids;
    std::vector<ByteSpan> offsets;
    ASSERT_TRUE(SharedEngine()->TokenizeWithOffsets(text, &ids, &offsets).ok());
    const std::string problem = test::OffsetProblem(text, ids.size(), offsets);
    if ((ids != row["ids"].get<std::vector<int32_t>>() || !problem.empty()) && ++mismatches <= 10) {
      ADD_FAILURE() << json(text).dump() << ": " << (problem.empty() ? "ids differ" : problem);
    }
  }
  EXPECT_EQ(mismatches, 0) << "of " << rows.size() << " strings";
}

}  // namespace
}  // namespace attnserve
