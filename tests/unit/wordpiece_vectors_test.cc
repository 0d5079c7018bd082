// WordPieceTokenizer against third-party vectors: llama.cpp's
// ggml-vocab-bert-bge.gguf (bge-small's vocabulary) with its .inp texts and
// the .out ids that llama.cpp recorded from Hugging Face's tokenizer (no
// [CLS]/[SEP]). tools/fetch_tokenizer_vectors.sh (run by scripts/setup.sh)
// puts them in models/test-vectors/; without them the test skips, and fails
// under ATTNSERVE_REQUIRE_MODEL=1.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "engine/tokenizer/wordpiece_tokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/token_offsets.h"
#include "tests/unit/gguf_vocab_reader.h"

namespace attnserve {
namespace {

std::string VectorsDir() {
  const char* dir = std::getenv("ATTNSERVE_TOKENIZER_VECTORS_DIR");
  return dir != nullptr && *dir != '\0' ? dir : "models/test-vectors";
}

bool RequireModel() {
  const char* v = std::getenv("ATTNSERVE_REQUIRE_MODEL");
  return v != nullptr && std::string(v) == "1";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// llama.cpp's convert_hf_to_gguf.py stores BERT pieces with a "phantom
// space": "##x" as "x", a word-initial "x" as "▁x", "[...]" unchanged.
std::string FromLlamaPiece(const std::string& piece) {
  if (piece.size() >= 2 && piece.front() == '[' && piece.back() == ']') return piece;
  static const std::string kPhantom = "\xE2\x96\x81";  // U+2581
  if (piece.compare(0, kPhantom.size(), kPhantom) == 0) return piece.substr(kPhantom.size());
  return "##" + piece;
}

// The cases as llama.cpp's tests/test-tokenizer-0.cpp splits them.
std::vector<std::string> SplitInputs(const std::string& raw) {
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < raw.size()) {
    const size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      out.push_back(raw.substr(pos));
      break;
    }
    out.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  return out;
}

class WordPieceVectorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gguf_ = VectorsDir() + "/ggml-vocab-bert-bge.gguf";
    if (!std::filesystem::exists(gguf_)) {
      if (RequireModel()) {
        FAIL() << gguf_ << " is missing: run tools/fetch_tokenizer_vectors.sh";
      }
      GTEST_SKIP() << gguf_ << " is missing: run tools/fetch_tokenizer_vectors.sh";
    }
    absl::StatusOr<std::vector<std::string>> pieces =
        testing::ReadGgufStringArray(gguf_, "tokenizer.ggml.tokens");
    ASSERT_TRUE(pieces.ok()) << pieces.status();
    ASSERT_EQ(pieces->size(), 30522u);  // bert-base-uncased's vocabulary
    std::vector<std::string> tokens;
    for (const std::string& p : *pieces) tokens.push_back(FromLlamaPiece(p));
    EXPECT_EQ(tokens[100], "[UNK]");
    EXPECT_EQ(tokens[1996], "the");
    EXPECT_EQ(tokens[2015], "##s");

    // bge-small: do_lower_case true, strip_accents null (= true): the defaults.
    absl::StatusOr<WordPieceTokenizer> t = WordPieceTokenizer::FromTokens(tokens, {});
    ASSERT_TRUE(t.ok()) << t.status();
    tokenizer_.emplace(*std::move(t));
    tokens_ = std::move(tokens);
  }

  std::string gguf_;
  std::optional<WordPieceTokenizer> tokenizer_;
  std::vector<std::string> tokens_;
};

