// The catalogue of attention kernels: one explicit table, no static-init magic.
#ifndef ATTNSERVE_ENGINE_ATTENTION_REGISTRY_H_
#define ATTNSERVE_ENGINE_ATTENTION_REGISTRY_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/attention/attention_kernel.h"

namespace attnserve {

// A kernel with validated parameters, ready to run.
struct ResolvedAttention {
  const AttentionKernel* kernel = nullptr;
  AttentionParams params;
};

// Every registered kernel, in catalogue order. Kernels live for the process.
const std::vector<const AttentionKernel*>& AllAttentionKernels();

// The kernel named `name`, or InvalidArgument listing the known names.
absl::StatusOr<const AttentionKernel*> FindAttentionKernel(std::string_view name);

// Looks up `name` and validates `raw_params` (name -> decimal text) against its
// schema: unknown names, non-numeric values, non-integers for integer
// parameters and values out of range are InvalidArgument naming the parameter
// and what is allowed. Missing parameters take their defaults.
absl::StatusOr<ResolvedAttention> ResolveAttention(
    std::string_view name, const std::map<std::string, std::string>& raw_params);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_ATTENTION_REGISTRY_H_
