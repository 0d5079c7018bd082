#include "engine/tokenizer/unigram_tokenizer.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/tokenizer/utf8.h"
#include "nlohmann/json.hpp"
#include "utf8proc.h"

namespace attnserve {
namespace {

// Ids 0-5 (unknown, <s>, </s>, three extras) are never matched against text.
constexpr int32_t kReservedIds = 6;
constexpr int32_t kUnknownId = 0;
// U+2581 LOWER ONE EIGHTH BLOCK, the word-boundary marker of the pieces.
constexpr char32_t kBoundary = 0x2581;
// Scratch buffers above this many positions are released after a call so one
// huge request does not pin memory in a worker thread forever.
constexpr size_t kMaxRetainedPositions = size_t{1} << 16;

// Per-position best-path state; reused across calls on the same thread.
struct Scratch {
  std::u32string symbols;
  std::vector<double> best;
  std::vector<int32_t> id;
  std::vector<int32_t> length;
  std::vector<int32_t> reversed;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

// Debian's Abseil keeps its own string_view type, which StrCat needs.
absl::string_view AsAbsl(std::string_view s) { return {s.data(), s.size()}; }

void ReleaseIfHuge(Scratch& s) {
  if (s.best.capacity() <= kMaxRetainedPositions) return;
  s = Scratch();
}

bool IsAscii(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Appends the code points of valid UTF-8 `text` to `out`, turning U+0020 into
// the boundary marker. No validation: `text` comes out of NormalizeNfkc.
void AppendSymbols(std::string_view text, std::u32string* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    char32_t cp = *p;
    if (cp < 0x80) {
      ++p;
    } else if (cp < 0xE0) {
      cp = ((cp & 0x1F) << 6) | (p[1] & 0x3F);
      p += 2;
    } else if (cp < 0xF0) {
      cp = ((cp & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
      p += 3;
    } else {
      cp = ((cp & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
      p += 4;
    }
    out->push_back(cp == U' ' ? kBoundary : cp);
  }
}

}  // namespace

// The vocabulary as a trie over code points, flattened into arrays: node n's
// children are edges[first_edge, first_edge + num_edges), sorted by code
// point. A node that ends a piece carries its id and score.
struct UnigramTokenizer::Impl {
  struct Node {
    int32_t first_edge = 0;
    int32_t num_edges = 0;
    int32_t piece_id = -1;
    double score = 0.0;
  };
  struct Edge {
    char32_t cp;
    int32_t child;
  };

  std::vector<std::string> pieces;  // by id, as UTF-8
  std::vector<Node> nodes;          // nodes[0] is the root
  std::vector<Edge> edges;

  int32_t Child(int32_t node, char32_t cp) const;
  void BestPath(const std::u32string& symbols, Scratch& s) const;
};

int32_t UnigramTokenizer::Impl::Child(int32_t node, char32_t cp) const {
  const Node& n = nodes[node];
  const Edge* begin = edges.data() + n.first_edge;
  const Edge* end = begin + n.num_edges;
  // Most nodes have a handful of children; only the root and a few shallow
  // nodes are wide enough for binary search to pay off.
  if (n.num_edges <= 8) {
    for (const Edge* e = begin; e != end; ++e) {
      if (e->cp == cp) return e->child;
    }
    return -1;
  }
  const Edge* it =
      std::lower_bound(begin, end, cp, [](const Edge& e, char32_t c) { return e.cp < c; });
  return (it != end && it->cp == cp) ? it->child : -1;
}

// Fills s.best/id/length for positions 0..N with the reference's rules: best
// starts at 0, which also means "unset"; an edge s -> e with total
// score + best[s] is taken if best[e] == 0 or total >= best[e]. The reference
// visits, for each end e, the edges ending there by increasing start; pushing
// edges forward from each start in increasing order visits every end's edges
// in that same order, and best[s] is final by the time s is the start.
void UnigramTokenizer::Impl::BestPath(const std::u32string& symbols, Scratch& s) const {
  const size_t n = symbols.size();
  s.best.assign(n + 1, 0.0);
  // Unreached positions backtrack like the reference: as id 0 of length 1.
  s.id.assign(n + 1, kUnknownId);
  s.length.assign(n + 1, 1);

  auto relax = [&s](size_t end, double total, int32_t id, int32_t length) {
    if (s.best[end] == 0.0 || total >= s.best[end]) {
      s.best[end] = total;
      s.id[end] = id;
      s.length[end] = length;
    }
  };

  for (size_t start = 0; start < n; ++start) {
    const double base = s.best[start];
    bool matched = false;
    int32_t node = 0;
    for (size_t pos = start; pos < n; ++pos) {
      node = Child(node, symbols[pos]);
      if (node < 0) break;
      const Node& hit = nodes[node];
      if (hit.piece_id >= 0) {
        const auto length = static_cast<int32_t>(pos + 1 - start);
        relax(pos + 1, hit.score + base, hit.piece_id, length);
        matched = true;
      }
    }
    // The unknown edge exists only where no piece starts.
    if (!matched) relax(start + 1, 0.0 + base, kUnknownId, 1);
  }
}

UnigramTokenizer::UnigramTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

UnigramTokenizer::~UnigramTokenizer() = default;

absl::StatusOr<std::unique_ptr<UnigramTokenizer>> UnigramTokenizer::LoadFromFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return FromJson(text.str(), path);
}

namespace {

// Temporary pointer-style trie used while loading; flattened afterwards.
struct BuildNode {
  std::map<char32_t, int32_t> children;
  int32_t piece_id = -1;
  double score = 0.0;
};

// Parses entry `index` of the vocabulary array into a piece and a score.
absl::Status ParseEntry(const nlohmann::json& entry, size_t index, std::string_view source,
                        std::string* piece, double* score) {
  auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(source), ": entry ", index, ": ", what));
  };
  if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string()) {
    return error("expected [piece, score]");
  }
  const nlohmann::json& value = entry[1];
  // The reference does arithmetic on the score, where null acts as 0.
  if (value.is_null()) {
    *score = 0.0;
  } else if (value.is_number()) {
    *score = value.get<double>();
  } else {
    return error("score must be a number or null");
  }
  *piece = entry[0].get<std::string>();
  if (absl::Status status = ValidateUtf8(*piece); !status.ok()) {
    return error(status.message());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<UnigramTokenizer>> UnigramTokenizer::FromJson(
    std::string_view json_text, std::string_view source) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and out_of_range for a number that overflows (1e999).
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(source), ": invalid JSON: ", e.what()));
  }
  if (!root.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(source), ": expected an array of [piece, score]"));
  }
  if (root.size() < static_cast<size_t>(kReservedIds)) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(source), ": expected at least ", kReservedIds,
                     " entries (ids 0-5 are reserved), got ", root.size()));
  }

  auto impl = std::make_unique<Impl>();
  impl->pieces.resize(root.size());
  std::vector<BuildNode> build(1);
  for (size_t i = 0; i < root.size(); ++i) {
    double score = 0.0;
    if (absl::Status status = ParseEntry(root[i], i, source, &impl->pieces[i], &score);
        !status.ok()) {
      return status;
    }
    if (i < static_cast<size_t>(kReservedIds)) continue;
    absl::StatusOr<std::u32string> cps = DecodeUtf8(impl->pieces[i]);
    if (!cps.ok()) return cps.status();  // unreachable: validated above
    if (cps->empty()) continue;          // an empty piece can never match
    int32_t node = 0;
    for (char32_t cp : *cps) {
      auto [it, inserted] =
          build[node].children.try_emplace(cp, static_cast<int32_t>(build.size()));
      node = it->second;
      if (inserted) build.emplace_back();
    }
    // Ids ascend, so a duplicated piece ends up with its highest id.
    build[node].piece_id = static_cast<int32_t>(i);
    build[node].score = score;
  }

  // Flatten: node numbering is kept, children become contiguous sorted runs.
  impl->nodes.resize(build.size());
  for (size_t n = 0; n < build.size(); ++n) {
    Impl::Node& node = impl->nodes[n];
    node.first_edge = static_cast<int32_t>(impl->edges.size());
    node.num_edges = static_cast<int32_t>(build[n].children.size());
    node.piece_id = build[n].piece_id;
    node.score = build[n].score;
    for (const auto& [cp, child] : build[n].children) {
      impl->edges.push_back({cp, child});
    }
  }
  return std::unique_ptr<UnigramTokenizer>(new UnigramTokenizer(std::move(impl)));
}

