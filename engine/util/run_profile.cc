#include "engine/util/run_profile.h"

#include <algorithm>
#include <chrono>

namespace attnserve {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

const char* ProfilePhaseName(ProfilePhase phase) {
  static constexpr const char* kNames[RunProfile::kPhases] = {
      "tokenize",   "embedding_lookup",  "layer_norm", "residual",       "qkv_gemm",  "attention",
      "softmax",    "output_projection", "ffn_gemms",  "activation",     "quantize",  "rescale",
      "gemm_setup", "pooling",           "allocation", "thread_handoff", "cpu_clock",
  };
  const int i = static_cast<int>(phase);
  return i >= 0 && i < RunProfile::kPhases ? kNames[i] : "?";
}

void RunProfile::Begin(ProfilePhase phase) {
  if (depth_ == kMaxDepth) {  // deeper scopes fold into their parent
    ++overflow_;
    return;
  }
  Frame& f = stack_[depth_++];
  f.phase = static_cast<int>(phase);
  f.row = std::clamp(layer, -1, kMaxLayers - 1) + 1;
  f.nested = 0;
  f.start = NowNs();
}

void RunProfile::End() {
  if (overflow_ > 0) {
    --overflow_;
    return;
  }
  if (depth_ == 0) return;
  const int64_t end = NowNs();
  const Frame& f = stack_[--depth_];
  const int64_t elapsed = end - f.start;
  ns[f.row][f.phase] += elapsed - f.nested;
  if (depth_ > 0) stack_[depth_ - 1].nested += elapsed;
}

}  // namespace attnserve