TEST_F(WordPieceVectorsTest, BgeVocabularyMatchesHuggingFaceIds) {
  const std::optional<WordPieceTokenizer>& t = tokenizer_;
  EXPECT_EQ(t->cls_id(), 101);
  EXPECT_EQ(t->sep_id(), 102);
  EXPECT_EQ(t->pad_id(), 0);
  const std::string& gguf = gguf_;

  const std::vector<std::string> inputs = SplitInputs(ReadAll(gguf + ".inp"));
  std::vector<std::string> outputs =
      absl::StrSplit(ReadAll(gguf + ".out"), '\n', absl::AllowEmpty());
  if (!outputs.empty() && outputs.back().empty()) outputs.pop_back();
  ASSERT_EQ(inputs.size(), outputs.size());
  ASSERT_GE(inputs.size(), 40u);
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<int32_t> expected;
    for (absl::string_view id : absl::StrSplit(outputs[i], ' ', absl::SkipEmpty())) {
      expected.push_back(std::stoi(std::string(id)));
    }
    absl::StatusOr<std::vector<int32_t>> ids = t->Encode(inputs[i]);
    ASSERT_TRUE(ids.ok()) << "case " << i << ": " << ids.status();
    EXPECT_EQ(*ids, expected) << "case " << i << ": \"" << inputs[i] << "\"";
  }
}

}  // namespace
}  // namespace attnserve

namespace attnserve {
namespace {

// tests/golden/wordpiece/bge_random.jsonl: 3,000 seeded random texts from a
// hostile character pool, under four lowercase/strip_accents settings, with
// the ids of Hugging Face's Python BertTokenizer algorithm
// (tests/golden/wordpiece/generate.py, on Python's own unicodedata).
TEST_F(WordPieceVectorsTest, RandomTextsMatchThePythonReference) {
  std::ifstream in("tests/golden/wordpiece/bge_random.jsonl");
  ASSERT_TRUE(in) << "tests/golden/wordpiece/bge_random.jsonl is missing";
  // One tokenizer per (lowercase, strip_accents), built on first use.
  std::map<std::pair<bool, bool>, WordPieceTokenizer> tokenizers;
  int cases = 0, mismatches = 0, offset_mismatches = 0;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    const std::string text = j.at("text").get<std::string>();
    const std::vector<int32_t> expected = j.at("ids").get<std::vector<int32_t>>();
    WordPieceOptions options;
    options.lowercase = j.at("do_lower_case").get<bool>();
    // Hugging Face's null: strip accents exactly when lowercasing.
    options.strip_accents =
        j.at("strip_accents").is_null() ? options.lowercase : j.at("strip_accents").get<bool>();
    auto key = std::make_pair(options.lowercase, options.strip_accents);
    auto it = tokenizers.find(key);
    if (it == tokenizers.end()) {
      absl::StatusOr<WordPieceTokenizer> t = WordPieceTokenizer::FromTokens(tokens_, options);
      ASSERT_TRUE(t.ok()) << t.status();
      it = tokenizers.emplace(key, *std::move(t)).first;
    }
    absl::StatusOr<std::vector<int32_t>> ids = it->second.Encode(text);
    ASSERT_TRUE(ids.ok()) << "case " << cases << ": " << ids.status();
    if (*ids != expected && ++mismatches <= 5) {
      ADD_FAILURE() << "case " << cases << ": " << nlohmann::json(text).dump() << "\n  got      "
                    << nlohmann::json(*ids).dump() << "\n  expected "
                    << nlohmann::json(expected).dump();
    }
    // The offsets path normalizes segment by segment: the same ids, and
    // offsets that fit the text.
    std::vector<int32_t> ids_with_offsets;
    std::vector<ByteSpan> offsets;
    ASSERT_TRUE(it->second.EncodeWithOffsets(text, &ids_with_offsets, &offsets).ok());
    const std::string problem = test::OffsetProblem(text, ids_with_offsets.size(), offsets);
    if ((ids_with_offsets != expected || !problem.empty()) && ++offset_mismatches <= 5) {
      ADD_FAILURE() << "case " << cases << " with offsets: " << nlohmann::json(text).dump()
                    << "\n  got " << nlohmann::json(ids_with_offsets).dump() << " " << problem;
    }
    ++cases;
  }
  EXPECT_EQ(offset_mismatches, 0) << "of " << cases << " cases";
  EXPECT_EQ(cases, 3000);
  EXPECT_EQ(tokenizers.size(), 4u);
  EXPECT_EQ(mismatches, 0) << "of " << cases << " cases";
}

}  // namespace
}  // namespace attnserve
