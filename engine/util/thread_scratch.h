// Buffers a run keeps for the next run on the same thread, so that a
// steady-state request allocates nothing (tests/unit/steady_state_allocation_test).
// Each thread keeps the buffers its largest recent request needed, up to
// kKeptScratchBytes; a larger run frees its buffers when it ends.
#ifndef ATTNSERVE_ENGINE_UTIL_THREAD_SCRATCH_H_
#define ATTNSERVE_ENGINE_UTIL_THREAD_SCRATCH_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

namespace attnserve {

// Per thread and per kind of scratch (e.g. 32 MiB holds USE-lite's
// activations at about 1,500 tokens).
inline constexpr int64_t kKeptScratchBytes = int64_t{32} << 20;

// On by default. Off, every run frees its scratch when it ends and allocates
// it afresh, as before buffers were kept: the A/B switch of
// bench/request_profile --no-reuse.
inline std::atomic<bool> g_keep_thread_scratch{true};
inline void SetKeepThreadScratch(bool keep) { g_keep_thread_scratch.store(keep); }
inline bool KeepThreadScratch() { return g_keep_thread_scratch.load(std::memory_order_relaxed); }

template <typename T>
int64_t CapacityBytes(const std::vector<T>& v) {
  return static_cast<int64_t>(v.capacity() * sizeof(T));
}

// v's data with at least `size` elements; grows, never shrinks, so a reused
// buffer allocates only when a larger run first needs it.
template <typename T>
T* GrownTo(std::vector<T>* v, int64_t size) {
  if (static_cast<int64_t>(v->size()) < size) v->resize(static_cast<size_t>(size));
  return v->data();
}

// Frees `v` when it outgrew the bound (kept or not).
template <typename T>
void ReleaseIfOverBound(std::vector<T>* v) {
  if (CapacityBytes(*v) > kKeptScratchBytes) std::vector<T>().swap(*v);
}

// Frees `v` unless buffers are kept and it fits the bound.
template <typename T>
void ReleaseUnlessKept(std::vector<T>* v) {
  if (!KeepThreadScratch()) std::vector<T>().swap(*v);
  ReleaseIfOverBound(v);
}

// The calling thread's T for the lifetime of this object. T must have
// `int64_t CapacityBytes() const`. A nested lease on the same thread (a run
// started inside a run) gets a fresh T of its own.
template <typename T>
class KeptScratch {
 public:
  KeptScratch() {
    Slot& slot = ThisThreadSlot();
    if (!slot.in_use) {
      slot.in_use = true;
      slot_ = &slot;
      value_ = &slot.value;
    } else {
      value_ = &own_.emplace();
    }
  }
  ~KeptScratch() {
    if (slot_ == nullptr) return;
    if (!KeepThreadScratch() || value_->CapacityBytes() > kKeptScratchBytes) *value_ = T();
    slot_->in_use = false;
  }
  KeptScratch(const KeptScratch&) = delete;
  KeptScratch& operator=(const KeptScratch&) = delete;

  T& operator*() { return *value_; }
  T* operator->() { return value_; }

 private:
  struct Slot {
    T value;
    bool in_use = false;
  };
  static Slot& ThisThreadSlot() {
    thread_local Slot slot;
    return slot;
  }

  Slot* slot_ = nullptr;
  T* value_ = nullptr;
  std::optional<T> own_;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_UTIL_THREAD_SCRATCH_H_
