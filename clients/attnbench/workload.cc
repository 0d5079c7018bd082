#include "clients/attnbench/workload.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "engine/util/status_macros.h"
#include "grpcpp/client_context.h"

namespace attnserve::bench {
namespace {

// Common English words: most are one token for USE-lite's vocabulary, a few
// are two, which is what real text looks like.
constexpr const char* kWords[] = {
    "the",     "of",       "and",     "to",       "in",      "a",       "is",       "that",
    "for",     "it",       "as",      "was",      "with",    "be",      "by",       "on",
    "not",     "he",       "this",    "are",      "or",      "his",     "from",     "at",
    "which",   "but",      "have",    "an",       "had",     "they",    "you",      "were",
    "their",   "one",      "all",     "we",       "can",     "her",     "has",      "there",
    "been",    "if",       "more",    "when",     "will",    "would",   "who",      "so",
    "no",      "time",     "people",  "water",    "city",    "river",   "morning",  "evening",
    "house",   "garden",   "window",  "light",    "music",   "market",  "train",    "station",
    "letter",  "friend",   "family",  "school",   "teacher", "village", "mountain", "forest",
    "ship",    "harbour",  "weather", "summer",   "winter",  "bread",   "coffee",   "table",
    "story",   "language", "number",  "question", "answer",  "reason",  "moment",   "afternoon",
    "walked",  "found",    "looked",  "thought",  "brought", "carried", "opened",   "closed",
    "quickly", "slowly",   "quietly", "often",    "never",   "always",  "together", "again",
    "small",   "large",    "old",     "new",      "bright",  "dark",    "warm",     "cold",
    "long",    "short",    "early",   "late",     "green",   "blue",    "red",      "white",
    "engine",  "server",   "request", "problem",  "network", "signal",  "memory",   "system",
};
constexpr int kNumWords = sizeof(kWords) / sizeof(kWords[0]);

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

absl::StatusOr<std::vector<KernelChoice>> ParseKernelMix(const std::string& spec, bool* weighted) {
  std::vector<KernelChoice> kernels;
  *weighted = false;
  for (absl::string_view item : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
    KernelChoice choice;
    std::vector<absl::string_view> parts = absl::StrSplit(item, ':');
    if (parts.size() > 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("--attention '", item, "': expected NAME[:WEIGHT]"));
    }
    choice.name = std::string(absl::StripAsciiWhitespace(parts[0]));
    if (choice.name == "default") choice.name.clear();
    if (parts.size() == 2) {
      if (!absl::SimpleAtod(parts[1], &choice.weight) || !(choice.weight > 0)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--attention '", item, "': the weight must be a positive number"));
      }
      *weighted = true;
    }
    kernels.push_back(std::move(choice));
  }
  if (kernels.empty()) kernels.push_back(KernelChoice{});
  return kernels;
}

std::string BuildText(int words, int variant) {
  std::string text;
  uint64_t state = static_cast<uint64_t>(variant) * 7919 + 17;
  for (int i = 0; i < words; ++i) {
    state = SplitMix64(state);
    std::string word = kWords[state % kNumWords];
    const bool sentence_start = i % 12 == 0;
    if (sentence_start) word[0] = static_cast<char>(std::toupper(word[0]));
    if (i > 0) text += ' ';
    text += word;
    if (i % 12 == 11 || i == words - 1) text += '.';
  }
  return text;
}

absl::StatusOr<TextClass> CalibratedClass(v1::Inference::Stub* stub, int target, int variants,
                                          double timeout_seconds) {
  auto count = [&](int words) -> absl::StatusOr<int> {
    v1::TokenizeRequest request;
    request.add_texts(BuildText(words, 0));
    v1::TokenizeResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(timeout_seconds)));
    grpc::Status status = stub->Tokenize(&context, request, &response);
    if (!status.ok()) {
      return absl::Status(
          static_cast<absl::StatusCode>(status.error_code()),
          absl::StrCat("Tokenize (calibrating --lengths): ", status.error_message()));
    }
    return response.tokens(0).ids_size();
  };
  int words = std::max(1, target * 3 / 4);
  int best_words = words, best_tokens = -1;
  for (int round = 0; round < 16; ++round) {
    ASSIGN_OR_RETURN(int tokens, count(words));
    if (best_tokens < 0 || std::abs(tokens - target) < std::abs(best_tokens - target)) {
      best_words = words;
      best_tokens = tokens;
    }
    if (tokens == target) break;
    int next =
        static_cast<int>(std::lround(static_cast<double>(words) * target / std::max(1, tokens)));
    if (next == words) next += tokens < target ? 1 : -1;
    next = std::max(1, next);
    if (next == words) break;
    words = next;
  }
  TextClass c;
  c.label = std::to_string(target);
  c.target_tokens = target;
  c.measured_tokens = best_tokens;
  c.words = best_words;
  for (int v = 0; v < variants; ++v) c.texts.push_back(BuildText(best_words, v));
  return c;
}

