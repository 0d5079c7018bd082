// The catalogue of attention kernels: one explicit table, no static-init magic.
#ifndef ATTNSERVE_ENGINE_ATTENTION_REGISTRY_H_
#define ATTNSERVE_ENGINE_ATTENTION_REGISTRY_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/attention/attention_kernel.h"
#include "engine/attention/length_defaults.h"

namespace attnserve {

// A kernel with validated parameters, ready to run.
struct ResolvedAttention {
  const AttentionKernel* kernel = nullptr;
  AttentionParams params;
  // Parameters the request left unset whose default follows the sequence
  // length (engine/attention/length_defaults.h); `params` holds their fixed
  // defaults until ParamsAtLength sets them.
  std::vector<std::pair<const ParamSpec*, const LengthDefault*>> by_length;
};

// Every registered kernel, in catalogue order. Kernels live for the process.
const std::vector<const AttentionKernel*>& AllAttentionKernels();

// The kernel named `name`, or InvalidArgument listing the known names.
absl::StatusOr<const AttentionKernel*> FindAttentionKernel(std::string_view name);

// Looks up `name` and validates `raw_params` (name -> decimal text) against its
// schema: unknown names, non-numeric values, non-integers for integer
// parameters and values out of range are InvalidArgument naming the parameter
// and what is allowed. Missing parameters take their defaults: fixed ones in
// `params`, length-dependent ones listed in `by_length`.
absl::StatusOr<ResolvedAttention> ResolveAttention(
    std::string_view name, const std::map<std::string, std::string>& raw_params);

// "kernel" or "kernel:p=v,p=v" (the benches' and tools' command-line form):
// the name and its raw parameters as given, and the same resolved by
// ResolveAttention. A pair without '=' and anything ResolveAttention refuses
// are InvalidArgument.
struct AttentionText {
  std::string kernel;
  std::map<std::string, std::string> params;
  ResolvedAttention resolved;
};
absl::StatusOr<AttentionText> ParseAttentionText(std::string_view text);

// The parameters to run `attention` on a sequence of n keys: `attention.params`
// with each length-dependent default evaluated at n. `scratch` is reused
// across calls (no allocation once it holds the kernel's keys); the result
// points at it, or at attention.params when no default depends on n.
const AttentionParams& ParamsAtLength(const ResolvedAttention& attention, int64_t n,
                                      AttentionParams* scratch);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ATTENTION_REGISTRY_H_
