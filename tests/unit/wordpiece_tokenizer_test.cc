// WordPieceTokenizer rule by rule on small vocabularies built here; the
// expected ids follow Hugging Face's Python BertTokenizer (BasicTokenizer +
// WordpieceTokenizer), traced by hand. Third-party vectors are in
// wordpiece_vectors_test.cc.
#include "engine/tokenizer/wordpiece_tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "engine/tokenizer/bert_basic_tokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/per_test_dir.h"
#include "tests/support/token_offsets.h"
#include "utf8proc.h"

namespace attnserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Ids: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3, then the pieces below from 4 on.
std::vector<std::string> Vocab() {
  return {"[PAD]",  "[UNK]", "[CLS]", "[SEP]", "un",   "##aff",    "##able", "want",
          "##want", "##ed",  "wa",    "un##",                                // 4..11
          "runn",   "##ing", ",",     "!",     ".",    "hello",    "world",  // 12..18
          "apfel",  "cafe",  "ς",     "σ",     "οδος", "##ς",      "i",      // 19..25
          "中",     "文",    "a",     "##b",   "e",    "\xC3\xA9",           // 26..31 (é)
          "𫠠",   "'",     "s",     "-",     "x",    "##x",      "ab",     "\xCC\x81"};  // 32..39
}

WordPieceTokenizer Make(WordPieceOptions options = {}) {
  absl::StatusOr<WordPieceTokenizer> t = WordPieceTokenizer::FromTokens(Vocab(), options);
  EXPECT_TRUE(t.ok()) << t.status();
  return *std::move(t);
}

std::vector<int32_t> Ids(const WordPieceTokenizer& t, std::string_view text) {
  absl::StatusOr<std::vector<int32_t>> ids = t.Encode(text);
  EXPECT_TRUE(ids.ok()) << ids.status();
  return ids.ok() ? *ids : std::vector<int32_t>{-99};
}

std::vector<std::string> Words(std::string_view text, BertBasicOptions options = {}) {
  BertWords words;
  absl::Status s = BertBasicTokenize(text, options, &words);
  EXPECT_TRUE(s.ok()) << s;
  return BertWordsAsUtf8(words);
}

TEST(WordPieceTest, SpecialIds) {
  const WordPieceTokenizer t = Make();
  EXPECT_EQ(t.pad_id(), 0);
  EXPECT_EQ(t.unk_id(), 1);
  EXPECT_EQ(t.cls_id(), 2);
  EXPECT_EQ(t.sep_id(), 3);
  EXPECT_EQ(t.vocab_size(), 40);
  EXPECT_EQ(t.Piece(5), "##aff");
  EXPECT_EQ(t.Piece(40), "");
  EXPECT_EQ(t.Piece(-1), "");
}

// The example of BERT's README: "unwanted running" -> un ##want ##ed runn ##ing.
TEST(WordPieceTest, GreedyLongestMatchFirst) {
  const WordPieceTokenizer t = Make();
  EXPECT_THAT(Ids(t, "unwanted running"), ElementsAre(4, 8, 9, 12, 13));
  EXPECT_THAT(Ids(t, "unaffable"), ElementsAre(4, 5, 6));
  // "wa" + "##nt..." has no continuation: longest first is "want".
  EXPECT_THAT(Ids(t, "wanted"), ElementsAre(7, 9));
  // A continuation piece never starts a word, an initial piece never continues one.
  EXPECT_THAT(Ids(t, "ab"), ElementsAre(38));
  EXPECT_THAT(Ids(t, "abb"), ElementsAre(38, 29));
  EXPECT_THAT(Ids(t, "xx"), ElementsAre(36, 37));
}

TEST(WordPieceTest, NoMatchMakesTheWholeWordUnk) {
  const WordPieceTokenizer t = Make();
  // "un" matches but "##z" does not: one [UNK] for the word, not "un [UNK]".
  EXPECT_THAT(Ids(t, "unz hello"), ElementsAre(1, 17));
  EXPECT_THAT(Ids(t, "zzz"), ElementsAre(1));
}

