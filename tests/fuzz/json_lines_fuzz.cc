// attnctl's JSON-lines input (ParseTextLine) on arbitrary bytes: an error or
// a valid UTF-8 text; the error line it would print is valid JSON.
#include <string>

#include "clients/attnctl/json_lines.h"
#include "engine/tokenizer/utf8.h"
#include "nlohmann/json.hpp"
#include "tests/fuzz/fuzz_target.h"

ATTNSERVE_FUZZ_TARGET(json_lines) {
  absl::StatusOr<std::string> text =
      attnserve::ParseTextLine(attnserve::fuzz::AsStringView(data, size));
  if (text.ok()) {
    ATTNSERVE_FUZZ_CHECK(attnserve::ValidateUtf8(*text).ok());
    return 0;
  }
  const std::string line = attnserve::FormatErrorLine(std::string(text.status().message()));
  ATTNSERVE_FUZZ_CHECK(nlohmann::json::accept(line));
  return 0;
}
