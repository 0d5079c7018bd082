// Engine::Classify: the encoder with per-layer classification heads, each text
// stopping at the first layer whose head is confident enough.
#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/engine.h"
#include "engine/policy/adaptive_run.h"
#include "engine/util/float_env.h"
#include "engine/util/status_macros.h"
#include "engine/util/thread_cpu.h"

namespace attnserve {

std::vector<std::string> Engine::HeadNames() const {
  std::vector<std::string> names;
  for (const auto& [name, head] : heads_) names.push_back(name);
  return names;
}

absl::StatusOr<ClassifyResult> Engine::Classify(const std::vector<std::string>& texts,
                                                const std::string& head,
                                                const RunOptions& options) const {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string_view> views(texts.begin(), texts.end());
  ASSIGN_OR_RETURN(std::vector<std::vector<int32_t>> ids, TokenizeBatch(views));
  const double tokenize_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSIGN_OR_RETURN(ClassifyResult result, ClassifyTokenIds(std::move(ids), head, options));
  result.stats.tokenize_seconds = tokenize_seconds;
  return result;
}

absl::StatusOr<ClassifyResult> Engine::ClassifyTokenIds(std::vector<std::vector<int32_t>> token_ids,
                                                        const std::string& head_name,
                                                        const RunOptions& options) const {
  AutoChoice choice;
  ASSIGN_OR_RETURN(const RunOptions chosen,
                   ApplyAutoPolicy(options, token_ids, /*classify=*/true, &choice));
  ASSIGN_OR_RETURN(ClassifyResult result, ClassifyChosen(std::move(token_ids), head_name, chosen));
  ReportAutoChoice(choice, &result.stats);
  return result;
}

absl::StatusOr<ClassifyResult> Engine::ClassifyChosen(std::vector<std::vector<int32_t>> token_ids,
                                                      const std::string& head_name,
                                                      const RunOptions& options) const {
  const ModelInfo& info = model_->info();
  if (heads_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("model '", info.name,
                     "' has no classification heads loaded (train "
                     "them with train_heads; they live in <model_dir>/heads/)"));
  }
  const ClassifierHead* head = nullptr;
  if (head_name.empty()) {
    if (heads_.size() > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "head: the model has several heads; name one of ", absl::StrJoin(HeadNames(), ", ")));
    }
    head = &heads_.begin()->second;
  } else if (auto it = heads_.find(head_name); it != heads_.end()) {
    head = &it->second;
  } else {
    return absl::NotFoundError(absl::StrCat(
        "head: '", head_name, "' is not loaded; known: ", absl::StrJoin(HeadNames(), ", ")));
  }
  if (token_ids.empty()) return absl::InvalidArgumentError("texts: no texts given");
  if (token_ids.size() > static_cast<size_t>(config_.max_batch_texts)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "texts: ", token_ids.size(), " texts exceed the limit of ", config_.max_batch_texts));
  }
  ASSIGN_OR_RETURN(const ResolvedRun run, Resolve(options));

  ClassifyResult result;
  result.head = head->name;
  result.labels = head->labels;
  RunStats& stats = result.stats;
  std::vector<std::vector<int32_t>> clipped;
  RETURN_IF_ERROR(ClipTexts(token_ids, run, &clipped, &stats));
  std::vector<float> probs;
  AdaptiveRunOutputs outputs;
  outputs.head = head;
  outputs.probs = &probs;
  PrepareComputeThreads(run.threads);
  const double cpu_start = TeamCpuSeconds(run.threads);
  const auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(RunAdaptive(*model_, info.num_layers, info.embedding_dim, clipped, run.plan,
                              options.pruning, options.early_exit, outputs, &stats));
  stats.compute_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stats.cpu_seconds = TeamCpuSeconds(run.threads) - cpu_start;

  const size_t k = head->labels.size();
  for (size_t i = 0; i < clipped.size(); ++i) {
    std::vector<float> p(probs.begin() + i * k, probs.begin() + (i + 1) * k);
    result.predicted.push_back(static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin()));
    result.scores.push_back(std::move(p));
  }
  result.token_ids = std::move(token_ids);
  return result;
}

}  // namespace attnserve
