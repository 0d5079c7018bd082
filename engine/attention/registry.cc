#include "engine/attention/registry.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/attention/adaptive_topk_attention.h"
#include "engine/attention/bf16_attention.h"
#include "engine/attention/bigbird_attention.h"
#include "engine/attention/block_sparse_attention.h"
#include "engine/attention/dense_attention.h"
#include "engine/attention/flash_attention.h"
#include "engine/attention/int8_attention.h"
#include "engine/attention/linformer_attention.h"
#include "engine/attention/longformer_attention.h"
#include "engine/attention/lsh_attention.h"
#include "engine/attention/nystrom_attention.h"
#include "engine/attention/performer_attention.h"
#include "engine/attention/segment_memory_attention.h"
#include "engine/attention/sliding_window_attention.h"
#include "engine/attention/strided_attention.h"

namespace attnserve {

const std::vector<const AttentionKernel*>& AllAttentionKernels() {
  // The catalogue. To add a kernel: write attention/<name>_attention.{h,cc}
  // and append one line here (docs/ADDING_A_KERNEL.md).
  static const std::vector<const AttentionKernel*>* const kKernels =
      new std::vector<const AttentionKernel*>{
          new DenseAttention(),   new FlashAttention(),       new SlidingWindowAttention(),
          new StridedAttention(), new BlockSparseAttention(), new LongformerAttention(),
          new BigBirdAttention(), new LinformerAttention(),   new PerformerAttention(),
          new NystromAttention(), new LshAttention(),         new AdaptiveTopkAttention(),
          new Int8Attention(),    new Bf16Attention(),        new SegmentMemoryAttention(),
      };
  return *kKernels;
}

namespace {

std::string KnownKernelNames() {
  std::vector<std::string> names;
  for (const AttentionKernel* k : AllAttentionKernels()) {
    names.emplace_back(k->name());
  }
  return absl::StrJoin(names, ", ");
}

std::string DescribeParams(const KernelInfo& info) {
  if (info.params.empty()) return "none";
  std::vector<std::string> parts;
  for (const ParamSpec& p : info.params) {
    parts.push_back(absl::StrCat(p.name, " in [", p.min_value, ", ", p.max_value, "]"));
  }
  return absl::StrJoin(parts, ", ");
}

}  // namespace

absl::StatusOr<const AttentionKernel*> FindAttentionKernel(std::string_view name) {
  for (const AttentionKernel* k : AllAttentionKernels()) {
    if (k->name() == name) return k;
  }
  return absl::InvalidArgumentError(absl::StrCat("attention.kernel: unknown attention kernel '",
                                                 std::string(name),
                                                 "'; known kernels: ", KnownKernelNames()));
}

absl::StatusOr<ResolvedAttention> ResolveAttention(
    std::string_view name, const std::map<std::string, std::string>& raw_params) {
  absl::StatusOr<const AttentionKernel*> kernel = FindAttentionKernel(name);
  if (!kernel.ok()) return kernel.status();
  const KernelInfo& info = (*kernel)->info();
  ResolvedAttention resolved{*kernel, {}, {}};
  for (const ParamSpec& spec : info.params) {
    resolved.params[spec.name] = spec.default_value;
  }
  for (const auto& [key, text] : raw_params) {
    const ParamSpec* spec = nullptr;
    for (const ParamSpec& p : info.params) {
      if (p.name == key) spec = &p;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("attention.params: kernel '",
                                                     std::string(name), "' has no parameter '", key,
                                                     "'; its parameters: ", DescribeParams(info)));
    }
    double value = 0;
    if (!absl::SimpleAtod(text, &value) || !std::isfinite(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("attention.params.", key, ": '", text, "' is not a number"));
    }
    if (spec->type == ParamType::kInt && value != std::floor(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("attention.params.", key, ": ", text, " is not an integer"));
    }
    if (value < spec->min_value || value > spec->max_value) {
      return absl::InvalidArgumentError(absl::StrCat("attention.params.", key, ": ", text,
                                                     " is out of range [", spec->min_value, ", ",
                                                     spec->max_value, "]"));
    }
    resolved.params[key] = value;
  }
  for (const ParamSpec& spec : info.params) {
    if (raw_params.count(spec.name) > 0) continue;
    if (const LengthDefault* rule = FindLengthDefault(info.name, spec.name)) {
      resolved.by_length.emplace_back(&spec, rule);
    }
  }
  return resolved;
}

absl::StatusOr<AttentionText> ParseAttentionText(std::string_view text) {
  const size_t colon = text.find(':');
  AttentionText parsed{std::string(text.substr(0, colon)), {}, {}};
  if (colon != std::string_view::npos) {
    for (absl::string_view pair :
         absl::StrSplit(absl::string_view(text.data() + colon + 1, text.size() - colon - 1), ',')) {
      std::pair<std::string, std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
      if (kv.first.empty() || kv.second.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("attention '", std::string(text),
                                                       "': expected name=value, got '",
                                                       std::string(pair), "'"));
      }
      parsed.params[kv.first] = kv.second;
    }
  }
  absl::StatusOr<ResolvedAttention> resolved = ResolveAttention(parsed.kernel, parsed.params);
  if (!resolved.ok()) return resolved.status();
  parsed.resolved = *std::move(resolved);
  return parsed;
}

const AttentionParams& ParamsAtLength(const ResolvedAttention& attention, int64_t n,
                                      AttentionParams* scratch) {
  if (attention.by_length.empty()) return attention.params;
  if (scratch->size() != attention.params.size()) *scratch = attention.params;
  for (const auto& [spec, rule] : attention.by_length) (*scratch)[spec->name] = rule->At(n, *spec);
  return *scratch;
}

}  // namespace attnserve
