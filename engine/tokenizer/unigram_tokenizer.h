// SentencePiece-unigram tokenizer that reproduces, id for id, the tokenizer of
// @energetic-ai/embeddings 0.2.0 (USE-lite), quirks included. The quirks and the
// exact best-path rules are documented in docs/TOKENIZER.md.
#ifndef ATTNSERVE_ENGINE_TOKENIZER_UNIGRAM_TOKENIZER_H_
#define ATTNSERVE_ENGINE_TOKENIZER_UNIGRAM_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tokenizer/aligned_text.h"

namespace attnserve {

class UnigramTokenizer {
 public:
  // Reads a vocab.json file: a JSON array of [piece, score] pairs, id = index.
  // Errors name the file and the offending entry.
  static absl::StatusOr<std::unique_ptr<UnigramTokenizer>> LoadFromFile(const std::string& path);
  // Same, from the JSON text; `source` names it in error messages.
  static absl::StatusOr<std::unique_ptr<UnigramTokenizer>> FromJson(std::string_view json_text,
                                                                    std::string_view source);

  // Token ids of `utf8_text`, never truncated. Invalid UTF-8 is InvalidArgument
  // naming the byte offset. Empty (after NFKC) text gives no ids.
  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view utf8_text) const;

  // Encode, and with `offsets` the bytes of `utf8_text` each id stands for: a
  // piece's word-boundary marker covers the space it replaced (the one before
  // the first word covers nothing), a run of unknowns covers the whole run,
  // and a piece of an NFKC expansion (e.g. "fi" of U+FB01) the whole source.
  absl::Status EncodeWithOffsets(std::string_view utf8_text, std::vector<int32_t>* ids,
                                 std::vector<ByteSpan>* offsets) const;

  int vocab_size() const;
  // The piece of `id` as UTF-8; empty for an out-of-range id.
  std::string_view piece(int32_t id) const;

  ~UnigramTokenizer();

 private:
  struct Impl;
  explicit UnigramTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_TOKENIZER_UNIGRAM_TOKENIZER_H_
