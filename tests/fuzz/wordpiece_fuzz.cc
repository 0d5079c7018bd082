// WordPieceTokenizer::Encode/EncodeForModel on arbitrary bytes: never crashes,
// fails exactly when the text is not valid UTF-8, returns ids inside the
// vocabulary, and EncodeForModel respects max_length with one type id per id.
// The first byte picks the options (lowercase, strip_accents, CJK, a short
// max_input_chars_per_word); the rest is the text.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/tokenizer/utf8.h"
#include "engine/tokenizer/wordpiece_tokenizer.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

std::vector<std::string> SmallVocab() {
  return {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "un",   "##aff", "##able", "want", "##ed", "a",
          "##b",   "##a",   "e",     "é",     "中",   "σ",     "ς",      ",",    "!",    "##ς",
          "i",     "##i",   "the",   "##s",   "𫠠", "'",     "x",      "##x",  "ab",   "hello"};
}

const attnserve::WordPieceTokenizer& Tokenizer(unsigned variant) {
  static const std::array<const attnserve::WordPieceTokenizer*, 16> tokenizers = [] {
    std::array<const attnserve::WordPieceTokenizer*, 16> all{};
    for (unsigned v = 0; v < all.size(); ++v) {
      attnserve::WordPieceOptions options;
      options.lowercase = (v & 1) != 0;
      options.strip_accents = (v & 2) != 0;
      options.tokenize_chinese_chars = (v & 4) != 0;
      options.max_input_chars_per_word = (v & 8) != 0 ? 3 : 100;
      auto t = attnserve::WordPieceTokenizer::FromTokens(SmallVocab(), options);
      if (!t.ok()) {
        std::fprintf(stderr, "vocabulary: %s\n", std::string(t.status().message()).c_str());
        std::abort();
      }
      all[v] = new attnserve::WordPieceTokenizer(*std::move(t));
    }
    return all;
  }();
  return *tokenizers[variant % tokenizers.size()];
}

}  // namespace

ATTNSERVE_FUZZ_TARGET(wordpiece) {
  if (size == 0) return 0;
  const attnserve::WordPieceTokenizer& tokenizer = Tokenizer(data[0]);
  const std::string_view text = attnserve::fuzz::AsStringView(data + 1, size - 1);
  const bool valid = attnserve::ValidateUtf8(text).ok();
  absl::StatusOr<std::vector<int32_t>> ids = tokenizer.Encode(text);
  ATTNSERVE_FUZZ_CHECK(ids.ok() == valid);
  if (!ids.ok()) return 0;
  for (int32_t id : *ids) ATTNSERVE_FUZZ_CHECK(id >= 0 && id < tokenizer.vocab_size());
  // Text is never longer in words than in code points, so never more ids.
  ATTNSERVE_FUZZ_CHECK(ids->size() <= text.size() * 3);

  // Split the text in two at a code point boundary and encode the pair.
  size_t half = text.size() / 2;
  while (half > 0 && (static_cast<unsigned char>(text[half]) & 0xC0) == 0x80) --half;
  const int max_length = 3 + static_cast<int>(data[0] >> 4);
  absl::StatusOr<attnserve::BertEncoding> pair =
      tokenizer.EncodeForModel(text.substr(0, half), text.substr(half), max_length);
  ATTNSERVE_FUZZ_CHECK(pair.ok());
  ATTNSERVE_FUZZ_CHECK(pair->input_ids.size() <= static_cast<size_t>(max_length));
  ATTNSERVE_FUZZ_CHECK(pair->input_ids.size() == pair->token_type_ids.size());
  ATTNSERVE_FUZZ_CHECK(pair->input_ids.front() == tokenizer.cls_id());
  ATTNSERVE_FUZZ_CHECK(pair->input_ids.back() == tokenizer.sep_id());
  return 0;
}
