// UTF-8 validation and decoding helpers shared by tokenizers and request validation.
#ifndef ATTNSERVE_ENGINE_TOKENIZER_UTF8_H_
#define ATTNSERVE_ENGINE_TOKENIZER_UTF8_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace attnserve {

// OK if `text` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF);
// otherwise InvalidArgument naming the byte offset of the first bad sequence.
absl::Status ValidateUtf8(std::string_view text);

// Code points of well-formed UTF-8 `text` (validate first).
absl::StatusOr<std::u32string> DecodeUtf8(std::string_view text);

// Bytes of `cp` in UTF-8.
inline int Utf8Length(char32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

// Appends the UTF-8 encoding of `cp` to `out`.
void AppendUtf8(char32_t cp, std::string* out);

// Unicode NFKC of valid UTF-8 `text` (utf8proc).
absl::StatusOr<std::string> NormalizeNfkc(std::string_view text);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_TOKENIZER_UTF8_H_
