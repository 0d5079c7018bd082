#include "tools/labelled_data.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace attnserve {

absl::StatusOr<LabelledSet> ReadLabelledJsonl(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  LabelledSet set;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    try {
      const nlohmann::json j = nlohmann::json::parse(line);
      set.texts.push_back(j.at("text").get<std::string>());
      set.labels.push_back(j.at("label").get<std::string>());
    } catch (const nlohmann::json::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", n, ": ", e.what()));
    }
  }
  return set;
}

}  // namespace attnserve
