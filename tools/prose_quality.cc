#include "tools/prose_quality.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    dot += double{a[i]} * b[i];
    na += double{a[i]} * a[i];
    nb += double{b[i]} * b[i];
  }
  return dot / std::sqrt(std::max(na * nb, 1e-30));
}

}  // namespace

absl::StatusOr<ProseRun> EmbedProse(const Engine& engine, const std::vector<std::string>& passages,
                                    int n, int threads, const KernelConfig& config, int reps) {
  RunOptions options;
  options.attention = config.kernel;
  options.attention_params = config.params;
  options.max_tokens = n;
  options.num_threads = threads;
  ProseRun run;
  int64_t scored = 0, total = 0;
  for (const std::string& text : passages) {
    // Best of `reps`: the machine is shared, the minimum is the cleanest.
    double best = 1e30;
    absl::StatusOr<EmbedResult> result;
    for (int rep = 0; rep < std::max(reps, 1); ++rep) {
      const auto start = std::chrono::steady_clock::now();
      result = engine.Embed({text}, options);
      best = std::min(
          best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      if (!result.ok()) {
        return absl::Status(
            result.status().code(),
            absl::StrCat(config.kernel, " (", ParamText(config), "): ", result.status().message()));
      }
    }
    run.seconds += best;
    run.embeddings.emplace_back(result->embeddings.begin(), result->embeddings.end());
    scored += result->stats.attention_pairs_scored;
    total += result->stats.attention_pairs_total;
    if (run.tokens == 0) run.tokens = result->stats.texts[0].tokens_used;
  }
  run.scored = total > 0 ? static_cast<double>(scored) / total : 0;
  return run;
}

CosineToDense CompareWithDense(const ProseRun& run, const ProseRun& dense) {
  CosineToDense c;
  double sum = 0;
  for (size_t p = 0; p < run.embeddings.size(); ++p) {
    const double cos = Cosine(run.embeddings[p], dense.embeddings[p]);
    sum += cos;
    c.min = std::min(c.min, cos);
  }
  c.mean = run.embeddings.empty() ? 0 : sum / run.embeddings.size();
  return c;
}

std::string ParamText(const KernelConfig& config) {
  if (config.params.empty()) return "defaults";
  std::vector<std::string> parts;
  for (const auto& [k, v] : config.params) parts.push_back(k + "=" + v);
  return absl::StrJoin(parts, " ");
}

absl::StatusOr<std::vector<std::string>> ReadPassages(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  const nlohmann::json root = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.contains("passages") || !root["passages"].is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": expected {\"passages\": [...]}"));
  }
  std::vector<std::string> passages;
  for (const auto& p : root["passages"]) {
    if (!p.contains("text") || !p["text"].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": a passage without \"text\""));
    }
    passages.push_back(p["text"]);
  }
  return passages;
}

}  // namespace attnserve
