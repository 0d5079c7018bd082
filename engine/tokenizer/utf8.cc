#include "engine/tokenizer/utf8.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "utf8proc.h"

namespace attnserve {
namespace {

// Result of decoding one sequence: the code point and its byte length, or a
// reason (static string) when the sequence is malformed.
struct DecodeStep {
  char32_t cp = 0;
  int length = 0;
  const char* error = nullptr;
};

bool IsContinuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Decodes the sequence starting at text[pos] under the strict rules of
// Unicode 15 table 3-7 (no overlongs, no surrogates, nothing above U+10FFFF).
DecodeStep DecodeOne(std::string_view text, size_t pos) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  if (lead < 0x80) return {lead, 1, nullptr};
  if (IsContinuation(lead)) return {0, 0, "unexpected continuation byte"};
  if (lead < 0xC2) return {0, 0, "overlong encoding"};
  if (lead > 0xF4) return {0, 0, "invalid lead byte"};

  const int length = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  char32_t cp = lead & (0x7F >> length);
  for (int i = 1; i < length; ++i) {
    if (pos + i >= text.size()) return {0, 0, "truncated sequence"};
    const auto b = static_cast<unsigned char>(text[pos + i]);
    if (!IsContinuation(b)) return {0, 0, "truncated sequence"};
    cp = (cp << 6) | (b & 0x3F);
  }
  if ((length == 3 && cp < 0x800) || (length == 4 && cp < 0x10000)) {
    return {0, 0, "overlong encoding"};
  }
  if (cp >= 0xD800 && cp <= 0xDFFF) return {0, 0, "surrogate code point"};
  if (cp > 0x10FFFF) return {0, 0, "code point above U+10FFFF"};
  return {cp, length, nullptr};
}

absl::Status InvalidAt(size_t pos, const char* reason) {
  return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", pos, ": ", reason));
}

bool IsAscii(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

struct FreeDeleter {
  void operator()(utf8proc_uint8_t* p) const { std::free(p); }
};

}  // namespace

absl::Status ValidateUtf8(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    // ASCII dominates real input; skip it without the general decoder.
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const DecodeStep step = DecodeOne(text, pos);
    if (step.error != nullptr) return InvalidAt(pos, step.error);
    pos += step.length;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::u32string> DecodeUtf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const DecodeStep step = DecodeOne(text, pos);
    if (step.error != nullptr) return InvalidAt(pos, step.error);
    out.push_back(step.cp);
    pos += step.length;
  }
  return out;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

absl::StatusOr<std::string> NormalizeNfkc(std::string_view text) {
  if (absl::Status status = ValidateUtf8(text); !status.ok()) return status;
  // Every ASCII string is already in NFKC (no ASCII character decomposes or
  // composes with another ASCII character), so skip utf8proc's allocation.
  if (IsAscii(text)) return std::string(text);

  utf8proc_uint8_t* raw = nullptr;
  // Explicit length, not UTF8PROC_NULLTERM: the text may contain NUL bytes.
  const utf8proc_ssize_t length = utf8proc_map(
      reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
      static_cast<utf8proc_ssize_t>(text.size()), &raw,
      static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT));
  std::unique_ptr<utf8proc_uint8_t, FreeDeleter> owned(raw);
  if (length < 0) {
    return absl::InternalError(
        absl::StrCat("NFKC normalization failed: ", utf8proc_errmsg(length)));
  }
  return std::string(reinterpret_cast<const char*>(owned.get()), static_cast<size_t>(length));
}

}  // namespace attnserve