namespace {

// The ids of the best path in `s` (s.reversed, last piece first), each run of
// unknowns collapsed into one 0; with `origins` (one per symbol) the span of
// each id in `spans`, also last first.
void Backtrack(Scratch& s, const std::vector<ByteSpan>* origins, std::vector<ByteSpan>* spans) {
  s.reversed.clear();
  for (int64_t pos = static_cast<int64_t>(s.symbols.size()); pos > 0; pos -= s.length[pos]) {
    const int32_t id = s.id[pos];
    ByteSpan span;
    if (origins != nullptr) {
      for (int64_t i = pos - s.length[pos]; i < pos; ++i) span = Union(span, (*origins)[i]);
    }
    if (id == kUnknownId && !s.reversed.empty() && s.reversed.back() == kUnknownId) {
      if (origins != nullptr) spans->back() = Union(spans->back(), span);
      continue;
    }
    s.reversed.push_back(id);
    if (origins != nullptr) spans->push_back(span);
  }
}

}  // namespace

absl::StatusOr<std::vector<int32_t>> UnigramTokenizer::Encode(std::string_view utf8_text) const {
  // ASCII text is valid and already NFKC; skip the normalizer's copy.
  std::string normalized;
  std::string_view text = utf8_text;
  if (!IsAscii(text)) {
    absl::StatusOr<std::string> nfkc = NormalizeNfkc(text);
    if (!nfkc.ok()) return nfkc.status();
    normalized = *std::move(nfkc);
    text = normalized;
  }
  std::vector<int32_t> ids;
  if (text.empty()) return ids;

  Scratch& s = ThreadScratch();
  s.symbols.clear();
  s.symbols.push_back(kBoundary);
  AppendSymbols(text, &s.symbols);
  impl_->BestPath(s.symbols, s);
  Backtrack(s, nullptr, nullptr);
  ids.assign(s.reversed.rbegin(), s.reversed.rend());
  ReleaseIfHuge(s);
  return ids;
}