TEST(WordPieceTest, OverLongWordIsUnk) {
  WordPieceOptions options;
  options.max_input_chars_per_word = 4;
  const WordPieceTokenizer t = Make(options);
  EXPECT_THAT(Ids(t, "xxxx"), ElementsAre(36, 37, 37, 37));
  EXPECT_THAT(Ids(t, "xxxxx"), ElementsAre(1));
  // Counted in code points, not bytes: "éééé" is 8 bytes but 4 characters.
  EXPECT_THAT(Ids(t, "ﬀ"), ElementsAre(1));  // not in the vocabulary at all
  const WordPieceTokenizer long_words = Make();
  EXPECT_THAT(Ids(long_words, std::string(100, 'x')).size(), 100);
  EXPECT_THAT(Ids(long_words, std::string(101, 'x')), ElementsAre(1));
}

TEST(WordPieceTest, EmptyAndWhitespaceOnlyTextGiveNoIds) {
  const WordPieceTokenizer t = Make();
  EXPECT_THAT(Ids(t, ""), IsEmpty());
  EXPECT_THAT(Ids(t, " \t\r\n\xC2\xA0\xE3\x80\x80"), IsEmpty());  // NBSP, ideographic space
}

TEST(WordPieceTest, LowercaseAndAccents) {
  const WordPieceTokenizer t = Make();
  EXPECT_THAT(Ids(t, "HeLLo WORLD"), ElementsAre(17, 18));
  // Composed and decomposed Ä both strip to "a".
  EXPECT_THAT(Ids(t, "\xC3\x84pfel Ape\xCC\x81"), ElementsAre(19, 1));
  EXPECT_THAT(Ids(t, "Caf\xC3\xA9 cafe\xCC\x81"), ElementsAre(20, 20));
  EXPECT_THAT(Words("\xC3\x85ngstr\xC3\xB6m"), ElementsAre("angstrom"));
}

TEST(WordPieceTest, CasedModelKeepsCaseAndAccents) {
  WordPieceOptions options;
  options.lowercase = false;
  options.strip_accents = false;
  const WordPieceTokenizer t = Make(options);
  EXPECT_THAT(Ids(t, "hello Hello"), ElementsAre(17, 1));
  // NFC first (recent transformers): decomposed e + U+0301 is the piece "é".
  EXPECT_THAT(Ids(t, "e\xCC\x81 \xC3\xA9"), ElementsAre(31, 31));
  EXPECT_THAT(Words("Ab\xC3\xA9", {false, false, true}), ElementsAre("Ab\xC3\xA9"));
}

TEST(WordPieceTest, StripAccentsWithoutLowercase) {
  EXPECT_THAT(Words("Caf\xC3\xA9", {false, true, true}), ElementsAre("Cafe"));
  // lowercase without strip_accents keeps the accent.
  EXPECT_THAT(Words("CAF\xC3\x89", {true, false, true}), ElementsAre("caf\xC3\xA9"));
}

// Python's str.lower() knows the final sigma; the Rust tokenizers do not.
TEST(WordPieceTest, FinalSigmaFollowsPython) {
  EXPECT_THAT(Words("\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3"), ElementsAre("οδος"));  // ΟΔΟΣ
  EXPECT_THAT(Words("\xCE\xA3"), ElementsAre("σ"));                             // Σ alone
  EXPECT_THAT(Words("\xCE\xA3\xCE\x91"), ElementsAre("σα"));                    // ΣΑ: not final
  // Case-ignorable "." after the sigma does not stop it being final.
  EXPECT_THAT(Words("\xCE\x91\xCE\xA3."), ElementsAre("ας", "."));
  // ... but a cased character after it does, even a Roman numeral (Nl) or ª (Lo).
  EXPECT_THAT(Words("\xCE\x91\xCE\xA3'\xE2\x85\xAB"), ElementsAre("ασ", "'", "ⅻ"));
  EXPECT_THAT(Words("\xCE\x91\xCE\xA3\xC2\xAA"), ElementsAre("ασª"));
  const WordPieceTokenizer t = Make();
  EXPECT_THAT(Ids(t, "\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3"), ElementsAre(23));
}

TEST(WordPieceTest, DottedCapitalIBecomesIPlusDotThenStripped) {
  EXPECT_THAT(Words("\xC4\xB0"), ElementsAre("i"));
  EXPECT_THAT(Words("\xC4\xB0", {true, false, true}), ElementsAre("i\xCC\x87"));
}

