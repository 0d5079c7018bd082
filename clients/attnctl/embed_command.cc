#include <cstdlib>
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

// One input line on its way through: either ids to embed or an error.
struct PendingLine {
  std::vector<int32_t> ids;
  std::optional<std::string> error;
};

// Embeds the valid lines of `chunk` in one batch and prints every line.
bool FlushChunk(const Engine& engine, const RunOptions& options, std::vector<PendingLine>& chunk) {
  std::vector<std::vector<int32_t>> batch;
  for (PendingLine& line : chunk) {
    if (!line.error) batch.push_back(line.ids);
  }
  absl::StatusOr<EmbedResult> result;
  if (!batch.empty()) result = engine.EmbedTokenIds(std::move(batch), options);
  bool all_ok = true;
  size_t row = 0;
  for (PendingLine& line : chunk) {
    if (!line.error && !result.ok()) line.error = std::string(result.status().message());
    if (line.error) {
      std::cout << FormatErrorLine(*line.error) << '\n';
      all_ok = false;
      continue;
    }
    std::cout << FormatEmbedLine(result->token_ids[row], result->embedding(row), result->dim,
                                 result->stats.texts[row], result->stats,
                                 static_cast<int>(result->token_ids.size()))
              << '\n';
    ++row;
  }
  std::cout.flush();
  chunk.clear();
  return all_ok;
}

}  // namespace

std::string DefaultModelDir() {
  const char* env = std::getenv("ATTNSERVE_MODEL_DIR");
  return env != nullptr && *env != '\0' ? env : "models/use-lite";
}

int RunEmbedCommand(const EmbedCommandOptions& opts) {
  absl::StatusOr<RunOptions> parsed = CommandRunOptions(opts);
  if (!parsed.ok()) {
    std::cerr << "attnctl embed: " << parsed.status().message() << '\n';
    return 2;
  }
  const RunOptions& options = *parsed;

  EngineConfig config;
  config.model_dir = opts.model_dir.empty() ? DefaultModelDir() : opts.model_dir;
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Load(config);
  if (!engine.ok()) {
    std::cerr << "attnctl embed: cannot load model: " << engine.status().message() << '\n';
    return 2;
  }
  if (absl::Status s = (*engine)->CheckOptions(options); !s.ok()) {
    std::cerr << "attnctl embed: " << s.message() << '\n';
    return 2;
  }

  std::ifstream file;
  if (!opts.input_file.empty()) {
    file.open(opts.input_file, std::ios::binary);
    if (!file) {
      std::cerr << "attnctl embed: cannot open --input '" << opts.input_file << "'\n";
      return 2;
    }
  }
  std::istream& in = opts.input_file.empty() ? std::cin : file;

  bool all_ok = true;
  std::vector<PendingLine> chunk;
  std::string line;
  int64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (absl::StripAsciiWhitespace(line).empty()) continue;  // blank lines carry no input
    PendingLine pending;
    absl::StatusOr<std::string> text = ParseTextLine(line);
    if (!text.ok()) {
      pending.error = absl::StrCat("line ", line_number, ": ", text.status().message());
    } else {
      absl::StatusOr<std::vector<int32_t>> ids = (*engine)->Tokenize(*text);
      if (!ids.ok()) {
        pending.error = absl::StrCat("line ", line_number, ": ", ids.status().message());
      } else if (ids->empty()) {
        pending.error = absl::StrCat("line ", line_number,
                                     ": text is empty (no tokens after NFKC normalisation)");
      } else {
        pending.ids = *std::move(ids);
      }
    }
    chunk.push_back(std::move(pending));
    if (static_cast<int>(chunk.size()) >= opts.batch_size) {
      all_ok &= FlushChunk(**engine, options, chunk);
    }
  }
  if (!chunk.empty()) all_ok &= FlushChunk(**engine, options, chunk);
  return all_ok ? 0 : 1;
}

}  // namespace attnserve
