#include "engine/tokenizer/unigram_tokenizer.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/token_offsets.h"

namespace attnserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// One vocabulary entry: the piece (no quotes or backslashes) and the score as
// JSON text, so "null" can be written as it appears in vocab.json.
struct Entry {
  std::string piece;
  std::string score;
};

// A vocab.json with the six reserved ids followed by `pieces` (ids 6, 7, ...).
std::string VocabJson(const std::vector<Entry>& pieces) {
  std::vector<Entry> all = {{"\xEF\xBF\xBD", "0"},
                            {"<s>", "0"},
                            {"</s>", "0"},
                            {"extra_token_id_1", "0"},
                            {"extra_token_id_2", "0"},
                            {"extra_token_id_3", "0"}};
  all.insert(all.end(), pieces.begin(), pieces.end());
  std::string json = "[";
  for (size_t i = 0; i < all.size(); ++i) {
    absl::StrAppend(&json, i ? ",\n" : "", "[\"", all[i].piece, "\", ", all[i].score, "]");
  }
  return json + "]";
}

std::unique_ptr<UnigramTokenizer> MakeTokenizer(const std::vector<Entry>& pieces) {
  auto tokenizer = UnigramTokenizer::FromJson(VocabJson(pieces), "test.json");
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return tokenizer.ok() ? *std::move(tokenizer) : nullptr;
}

std::vector<int32_t> Ids(const UnigramTokenizer& tokenizer, std::string_view text) {
  absl::StatusOr<std::vector<int32_t>> ids = tokenizer.Encode(text);
  EXPECT_TRUE(ids.ok()) << ids.status();
  return ids.ok() ? *ids : std::vector<int32_t>{-1};
}

// ▁ is U+2581, the boundary marker.
constexpr char kB[] = "\xE2\x96\x81";

TEST(UnigramTokenizerTest, SegmentsWithTheBestScores) {
  auto tok = MakeTokenizer({{kB, "-1"},                        // 6
                            {"a", "-1"},                       // 7
                            {"b", "-1"},                       // 8
                            {absl::StrCat(kB, "ab"), "-1.5"},  // 9
                            {"ab", "-1.5"}});                  // 10
  ASSERT_NE(tok, nullptr);
  EXPECT_THAT(Ids(*tok, "ab"), ElementsAre(9));
  EXPECT_THAT(Ids(*tok, "ba"), ElementsAre(6, 8, 7));
  EXPECT_THAT(Ids(*tok, "abab"), ElementsAre(9, 10));
  EXPECT_EQ(tok->vocab_size(), 11);
  EXPECT_EQ(tok->piece(9), absl::StrCat(kB, "ab"));
  EXPECT_EQ(tok->piece(1), "<s>");
  EXPECT_EQ(tok->piece(11), "");
  EXPECT_EQ(tok->piece(-1), "");
}

TEST(UnigramTokenizerTest, EmptyTextGivesNoIds) {
  auto tok = MakeTokenizer({{kB, "-1"}});
  ASSERT_NE(tok, nullptr);
  EXPECT_THAT(Ids(*tok, ""), IsEmpty());
}

// Only U+0020 becomes ▁ (after NFKC, which turns U+00A0 and friends into it);
// a typed ▁ is the same as a space; every space is kept.
TEST(UnigramTokenizerTest, SpaceHandling) {
  auto tok = MakeTokenizer({{kB, "-1"},                     // 6
                            {"a", "-1"},                    // 7
                            {absl::StrCat(kB, "a"), "-1"},  // 8
                            {"b", "-1"}});                  // 9
  ASSERT_NE(tok, nullptr);
  EXPECT_THAT(Ids(*tok, " "), ElementsAre(6, 6));
  EXPECT_THAT(Ids(*tok, "   "), ElementsAre(6, 6, 6, 6));
  EXPECT_THAT(Ids(*tok, " a "), ElementsAre(6, 8, 6));
  EXPECT_THAT(Ids(*tok, "b a"), ElementsAre(6, 9, 8));
  EXPECT_THAT(Ids(*tok, absl::StrCat(kB, "a")), ElementsAre(6, 8));
  EXPECT_THAT(Ids(*tok, "\u00A0a"), ElementsAre(6, 8));     // no-break space
  EXPECT_THAT(Ids(*tok, "b\ta"), ElementsAre(6, 9, 0, 7));  // tab stays
}

