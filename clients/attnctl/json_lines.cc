#include "clients/attnctl/json_lines.h"

#include <charconv>

#include "absl/strings/str_cat.h"
#include "engine/tokenizer/utf8.h"
#include "engine/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace attnserve {

using nlohmann::json;

absl::StatusOr<std::string> ParseTextLine(std::string_view line) {
  // Check the raw bytes first so the error names the byte, not a JSON token.
  RETURN_IF_ERROR(ValidateUtf8(line));
  json value;
  try {
    value = json::parse(line);
  } catch (const json::parse_error& e) {
    // nlohmann reports ill-formed UTF-8 inside strings as a parse error too.
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON at byte ", e.byte, ": ", e.what()));
  } catch (const json::exception& e) {  // out_of_range: a number that overflows (1e999)
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON: ", e.what()));
  }
  if (!value.is_object()) {
    return absl::InvalidArgumentError("expected a JSON object like {\"text\": \"...\"}");
  }
  auto it = value.find("text");
  if (it == value.end()) return absl::InvalidArgumentError("missing field \"text\"");
  if (!it->is_string()) return absl::InvalidArgumentError("field \"text\" is not a string");
  return it->get<std::string>();
}

std::string FormatErrorLine(std::string_view message) {
  // Error messages may quote the bad input: replace what JSON cannot carry.
  return json{{"error", std::string(message)}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

void AppendFloat(float v, std::string* out) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, ec == std::errc() ? end : buf);
}

// The per-line stats object shared by embed and classify.
json StatsJson(const TextStats& text, const RunStats& batch, int batch_size) {
  json stats{
      {"tokens_in", text.tokens_in},
      {"tokens_used", text.tokens_used},
      {"tokens_kept", text.tokens_kept},
      {"exit_layer", text.exit_layer},
      {"max_tokens", batch.max_tokens},
      {"attention", batch.attention_kernel},
      {"linear_precision", batch.linear_precision},
      {"layers_run", batch.layers_run},
      {"tokens_per_layer", batch.tokens_per_layer},
      {"batch_size", batch_size},
      {"threads", batch.num_threads},
      {"batch_compute_ms", batch.compute_seconds * 1e3},
      {"batch_attention_ms", batch.attention_seconds * 1e3},
      {"batch_flops", batch.flops},
  };
  if (!batch.auto_config.empty()) {
    stats["auto"] = {{"config", batch.auto_config},
                     {"budget_met", batch.budget_met},
                     {"note", batch.budget_note},
                     {"predicted_latency_ms", batch.predicted_latency_ms},
                     {"predicted_quality", batch.predicted_quality}};
  }
  return stats;
}

}  // namespace

std::string FormatEmbedLine(const std::vector<int32_t>& token_ids, const float* embedding, int dim,
                            const TextStats& text, const RunStats& batch, int batch_size) {
  std::string out = "{\"token_ids\":[";
  for (size_t i = 0; i < token_ids.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, token_ids[i]);
  }
  out += "],\"embedding\":[";
  for (int i = 0; i < dim; ++i) {
    if (i > 0) out += ',';
    AppendFloat(embedding[i], &out);
  }
  out += "],\"stats\":";
  out += StatsJson(text, batch, batch_size).dump();
  out += '}';
  return out;
}

std::string FormatClassifyLine(const std::string& label, const std::vector<std::string>& labels,
                               const std::vector<float>& scores, const TextStats& text,
                               const RunStats& batch, int batch_size) {
  json scores_json = json::object();
  for (size_t i = 0; i < labels.size(); ++i) scores_json[labels[i]] = scores[i];
  return json{
      {"label", label}, {"scores", scores_json}, {"stats", StatsJson(text, batch, batch_size)}}
      .dump();
}

}  // namespace attnserve