absl::Status UnigramTokenizer::EncodeWithOffsets(std::string_view utf8_text,
                                                 std::vector<int32_t>* ids,
                                                 std::vector<ByteSpan>* offsets) const {
  ids->clear();
  offsets->clear();
  std::u32string chars;
  std::vector<ByteSpan> origins;
  if (absl::Status st = DecodeAligned(utf8_text, &chars, &origins); !st.ok()) return st;
  if (absl::Status st = NormalizeAligned(UTF8PROC_COMPOSE | UTF8PROC_COMPAT, &chars, &origins);
      !st.ok()) {
    return st;
  }
  if (chars.empty()) return absl::OkStatus();

  Scratch& s = ThreadScratch();
  s.symbols.clear();
  s.symbols.push_back(kBoundary);
  for (char32_t c : chars) s.symbols.push_back(c == U' ' ? kBoundary : c);
  origins.insert(origins.begin(), ByteSpan{});  // the boundary before the first word
  impl_->BestPath(s.symbols, s);
  std::vector<ByteSpan> reversed_spans;
  Backtrack(s, &origins, &reversed_spans);
  ids->assign(s.reversed.rbegin(), s.reversed.rend());
  offsets->assign(reversed_spans.rbegin(), reversed_spans.rend());
  ReleaseIfHuge(s);
  return absl::OkStatus();
}

int UnigramTokenizer::vocab_size() const { return static_cast<int>(impl_->pieces.size()); }

std::string_view UnigramTokenizer::piece(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->pieces.size()) return {};
  return impl_->pieces[id];
}

}  // namespace attnserve
