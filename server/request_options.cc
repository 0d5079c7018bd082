#include "server/request_options.h"

#include <algorithm>
#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/options_from_proto.h"
#include "engine/util/status_macros.h"

namespace attnserve {
namespace {

void ApplyAttention(const v1::AttentionSpec& spec, RunOptions* options) {
  SetAttention(spec.kernel(), options);
  options->attention_params.clear();
  for (const auto& [key, value] : spec.params()) options->attention_params[key] = value;
}

// `prefix` names where the options came from ("options." or
// "policy.defaults.") in errors.
absl::Status ApplyPruning(const std::string& prefix, const v1::PruningOptions& p,
                          RunOptions* options) {
  RETURN_IF_ERROR(PruningFromProto(prefix + "pruning.", p, &options->pruning));
  return SetAutoMode(prefix + "pruning.mode", p.mode(), &options->auto_select.pruning);
}

absl::Status ApplyEarlyExit(const std::string& prefix, const v1::EarlyExitOptions& e,
                            RunOptions* options) {
  RETURN_IF_ERROR(
      SetAutoMode(prefix + "early_exit.mode", e.mode(), &options->auto_select.early_exit));
  options->early_exit = EarlyExitFromProto(e);
  return absl::OkStatus();
}

void ApplyBudget(const v1::Budget& b, RunOptions* options) {
  options->auto_select.max_latency_ms = b.max_latency_ms();
  options->auto_select.min_retention = b.min_retention();
}

// The fields `set` has, over *options; `allowed` (may be null) may refuse a
// field by name. `prefix` names where they came from in errors.
using FieldCheck = std::function<absl::Status(const std::string& field)>;
absl::Status ApplySetFields(const std::string& prefix, const v1::ExecutionOptions& set,
                            const FieldCheck& allowed, RunOptions* options) {
  const auto check = [&](const char* field) { return allowed ? allowed(field) : absl::OkStatus(); };
  if (set.has_attention()) {
    RETURN_IF_ERROR(check("attention"));
    ApplyAttention(set.attention(), options);
  }
  if (set.max_tokens() != 0) {
    RETURN_IF_ERROR(check("max_tokens"));
    options->max_tokens = set.max_tokens();
  }
  if (set.num_threads() != 0) {
    RETURN_IF_ERROR(check("num_threads"));
    options->num_threads = set.num_threads();
  }
  if (!set.linear_precision().empty()) {
    RETURN_IF_ERROR(check("linear_precision"));
    RETURN_IF_ERROR(
        SetLinearPrecision(prefix + "linear_precision", set.linear_precision(), options));
  }
  if (set.has_pruning()) {
    RETURN_IF_ERROR(check("pruning"));
    RETURN_IF_ERROR(ApplyPruning(prefix, set.pruning(), options));
  }
  if (set.has_early_exit()) {
    RETURN_IF_ERROR(check("early_exit"));
    RETURN_IF_ERROR(ApplyEarlyExit(prefix, set.early_exit(), options));
  }
  if (set.has_budget()) {
    RETURN_IF_ERROR(check("budget"));
    ApplyBudget(set.budget(), options);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RunOptions> PolicyRunOptions(const v1::Policy& policy, const std::string& model) {
  const std::string prefix = "policy.defaults.";
  const v1::ExecutionOptions& defaults = policy.defaults();
  RunOptions options;
  ApplyAttention(defaults.attention(), &options);
  options.max_tokens = defaults.max_tokens();
  options.num_threads = defaults.num_threads();
  if (!defaults.linear_precision().empty()) {
    RETURN_IF_ERROR(
        SetLinearPrecision(prefix + "linear_precision", defaults.linear_precision(), &options));
  }
  if (defaults.has_pruning()) RETURN_IF_ERROR(ApplyPruning(prefix, defaults.pruning(), &options));
  if (defaults.has_early_exit()) {
    RETURN_IF_ERROR(ApplyEarlyExit(prefix, defaults.early_exit(), &options));
  }
  if (defaults.has_budget()) ApplyBudget(defaults.budget(), &options);
  const auto it = policy.model_defaults().find(model);
  if (it != policy.model_defaults().end()) {
    RETURN_IF_ERROR(ApplySetFields(absl::StrCat("policy.model_defaults[\"", model, "\"]."),
                                   it->second, nullptr, &options));
  }
  return options;
}

absl::StatusOr<RunOptions> MergeRunOptions(const v1::Policy& policy, const std::string& model,
                                           const v1::ExecutionOptions& request) {
  // The policy store checked the policy when it was set.
  ASSIGN_OR_RETURN(RunOptions options, PolicyRunOptions(policy, model));
  const auto allowed = [&](const std::string& field) -> absl::Status {
    const auto& list = policy.overridable();
    if (std::find(list.begin(), list.end(), field) != list.end()) return absl::OkStatus();
    return absl::PermissionDeniedError(
        absl::StrCat("options.", field, ": the policy (version ", policy.version(),
                     ") does not let requests override it; overridable: ",
                     list.empty() ? std::string("none") : absl::StrJoin(list, ", ")));
  };
  RETURN_IF_ERROR(ApplySetFields("options.", request, allowed, &options));
  return options;
}

}  // namespace attnserve
