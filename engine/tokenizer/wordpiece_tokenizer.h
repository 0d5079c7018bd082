// BERT WordPiece tokenizer (BERT, DistilBERT, MobileBERT, MiniLM, bge): the
// basic tokenization and greedy longest-match-first WordPiece of Hugging
// Face's Python BertTokenizer. Rules and the deliberate differences from the
// Rust `tokenizers` library are in docs/TOKENIZER.md.
#ifndef ATTNSERVE_ENGINE_TOKENIZER_WORDPIECE_TOKENIZER_H_
#define ATTNSERVE_ENGINE_TOKENIZER_WORDPIECE_TOKENIZER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/tokenizer/aligned_text.h"

namespace attnserve {

struct WordPieceOptions {
  bool lowercase = true;
  // Resolved value: Hugging Face's `strip_accents: null` means "= lowercase".
  bool strip_accents = true;
  bool tokenize_chinese_chars = true;
  std::string unk_token = "[UNK]", cls_token = "[CLS]", sep_token = "[SEP]", pad_token = "[PAD]";
  // Words longer than this (in code points, after basic tokenization) become [UNK].
  int max_input_chars_per_word = 100;
};

// Model input for one text or a pair: [CLS] a [SEP] (b [SEP]).
struct BertEncoding {
  std::vector<int32_t> input_ids;
  // 0 for [CLS], a and its [SEP]; 1 for b and its [SEP].
  std::vector<int32_t> token_type_ids;
};

class WordPieceTokenizer {
 public:
  // Reads vocab.txt (one token per line, id = line number, "\r\n" accepted);
  // refuses duplicates and invalid UTF-8 naming the line, and a vocabulary
  // without the unk/cls/sep/pad tokens of `options`.
  static absl::StatusOr<WordPieceTokenizer> FromVocabFile(const std::string& path,
                                                          WordPieceOptions options);
  // Same, from the tokens in id order.
  static absl::StatusOr<WordPieceTokenizer> FromTokens(std::vector<std::string> tokens,
                                                       WordPieceOptions options);
  // The tokenizer of a Hugging Face directory: OptionsFromDirectory, then
  // vocab.txt, or model.vocab of tokenizer.json when there is no vocab.txt.
  static absl::StatusOr<WordPieceTokenizer> FromDirectory(const std::string& dir);
  // Reads options from tokenizer.json, then tokenizer_config.json, then
  // special_tokens_map.json in `dir` (later files override earlier ones;
  // as in transformers, a tokenizer_config.json decides lowercase,
  // strip_accents and tokenize_chinese_chars alone, absent keys meaning
  // true/null/true); missing files keep the defaults. Malformed JSON or unsupported settings
  // (e.g. a continuing_subword_prefix other than "##") are errors naming the file.
  static absl::StatusOr<WordPieceOptions> OptionsFromDirectory(const std::string& dir);

  // Ids of valid UTF-8 text WITHOUT [CLS]/[SEP], never truncated. Invalid
  // UTF-8 is InvalidArgument naming the byte offset. Special-token strings in
  // the text (e.g. "[SEP]") are ordinary text here, not special ids.
  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text) const;

  // Encode, and with `offsets` the bytes of `text` each id stands for (a
  // piece of an accented or case-expanded letter covers the whole letter).
  absl::Status EncodeWithOffsets(std::string_view text, std::vector<int32_t>* ids,
                                 std::vector<ByteSpan>* offsets) const;

  // [CLS] a [SEP] (b [SEP]) with token type ids. max_length > 0 truncates the
  // texts (not the special tokens) as Hugging Face's "longest_first" does;
  // max_length <= 0 means no limit. InvalidArgument when max_length is too
  // small to hold the special tokens.
  absl::StatusOr<BertEncoding> EncodeForModel(std::string_view a,
                                              std::optional<std::string_view> b = std::nullopt,
                                              int max_length = 0) const;

  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t pad_id() const { return pad_id_; }
  int32_t unk_id() const { return unk_id_; }
  // The token of `id` as in vocab.txt; empty for an out-of-range id.
  const std::string& Piece(int32_t id) const;
  int vocab_size() const { return static_cast<int>(tokens_.size()); }
  const WordPieceOptions& options() const { return options_; }

 private:
  WordPieceTokenizer() = default;
  // Appends the WordPiece ids of one basic-tokenized word (code points) and,
  // with `piece_ends`, where each piece ends in the word (code points).
  void EncodeWord(std::u32string_view word, std::string* scratch, std::vector<int32_t>* ids,
                  std::vector<uint32_t>* piece_ends = nullptr) const;

  WordPieceOptions options_;
  std::vector<std::string> tokens_;
  // Every token -> id (word-initial lookups).
  absl::flat_hash_map<std::string, int32_t> initial_;
  // "##x" tokens keyed by "x" (continuation lookups without building "##x").
  absl::flat_hash_map<std::string, int32_t> continuation_;
  // Longest token in bytes: longer candidate substrings cannot match.
  size_t max_token_bytes_ = 0;
  int32_t unk_id_ = -1, cls_id_ = -1, sep_id_ = -1, pad_id_ = -1;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_TOKENIZER_WORDPIECE_TOKENIZER_H_
