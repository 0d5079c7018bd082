// NormalizeAligned: normalization segment by segment keeps each code point's
// source bytes, and falls back to whole-text normalization (coarse spans,
// same code points) where segments would compose across a starter.
#include "engine/tokenizer/aligned_text.h"

#include <string>
#include <vector>

#include "engine/tokenizer/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "utf8proc.h"

namespace attnserve {
namespace {

using ::testing::ElementsAre;

struct Aligned {
  std::u32string chars;
  std::vector<ByteSpan> origins;
};

Aligned Normalize(const std::string& utf8, int options) {
  Aligned a;
  EXPECT_TRUE(DecodeAligned(utf8, &a.chars, &a.origins).ok());
  EXPECT_TRUE(NormalizeAligned(options, &a.chars, &a.origins).ok());
  EXPECT_EQ(a.chars.size(), a.origins.size());
  return a;
}

// The whole text through utf8proc, the reference for the code points.
std::u32string Whole(const std::string& utf8, int options) {
  std::u32string s = *DecodeUtf8(utf8);
  EXPECT_TRUE(NormalizeCodePoints(options, &s).ok());
  return s;
}

TEST(AlignedTextTest, DecodeGivesEachCodePointItsBytes) {
  std::u32string chars;
  std::vector<ByteSpan> origins;
  ASSERT_TRUE(DecodeAligned("a\xC3\xA9\xE6\x9D\xB1\xF0\x9F\x98\x80", &chars, &origins).ok());
  EXPECT_EQ(chars, U"a\u00E9\u6771\U0001F600");
  EXPECT_THAT(origins,
              ElementsAre(ByteSpan{0, 1}, ByteSpan{1, 3}, ByteSpan{3, 6}, ByteSpan{6, 10}));
  EXPECT_FALSE(DecodeAligned("a\xFF", &chars, &origins).ok());
}

TEST(AlignedTextTest, ComposedLetterCoversItsBaseAndMark) {
  // "Cafe" + COMBINING ACUTE, then " x": NFC gives é from bytes [3, 6).
  const std::string text = "Cafe\xCC\x81 x";
  const Aligned a = Normalize(text, UTF8PROC_COMPOSE);
  EXPECT_EQ(a.chars, U"Caf\u00E9 x");
  EXPECT_EQ(a.chars, Whole(text, UTF8PROC_COMPOSE));
  EXPECT_THAT(a.origins, ElementsAre(ByteSpan{0, 1}, ByteSpan{1, 2}, ByteSpan{2, 3}, ByteSpan{3, 6},
                                     ByteSpan{6, 7}, ByteSpan{7, 8}));
}

TEST(AlignedTextTest, DecomposedLetterSharesItsSource) {
  const std::string text = "\xC3\xA9t\xC3\xA9";  // "été"
  const Aligned a = Normalize(text, UTF8PROC_DECOMPOSE);
  EXPECT_EQ(a.chars, U"e\u0301te\u0301");
  EXPECT_THAT(a.origins, ElementsAre(ByteSpan{0, 2}, ByteSpan{0, 2}, ByteSpan{2, 3}, ByteSpan{3, 5},
                                     ByteSpan{3, 5}));
}

TEST(AlignedTextTest, CompatibilityExpansionSharesItsSource) {
  const std::string text = "\xEF\xAC\x81ne";  // U+FB01 LATIN SMALL LIGATURE FI, "ne"
  const Aligned a = Normalize(text, UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
  EXPECT_EQ(a.chars, U"fine");
  EXPECT_THAT(a.origins,
              ElementsAre(ByteSpan{0, 3}, ByteSpan{0, 3}, ByteSpan{3, 4}, ByteSpan{4, 5}));
}

TEST(AlignedTextTest, HangulJamoComposeAcrossStarters) {
  // "a " + conjoining L, V, T jamo: one syllable U+AC01 from bytes [2, 11).
  const std::string text = "a \xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8";
  const Aligned a = Normalize(text, UTF8PROC_COMPOSE);
  EXPECT_EQ(a.chars, U"a \uAC01");
  EXPECT_THAT(a.origins, ElementsAre(ByteSpan{0, 1}, ByteSpan{1, 2}, ByteSpan{2, 11}));
}

TEST(AlignedTextTest, StarterPairThatComposesFallsBackToTheWholeText) {
  // ORIYA VOWEL SIGN E + AA compose into U+0B4B though both are starters:
  // segments would keep them apart, so the whole text's NFC is kept and
  // every code point covers the whole text.
  const std::string text = "k\xE0\xAD\x87\xE0\xAC\xBE";
  const Aligned a = Normalize(text, UTF8PROC_COMPOSE);
  EXPECT_EQ(a.chars, Whole(text, UTF8PROC_COMPOSE));
  EXPECT_EQ(a.chars, U"k\u0B4B");
  EXPECT_THAT(a.origins, ElementsAre(ByteSpan{0, 7}, ByteSpan{0, 7}));
}

TEST(AlignedTextTest, AgreesWithWholeTextNormalizationOnMixedScripts) {
  const std::vector<std::string> texts = {
      "Ångström \xE2\x84\xAB 10\xE2\x81\xB5 \xEF\xBC\xA1\xEF\xBC\xA2",  // Å-sign, superscript,
                                                                        // fullwidth
      "\xCE\x91\xCC\x81\xCE\xB8\xCE\xB7\xCE\xBD\xCE\xB1",   // Greek with combining acute
      "\xE3\x81\x8B\xE3\x82\x99 \xED\x95\x9C\xEA\xB5\xAD",  // か + dakuten, 한국
      "q\xCC\xA3\xCC\x87 \xE1\xB8\x8B\xCC\xA3",             // marks needing reordering
  };
  for (const int form :
       {int{UTF8PROC_COMPOSE}, int{UTF8PROC_DECOMPOSE}, UTF8PROC_COMPOSE | UTF8PROC_COMPAT}) {
    for (const std::string& text : texts) {
      const Aligned a = Normalize(text, form);
      EXPECT_EQ(a.chars, Whole(text, form)) << text << " form " << form;
    }
  }
}

}  // namespace
}  // namespace attnserve
