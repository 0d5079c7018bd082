#include "engine/policy/early_exit.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace attnserve {

absl::Status ValidateEarlyExit(const EarlyExitOptions& o, int num_layers, bool has_heads) {
  if (o.max_layers < 0 || o.max_layers > num_layers) {
    return absl::InvalidArgumentError(absl::StrCat("early_exit.max_layers: ", o.max_layers,
                                                   " is out of range [0, ", num_layers,
                                                   "] (0 = all layers)"));
  }
  if (!(o.embed_cosine >= 0 && o.embed_cosine <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("early_exit.embed_cosine: ", o.embed_cosine,
                                                   " is out of range [0, 1] (0 = off)"));
  }
  if (!(o.min_confidence >= 0 && o.min_confidence <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("early_exit.min_confidence: ", o.min_confidence,
                                                   " is out of range [0, 1] (0 = off)"));
  }
  if (std::isnan(o.max_entropy) || o.max_entropy > 100) {
    return absl::InvalidArgumentError(absl::StrCat("early_exit.max_entropy: ", o.max_entropy,
                                                   " is out of range [0, 100] (< 0 = off)"));
  }
  if (!has_heads) {
    const char* field = o.min_confidence > 0 ? "min_confidence"
                        : o.max_entropy >= 0 ? "max_entropy"
                                             : nullptr;
    if (field != nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "early_exit.", field, ": the model has no classification heads to be confident with"));
    }
  }
  return absl::OkStatus();
}

int LayerLimit(const EarlyExitOptions& o, int num_layers) {
  return o.max_layers > 0 ? std::min(o.max_layers, num_layers) : num_layers;
}

double Cosine(const float* a, const float* b, int n) {
  double dot = 0, na = 0, nb = 0;
  for (int i = 0; i < n; ++i) {
    dot += double{a[i]} * b[i];
    na += double{a[i]} * a[i];
    nb += double{b[i]} * b[i];
  }
  if (na == 0 || nb == 0) return na == nb ? 1.0 : 0.0;
  return dot / std::sqrt(na * nb);
}

double Entropy(const float* probs, int n) {
  double h = 0;
  for (int i = 0; i < n; ++i) {
    if (probs[i] > 0) h -= double{probs[i]} * std::log(double{probs[i]});
  }
  return h;
}

bool HeadConfident(const EarlyExitOptions& o, const float* probs, int n) {
  if (o.min_confidence > 0 && *std::max_element(probs, probs + n) >= o.min_confidence) {
    return true;
  }
  return o.max_entropy >= 0 && Entropy(probs, n) <= o.max_entropy;
}

}  // namespace attnserve