TEST(WordPieceTest, ChineseCharactersAreWordsOfTheirOwn) {
  const WordPieceTokenizer t = Make();
  EXPECT_THAT(Ids(t, "a中文b"), ElementsAre(28, 26, 27, 1));
  EXPECT_THAT(Words("ab中文"), ElementsAre("ab", "中", "文"));
  // Hiragana and Hangul are not in BERT's CJK ranges: one word. Stripping
  // accents decomposes them as Python's NFD does (dakuten and jamo).
  EXPECT_THAT(Words("ひらがな한국", {false, false, true}), ElementsAre("ひらがな한국"));
  EXPECT_THAT(Words("が한"), ElementsAre("か\u1112\u1161\u11ab"));
  // U+2B820 starts Python's range (U+2B920 in the Rust tokenizers).
  EXPECT_TRUE(BertIsChineseChar(0x2B820));
  EXPECT_TRUE(BertIsChineseChar(0x2B8FF));
  EXPECT_FALSE(BertIsChineseChar(0x2CEB0));
  EXPECT_FALSE(BertIsChineseChar(0x3042));  // あ
  EXPECT_THAT(Ids(t, "x𫠠x"), ElementsAre(36, 32, 36));
  WordPieceOptions off;
  off.tokenize_chinese_chars = false;
  EXPECT_THAT(Words("ab中文", {true, true, false}), ElementsAre("ab中文"));
}

TEST(WordPieceTest, PunctuationSplits) {
  const WordPieceTokenizer t = Make();
  EXPECT_THAT(Ids(t, "hello,world!"), ElementsAre(17, 14, 18, 15));
  EXPECT_THAT(Words("a$b`c~d^e"), ElementsAre("a", "$", "b", "`", "c", "~", "d", "^", "e"));
  // Unicode P*: « » (Pi/Pf), ¿ (Po), — (Pd); but not symbols like € (Sc) or ½ (No).
  EXPECT_THAT(Words("«a»¿b—c€d½"), ElementsAre("«", "a", "»", "¿", "b", "—", "c€d½"));
  EXPECT_THAT(Words("y'all don't"), ElementsAre("y", "'", "all", "don", "'", "t"));
  EXPECT_THAT(Words("!!!"), ElementsAre("!", "!", "!"));
}

TEST(WordPieceTest, ControlCharactersAreDroppedAndWhitespaceSplits) {
  // NUL, U+FFFD, BEL, ZWSP (Cf), soft hyphen (Cf), U+0085 (Cc) and a private-use
  // char (Co) vanish without splitting; tab/newline/NBSP/U+2028 split.
  EXPECT_THAT(Words(std::string("he\0l\xEF\xBF\xBDl\x07o", 11)), ElementsAre("hello"));
  EXPECT_THAT(Words("wor\xE2\x80\x8B\xC2\xAD\xC2\x85ld\xEE\x80\x80"), ElementsAre("world"));
  EXPECT_THAT(Words("a\tb\nc\xC2\xA0"
                    "d\xE2\x80\xA8"
                    "e"),
              ElementsAre("a", "b", "c", "d", "e"));
  // Combining marks alone disappear with strip_accents (no empty word).
  EXPECT_THAT(Words("a \xCC\x81 b"), ElementsAre("a", "b"));
}

TEST(WordPieceTest, InvalidUtf8NamesTheByteOffset) {
  const WordPieceTokenizer t = Make();
  absl::StatusOr<std::vector<int32_t>> ids = t.Encode("hello \xC3(");
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ids.status().message(), HasSubstr("byte 6"));
  EXPECT_FALSE(t.Encode("\xED\xA0\x80").ok());  // surrogate
}

TEST(WordPieceTest, SpecialTokenTextIsPlainText) {
  const WordPieceTokenizer t = Make();
  // "[SEP]" typed by a user is punctuation + word, never the separator id.
  EXPECT_THAT(Ids(t, "[SEP]"), ElementsAre(1, 1, 1));
}

TEST(WordPieceTest, EncodeForModelAddsSpecialsAndTypeIds) {
  const WordPieceTokenizer t = Make();
  absl::StatusOr<BertEncoding> one = t.EncodeForModel("hello world");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_THAT(one->input_ids, ElementsAre(2, 17, 18, 3));
  EXPECT_THAT(one->token_type_ids, ElementsAre(0, 0, 0, 0));
  absl::StatusOr<BertEncoding> pair = t.EncodeForModel("hello", "world !");
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_THAT(pair->input_ids, ElementsAre(2, 17, 3, 18, 15, 3));
  EXPECT_THAT(pair->token_type_ids, ElementsAre(0, 0, 0, 1, 1, 1));
}