absl::StatusOr<TextClass> ReadInputFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("--input: cannot open ", path));
  TextClass c;
  c.label = "input";
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    nlohmann::ordered_json json =
        nlohmann::ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object() || !json.contains("text") || !json["text"].is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--input ", path, " line ", number, ": expected {\"text\": \"...\"}"));
    }
    c.texts.push_back(json["text"].get<std::string>());
  }
  if (c.texts.empty())
    return absl::InvalidArgumentError(absl::StrCat("--input ", path, ": no texts"));
  return c;
}

Workload::Workload(std::vector<KernelChoice> kernels, bool weighted, std::vector<TextClass> classes,
                   int texts_per_request, int max_tokens, uint64_t seed)
    : kernels_(std::move(kernels)),
      weighted_(weighted),
      classes_(std::move(classes)),
      texts_per_request_(texts_per_request),
      max_tokens_(max_tokens),
      seed_(seed) {
  double total = 0;
  for (const KernelChoice& k : kernels_) total += k.weight;
  double sum = 0;
  for (const KernelChoice& k : kernels_) {
    sum += k.weight;
    cumulative_.push_back(sum / total);
  }
}

Workload::Pick Workload::Choose(uint64_t seq) const {
  const uint64_t k = kernels_.size(), l = classes_.size();
  Pick pick;
  if (weighted_) {
    const double u = static_cast<double>(SplitMix64(seed_ ^ (seq * 0x2545f4914f6cdd1dULL)) >> 11) /
                     static_cast<double>(1ULL << 53);
    pick.kernel = static_cast<int>(std::lower_bound(cumulative_.begin(), cumulative_.end(), u) -
                                   cumulative_.begin());
    pick.kernel = std::min<int>(pick.kernel, static_cast<int>(k) - 1);
    pick.length = static_cast<int>(seq % l);
  } else {
    pick.kernel = static_cast<int>(seq % k);
    pick.length = static_cast<int>((seq / k) % l);
  }
  return pick;
}

void Workload::Fill(uint64_t seq, const Pick& pick, v1::EmbedRequest* request) const {
  const TextClass& c = classes_[pick.length];
  for (int j = 0; j < texts_per_request_; ++j) {
    request->add_texts(c.texts[(seq * texts_per_request_ + j) % c.texts.size()]);
  }
  const KernelChoice& k = kernels_[pick.kernel];
  if (!k.name.empty()) {
    request->mutable_options()->mutable_attention()->set_kernel(k.name);
    for (const auto& [key, value] : k.params) {
      (*request->mutable_options()->mutable_attention()->mutable_params())[key] = value;
    }
  }
  request->mutable_options()->set_max_tokens(max_tokens_);
  request->mutable_options()->set_linear_precision(linear_precision_);
}

std::string Workload::KernelLabel(int kernel) const {
  const std::string& name = kernels_[kernel].name;
  return name.empty() ? "(policy default)" : name;
}

nlohmann::ordered_json Workload::Describe() const {
  nlohmann::ordered_json kernels = nlohmann::ordered_json::array();
  for (size_t i = 0; i < kernels_.size(); ++i) {
    nlohmann::ordered_json k = {{"name", KernelLabel(static_cast<int>(i))},
                                {"weight", kernels_[i].weight}};
    if (!kernels_[i].params.empty()) k["params"] = kernels_[i].params;
    kernels.push_back(k);
  }
  nlohmann::ordered_json lengths = nlohmann::ordered_json::array();
  for (const TextClass& c : classes_) {
    nlohmann::ordered_json l = {{"label", c.label}, {"texts", c.texts.size()}};
    if (c.target_tokens > 0) {
      l["target_tokens"] = c.target_tokens;
      l["tokens"] = c.measured_tokens;
      l["words"] = c.words;
    }
    lengths.push_back(l);
  }
  return {{"kernels", kernels},
          {"kernel_selection", weighted_ ? "weighted" : "cycled"},
          {"lengths", lengths},
          {"texts_per_request", texts_per_request_},
          {"max_tokens", max_tokens_},
          {"linear_precision", linear_precision_.empty() ? "(policy default)" : linear_precision_}};
}

}  // namespace attnserve::bench
