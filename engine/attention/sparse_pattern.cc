#include "engine/attention/sparse_pattern.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <set>
#include <utility>

#include "engine/attention/softmax_rows.h"
#include "engine/kernels/gemm.h"
#include "engine/util/status_macros.h"

namespace attnserve::sparse {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A run of query rows and the keys they may keep: `keys` sorted and real,
// `wide[c]` true when every row of the tile keeps keys[c] (otherwise only rows
// within the window do).
struct Tile {
  int64_t q0 = 0, rows = 0;
  std::vector<int64_t> keys;
  std::vector<uint8_t> wide;
  bool all_wide = true;
  bool contiguous = false;  // keys form one range: use K and V in place
};

std::vector<Tile> MakeTiles(const AttentionInputs& in, const Pattern& p) {
  std::vector<Tile> tiles;
  const int64_t global_rows = std::min(p.global, in.n_q);
  const int64_t step = std::max<int64_t>(p.tile_rows, 1);
  for (int64_t q0 = 0; q0 < in.n_q;) {
    int64_t q1 = std::min(q0 + step, in.n_q);
    // Tiles never straddle the global rows or a link block, so "kept by every
    // row" is one property of the tile.
    if (q0 < global_rows) q1 = std::min(q1, global_rows);
    if (p.link_block > 0) q1 = std::min(q1, (q0 / p.link_block + 1) * p.link_block);
    Tile t;
    t.q0 = q0;
    t.rows = q1 - q0;
    tiles.push_back(std::move(t));
    q0 = q1;
  }
  return tiles;
}

// Fills t.keys / t.wide with the union of what the tile's rows keep.
void GatherKeys(const AttentionInputs& in, const Pattern& p, Tile& t) {
  const int64_t n = in.n_kv;
  std::vector<std::pair<int64_t, uint8_t>> cand;  // (key, wide)
  auto add_range = [&](int64_t begin, int64_t end, uint8_t wide) {
    for (int64_t j = std::max<int64_t>(begin, 0); j < std::min(end, n); ++j) {
      cand.emplace_back(j, wide);
    }
  };
  if (t.q0 < p.global) {
    add_range(0, n, 1);  // global rows keep everything
  } else {
    if (p.window >= 0) add_range(t.q0 - p.window, t.q0 + t.rows + p.window, 0);
    add_range(0, p.global, 1);
    if (p.stride > 0) {
      for (int64_t j = 0; j < n; j += p.stride) cand.emplace_back(j, 1);
    }
    if (p.link_block > 0) {
      const int64_t qb = t.q0 / p.link_block;
      if (qb < static_cast<int64_t>(p.links.size())) {
        for (int64_t kb : p.links[qb]) {
          add_range(kb * p.link_block, (kb + 1) * p.link_block, 1);
        }
      }
    }
  }
  std::sort(cand.begin(), cand.end());
  for (const auto& [j, wide] : cand) {
    if (in.key_valid != nullptr && !in.key_valid[j]) continue;
    if (!t.keys.empty() && t.keys.back() == j) {
      t.wide.back() |= wide;  // sorted by (key, wide): a duplicate can only widen
      continue;
    }
    t.keys.push_back(j);
    t.wide.push_back(wide);
  }
  for (uint8_t w : t.wide) t.all_wide = t.all_wide && w;
  t.contiguous =
      !t.keys.empty() && t.keys.back() - t.keys.front() + 1 == static_cast<int64_t>(t.keys.size());
}

struct Scratch {
  std::vector<float> s, k, v;
};

// One head of one tile: S = scale Q Kᵀ on the gathered keys, mask the pairs
// outside a row's window, softmax, out = P V. Returns the pairs scored.
int64_t RunTile(const AttentionInputs& in, const Pattern& p, const Tile& t, int h, Scratch& scratch,
                float* mass) {
  const int64_t d = in.head_dim, m = static_cast<int64_t>(t.keys.size());
  float* out = in.out + t.q0 * in.out_stride + h * d;
  if (m == 0) {  // no real key kept by any row: zero output, as the reference
    for (int64_t r = 0; r < t.rows; ++r)
      std::fill(out + r * in.out_stride, out + r * in.out_stride + d, 0.0f);
    return 0;
  }
  const float* k = in.k + t.keys[0] * in.k_stride + h * d;
  const float* v = in.v + t.keys[0] * in.v_stride + h * d;
  int64_t ldk = in.k_stride, ldv = in.v_stride;
  if (!t.contiguous) {
    scratch.k.resize(m * d);
    scratch.v.resize(m * d);
    for (int64_t c = 0; c < m; ++c) {
      const float* kr = in.k + t.keys[c] * in.k_stride + h * d;
      const float* vr = in.v + t.keys[c] * in.v_stride + h * d;
      std::copy(kr, kr + d, scratch.k.data() + c * d);
      std::copy(vr, vr + d, scratch.v.data() + c * d);
    }
    k = scratch.k.data();
    v = scratch.v.data();
    ldk = ldv = d;
  }
  scratch.s.resize(t.rows * m);
  float* s = scratch.s.data();
  Sgemm(false, true, t.rows, m, d, in.scale, in.q + t.q0 * in.q_stride + h * d, in.q_stride, k, ldk,
        0.0f, s, m);
  for (int64_t r = 0; r < t.rows; ++r) {
    float* sr = s + r * m;
    if (!t.all_wide) {
      const int64_t i = t.q0 + r;
      for (int64_t c = 0; c < m; ++c) {
        if (!t.wide[c] && std::abs(i - t.keys[c]) > p.window) sr[c] = kNegInf;
      }
    }
    MaskedSoftmaxRow(sr, m);  // a row with nothing kept becomes zeros
    if (mass != nullptr) {
      for (int64_t c = 0; c < m; ++c) mass[t.keys[c]] += sr[c];
    }
  }
  Sgemm(false, false, t.rows, d, m, 1.0f, s, m, v, ldv, 0.0f, out, in.out_stride);
  return t.rows * m;
}

}  // namespace