TEST(WordPieceTest, EncodeForModelTruncatesLongestFirst) {
  const WordPieceTokenizer t = Make();
  // a: 4 ids, b: 2 ids, 3 specials; 7 allowed -> drop 2, both from a.
  absl::StatusOr<BertEncoding> pair = t.EncodeForModel("x x x x", "a a", 7);
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_THAT(pair->input_ids, ElementsAre(2, 36, 36, 3, 28, 28, 3));
  // Equal lengths: b loses the odd one (Hugging Face's rule).
  pair = t.EncodeForModel("x x", "a a", 6);
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_THAT(pair->input_ids, ElementsAre(2, 36, 36, 3, 28, 3));
  absl::StatusOr<BertEncoding> one = t.EncodeForModel("x x x", std::nullopt, 3);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_THAT(one->input_ids, ElementsAre(2, 36, 3));
  EXPECT_FALSE(t.EncodeForModel("x", "y", 2).ok());
}

TEST(WordPieceTest, DuplicateTokenIsRefusedNamingTheLine) {
  std::vector<std::string> tokens = Vocab();
  tokens.push_back("hello");
  absl::StatusOr<WordPieceTokenizer> t = WordPieceTokenizer::FromTokens(tokens, {});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr("line 41"));
  EXPECT_THAT(t.status().message(), HasSubstr("first on line 18"));
}

TEST(WordPieceTest, MissingSpecialTokensAreRefused) {
  for (const char* missing : {"[UNK]", "[CLS]", "[SEP]", "[PAD]"}) {
    std::vector<std::string> tokens = Vocab();
    std::erase(tokens, std::string(missing));
    absl::StatusOr<WordPieceTokenizer> t = WordPieceTokenizer::FromTokens(tokens, {});
    ASSERT_FALSE(t.ok()) << missing;
    EXPECT_THAT(t.status().message(), HasSubstr(missing));
  }
  WordPieceOptions options;
  options.unk_token = "<unk>";
  absl::StatusOr<WordPieceTokenizer> t = WordPieceTokenizer::FromTokens(Vocab(), options);
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("unk_token \"<unk>\""));
}

TEST(WordPieceTest, InvalidUtf8TokenIsRefusedNamingTheLine) {
  std::vector<std::string> tokens = Vocab();
  tokens[6] = "\xFF";
  absl::StatusOr<WordPieceTokenizer> t = WordPieceTokenizer::FromTokens(tokens, {});
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("line 7"));
}

// The normalization fast path is exact. Text changes under NFC/NFD only if
// it holds a code point that decomposes or reorders, or a composition pair
// (x, y); y then occurs after the first place of some code point's full
// canonical decomposition (or decomposes itself). So no inert code point may
// decompose or occur there; x may be inert (ASCII letters are), y never is.
TEST(WordPieceTest, NormalizationInertIsExactOverTheWholeCodeSpace) {
  const auto nf = [](char32_t cp, utf8proc_option_t form) {
    utf8proc_int32_t buffer[32];
    int last_boundclass = 0;
    const utf8proc_ssize_t n = utf8proc_decompose_char(
        static_cast<utf8proc_int32_t>(cp), buffer, 32,
        static_cast<utf8proc_option_t>(UTF8PROC_STABLE | form), &last_boundclass);
    return std::u32string(buffer, buffer + std::max<utf8proc_ssize_t>(n, 0));
  };
  std::vector<bool> in_composition(0x110000, false);
  int inert = 0;
  for (char32_t cp = 0; cp < 0x110000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    const std::u32string d = nf(cp, UTF8PROC_DECOMPOSE);
    if (d != std::u32string(1, cp)) in_composition[cp] = true;
    // Composition exclusions never recompose (their parts are covered by
    // the code points that do).
    if (utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->comp_exclusion) continue;
    for (size_t i = 1; i < d.size(); ++i) in_composition[d[i]] = true;
  }
  for (char32_t cp = 0; cp < 0x110000; ++cp) {
    if ((cp >= 0xD800 && cp <= 0xDFFF) || !NormalizationInert(cp)) continue;
    ++inert;
    ASSERT_FALSE(in_composition[cp]) << std::hex << "U+" << static_cast<uint32_t>(cp);
  }
  EXPECT_GT(inert, 1000000);  // nearly all of the code space, ASCII included
}

class WordPieceFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::PerTestDir("wordpiece_test_");
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(WordPieceFileTest, ReadsVocabTxtWithCrLfAndNamesDuplicateLines) {
  const std::string good = Write("vocab.txt", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhi\r\n##s\n");
  absl::StatusOr<WordPieceTokenizer> t = WordPieceTokenizer::FromVocabFile(good, {});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->vocab_size(), 6);
  EXPECT_THAT(Ids(*t, "His"), ElementsAre(4, 5));

  const std::string dup = Write("dup.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhi\nhi\n");
  t = WordPieceTokenizer::FromVocabFile(dup, {});
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("dup.txt: line 6: duplicate token \"hi\""));

  t = WordPieceTokenizer::FromVocabFile((dir_ / "absent.txt").string(), {});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(WordPieceFileTest, OptionsFromDirectory) {
  absl::StatusOr<WordPieceOptions> o = WordPieceTokenizer::OptionsFromDirectory(dir_.string());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->lowercase);
  EXPECT_TRUE(o->strip_accents);

  Write("tokenizer.json",
        R"({"normalizer": {"type": "BertNormalizer", "lowercase": true, "strip_accents": null,
            "handle_chinese_chars": true, "clean_text": true},
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 50}})");
  Write("tokenizer_config.json",
        R"({"do_lower_case": false, "strip_accents": null, "tokenize_chinese_chars": false,
            "cls_token": {"content": "<cls>", "lstrip": false}})");
  Write("special_tokens_map.json", R"({"sep_token": "<sep>", "pad_token": "<pad>"})");
  o = WordPieceTokenizer::OptionsFromDirectory(dir_.string());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->lowercase);
  EXPECT_FALSE(o->strip_accents);  // null follows do_lower_case
  EXPECT_FALSE(o->tokenize_chinese_chars);
  EXPECT_EQ(o->max_input_chars_per_word, 50);
  EXPECT_EQ(o->unk_token, "[UNK]");
  EXPECT_EQ(o->cls_token, "<cls>");
  EXPECT_EQ(o->sep_token, "<sep>");
  EXPECT_EQ(o->pad_token, "<pad>");

  // transformers: tokenizer_config.json's keys, or their defaults, override
  // the normalizer of tokenizer.json...
  Write("tokenizer.json",
        R"({"normalizer": {"type": "BertNormalizer", "lowercase": false, "strip_accents": false,
                           "handle_chinese_chars": false}})");
  Write("tokenizer_config.json", R"({"model_max_length": 512})");
  o = WordPieceTokenizer::OptionsFromDirectory(dir_.string());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->lowercase);
  EXPECT_TRUE(o->strip_accents);
  EXPECT_TRUE(o->tokenize_chinese_chars);
  // ... which counts alone without one.
  std::filesystem::remove(dir_ / "tokenizer_config.json");
  o = WordPieceTokenizer::OptionsFromDirectory(dir_.string());
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_FALSE(o->lowercase);
  EXPECT_FALSE(o->strip_accents);
  EXPECT_FALSE(o->tokenize_chinese_chars);

  Write("tokenizer_config.json", R"({"do_lower_case": "yes"})");
  o = WordPieceTokenizer::OptionsFromDirectory(dir_.string());
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("tokenizer_config.json: do_lower_case"));

  Write("tokenizer_config.json", "{");
  o = WordPieceTokenizer::OptionsFromDirectory(dir_.string());
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("tokenizer_config.json: invalid JSON"));

  std::filesystem::remove(dir_ / "tokenizer_config.json");
  Write("tokenizer.json", R"({"model": {"type": "WordPiece", "continuing_subword_prefix": "@@"}})");
  o = WordPieceTokenizer::OptionsFromDirectory(dir_.string());
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("continuing_subword_prefix"));
}

