#include "engine/attention/top_k_select.h"

#include <array>
#include <cstring>

namespace attnserve {
namespace {

// Unsigned key with the floats' order: flip every bit of negatives, the sign
// bit of the rest. Adding +0 turns -0 into +0, which compare equal as floats.
inline uint32_t OrderKey(float x) {
  const float canonical = x + 0.0f;
  uint32_t u;
  std::memcpy(&u, &canonical, sizeof(u));
  return u ^ (static_cast<uint32_t>(static_cast<int32_t>(u) >> 31) | 0x80000000u);
}

// The k-th largest of keys[0, n) (1 <= k <= n), eight bits at a time from the
// top; candidates holds the keys that share the digits fixed so far.
uint32_t KthLargestKey(const uint32_t* keys, int64_t n, int64_t k,
                       std::vector<uint32_t>* candidates) {
  uint32_t prefix = 0;
  const uint32_t* set = keys;
  int64_t size = n;
  for (int shift = 24; shift >= 0; shift -= 8) {
    std::array<int64_t, 256> hist{};
    for (int64_t j = 0; j < size; ++j) ++hist[(set[j] >> shift) & 0xFF];
    uint32_t digit = 255;
    for (; hist[digit] < k; --digit) k -= hist[digit];
    prefix |= digit << shift;
    if (shift == 0 || hist[digit] == 1) {
      if (hist[digit] == 1) {
        // One key left with this prefix: it is the answer.
        for (int64_t j = 0; j < size; ++j) {
          if (((set[j] >> shift) & 0xFF) == digit) return set[j];
        }
      }
      break;
    }
    // Keep the keys with this digit for the next, narrower pass.
    candidates->resize(static_cast<size_t>(hist[digit]));
    uint32_t* next = candidates->data();
    int64_t kept = 0;
    for (int64_t j = 0; j < size; ++j) {
      if (((set[j] >> shift) & 0xFF) == digit) next[kept++] = set[j];
    }
    set = next;
    size = kept;
  }
  return prefix;
}

}  // namespace

void TopKIndices(const float* scores, int64_t n, int64_t k, TopKScratch* scratch,
                 std::vector<int64_t>* out) {
  scratch->keys.resize(static_cast<size_t>(n));
  uint32_t* keys = scratch->keys.data();
  for (int64_t j = 0; j < n; ++j) keys[j] = OrderKey(scores[j]);
  const uint32_t threshold = KthLargestKey(keys, n, k, &scratch->candidates);
  int64_t above = 0;
  for (int64_t j = 0; j < n; ++j) above += keys[j] > threshold;
  int64_t ties = k - above;
  out->clear();
  for (int64_t j = 0; j < n; ++j) {
    if (keys[j] > threshold || (keys[j] == threshold && ties-- > 0)) out->push_back(j);
  }
}

}  // namespace attnserve
