// BERT's "basic" tokenization (Hugging Face's Python BasicTokenizer): clean
// the text, space out CJK ideographs, NFC, lowercase, strip accents, split on
// whitespace and punctuation. WordPieceTokenizer runs WordPiece on the words.
#ifndef ATTNSERVE_ENGINE_TOKENIZER_BERT_BASIC_TOKENIZER_H_
#define ATTNSERVE_ENGINE_TOKENIZER_BERT_BASIC_TOKENIZER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "engine/tokenizer/aligned_text.h"

namespace attnserve {

struct BertBasicOptions {
  bool lowercase = true;
  bool strip_accents = true;
  bool tokenize_chinese_chars = true;
};

// The words of one text: code points plus [begin, end) spans into them.
struct BertWords {
  std::u32string chars;
  std::vector<std::pair<uint32_t, uint32_t>> spans;

  std::u32string_view word(size_t i) const {
    return std::u32string_view(chars).substr(spans[i].first, spans[i].second - spans[i].first);
  }
  size_t size() const { return spans.size(); }
};

// Splits valid UTF-8 `text` into BERT words (never empty ones); invalid UTF-8
// is InvalidArgument naming the byte offset. `out` is overwritten. With
// `origins`, origins[i] is where out->chars[i] came from in `text`.
absl::Status BertBasicTokenize(std::string_view text, const BertBasicOptions& options,
                               BertWords* out, std::vector<ByteSpan>* origins = nullptr);

// The same words as UTF-8 strings (tests, tools).
std::vector<std::string> BertWordsAsUtf8(const BertWords& words);

// Code point classes of BERT's Python tokenizer (exposed for tests).
bool BertIsChineseChar(char32_t cp);
bool BertIsPunctuation(char32_t cp);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_TOKENIZER_BERT_BASIC_TOKENIZER_H_
