// Text whose every code point remembers the bytes of the original UTF-8 it
// came from, through Unicode normalization: what tokenizers need to report
// each token's character offsets (Hugging Face's offset_mapping, TEI's
// /tokenize start/stop).
#ifndef ATTNSERVE_ENGINE_TOKENIZER_ALIGNED_TEXT_H_
#define ATTNSERVE_ENGINE_TOKENIZER_ALIGNED_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace attnserve {

// [begin, end) byte offsets into the original UTF-8 text.
struct ByteSpan {
  uint32_t begin = 0;
  uint32_t end = 0;
  bool operator==(const ByteSpan&) const = default;
};

// True when NFC, NFD and NFKC leave `cp` alone whatever surrounds it: no
// decomposition, combining class 0, in no composition pair, not Hangul. Text
// made only of such code points skips utf8proc's normalization.
bool NormalizationInert(char32_t cp);

// The smallest span holding both (an empty span is ignored).
ByteSpan Union(ByteSpan a, ByteSpan b);

// utf8proc normalization (options such as UTF8PROC_COMPOSE, UTF8PROC_DECOMPOSE,
// UTF8PROC_COMPOSE | UTF8PROC_COMPAT; UTF8PROC_STABLE is added) of code points.
absl::Status NormalizeCodePoints(int utf8proc_options, std::u32string* s);

// Code points of well-formed UTF-8 `text` with the byte span of each.
// Invalid UTF-8 is InvalidArgument naming the byte offset.
absl::Status DecodeAligned(std::string_view text, std::u32string* chars,
                           std::vector<ByteSpan>* origins);

// NormalizeCodePoints on `chars`, keeping `origins` (one per code point) in
// step: the text is normalized segment by segment, a segment being a starter
// (combining class 0) with the marks after it, and what a segment becomes
// takes the union of its code points' spans. Hangul vowel and trailing jamo
// join the segment before them, since they compose across starters. If the
// segments' results ever differ from normalizing the whole text, the whole
// text's result is kept and every code point gets the whole span: offsets
// coarsen, the code points never change.
absl::Status NormalizeAligned(int utf8proc_options, std::u32string* chars,
                              std::vector<ByteSpan>* origins);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_TOKENIZER_ALIGNED_TEXT_H_