// A null score counts as 0, the best possible score, so the piece wins
// mid-text; at the very start its total of exactly 0 reads as "unset" and any
// later edge ending at the same place replaces it.
TEST(UnigramTokenizerTest, NullScoreIsZeroAndZeroMeansUnset) {
  auto tok = MakeTokenizer({{kB, "-1"},                       // 6
                            {"a", "-1"},                      // 7
                            {absl::StrCat(kB, "a"), "null"},  // 8
                            {"b", "-1"},                      // 9
                            {absl::StrCat(kB, "b"), "-1"}});  // 10
  ASSERT_NE(tok, nullptr);
  EXPECT_THAT(Ids(*tok, "b a"), ElementsAre(10, 8));
  EXPECT_THAT(Ids(*tok, "a"), ElementsAre(6, 7));
}

TEST(UnigramTokenizerTest, ExplicitZeroScoreAlsoReadsAsUnset) {
  auto with_zero = MakeTokenizer({{kB, "-5"},                         // 6
                                  {"a", "-5"},                        // 7
                                  {absl::StrCat(kB, "a"), "0.0"}});   // 8
  auto with_half = MakeTokenizer({{kB, "-5"},                         // 6
                                  {"a", "-5"},                        // 7
                                  {absl::StrCat(kB, "a"), "-0.5"}});  // 8
  ASSERT_NE(with_zero, nullptr);
  ASSERT_NE(with_half, nullptr);
  EXPECT_THAT(Ids(*with_zero, "a"), ElementsAre(6, 7));  // -10 replaces 0
  EXPECT_THAT(Ids(*with_half, "a"), ElementsAre(8));
}

// Equal totals go to the edge with the later start, i.e. the shorter last
// piece: "555" could be ▁ 55 5 or ▁ 5 55 or ▁ 5 5 5, all -7.
TEST(UnigramTokenizerTest, TiesGoToTheLaterStart) {
  auto tok = MakeTokenizer({{kB, "-1"},      // 6
                            {"5", "-2"},     // 7
                            {"55", "-4"}});  // 8
  ASSERT_NE(tok, nullptr);
  EXPECT_THAT(Ids(*tok, "555"), ElementsAre(6, 7, 7, 7));
  EXPECT_THAT(Ids(*tok, "55"), ElementsAre(6, 7, 7));
}

// Characters that start no piece get one id-0 edge each; a run of them
// collapses into a single 0.
TEST(UnigramTokenizerTest, UnknownRunsCollapse) {
  auto tok = MakeTokenizer({{kB, "-1"},                     // 6
                            {"a", "-1"},                    // 7
                            {absl::StrCat(kB, "a"), "-1"},  // 8
                            {"b", "-1"}});                  // 9
  ASSERT_NE(tok, nullptr);
  EXPECT_THAT(Ids(*tok, "a\t\tb"), ElementsAre(8, 0, 9));
  EXPECT_THAT(Ids(*tok, "東京"), ElementsAre(6, 0));
  EXPECT_THAT(Ids(*tok, "b😀😀b"), ElementsAre(6, 9, 0, 9));  // two emoji, one 0
  EXPECT_THAT(Ids(*tok, std::string("a\0\0b", 4)), ElementsAre(8, 0, 9));
}