TEST_F(WordPieceFileTest, FromDirectoryPrefersVocabTxtElseTokenizerJson) {
  Write("tokenizer.json",
        R"({"normalizer": {"type": "BertNormalizer", "lowercase": false},
            "model": {"type": "WordPiece", "unk_token": "[UNK]",
                      "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "Hi": 4, "##s": 5}}})");
  absl::StatusOr<WordPieceTokenizer> t = WordPieceTokenizer::FromDirectory(dir_.string());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_FALSE(t->options().lowercase);
  EXPECT_EQ(t->vocab_size(), 6);
  EXPECT_THAT(Ids(*t, "His hi"), ElementsAre(4, 5, 1));

  // vocab.txt wins when present.
  Write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nHis\n");
  t = WordPieceTokenizer::FromDirectory(dir_.string());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(Ids(*t, "His"), ElementsAre(4));
  std::filesystem::remove(dir_ / "vocab.txt");

  Write("tokenizer.json", R"({"model": {"vocab": {"[PAD]": 0, "[UNK]": 0}}})");
  t = WordPieceTokenizer::FromDirectory(dir_.string());
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("model.vocab id 0 is used twice"));
  Write("tokenizer.json", R"({"model": {"vocab": {"[PAD]": 0, "[UNK]": 7}}})");
  t = WordPieceTokenizer::FromDirectory(dir_.string());
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("model.vocab[\"[UNK]\"] must be an id in [0, 2)"));
  Write("tokenizer.json", R"({"model": {"vocab": {"[PAD]": 0, "[UNK]": 1}}})");
  t = WordPieceTokenizer::FromDirectory(dir_.string());
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("model.vocab: vocabulary has no cls_token"));

  std::filesystem::remove(dir_ / "tokenizer.json");
  t = WordPieceTokenizer::FromDirectory(dir_.string());
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace attnserve

namespace attnserve {
namespace {

// Each id with the text its offsets point at.
std::vector<std::pair<int32_t, std::string>> IdsAndSlices(const WordPieceTokenizer& t,
                                                          const std::string& text) {
  std::vector<int32_t> ids;
  std::vector<ByteSpan> offsets;
  const absl::Status s = t.EncodeWithOffsets(text, &ids, &offsets);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(ids, Ids(t, text)) << text;
  EXPECT_EQ(test::OffsetProblem(text, ids.size(), offsets), "") << text;
  std::vector<std::pair<int32_t, std::string>> out;
  for (size_t i = 0; i < ids.size() && i < offsets.size(); ++i) {
    out.emplace_back(ids[i], text.substr(offsets[i].begin, offsets[i].end - offsets[i].begin));
  }
  return out;
}

using Slice = std::pair<int32_t, std::string>;

TEST(WordPieceOffsetsTest, PiecesPointAtTheirLettersAsWritten) {
  const WordPieceTokenizer t = Make();
  EXPECT_THAT(IdsAndSlices(t, "  Unwanted, RUNNING!"),
              ElementsAre(Slice{4, "Un"}, Slice{8, "want"}, Slice{9, "ed"}, Slice{14, ","},
                          Slice{12, "RUNN"}, Slice{13, "ING"}, Slice{15, "!"}));
  // An unknown word is one [UNK] over the whole word.
  EXPECT_THAT(IdsAndSlices(t, "hello zzz"), ElementsAre(Slice{17, "hello"}, Slice{1, "zzz"}));
}

TEST(WordPieceOffsetsTest, NormalizedLettersCoverTheirSource) {
  const WordPieceTokenizer t = Make();
  // Composed é, decomposed e + U+0301: both "cafe", over the letters sent.
  EXPECT_THAT(IdsAndSlices(t, "Caf\xC3\xA9 cafe\xCC\x81."),
              ElementsAre(Slice{20, "Caf\xC3\xA9"}, Slice{20, "cafe\xCC\x81"}, Slice{16, "."}));
  // İ lowercases to i + dot (two code points), stripped to "i": one letter.
  EXPECT_THAT(IdsAndSlices(t, "\xC4\xB0 a"), ElementsAre(Slice{25, "\xC4\xB0"}, Slice{28, "a"}));
  // CJK ideographs are words of their own; controls are dropped.
  EXPECT_THAT(IdsAndSlices(t, "a\x01中文"),
              ElementsAre(Slice{28, "a"}, Slice{26, "中"}, Slice{27, "文"}));
}

// On ASCII text every piece is, lowercased and without "##", its own slice.
TEST(WordPieceOffsetsTest, AsciiSlicesSpellTheirPieces) {
  const WordPieceTokenizer t = Make();
  for (const std::string text :
       {"Unwanted running, HELLO world!", "ab-x'x unaffable wanted", "a.b,c  x\tx\nab"}) {
    for (const auto& [id, slice] : IdsAndSlices(t, text)) {
      if (id == 1) continue;  // [UNK]
      std::string piece = t.Piece(id);
      if (piece.rfind("##", 0) == 0) piece = piece.substr(2);
      std::string lower = slice;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      EXPECT_EQ(lower, piece) << text;
    }
  }
}

}  // namespace
}  // namespace attnserve
