// Checks every tokenizer's offsets must pass, whatever the text: one span per
// id, inside the text, on UTF-8 character boundaries, in text order.
#ifndef ATTNSERVE_TESTS_SUPPORT_TOKEN_OFFSETS_H_
#define ATTNSERVE_TESTS_SUPPORT_TOKEN_OFFSETS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/aligned_text.h"

namespace attnserve::test {

inline bool OnCharBoundary(std::string_view text, size_t at) {
  return at == text.size() || (static_cast<unsigned char>(text[at]) & 0xC0) != 0x80;
}

// "" when `offsets` are well formed for `text` and `ids`, else what is wrong.
// An empty span is allowed only for the first id (the unigram tokenizer's
// word-boundary marker before the first word stands for no byte).
inline std::string OffsetProblem(std::string_view text, size_t num_ids,
                                 const std::vector<ByteSpan>& offsets) {
  if (offsets.size() != num_ids) {
    return std::to_string(offsets.size()) + " offsets for " + std::to_string(num_ids) + " ids";
  }
  for (size_t i = 0; i < offsets.size(); ++i) {
    const ByteSpan s = offsets[i];
    const std::string at = "token " + std::to_string(i) + " [" + std::to_string(s.begin) + ", " +
                           std::to_string(s.end) + "): ";
    if (s.begin > s.end || s.end > text.size()) return at + "outside the text";
    if (s.begin == s.end && i != 0) return at + "empty";
    if (!OnCharBoundary(text, s.begin) || !OnCharBoundary(text, s.end)) {
      return at + "not on a UTF-8 character boundary";
    }
    if (i > 0 && (s.begin < offsets[i - 1].begin || s.end < offsets[i - 1].end)) {
      return at + "before the token ahead of it";
    }
  }
  return "";
}

}  // namespace attnserve::test

#endif  // ATTNSERVE_TESTS_SUPPORT_TOKEN_OFFSETS_H_
