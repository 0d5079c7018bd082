// UnigramTokenizer::Encode on arbitrary bytes: never crashes, fails exactly
// when the bytes are not valid UTF-8, and returns ids inside the vocabulary.
// Uses the real vocabulary when the model is present, else a small built-in one.
#include <memory>
#include <string>

#include "engine/tokenizer/unigram_tokenizer.h"
#include "engine/tokenizer/utf8.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

// Ids 0-5 are reserved (unk, <s>, </s>, three extras), as in USE-lite.
constexpr char kSmallVocab[] = R"([["<unk>",0],["<s>",0],["</s>",0],["e1",0],["e2",0],["e3",0],
  ["\u2581",-2.0],["\u2581the",-3.0],["a",-4.0],["b",-4.5],["ab",-3.5],["\u2581a",-3.2],
  ["s",-3.3],[".",-3.1],["\u00e9",-5.0],["\u6f22",-6.0],["\ud83d\ude00",-7.0],["1",-4.0]])";

const attnserve::UnigramTokenizer& Tokenizer() {
  static const attnserve::UnigramTokenizer* tokenizer = [] {
    const std::string model = attnserve::fuzz::ModelDirIfPresent();
    auto t = model.empty() ? attnserve::UnigramTokenizer::FromJson(kSmallVocab, "built-in")
                           : attnserve::UnigramTokenizer::LoadFromFile(model + "/vocab.json");
    if (!t.ok()) {
      std::fprintf(stderr, "vocabulary: %s\n", std::string(t.status().message()).c_str());
      std::abort();
    }
    return t->release();
  }();
  return *tokenizer;
}

}  // namespace

ATTNSERVE_FUZZ_TARGET(tokenizer) {
  const std::string_view text = attnserve::fuzz::AsStringView(data, size);
  const attnserve::UnigramTokenizer& tokenizer = Tokenizer();
  absl::StatusOr<std::vector<int32_t>> ids = tokenizer.Encode(text);
  ATTNSERVE_FUZZ_CHECK(ids.ok() == attnserve::ValidateUtf8(text).ok());
  if (ids.ok()) {
    for (int32_t id : *ids) ATTNSERVE_FUZZ_CHECK(id >= 0 && id < tokenizer.vocab_size());
  }
  return 0;
}
