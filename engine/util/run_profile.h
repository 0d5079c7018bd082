// Where one request's time goes, phase by phase (bench/request_profile.cc,
// docs/PERFORMANCE.md "Short texts: where a 16-token request's time goes").
//
// Off unless the calling thread installs a RunProfile (ProfileThisThread).
// Then each ProfileScope on that thread adds its own time, less the time of
// the scopes nested in it, to its phase of the current layer, so the phases
// add up to the profiled time without double counting. Off, a scope costs a
// thread-local load and a branch. Scopes on other threads (OpenMP workers)
// record nothing: with several threads their work shows up as the calling
// thread's wait in the enclosing kThreadHandoff scope.
#ifndef ATTNSERVE_ENGINE_UTIL_RUN_PROFILE_H_
#define ATTNSERVE_ENGINE_UTIL_RUN_PROFILE_H_

#include <cstdint>

namespace attnserve {

enum class ProfilePhase : int {
  kTokenize,
  kEmbeddingLookup,
  kLayerNorm,
  kResidual,  // the residual branch: a copy, or a projection where the width changes
  kQkvGemm,
  kAttention,  // the attention kernel's GEMMs and bookkeeping, softmax excluded
  kSoftmax,
  kOutputProjection,
  kFfnGemms,
  kActivation,     // ReLU / GELU between the feed-forward GEMMs
  kQuantize,       // int8: activations to u8 per token
  kRescale,        // int8: s32 accumulators back to f32
  kGemmSetup,      // oneDNN primitive and memory objects for a matmul call
  kPooling,        // pooling, the output dense layer and L2 normalisation
  kAllocation,     // inside malloc (recorded by a bench's allocation hook)
  kThreadHandoff,  // entering / leaving OpenMP parallel regions, thread set-up
  kCpuClock,       // reading the run's CPU time (RunStats::cpu_seconds)
  kCount,
};

// "qkv_gemm", ...
const char* ProfilePhaseName(ProfilePhase phase);

struct RunProfile {
  static constexpr int kMaxLayers = 48;
  static constexpr int kPhases = static_cast<int>(ProfilePhase::kCount);
  static constexpr int kMaxDepth = 32;

  // Nanoseconds per [layer + 1][phase]; row 0 is time outside any layer.
  int64_t ns[kMaxLayers + 1][kPhases] = {};
  int layer = -1;  // the layer running now, -1 outside layers

  void Reset() { *this = RunProfile(); }
  int64_t PhaseNs(int layer_or_minus_one, ProfilePhase phase) const {
    return ns[layer_or_minus_one + 1][static_cast<int>(phase)];
  }

  // Scope bookkeeping (ProfileScope, or a hook that cannot hold one).
  void Begin(ProfilePhase phase);
  void End();

 private:
  struct Frame {
    int64_t start = 0, nested = 0;
    int phase = 0, row = 0;
  };
  Frame stack_[kMaxDepth];
  int depth_ = 0;
  int overflow_ = 0;  // scopes opened past kMaxDepth, not recorded
};

// The calling thread's installed profile, or null.
inline thread_local RunProfile* t_run_profile = nullptr;

// Installs `profile` on the calling thread for this object's lifetime.
class ProfileThisThread {
 public:
  explicit ProfileThisThread(RunProfile* profile) : previous_(t_run_profile) {
    t_run_profile = profile;
  }
  ~ProfileThisThread() { t_run_profile = previous_; }
  ProfileThisThread(const ProfileThisThread&) = delete;
  ProfileThisThread& operator=(const ProfileThisThread&) = delete;

 private:
  RunProfile* previous_;
};

// Adds the time until the end of the scope to `phase` when profiling is on.
class ProfileScope {
 public:
  explicit ProfileScope(ProfilePhase phase) : profile_(t_run_profile) {
    if (profile_ != nullptr) [[unlikely]]
      profile_->Begin(phase);
  }
  ~ProfileScope() {
    if (profile_ != nullptr) [[unlikely]]
      profile_->End();
  }
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  RunProfile* profile_;
};

// Marks the scope as layer `layer` of the run.
class ProfileLayer {
 public:
  explicit ProfileLayer(int layer) : profile_(t_run_profile) {
    if (profile_ != nullptr) [[unlikely]]
      profile_->layer = layer;
  }
  ~ProfileLayer() {
    if (profile_ != nullptr) [[unlikely]]
      profile_->layer = -1;
  }
  ProfileLayer(const ProfileLayer&) = delete;
  ProfileLayer& operator=(const ProfileLayer&) = delete;

 private:
  RunProfile* profile_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_UTIL_RUN_PROFILE_H_
