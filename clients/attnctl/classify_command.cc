// `attnctl classify` in-process: the embed command's JSON-lines contract with
// the model's classification heads; output {"label", "scores", "stats"}.
#include <fstream>
#include <iostream>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "clients/attnctl/commands.h"
#include "clients/attnctl/json_lines.h"
#include "clients/attnctl/run_flags.h"
#include "engine/engine.h"

namespace attnserve {
namespace {

struct PendingText {
  std::vector<int32_t> ids;
  std::optional<std::string> error;
};

// Classifies the valid lines of `chunk` in one batch and prints every line.
bool FlushClassify(const Engine& engine, const std::string& head, const RunOptions& options,
                   std::vector<PendingText>& chunk) {
  std::vector<std::vector<int32_t>> batch;
  for (PendingText& line : chunk) {
    if (!line.error) batch.push_back(line.ids);
  }
  absl::StatusOr<ClassifyResult> result;
  if (!batch.empty()) result = engine.ClassifyTokenIds(std::move(batch), head, options);
  bool all_ok = true;
  size_t row = 0;
  for (PendingText& line : chunk) {
    if (!line.error && !result.ok()) line.error = std::string(result.status().message());
    if (line.error) {
      std::cout << FormatErrorLine(*line.error) << '\n';
      all_ok = false;
      continue;
    }
    std::cout << FormatClassifyLine(result->labels[result->predicted[row]], result->labels,
                                    result->scores[row], result->stats.texts[row], result->stats,
                                    static_cast<int>(result->scores.size()))
              << '\n';
    ++row;
  }
  std::cout.flush();
  chunk.clear();
  return all_ok;
}

}  // namespace

int RunClassifyCommand(const EmbedCommandOptions& opts) {
  absl::StatusOr<RunOptions> options = CommandRunOptions(opts);
  if (!options.ok()) {
    std::cerr << "attnctl classify: " << options.status().message() << '\n';
    return 2;
  }
  EngineConfig config;
  config.model_dir = opts.model_dir.empty() ? DefaultModelDir() : opts.model_dir;
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Load(config);
  if (!engine.ok()) {
    std::cerr << "attnctl classify: cannot load model: " << engine.status().message() << '\n';
    return 2;
  }
  // Fail fast on options and the head before reading any input.
  absl::Status ready = (*engine)->CheckOptions(*options);
  if (ready.ok()) {
    ready = (*engine)->ClassifyTokenIds({{1}}, opts.head, *options).status();
  }
  if (!ready.ok()) {
    std::cerr << "attnctl classify: " << ready.message() << '\n';
    return 2;
  }

  std::ifstream file;
  if (!opts.input_file.empty()) {
    file.open(opts.input_file, std::ios::binary);
    if (!file) {
      std::cerr << "attnctl classify: cannot open --input '" << opts.input_file << "'\n";
      return 2;
    }
  }
  std::istream& in = opts.input_file.empty() ? std::cin : file;
  bool all_ok = true;
  std::vector<PendingText> chunk;
  std::string line;
  int64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    PendingText pending;
    absl::StatusOr<std::string> text = ParseTextLine(line);
    absl::StatusOr<std::vector<int32_t>> ids =
        text.ok() ? (*engine)->Tokenize(*text) : text.status();
    if (!ids.ok()) {
      pending.error = absl::StrCat("line ", line_number, ": ", ids.status().message());
    } else if (ids->empty()) {
      pending.error = absl::StrCat("line ", line_number,
                                   ": text is empty (no tokens after NFKC normalisation)");
    } else {
      pending.ids = *std::move(ids);
    }
    chunk.push_back(std::move(pending));
    if (static_cast<int>(chunk.size()) >= opts.batch_size) {
      all_ok &= FlushClassify(**engine, opts.head, *options, chunk);
    }
  }
  if (!chunk.empty()) all_ok &= FlushClassify(**engine, opts.head, *options, chunk);
  return all_ok ? 0 : 1;
}

}  // namespace attnserve
