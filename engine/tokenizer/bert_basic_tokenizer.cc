#include "engine/tokenizer/bert_basic_tokenizer.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/tokenizer/aligned_text.h"
#include "engine/tokenizer/utf8.h"
#include "utf8proc.h"

namespace attnserve {
namespace {

utf8proc_category_t Category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

// Python's _is_control: every C* category except tab, newline and return
// (which are whitespace). Unassigned code points (Cn) count, as in Python.
bool IsControl(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  switch (Category(cp)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
      return true;
    default:
      return false;
  }
}

// Python's _is_whitespace.
bool IsWhitespace(char32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' ||
         Category(cp) == UTF8PROC_CATEGORY_ZS;
}

// What Python's str.split() still splits on after cleaning: the space, and the
// line/paragraph separators (Zl, Zp), which are neither control nor Zs.
bool IsSplitSpace(char32_t cp) {
  if (cp == ' ') return true;
  if (cp < 0x80) return false;
  const utf8proc_category_t c = Category(cp);
  return c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

// Unicode's Cased: Lu, Ll, Lt, and Other_Uppercase/Other_Lowercase. utf8proc
// has no Cased property: letters with a case mapping (e.g. U+216B, Nl) are
// found through it; ª, º and the squared/circled Latin capitals U+1F130-1F189
// have none and are listed. Other Other_Lowercase characters are Lm, which the
// final-sigma scan skips as case-ignorable before asking.
bool IsCased(char32_t cp) {
  const utf8proc_category_t c = Category(cp);
  if (c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT) {
    return true;
  }
  const auto i = static_cast<utf8proc_int32_t>(cp);
  if (utf8proc_tolower(i) != i || utf8proc_toupper(i) != i) return true;
  return cp == 0xAA || cp == 0xBA || (cp >= 0x1F130 && cp <= 0x1F149) ||
         (cp >= 0x1F150 && cp <= 0x1F169) || (cp >= 0x1F170 && cp <= 0x1F189);
}

// Unicode's Case_Ignorable: Mn, Me, Cf, Lm, Sk, and the Word_Break classes
// MidLetter, MidNumLet and Single_Quote (utf8proc has no Word_Break property,
// hence the short list).
bool IsCaseIgnorable(char32_t cp) {
  switch (cp) {
    case 0x27:
    case 0x2E:
    case 0x3A:
    case 0xB7:
    case 0x387:
    case 0x55F:
    case 0x5F4:
    case 0x2018:
    case 0x2019:
    case 0x2024:
    case 0x2027:
    case 0xFE13:
    case 0xFE52:
    case 0xFE55:
    case 0xFF07:
    case 0xFF0E:
    case 0xFF1A:
      return true;
    default:
      break;
  }
  switch (Category(cp)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK:
      return true;
    default:
      return false;
  }
}

// Python's str.lower() of U+03A3 at index i: final sigma when preceded by a
// cased letter and not followed by one (case-ignorables skipped both ways).
// The Rust tokenizers lowercase char by char and always give U+03C3.
char32_t LowerSigma(const std::u32string& s, size_t i) {
  size_t j = i;
  while (j > 0 && IsCaseIgnorable(s[j - 1])) --j;
  if (j == 0 || !IsCased(s[j - 1])) return 0x3C3;
  size_t k = i + 1;
  while (k < s.size() && IsCaseIgnorable(s[k])) ++k;
  return (k == s.size() || !IsCased(s[k])) ? 0x3C2 : 0x3C3;
}

// True when NFC and NFD may change `s` (see NormalizationInert).
bool MayNormalize(const std::u32string& s) {
  for (char32_t c : s) {
    if (!NormalizationInert(c)) return true;
  }
  return false;
}

// Lowercases `s`; `origins` (if not null) follows İ's expansion.
void Lowercase(std::u32string* s, std::vector<ByteSpan>* origins) {
  // Common case, no Σ (context) and no İ (expands): in place.
  if (std::find_if(s->begin(), s->end(), [](char32_t c) { return c == 0x3A3 || c == 0x130; }) ==
      s->end()) {
    for (char32_t& c : *s) {
      if (c < 0x80) {
        if (c >= 'A' && c <= 'Z') c += 32;
      } else {
        c = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
      }
    }
    return;
  }
  std::u32string out;
  std::vector<ByteSpan> out_origins;
  out.reserve(s->size());
  for (size_t i = 0; i < s->size(); ++i) {
    const char32_t c = (*s)[i];
    if (c < 0x80) {
      out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    } else if (c == 0x3A3) {
      out.push_back(LowerSigma(*s, i));
    } else if (c == 0x130) {
      // The one unconditional multi-character lowercase (SpecialCasing.txt):
      // Python gives "i" + COMBINING DOT ABOVE.
      out.push_back('i');
      out.push_back(0x307);
      if (origins != nullptr) out_origins.push_back((*origins)[i]);
    } else {
      out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
    }
    if (origins != nullptr) out_origins.push_back((*origins)[i]);
  }
  *s = std::move(out);
  if (origins != nullptr) *origins = std::move(out_origins);
}

// NFD, then drop the nonspacing marks; `origins` (if not null) in step.
absl::Status StripAccents(std::u32string* s, std::vector<ByteSpan>* origins) {
  if (origins != nullptr) {
    if (absl::Status st = NormalizeAligned(UTF8PROC_DECOMPOSE, s, origins); !st.ok()) return st;
    size_t kept = 0;
    for (size_t i = 0; i < s->size(); ++i) {
      const char32_t c = (*s)[i];
      if (c >= 0x80 && Category(c) == UTF8PROC_CATEGORY_MN) continue;
      (*s)[kept] = c;
      (*origins)[kept] = (*origins)[i];
      ++kept;
    }
    s->resize(kept);
    origins->resize(kept);
    return absl::OkStatus();
  }
  if (MayNormalize(*s)) {
    if (absl::Status st = NormalizeCodePoints(UTF8PROC_DECOMPOSE, s); !st.ok()) return st;
  }
  std::erase_if(*s, [](char32_t c) { return c >= 0x80 && Category(c) == UTF8PROC_CATEGORY_MN; });
  return absl::OkStatus();
}

}  // namespace

// The ranges of Python's BasicTokenizer._is_chinese_char. The Rust tokenizers
// start the fifth range at U+2B920 instead of U+2B820; we follow Python.
bool BertIsChineseChar(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// Python's _is_punctuation: the ASCII non-alphanumeric symbols plus P*.
bool BertIsPunctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
      (cp >= 123 && cp <= 126)) {
    return true;
  }
  if (cp < 0x80) return false;
  switch (Category(cp)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

absl::Status BertBasicTokenize(std::string_view text, const BertBasicOptions& options,
                               BertWords* out, std::vector<ByteSpan>* origins) {
  absl::StatusOr<std::u32string> decoded = DecodeUtf8(text);
  if (!decoded.ok()) return decoded.status();

  // Clean (drop NUL, U+FFFD and controls; whitespace -> space) and space out
  // CJK ideographs, in one pass as Python's two passes would. With `origins`,
  // each kept code point records its bytes in `text` (the spaces put around
  // an ideograph record none).
  std::u32string& s = out->chars;
  s.clear();
  s.reserve(decoded->size() + 8);
  if (origins != nullptr) {
    origins->clear();
    origins->reserve(decoded->size() + 8);
  }
  bool ascii = true;
  uint32_t at = 0;
  for (char32_t c : *decoded) {
    const uint32_t from = at;
    at += static_cast<uint32_t>(Utf8Length(c));
    const size_t before = s.size();
    if (c < 0x80) {
      if (c == 0 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) continue;
      s.push_back(c == '\t' || c == '\n' || c == '\r' ? U' ' : c);
    } else if (c == 0xFFFD || IsControl(c)) {
      continue;
    } else {
      ascii = false;
      if (IsWhitespace(c)) {
        s.push_back(' ');
      } else if (options.tokenize_chinese_chars && BertIsChineseChar(c)) {
        s.push_back(' ');
        s.push_back(c);
        s.push_back(' ');
      } else {
        s.push_back(c);
      }
    }
    if (origins != nullptr) {
      for (size_t i = before; i < s.size(); ++i) {
        origins->push_back(s[i] == ' ' && c != ' ' && !IsWhitespace(c) ? ByteSpan{from, from}
                                                                       : ByteSpan{from, at});
      }
    }
  }
  // Recent transformers NFC the text so that composed and decomposed input
  // agree; ASCII text is already NFC.
  if (!ascii && MayNormalize(s)) {
    absl::Status st = origins != nullptr ? NormalizeAligned(UTF8PROC_COMPOSE, &s, origins)
                                         : NormalizeCodePoints(UTF8PROC_COMPOSE, &s);
    if (!st.ok()) return st;
  }
  // Python lowercases and strips accents per whitespace token; the whole text
  // gives the same result because spaces are neither cased nor case-ignorable.
  if (options.lowercase) Lowercase(&s, origins);
  if (options.strip_accents) {
    if (absl::Status st = StripAccents(&s, origins); !st.ok()) return st;
  }

  // Whitespace split, then every punctuation character is a word of its own.
  out->spans.clear();
  uint32_t begin = 0;
  const auto n = static_cast<uint32_t>(s.size());
  for (uint32_t i = 0; i < n; ++i) {
    const char32_t c = s[i];
    if (IsSplitSpace(c)) {
      if (i > begin) out->spans.emplace_back(begin, i);
      begin = i + 1;
    } else if (BertIsPunctuation(c)) {
      if (i > begin) out->spans.emplace_back(begin, i);
      out->spans.emplace_back(i, i + 1);
      begin = i + 1;
    }
  }
  if (n > begin) out->spans.emplace_back(begin, n);
  return absl::OkStatus();
}

std::vector<std::string> BertWordsAsUtf8(const BertWords& words) {
  std::vector<std::string> result;
  result.reserve(words.size());
  for (size_t i = 0; i < words.size(); ++i) {
    std::string w;
    for (char32_t c : words.word(i)) AppendUtf8(c, &w);
    result.push_back(std::move(w));
  }
  return result;
}

}  // namespace attnserve
