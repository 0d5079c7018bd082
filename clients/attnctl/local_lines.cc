#include "clients/attnctl/local_lines.h"

#include <fstream>
#include <iostream>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "clients/attnctl/json_lines.h"
#include "clients/attnctl/run_flags.h"

namespace attnserve {
namespace {

// One input line on its way through: either ids to run or an error.
struct PendingLine {
  std::vector<int32_t> ids;
  std::optional<std::string> error;
};

PendingLine ReadLine(const Engine& engine, const std::string& line, int64_t line_number) {
  PendingLine pending;
  absl::StatusOr<std::string> text = ParseTextLine(line);
  absl::StatusOr<std::vector<int32_t>> ids = text.ok() ? engine.Tokenize(*text) : text.status();
  if (!ids.ok()) {
    pending.error = absl::StrCat("line ", line_number, ": ", ids.status().message());
  } else if (ids->empty()) {
    pending.error =
        absl::StrCat("line ", line_number, ": text is empty (no tokens after NFKC normalisation)");
  } else {
    pending.ids = *std::move(ids);
  }
  return pending;
}

// Runs the valid lines of `chunk` in one batch and prints every line.
bool FlushChunk(const Engine& engine, const RunOptions& options, const RunBatchFn& run_batch,
                std::vector<PendingLine>& chunk) {
  std::vector<std::vector<int32_t>> batch;
  for (PendingLine& line : chunk) {
    if (!line.error) batch.push_back(line.ids);
  }
  absl::StatusOr<std::vector<std::string>> lines;
  if (!batch.empty()) lines = run_batch(engine, options, std::move(batch));
  bool all_ok = true;
  size_t row = 0;
  for (PendingLine& line : chunk) {
    if (!line.error && !lines.ok()) line.error = std::string(lines.status().message());
    if (line.error) {
      std::cout << FormatErrorLine(*line.error) << '\n';
      all_ok = false;
      continue;
    }
    std::cout << (*lines)[row++] << '\n';
  }
  std::cout.flush();
  chunk.clear();
  return all_ok;
}

}  // namespace

int RunLocalLines(std::string_view command, const EmbedCommandOptions& opts, const ReadyFn& ready,
                  const RunBatchFn& run_batch) {
  const std::string name(command);
  absl::StatusOr<RunOptions> options = CommandRunOptions(opts);
  if (!options.ok()) {
    std::cerr << name << ": " << options.status().message() << '\n';
    return 2;
  }
  EngineConfig config;
  config.model_dir = opts.model_dir.empty() ? DefaultModelDir() : opts.model_dir;
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Load(config);
  if (!engine.ok()) {
    std::cerr << name << ": cannot load model: " << engine.status().message() << '\n';
    return 2;
  }
  // Fail fast on the options before reading any input.
  absl::Status checked = (*engine)->CheckOptions(*options);
  if (checked.ok() && ready) checked = ready(**engine, *options);
  if (!checked.ok()) {
    std::cerr << name << ": " << checked.message() << '\n';
    return 2;
  }

  std::ifstream file;
  if (!opts.input_file.empty()) {
    file.open(opts.input_file, std::ios::binary);
    if (!file) {
      std::cerr << name << ": cannot open --input '" << opts.input_file << "'\n";
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
    chunk.push_back(ReadLine(**engine, line, line_number));
    if (static_cast<int>(chunk.size()) >= opts.batch_size) {
      all_ok &= FlushChunk(**engine, *options, run_batch, chunk);
    }
  }
  if (!chunk.empty()) all_ok &= FlushChunk(**engine, *options, run_batch, chunk);
  return all_ok ? 0 : 1;
}

}  // namespace attnserve
