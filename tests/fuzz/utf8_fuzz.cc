// UTF-8 validation, decoding and NFKC on arbitrary bytes: validation and
// decoding agree, decoding round-trips, NFKC gives valid UTF-8 and is idempotent.
#include <string>

#include "engine/tokenizer/utf8.h"
#include "tests/fuzz/fuzz_target.h"

ATTNSERVE_FUZZ_TARGET(utf8) {
  const std::string_view text = attnserve::fuzz::AsStringView(data, size);
  const bool valid = attnserve::ValidateUtf8(text).ok();
  if (!valid) return 0;
  absl::StatusOr<std::u32string> decoded = attnserve::DecodeUtf8(text);
  ATTNSERVE_FUZZ_CHECK(decoded.ok());
  std::string encoded;
  for (char32_t cp : *decoded) attnserve::AppendUtf8(cp, &encoded);
  ATTNSERVE_FUZZ_CHECK(encoded == text);
  absl::StatusOr<std::string> nfkc = attnserve::NormalizeNfkc(text);
  ATTNSERVE_FUZZ_CHECK(nfkc.ok());
  ATTNSERVE_FUZZ_CHECK(attnserve::ValidateUtf8(*nfkc).ok());
  absl::StatusOr<std::string> again = attnserve::NormalizeNfkc(*nfkc);
  ATTNSERVE_FUZZ_CHECK(again.ok() && *again == *nfkc);
  return 0;
}
