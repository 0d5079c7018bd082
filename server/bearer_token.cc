#include "server/bearer_token.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/util/file_io.h"

namespace attnserve {

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i % std::max<size_t>(b.size(), 1)];
  return diff == 0 && !b.empty();
}

absl::StatusOr<std::vector<std::string>> ReadTokenFile(absl::string_view field,
                                                       const std::string& file) {
  absl::StatusOr<std::string> text = ReadFileToString(file, 64 << 10);
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat(field, ": ", text.status().message()));
  }
  std::vector<std::string> tokens;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.size() < kMinTokenChars) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": ", file, ":", line_number,
                                                     ": a token must have at least ",
                                                     kMinTokenChars, " characters"));
    }
    tokens.emplace_back(line);
  }
  if (tokens.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", file, " holds no token"));
  }
  return tokens;
}

absl::Status CheckBearer(const std::optional<absl::string_view>& authorization,
                         const std::vector<std::string>& tokens, absl::string_view what) {
  if (!authorization.has_value()) {
    return absl::UnauthenticatedError(absl::StrCat(what, " needs 'Authorization: Bearer <key>'"));
  }
  constexpr absl::string_view kPrefix = "Bearer ";
  bool match = false;
  if (authorization->substr(0, kPrefix.size()) == kPrefix) {
    const absl::string_view given = authorization->substr(kPrefix.size());
    // Every token is compared, so the time does not say which one matched.
    for (const std::string& t : tokens) match |= ConstantTimeEquals(given, t);
  }
  if (!match) return absl::PermissionDeniedError(absl::StrCat(what, ": the key was rejected"));
  return absl::OkStatus();
}

}  // namespace attnserve
