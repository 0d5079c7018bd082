#include "engine/attention/top_k_select.h"

#include <algorithm>
#include <array>
#include <bit>
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
// highest bit in which the keys differ (the bits above it are shared: scores
// of one magnitude share their sign and top exponent bits, and a first pass
// over them counted every key into the same few bins, serialised on the
// increments); candidates holds the keys that share the digits fixed so far.
uint32_t KthLargestKey(const uint32_t* keys, int64_t n, int64_t k,
                       std::vector<uint32_t>* candidates) {
  uint32_t differ = 0;
  for (int64_t j = 0; j < n; ++j) differ |= keys[j] ^ keys[0];
  if (differ == 0) return keys[0];
  const int top = 31 - std::countl_zero(differ);
  uint32_t prefix = keys[0] & ~((2u << top) - 1u);  // 2u << 31 wraps to 0: no shared bits
  const uint32_t* set = keys;
  int64_t size = n;
  for (int high = top; high >= 0; high -= 8) {
    const int shift = std::max(high - 7, 0);
    const uint32_t mask = (2u << (high - shift)) - 1u;  // the digit: bits shift..high
    // Four interleaved histograms: keys of one digit in a row (common: the
    // first digit holds the sign and exponent) would otherwise wait on each
    // other's increments.
    std::array<std::array<int32_t, 256>, 4> parts{};
    int64_t j = 0;
    for (; j + 4 <= size; j += 4) {
      ++parts[0][(set[j] >> shift) & mask];
      ++parts[1][(set[j + 1] >> shift) & mask];
      ++parts[2][(set[j + 2] >> shift) & mask];
      ++parts[3][(set[j + 3] >> shift) & mask];
    }
    for (; j < size; ++j) ++parts[0][(set[j] >> shift) & mask];
    std::array<int64_t, 256> hist;
    for (uint32_t b = 0; b <= mask; ++b) {
      hist[b] = int64_t{parts[0][b]} + parts[1][b] + parts[2][b] + parts[3][b];
    }
    uint32_t digit = mask;
    for (; hist[digit] < k; --digit) k -= hist[digit];
    prefix |= digit << shift;
    if (shift == 0 || hist[digit] == 1) {
      if (hist[digit] == 1) {
        // One key left with this prefix: it is the answer.
        for (int64_t i = 0; i < size; ++i) {
          if (((set[i] >> shift) & mask) == digit) return set[i];
        }
      }
      break;
    }
    // Keep the keys with this digit for the next, narrower pass. Every key
    // is written and only the kept advance: no branch to mispredict. In
    // place from the second pass on (kept <= j), and never a reallocation
    // then (size only shrinks).
    if (set != candidates->data()) candidates->resize(static_cast<size_t>(size));
    uint32_t* next = candidates->data();
    int64_t kept = 0;
    for (int64_t i = 0; i < size; ++i) {
      const uint32_t key = set[i];
      next[kept] = key;
      kept += ((key >> shift) & mask) == digit;
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
