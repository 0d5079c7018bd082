// UnigramTokenizer::FromJson (a model's vocab.json) on arbitrary text: an
// error or a tokenizer that can encode a few texts.
#include "engine/tokenizer/unigram_tokenizer.h"
#include "tests/fuzz/fuzz_target.h"

ATTNSERVE_FUZZ_TARGET(vocab_json) {
  auto tokenizer =
      attnserve::UnigramTokenizer::FromJson(attnserve::fuzz::AsStringView(data, size), "fuzz");
  if (!tokenizer.ok()) return 0;
  for (const char* text : {"hello world", "a", " ", "\xc3\xa9t\xc3\xa9 \xe6\xbc\xa2"}) {
    absl::StatusOr<std::vector<int32_t>> ids = (*tokenizer)->Encode(text);
    ATTNSERVE_FUZZ_CHECK(ids.ok());
    for (int32_t id : *ids) ATTNSERVE_FUZZ_CHECK(id >= 0 && id < (*tokenizer)->vocab_size());
  }
  return 0;
}
