#include "engine/tokenizer/utf8.h"

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnserve {
namespace {

using ::testing::HasSubstr;

// Builds a std::string from a literal that may contain NUL bytes.
template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

TEST(ValidateUtf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(ValidateUtf8("").ok());
  EXPECT_TRUE(ValidateUtf8("plain ascii").ok());
  EXPECT_TRUE(ValidateUtf8(Bytes("nul\0inside")).ok());
  EXPECT_TRUE(ValidateUtf8("\xC2\x80").ok());          // U+0080
  EXPECT_TRUE(ValidateUtf8("\xDF\xBF").ok());          // U+07FF
  EXPECT_TRUE(ValidateUtf8("\xE0\xA0\x80").ok());      // U+0800
  EXPECT_TRUE(ValidateUtf8("\xED\x9F\xBF").ok());      // U+D7FF
  EXPECT_TRUE(ValidateUtf8("\xEE\x80\x80").ok());      // U+E000
  EXPECT_TRUE(ValidateUtf8("\xEF\xBF\xBD").ok());      // U+FFFD
  EXPECT_TRUE(ValidateUtf8("\xF0\x90\x80\x80").ok());  // U+10000
  EXPECT_TRUE(ValidateUtf8("\xF4\x8F\xBF\xBF").ok());  // U+10FFFF
  EXPECT_TRUE(ValidateUtf8("東京は日本の首都です。😀").ok());
}

struct BadCase {
  std::string bytes;
  size_t offset;
  std::string reason;
};

TEST(ValidateUtf8Test, RejectsMalformedTextNamingTheByte) {
  const BadCase cases[] = {
      {"0123456789abcdef!\x80", 17, "unexpected continuation byte"},
      {"\xBF", 0, "unexpected continuation byte"},
      {"ab\xC0\x80", 2, "overlong encoding"},  // NUL as 2 bytes
      {"\xC1\xBF", 0, "overlong encoding"},
      {"\xE0\x80\x80", 0, "overlong encoding"},
      {"x\xE0\x9F\xBF", 1, "overlong encoding"},     // U+07FF as 3 bytes
      {"\xF0\x8F\xBF\xBF", 0, "overlong encoding"},  // U+FFFF as 4 bytes
      {"\xED\xA0\x80", 0, "surrogate code point"},   // U+D800
      {"a\xED\xBF\xBF", 1, "surrogate code point"},  // U+DFFF
      {"\xF4\x90\x80\x80", 0, "code point above U+10FFFF"},
      {"\xF5\x80\x80\x80", 0, "invalid lead byte"},
      {"\xFF", 0, "invalid lead byte"},
      {"abc\xE2\x82", 3, "truncated sequence"},   // cut at the end
      {"\xE2\x82\x41", 0, "truncated sequence"},  // cut by "A"
      {"\xF0\x9F\x98", 0, "truncated sequence"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.reason + " at " + std::to_string(c.offset));
    absl::Status status = ValidateUtf8(c.bytes);
    ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(),
              "invalid UTF-8 at byte " + std::to_string(c.offset) + ": " + c.reason);
    EXPECT_EQ(DecodeUtf8(c.bytes).status(), status);
  }
}

TEST(DecodeUtf8Test, DecodesCodePoints) {
  auto decoded = DecodeUtf8(Bytes("a\0\xC3\xA9\xE2\x96\x81\xF0\x9F\x98\x80"));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, (std::u32string{U'a', 0, 0xE9, 0x2581, 0x1F600}));
}

TEST(AppendUtf8Test, RoundTripsThroughDecode) {
  const std::u32string cps = {0,      0x41,   0x7F,   0x80,    0x7FF,   0x800,
                              0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF};
  std::string encoded;
  for (char32_t cp : cps) AppendUtf8(cp, &encoded);
  EXPECT_EQ(encoded, Bytes("\0\x41\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF"
                           "\xEE\x80\x80\xEF\xBF\xBF\xF0\x90\x80\x80"
                           "\xF4\x8F\xBF\xBF"));
  auto decoded = DecodeUtf8(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, cps);
}

std::string Nfkc(std::string_view text) {
  absl::StatusOr<std::string> out = NormalizeNfkc(text);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : "<error>";
}

TEST(NormalizeNfkcTest, AppliesCompatibilityMappingsAndComposes) {
  EXPECT_EQ(Nfkc(""), "");
  EXPECT_EQ(Nfkc("Hello, world"), "Hello, world");
  EXPECT_EQ(Nfkc("\xEF\xAC\x81"), "fi");              // U+FB01 ligature
  EXPECT_EQ(Nfkc("\xEF\xBC\xA1\xEF\xBC\x91"), "A1");  // fullwidth A, 1
  EXPECT_EQ(Nfkc("½"), "1⁄2");                        // U+2044 between
  EXPECT_EQ(Nfkc("\xE2\x84\xA2"), "TM");              // ™
  EXPECT_EQ(Nfkc("\xE2\x80\xA6"), "...");             // …
  EXPECT_EQ(Nfkc("x\xC2\xB2"), "x2");                 // superscript two
  EXPECT_EQ(Nfkc("e\xCC\x81"), "\xC3\xA9");           // e + acute -> é
  EXPECT_EQ(Nfkc("\xE2\x84\xAB"), "\xC3\x85");        // angstrom sign -> Å
  EXPECT_EQ(Nfkc("\xEF\xBD\xB6"), "\xE3\x82\xAB");    // halfwidth katakana
}

TEST(NormalizeNfkcTest, SpacesAndControls) {
  // No-break and typographic spaces become U+0020 ...
  EXPECT_EQ(Nfkc("a\u00A0b"), "a b");
  EXPECT_EQ(Nfkc("a\u2003b"), "a b");
  EXPECT_EQ(Nfkc("a\u3000b"), "a b");
  // ... while tab, newline, zero-width space, U+2581 and NUL stay.
  EXPECT_EQ(Nfkc("a\t\nb"), "a\t\nb");
  EXPECT_EQ(Nfkc("a\u200Bb"), "a\u200Bb");  // zero-width space
  EXPECT_EQ(Nfkc("\xE2\x96\x81"), "\xE2\x96\x81");
  EXPECT_EQ(Nfkc(Bytes("a\0\xC3\xA9\0")), Bytes("a\0\xC3\xA9\0"));
}

TEST(NormalizeNfkcTest, RejectsInvalidUtf8) {
  absl::StatusOr<std::string> out = NormalizeNfkc("caf\xC3");
  ASSERT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(out.status().message(), HasSubstr("at byte 3"));
}

}  // namespace
}  // namespace attnserve