std::vector<int64_t> RandomBlocks(uint64_t seed, int64_t query_block, int64_t num_blocks,
                                  int64_t count) {
  const int64_t others = std::max<int64_t>(num_blocks - 1, 0);
  count = std::clamp<int64_t>(count, 0, others);
  uint64_t state = seed ^ (static_cast<uint64_t>(query_block) * 0xd1b54a32d192ed03ULL);
  std::set<int64_t> chosen;  // Floyd: exactly `count` draws, no rejection loop
  for (int64_t j = others - count; j < others; ++j) {
    const int64_t t = static_cast<int64_t>(SplitMix64(&state) % static_cast<uint64_t>(j + 1));
    chosen.insert(chosen.contains(t) ? j : t);
  }
  std::vector<int64_t> blocks;
  for (int64_t c : chosen) blocks.push_back(c < query_block ? c : c + 1);  // skip the diagonal
  return blocks;
}

ParamSpec IntParam(const char* name, double default_value, double min_value, double max_value,
                   const char* description) {
  return ParamSpec{.name = name,
                   .type = ParamType::kInt,
                   .default_value = default_value,
                   .min_value = min_value,
                   .max_value = max_value,
                   .description = description};
}

int64_t TileRowsForWindow(int64_t window) { return std::clamp<int64_t>(window, 16, 64); }

absl::Status RunPattern(const AttentionInputs& in, const Pattern& p, AttentionStats* stats) {
  RETURN_IF_ERROR(ValidateAttentionInputs(in));
  std::vector<Tile> tiles = MakeTiles(in, p);
  const int64_t num_tiles = static_cast<int64_t>(tiles.size());
  const int64_t tasks = num_tiles * in.num_heads;
  std::vector<float> mass_total(in.key_mass != nullptr ? in.n_kv : 0, 0.0f);
  int64_t scored = 0;
#pragma omp parallel if (tasks > 1) reduction(+ : scored)
  {
#pragma omp for schedule(dynamic, 4)
    for (int64_t t = 0; t < num_tiles; ++t) GatherKeys(in, p, tiles[t]);
    Scratch scratch;
    std::vector<float> mass(mass_total.size(), 0.0f);
#pragma omp for schedule(dynamic, 2)
    for (int64_t task = 0; task < tasks; ++task) {
      scored += RunTile(in, p, tiles[task % num_tiles], static_cast<int>(task / num_tiles), scratch,
                        mass.empty() ? nullptr : mass.data());
    }
    if (!mass.empty()) {
#pragma omp critical
      for (size_t j = 0; j < mass.size(); ++j) mass_total[j] += mass[j];
    }
  }
  for (size_t j = 0; j < mass_total.size(); ++j) in.key_mass[j] += mass_total[j];
  if (stats != nullptr) {
    int64_t real_keys = in.n_kv;
    if (in.key_valid != nullptr) {
      real_keys =
          std::count_if(in.key_valid, in.key_valid + in.n_kv, [](uint8_t x) { return x != 0; });
    }
    stats->pairs_scored += scored;
    stats->pairs_total += in.n_q * real_keys * in.num_heads;
    stats->flops += 4 * scored * in.head_dim;
  }
  return absl::OkStatus();
}

}  // namespace attnserve::sparse
