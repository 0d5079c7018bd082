#include "tools/calibration_prose.h"

#include "absl/strings/str_cat.h"
#include "tools/labelled_data.h"

namespace attnserve {

absl::StatusOr<std::vector<std::string>> CalibrationPassages(const std::string& data_dir,
                                                             size_t chars) {
  std::vector<std::string> passages;
  for (const char* set : {"yelp", "amazon", "imdb", "spam_assassin"}) {
    absl::StatusOr<LabelledSet> got =
        ReadLabelledJsonl(absl::StrCat(data_dir, "/", set, "/train.jsonl"));
    if (!got.ok()) return got.status();
    std::string passage;
    for (const std::string& text : got->texts) {
      if (passage.size() >= chars) break;
      absl::StrAppend(&passage, passage.empty() ? "" : "\n\n", text);
    }
    passages.push_back(std::move(passage));
  }
  return passages;
}

// One text per passage, four at every length, was too few: the cuts raised
// four defaults where the held-out minimum was closest to the line
// (docs/ATTENTION_QUALITY.md "Defaults by length").
std::vector<std::string> WindowsAt(const std::vector<std::string>& passages, int n, int windows) {
  const size_t chars = static_cast<size_t>(n) * 8;
  std::vector<std::string> texts;
  for (const std::string& passage : passages) {
    size_t start = 0;
    for (int w = 0; w < windows && start + chars <= passage.size(); ++w) {
      texts.push_back(passage.substr(start, chars));
      start = passage.find(' ', start + chars);
      if (start == std::string::npos) break;
      ++start;
    }
    if (passage.size() < chars) texts.push_back(passage);  // the whole, clipped at n
  }
  return texts;
}

}  // namespace attnserve
