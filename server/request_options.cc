#include "server/request_options.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace attnserve {
namespace {

void ApplyAttention(const v1::AttentionSpec& spec, RunOptions* options) {
  options->attention = spec.kernel().empty() ? "dense" : spec.kernel();
  options->attention_params.clear();
  for (const auto& [key, value] : spec.params()) options->attention_params[key] = value;
}

}  // namespace

RunOptions PolicyRunOptions(const v1::Policy& policy) {
  RunOptions options;
  ApplyAttention(policy.defaults().attention(), &options);
  options.max_tokens = policy.defaults().max_tokens();
  options.num_threads = policy.defaults().num_threads();
  return options;
}

absl::StatusOr<RunOptions> MergeRunOptions(const v1::Policy& policy,
                                           const v1::ExecutionOptions& request) {
  RunOptions options = PolicyRunOptions(policy);
  const auto allowed = [&](const std::string& field) -> absl::Status {
    const auto& list = policy.overridable();
    if (std::find(list.begin(), list.end(), field) != list.end()) return absl::OkStatus();
    return absl::PermissionDeniedError(absl::StrCat(
        "options.", field, ": the policy (version ", policy.version(),
        ") does not let requests override it; overridable: ",
        list.empty() ? std::string("none") : absl::StrJoin(list, ", ")));
  };
  if (request.has_attention()) {
    if (absl::Status s = allowed("attention"); !s.ok()) return s;
    ApplyAttention(request.attention(), &options);
  }
  if (request.max_tokens() != 0) {
    if (absl::Status s = allowed("max_tokens"); !s.ok()) return s;
    options.max_tokens = request.max_tokens();
  }
  if (request.num_threads() != 0) {
    if (absl::Status s = allowed("num_threads"); !s.ok()) return s;
    options.num_threads = request.num_threads();
  }
  return options;
}

}  // namespace attnserve
