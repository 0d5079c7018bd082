#include "server/request_options.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/util/status_macros.h"

namespace attnserve {
namespace {

void ApplyAttention(const v1::AttentionSpec& spec, RunOptions* options) {
  options->attention = spec.kernel().empty() ? "dense" : spec.kernel();
  options->auto_select.attention = options->attention == "auto";
  options->attention_params.clear();
  for (const auto& [key, value] : spec.params()) options->attention_params[key] = value;
}

absl::Status ApplyPruning(const v1::PruningOptions& p, RunOptions* options) {
  PruningOptions out;
  out.keep_ratio.assign(p.keep_ratio().begin(), p.keep_ratio().end());
  out.importance_threshold.assign(p.importance_threshold().begin(), p.importance_threshold().end());
  if (p.has_min_tokens()) out.min_tokens = p.min_tokens();
  if (p.has_keep_first()) out.keep_first = p.keep_first();
  if (p.fallback() == "keep_all") {
    out.fallback = PruningOptions::Fallback::kKeepAll;
  } else if (!p.fallback().empty() && p.fallback() != "hidden_norm") {
    return absl::InvalidArgumentError(absl::StrCat("options.pruning.fallback: '", p.fallback(),
                                                   "' is not 'hidden_norm' or 'keep_all'"));
  }
  if (!p.mode().empty() && p.mode() != "auto") {
    return absl::InvalidArgumentError(
        absl::StrCat("options.pruning.mode: '", p.mode(), "' is not '' or 'auto'"));
  }
  options->pruning = std::move(out);
  options->auto_select.pruning = p.mode() == "auto";
  return absl::OkStatus();
}

absl::Status ApplyEarlyExit(const v1::EarlyExitOptions& e, RunOptions* options) {
  if (!e.mode().empty() && e.mode() != "auto") {
    return absl::InvalidArgumentError(
        absl::StrCat("options.early_exit.mode: '", e.mode(), "' is not '' or 'auto'"));
  }
  EarlyExitOptions out;
  out.max_layers = e.max_layers();
  out.embed_cosine = e.embed_cosine();
  out.min_confidence = e.min_confidence();
  if (e.has_max_entropy()) out.max_entropy = e.max_entropy();
  options->early_exit = out;
  options->auto_select.early_exit = e.mode() == "auto";
  return absl::OkStatus();
}

void ApplyBudget(const v1::Budget& b, RunOptions* options) {
  options->auto_select.max_latency_ms = b.max_latency_ms();
  options->auto_select.min_retention = b.min_retention();
}

}  // namespace

RunOptions PolicyRunOptions(const v1::Policy& policy) {
  RunOptions options;
  ApplyAttention(policy.defaults().attention(), &options);
  options.max_tokens = policy.defaults().max_tokens();
  options.num_threads = policy.defaults().num_threads();
  if (!policy.defaults().linear_precision().empty()) {
    options.linear_precision = policy.defaults().linear_precision();
  }
  // The policy store validated the fallback and mode names when the policy
  // was set.
  if (policy.defaults().has_pruning()) (void)ApplyPruning(policy.defaults().pruning(), &options);
  if (policy.defaults().has_early_exit()) {
    (void)ApplyEarlyExit(policy.defaults().early_exit(), &options);
  }
  if (policy.defaults().has_budget()) ApplyBudget(policy.defaults().budget(), &options);
  return options;
}

absl::StatusOr<RunOptions> MergeRunOptions(const v1::Policy& policy,
                                           const v1::ExecutionOptions& request) {
  RunOptions options = PolicyRunOptions(policy);
  const auto allowed = [&](const std::string& field) -> absl::Status {
    const auto& list = policy.overridable();
    if (std::find(list.begin(), list.end(), field) != list.end()) return absl::OkStatus();
    return absl::PermissionDeniedError(
        absl::StrCat("options.", field, ": the policy (version ", policy.version(),
                     ") does not let requests override it; overridable: ",
                     list.empty() ? std::string("none") : absl::StrJoin(list, ", ")));
  };
  if (request.has_attention()) {
    RETURN_IF_ERROR(allowed("attention"));
    ApplyAttention(request.attention(), &options);
  }
  if (request.max_tokens() != 0) {
    RETURN_IF_ERROR(allowed("max_tokens"));
    options.max_tokens = request.max_tokens();
  }
  if (request.num_threads() != 0) {
    RETURN_IF_ERROR(allowed("num_threads"));
    options.num_threads = request.num_threads();
  }
  if (!request.linear_precision().empty()) {
    RETURN_IF_ERROR(allowed("linear_precision"));
    options.linear_precision = request.linear_precision();
  }
  if (request.has_pruning()) {
    RETURN_IF_ERROR(allowed("pruning"));
    RETURN_IF_ERROR(ApplyPruning(request.pruning(), &options));
  }
  if (request.has_early_exit()) {
    RETURN_IF_ERROR(allowed("early_exit"));
    RETURN_IF_ERROR(ApplyEarlyExit(request.early_exit(), &options));
  }
  if (request.has_budget()) {
    RETURN_IF_ERROR(allowed("budget"));
    ApplyBudget(request.budget(), &options);
  }
  return options;
}

}  // namespace attnserve