// Where some piece starts, no unknown edge is added even if no piece fits
// there. A position that no edge reaches keeps best 0 ("unset") and
// backtracks as id 0 of length 1, like the reference. (The real vocabulary
// has every first character of a piece as a piece of its own, so there this
// cannot happen.) Reserved ids (here the piece "<s>") are never matched.
TEST(UnigramTokenizerTest, UnknownEdgeOnlyWhereNoPieceStarts) {
  auto tok = MakeTokenizer({{kB, "-1"},     // 6
                            {"xy", "-1"},   // 7
                            {"y", "-1"},    // 8
                            {"z", "-1"}});  // 9
  ASSERT_NE(tok, nullptr);
  // "x" starts "xy", so it gets no unknown edge and position 2 stays unset.
  EXPECT_THAT(Ids(*tok, "x"), ElementsAre(6, 0));
  EXPECT_THAT(Ids(*tok, "xz"), ElementsAre(6, 0, 9));
  // "y" from the unset position has total -1 + 0, beating "xy" at -2.
  EXPECT_THAT(Ids(*tok, "xy"), ElementsAre(6, 0, 8));
  EXPECT_THAT(Ids(*tok, "<s>"), ElementsAre(6, 0));
}

// A duplicated piece is only ever produced with its highest id and score.
TEST(UnigramTokenizerTest, DuplicatePieceUsesHighestId) {
  auto tok = MakeTokenizer({{kB, "-1"},     // 6
                            {"dup", "-1"},  // 7
                            {"d", "-2"},    // 8
                            {"up", "-3"},   // 9
                            {"dup", "-4"},  // 10
                            {"u", "-9"},    // 11
                            {"p", "-9"}});  // 12
  ASSERT_NE(tok, nullptr);
  EXPECT_THAT(Ids(*tok, "dup"), ElementsAre(6, 10));
  auto worse = MakeTokenizer({{kB, "-1"},      // 6
                              {"dup", "-1"},   // 7
                              {"d", "-2"},     // 8
                              {"up", "-3"},    // 9
                              {"dup", "-10"},  // 10
                              {"u", "-9"},     // 11
                              {"p", "-9"}});   // 12
  ASSERT_NE(worse, nullptr);
  EXPECT_THAT(Ids(*worse, "dup"), ElementsAre(6, 8, 9));
}

TEST(UnigramTokenizerTest, NormalizesWithNfkc) {
  auto tok = MakeTokenizer({{kB, "-1"},                     // 6
                            {"fi", "-1"},                   // 7
                            {"f", "-2"},                    // 8
                            {"i", "-2"},                    // 9
                            {"TM", "-1"},                   // 10
                            {"T", "-2"},                    // 11
                            {"M", "-2"},                    // 12
                            {"\xC3\xA9", "-1"},             // 13: é
                            {absl::StrCat(kB, "1"), "-1"},  // 14
                            {"1", "-2"},                    // 15
                            {"\xE2\x81\x84", "-1"},         // 16: ⁄
                            {"2", "-1"}});                  // 17
  ASSERT_NE(tok, nullptr);
  EXPECT_THAT(Ids(*tok, "\xEF\xAC\x81"), ElementsAre(6, 7));    // ﬁ
  EXPECT_THAT(Ids(*tok, "\xE2\x84\xA2"), ElementsAre(6, 10));   // ™
  EXPECT_THAT(Ids(*tok, "e\xCC\x81"), ElementsAre(6, 13));      // e + U+0301
  EXPECT_THAT(Ids(*tok, "\xC2\xBD"), ElementsAre(14, 16, 17));  // ½ = 1⁄2
}

TEST(UnigramTokenizerTest, InvalidUtf8NamesTheByte) {
  auto tok = MakeTokenizer({{kB, "-1"}});
  ASSERT_NE(tok, nullptr);
  absl::StatusOr<std::vector<int32_t>> ids = tok->Encode("hello \xC3\x28");
  ASSERT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ids.status().message(), "invalid UTF-8 at byte 6: truncated sequence");
  ids = tok->Encode("ab\xED\xA0\x80");
  EXPECT_THAT(ids.status().message(), HasSubstr("at byte 2"));
}

