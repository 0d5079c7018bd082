#include "engine/tokenizer/aligned_text.h"

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/tokenizer/utf8.h"
#include "utf8proc.h"

namespace attnserve {
namespace {

struct FreeDeleter {
  void operator()(utf8proc_uint8_t* p) const { std::free(p); }
};

// A segment starts at a starter, except Hangul V and T jamo, which compose
// with the L (or LV syllable) before them.
bool StartsSegment(char32_t cp) {
  if (cp < 0x80) return true;
  if (cp >= 0x1161 && cp <= 0x11C2) return false;
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class == 0;
}

}  // namespace

bool NormalizationInert(char32_t cp) {
  if (cp < 0x80) return true;
  // Hangul syllables and conjoining jamo (de)compose algorithmically.
  if ((cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0xAC00 && cp <= 0xD7A3)) return false;
  const utf8proc_property_t* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
  return p->decomp_seqindex == UINT16_MAX && p->combining_class == 0 && p->comb_index == UINT16_MAX;
}

ByteSpan Union(ByteSpan a, ByteSpan b) {
  if (a.begin == a.end) return b;
  if (b.begin == b.end) return a;
  return {std::min(a.begin, b.begin), std::max(a.end, b.end)};
}

absl::Status NormalizeCodePoints(int utf8proc_options, std::u32string* s) {
  std::string utf8;
  utf8.reserve(s->size() * 2);
  for (char32_t c : *s) AppendUtf8(c, &utf8);
  utf8proc_uint8_t* raw = nullptr;
  // Explicit length, not UTF8PROC_NULLTERM: the text may contain NUL.
  const utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                   static_cast<utf8proc_ssize_t>(utf8.size()), &raw,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | utf8proc_options));
  std::unique_ptr<utf8proc_uint8_t, FreeDeleter> owned(raw);
  if (length < 0) {
    return absl::InternalError(
        absl::StrCat("Unicode normalization failed: ", utf8proc_errmsg(length)));
  }
  absl::StatusOr<std::u32string> decoded = DecodeUtf8(
      std::string_view(reinterpret_cast<const char*>(owned.get()), static_cast<size_t>(length)));
  if (!decoded.ok()) return decoded.status();
  *s = std::move(*decoded);
  return absl::OkStatus();
}

absl::Status DecodeAligned(std::string_view text, std::u32string* chars,
                           std::vector<ByteSpan>* origins) {
  absl::StatusOr<std::u32string> decoded = DecodeUtf8(text);
  if (!decoded.ok()) return decoded.status();
  *chars = std::move(*decoded);
  origins->clear();
  origins->reserve(chars->size());
  uint32_t at = 0;
  for (char32_t c : *chars) {
    const auto next = at + static_cast<uint32_t>(Utf8Length(c));
    origins->push_back({at, next});
    at = next;
  }
  return absl::OkStatus();
}

absl::Status NormalizeAligned(int utf8proc_options, std::u32string* chars,
                              std::vector<ByteSpan>* origins) {
  if (std::all_of(chars->begin(), chars->end(), NormalizationInert)) return absl::OkStatus();
  std::u32string out;
  std::vector<ByteSpan> out_origins;
  out.reserve(chars->size());
  out_origins.reserve(chars->size());
  const size_t n = chars->size();
  for (size_t begin = 0; begin < n;) {
    size_t end = begin + 1;
    while (end < n && !StartsSegment((*chars)[end])) ++end;
    std::u32string segment = chars->substr(begin, end - begin);
    ByteSpan span;
    for (size_t i = begin; i < end; ++i) span = Union(span, (*origins)[i]);
    if (!std::all_of(segment.begin(), segment.end(), NormalizationInert)) {
      if (absl::Status s = NormalizeCodePoints(utf8proc_options, &segment); !s.ok()) return s;
    }
    out += segment;
    out_origins.insert(out_origins.end(), segment.size(), span);
    begin = end;
  }
  std::u32string whole = *chars;
  if (absl::Status s = NormalizeCodePoints(utf8proc_options, &whole); !s.ok()) return s;
  if (whole != out) {
    ByteSpan all;
    for (const ByteSpan& o : *origins) all = Union(all, o);
    out = std::move(whole);
    out_origins.assign(out.size(), all);
  }
  *chars = std::move(out);
  *origins = std::move(out_origins);
  return absl::OkStatus();
}

}  // namespace attnserve