TEST(UnigramTokenizerTest, NamesTheEntryOfABadVocabulary) {
  struct Case {
    std::string json;
    std::string message;
  };
  const std::string reserved = R"(["a",0],["b",0],["c",0],["d",0],["e",0],)";
  const Case cases[] = {
      {"{}", "v.json: expected an array of [piece, score]"},
      {"[]", "v.json: expected at least 6 entries (ids 0-5 are reserved), got 0"},
      {"[" + reserved + R"(["x",-1],["y"]])", "v.json: entry 6: expected [piece, score]"},
      {"[" + reserved + R"("x"])", "v.json: entry 5: expected [piece, score]"},
      {"[" + reserved + R"([7,-1]])", "v.json: entry 5: expected [piece, score]"},
      {"[" + reserved + R"(["x",-1,0]])", "v.json: entry 5: expected [piece, score]"},
      {"[" + reserved + R"(["x","-1"]])", "v.json: entry 5: score must be a number or null"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    auto tok = UnigramTokenizer::FromJson(c.json, "v.json");
    ASSERT_EQ(tok.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(tok.status().message(), c.message);
  }
  auto tok = UnigramTokenizer::FromJson("[[\"a\", 0],", "v.json");
  ASSERT_EQ(tok.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tok.status().message(), HasSubstr("v.json: invalid JSON: "));
}

// Found by fuzzing: a number that overflows (out_of_range in nlohmann, not
// parse_error) escaped FromJson and terminated the process.
TEST(UnigramTokenizerTest, OverflowingScoreIsInvalidJson) {
  auto tok = UnigramTokenizer::FromJson("[[\"a\", 1e999]]", "v.json");
  ASSERT_EQ(tok.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tok.status().message(), HasSubstr("v.json: invalid JSON: "));
}

TEST(UnigramTokenizerTest, LoadFromFile) {
  const std::filesystem::path path =
      std::filesystem::path(::testing::TempDir()) / "unigram_vocab_test.json";
  {
    std::ofstream out(path, std::ios::binary);
    out << VocabJson({{kB, "-1"}, {"a", "-1"}});
  }
  auto tok = UnigramTokenizer::LoadFromFile(path.string());
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_THAT(Ids(**tok, "a"), ElementsAre(6, 7));
  std::filesystem::remove(path);

  auto missing = UnigramTokenizer::LoadFromFile(path.string());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(path.string()));
}

// The examples of the model's facts sheet, on the real vocabulary.
class RealVocabTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* env = std::getenv("ATTNSERVE_MODEL_DIR");
    const std::filesystem::path path =
        std::filesystem::path(env != nullptr ? env : "models/use-lite") / "vocab.json";
    if (!std::filesystem::exists(path)) return;
    auto tok = UnigramTokenizer::LoadFromFile(path.string());
    ASSERT_TRUE(tok.ok()) << tok.status();
    tokenizer_ = std::move(tok).value().release();
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    tokenizer_ = nullptr;
  }
  void SetUp() override {
    if (tokenizer_ == nullptr) {
      GTEST_SKIP() << "no vocab.json under $ATTNSERVE_MODEL_DIR "
                      "(default models/use-lite)";
    }
  }

  std::vector<std::string> Pieces(std::string_view text) {
    std::vector<std::string> pieces;
    for (int32_t id : Ids(*tokenizer_, text)) {
      pieces.emplace_back(tokenizer_->piece(id));
    }
    return pieces;
  }

  static UnigramTokenizer* tokenizer_;
};

UnigramTokenizer* RealVocabTest::tokenizer_ = nullptr;

TEST_F(RealVocabTest, FactsSheetExamples) {
  EXPECT_EQ(tokenizer_->vocab_size(), 8000);
  EXPECT_THAT(Ids(*tokenizer_, "The quick brown fox jumps over the lazy dog."),
              ElementsAre(34, 2280, 3744, 1394, 152, 2009, 7, 132, 9, 6266, 959, 6));
  EXPECT_THAT(Ids(*tokenizer_, "hello"), ElementsAre(2002, 102));
  EXPECT_EQ(Ids(*tokenizer_, "Hello").size(), 2u);
  EXPECT_EQ(Ids(*tokenizer_, "HELLO WORLD").size(), 7u);
  const std::string b = kB;
  EXPECT_THAT(Pieces(":) hello"), ElementsAre(b, ":", ")", b + "hell", "o"));
  EXPECT_THAT(Pieces("10:30"), ElementsAre(b + "10", ":30"));
  const std::vector<int32_t> cjk = Ids(*tokenizer_, "東京は日本の首都です。");
  ASSERT_EQ(cjk.size(), 2u);
  EXPECT_EQ(tokenizer_->piece(cjk[0]), b);
  EXPECT_EQ(cjk[1], 0);
  const std::vector<int32_t> tabs = Ids(*tokenizer_, "a\t\tb");
  ASSERT_EQ(tabs.size(), 3u);
  EXPECT_EQ(tokenizer_->piece(tabs[0]), b + "a");
  EXPECT_EQ(tabs[1], 0);
  EXPECT_EQ(tokenizer_->piece(tabs[2]), "b");
}

// The damaged scores of the real vocabulary, which the reference relies on.
TEST_F(RealVocabTest, ScoreAnomalies) {
  const std::string b = kB;
  // Mid-text the null-scored "▁:(" wins as one piece (at the start, see
  // ":) hello" above, its total of 0 reads as unset).
  EXPECT_THAT(Pieces("ok :("), ElementsAre(b + "ok", b + ":("));
  // "”5" exists three times; only the last id is produced.
  EXPECT_THAT(Ids(*tokenizer_, "”5"), ::testing::Contains(4464));
  EXPECT_THAT(Ids(*tokenizer_, "”5"), ::testing::Not(::testing::Contains(230)));
}

// Each piece with the text its offsets point at; the ids must be Encode's.
std::vector<std::pair<std::string, std::string>> PiecesAndSlices(const UnigramTokenizer& t,
                                                                 const std::string& text) {
  std::vector<int32_t> ids;
  std::vector<ByteSpan> offsets;
  const absl::Status s = t.EncodeWithOffsets(text, &ids, &offsets);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(ids, Ids(t, text)) << text;
  EXPECT_EQ(test::OffsetProblem(text, ids.size(), offsets), "") << text;
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < ids.size() && i < offsets.size(); ++i) {
    out.emplace_back(t.piece(ids[i]),
                     text.substr(offsets[i].begin, offsets[i].end - offsets[i].begin));
  }
  return out;
}

using PieceSlice = std::pair<std::string, std::string>;

TEST_F(RealVocabTest, OffsetsPointAtTheTextAsSent) {
  const std::string b = kB;
  // The marker before the first word stands for no byte; later ones for the
  // space they replaced.
  EXPECT_THAT(PiecesAndSlices(*tokenizer_, ":) hello"),
              ElementsAre(PieceSlice{b, ""}, PieceSlice{":", ":"}, PieceSlice{")", ")"},
                          PieceSlice{b + "hell", " hell"}, PieceSlice{"o", "o"}));
  // A run of unknowns is one id over the whole run.
  const auto cjk = PiecesAndSlices(*tokenizer_, "東京は日本の首都です。");
  ASSERT_EQ(cjk.size(), 2u);
  EXPECT_EQ(cjk[1].second, "東京は日本の首都です。");
  // NFKC: the fullwidth letters and the ligature are covered as sent.
  const std::string text = "\xEF\xBC\xA8\xEF\xBD\x85llo \xEF\xAC\x81ne";  // Ｈｅllo ﬁne
  std::string joined;
  for (const auto& [piece, slice] : PiecesAndSlices(*tokenizer_, text)) joined += slice;
  EXPECT_EQ(joined, text);
}

// On ASCII text a piece is its slice with spaces as the boundary marker (the
// first piece also carries the marker before the first word).
TEST_F(RealVocabTest, AsciiSlicesSpellTheirPieces) {
  const std::string b = kB;
  for (const std::string text : {"The quick brown fox jumps over the lazy dog.",
                                 "HELLO   WORLD 10:30, ok :( fine", "a\t\tb e-mail x@y.z"}) {
    const auto pieces = PiecesAndSlices(*tokenizer_, text);
    for (size_t i = 0; i < pieces.size(); ++i) {
      const auto& [piece, slice] = pieces[i];
      if (piece == tokenizer_->piece(0)) continue;  // unknown
      std::string spelled = i == 0 ? b : "";
      for (char c : slice) spelled += c == ' ' ? b : std::string(1, c);
      EXPECT_EQ(spelled, piece) << text << " piece " << i;
    }
  }
}

}  // namespace
}  // namespace attnserve
