#include "engine/model/hf_config.h"

#include <filesystem>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/util/file_io.h"
#include "engine/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

using json = nlohmann::json;

// Field access with defaults and errors naming `source` and the key.
class Fields {
 public:
  Fields(const json& j, std::string source) : j_(j), source_(std::move(source)) {}

  absl::Status Int(const char* key, int lo, int hi, int* out) const {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return Check(key, *out, lo, hi);
    if (!it->is_number_integer()) return Error(key, "must be an integer");
    const int64_t v = it->get<int64_t>();
    if (v < lo || v > hi) return Range(key, v, lo, hi);
    *out = static_cast<int>(v);
    return absl::OkStatus();
  }
  absl::Status Double(const char* key, double lo, double hi, double* out) const {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return absl::OkStatus();
    if (!it->is_number()) return Error(key, "must be a number");
    const double v = it->get<double>();
    if (!(v >= lo && v <= hi)) {
      return Error(key, absl::StrCat(v, " is out of range [", lo, ", ", hi, "]"));
    }
    *out = v;
    return absl::OkStatus();
  }
  absl::Status Bool(const char* key, bool* out) const {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return absl::OkStatus();
    if (!it->is_boolean()) return Error(key, "must be true or false");
    *out = it->get<bool>();
    return absl::OkStatus();
  }
  absl::Status String(const char* key, std::string* out) const {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return absl::OkStatus();
    if (!it->is_string()) return Error(key, "must be a string");
    *out = it->get<std::string>();
    return absl::OkStatus();
  }
  absl::Status Error(const std::string& key, const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat(source_, ": ", key, ": ", what));
  }

 private:
  absl::Status Range(const char* key, int64_t v, int lo, int hi) const {
    return Error(key, absl::StrCat(v, " is out of range [", lo, ", ", hi, "]"));
  }
  absl::Status Check(const char* key, int v, int lo, int hi) const {
    return v >= lo && v <= hi ? absl::OkStatus() : Range(key, v, lo, hi);
  }
  const json& j_;
  std::string source_;
};

constexpr int kMaxWidth = 1 << 16;
constexpr int kMaxLayers = 256;
constexpr int kMaxVocab = 1 << 22;
constexpr int kMaxPositions = 1 << 16;

absl::Status ParseActivation(const Fields& f, const char* key, const std::string& name,
                             HfActivation* out) {
  if (name == "gelu") {
    *out = HfActivation::kGelu;
  } else if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") {
    *out = HfActivation::kGeluTanh;
  } else if (name == "relu") {
    *out = HfActivation::kRelu;
  } else {
    return f.Error(key, absl::StrCat("'", name, "' is not supported (gelu, gelu_new, relu)"));
  }
  return absl::OkStatus();
}

absl::Status ParseLabels(const json& j, const Fields& f, std::vector<std::string>* labels) {
  auto it = j.find("id2label");
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_object()) return f.Error("id2label", "must be an object");
  std::map<int, std::string> by_id;
  for (const auto& [key, value] : it->items()) {
    int id = -1;
    if (key.empty() || key.size() > 6 || key.find_first_not_of("0123456789") != std::string::npos) {
      return f.Error(absl::StrCat("id2label.", key), "keys must be label ids 0, 1, ...");
    }
    id = std::stoi(key);
    if (!value.is_string()) return f.Error(absl::StrCat("id2label.", key), "must be a string");
    by_id[id] = value.get<std::string>();
  }
  for (const auto& [id, name] : by_id) {
    if (id != static_cast<int>(labels->size())) {
      return f.Error("id2label", absl::StrCat("ids must be 0..", by_id.size() - 1));
    }
    labels->push_back(name);
  }
  return absl::OkStatus();
}

absl::Status ParseAttentionType(const Fields& f, const std::string& name, AttentionType* out) {
  for (AttentionType t : {AttentionType::kStandard, AttentionType::kOptimized,
                          AttentionType::kEfficient, AttentionType::kSuper}) {
    if (name == AttentionTypeName(t)) {
      *out = t;
      return absl::OkStatus();
    }
  }
  return f.Error("attention_type", absl::StrCat("'", name,
                                                "' is not supported (standard, optimized, "
                                                "efficient, super)"));
}

}  // namespace

const char* AttentionTypeName(AttentionType type) {
  switch (type) {
    case AttentionType::kStandard:
      return "standard";
    case AttentionType::kOptimized:
      return "optimized";
    case AttentionType::kEfficient:
      return "efficient";
    case AttentionType::kSuper:
      return "super";
  }
  return "?";
}

absl::StatusOr<HfConfig> ParseHfConfig(const std::string& json_text, const std::string& source) {
  const json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": not a JSON object"));
  }
  const Fields f(j, source);
  HfConfig c;
  RETURN_IF_ERROR(f.String("model_type", &c.model_type));
  std::string act;
  if (c.model_type == "bert" || c.model_type == "mobilebert") {
    const bool mobile = c.model_type == "mobilebert";
    c.family = mobile ? HfFamily::kMobileBert : HfFamily::kBert;
    // The transformers library's defaults for each config class.
    c.vocab_size = 30522;
    c.hidden_size = mobile ? 512 : 768;
    c.num_layers = mobile ? 24 : 12;
    c.num_heads = mobile ? 4 : 12;
    c.intermediate_size = mobile ? 512 : 3072;
    act = mobile ? "relu" : "gelu";
    c.max_position_embeddings = 512;
    c.type_vocab_size = 2;
    RETURN_IF_ERROR(f.Int("vocab_size", 1, kMaxVocab, &c.vocab_size));
    RETURN_IF_ERROR(f.Int("hidden_size", 1, kMaxWidth, &c.hidden_size));
    RETURN_IF_ERROR(f.Int("num_hidden_layers", 1, kMaxLayers, &c.num_layers));
    RETURN_IF_ERROR(f.Int("num_attention_heads", 1, kMaxWidth, &c.num_heads));
    RETURN_IF_ERROR(f.Int("intermediate_size", 1, 4 * kMaxWidth, &c.intermediate_size));
    RETURN_IF_ERROR(f.String("hidden_act", &act));
    RETURN_IF_ERROR(ParseActivation(f, "hidden_act", act, &c.activation));
    RETURN_IF_ERROR(f.Double("layer_norm_eps", 0.0, 1.0, &c.layer_norm_eps));
    RETURN_IF_ERROR(f.Int("max_position_embeddings", 3, kMaxPositions, &c.max_position_embeddings));
    RETURN_IF_ERROR(f.Int("type_vocab_size", 1, kMaxVocab, &c.type_vocab_size));
    if (mobile) {
      c.embedding_size = 128;
      c.intra_bottleneck_size = 128;
      c.num_feedforward_networks = 4;
      c.trigram_input = c.use_bottleneck = c.key_query_shared_bottleneck = true;
      std::string norm = "no_norm";
      RETURN_IF_ERROR(f.Int("embedding_size", 1, kMaxWidth, &c.embedding_size));
      RETURN_IF_ERROR(f.Int("intra_bottleneck_size", 1, kMaxWidth, &c.intra_bottleneck_size));
      RETURN_IF_ERROR(f.Int("num_feedforward_networks", 1, 64, &c.num_feedforward_networks));
      RETURN_IF_ERROR(f.Bool("trigram_input", &c.trigram_input));
      RETURN_IF_ERROR(f.Bool("use_bottleneck", &c.use_bottleneck));
      RETURN_IF_ERROR(f.Bool("use_bottleneck_attention", &c.use_bottleneck_attention));
      RETURN_IF_ERROR(f.Bool("key_query_shared_bottleneck", &c.key_query_shared_bottleneck));
      RETURN_IF_ERROR(f.Bool("classifier_activation", &c.classifier_activation));
      RETURN_IF_ERROR(f.String("normalization_type", &norm));
      if (norm != "no_norm" && norm != "layer_norm") {
        return f.Error("normalization_type",
                       absl::StrCat("'", norm, "' is not supported (no_norm, layer_norm)"));
      }
      c.no_norm = norm == "no_norm";
    } else {
      c.embedding_size = c.hidden_size;
      std::string attention_type = "standard";
      RETURN_IF_ERROR(f.String("attention_type", &attention_type));
      RETURN_IF_ERROR(ParseAttentionType(f, attention_type, &c.attention_type));
    }
  } else if (c.model_type == "distilbert") {
    c.family = HfFamily::kDistilBert;
    c.vocab_size = 30522;
    c.hidden_size = 768;
    c.num_layers = 6;
    c.num_heads = 12;
    c.intermediate_size = 3072;
    act = "gelu";
    c.max_position_embeddings = 512;
    c.type_vocab_size = 0;
    RETURN_IF_ERROR(f.Int("vocab_size", 1, kMaxVocab, &c.vocab_size));
    RETURN_IF_ERROR(f.Int("dim", 1, kMaxWidth, &c.hidden_size));
    RETURN_IF_ERROR(f.Int("n_layers", 1, kMaxLayers, &c.num_layers));
    RETURN_IF_ERROR(f.Int("n_heads", 1, kMaxWidth, &c.num_heads));
    RETURN_IF_ERROR(f.Int("hidden_dim", 1, 4 * kMaxWidth, &c.intermediate_size));
    RETURN_IF_ERROR(f.String("activation", &act));
    RETURN_IF_ERROR(ParseActivation(f, "activation", act, &c.activation));
    RETURN_IF_ERROR(f.Int("max_position_embeddings", 3, kMaxPositions, &c.max_position_embeddings));
    c.layer_norm_eps = 1e-12;  // fixed in DistilBERT's modules
    c.embedding_size = c.hidden_size;
  } else {
    return f.Error("model_type", absl::StrCat("'", c.model_type,
                                              "' is not supported (bert, distilbert, mobilebert)"));
  }
  RETURN_IF_ERROR(ParseLabels(j, f, &c.labels));
  if (c.family != HfFamily::kBert && j.contains("attention_type")) {
    return f.Error("attention_type",
                   absl::StrCat("applies to model_type bert only, not '", c.model_type, "'"));
  }
  const int inner = c.inner_size();
  if (inner % c.num_heads != 0) {
    return f.Error(c.family == HfFamily::kDistilBert ? "n_heads" : "num_attention_heads",
                   absl::StrCat(c.num_heads, " heads do not divide the attention width ", inner));
  }
  return c;
}

const char* PoolingModeName(PoolingMode mode) {
  switch (mode) {
    case PoolingMode::kCls:
      return "cls";
    case PoolingMode::kMean:
      return "mean";
    case PoolingMode::kMax:
      return "max";
  }
  return "?";
}

absl::StatusOr<SentencePipeline> LoadSentencePipeline(const std::string& dir, int hidden_size) {
  SentencePipeline p;
  const std::string modules_path = JoinPath(dir, "modules.json");
  std::error_code ec;
  if (!std::filesystem::exists(modules_path, ec)) return p;
  ASSIGN_OR_RETURN(const std::string text, ReadFileToString(modules_path, 1 << 20));
  const json modules = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (modules.is_discarded() || !modules.is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(modules_path, ": not a JSON array"));
  }
  p.present = true;
  // sentence-transformers clips every text to max_seq_length pieces, often
  // below the position table (256 of 512 for all-MiniLM-L6-v2).
  const std::string st_path = JoinPath(dir, "sentence_bert_config.json");
  if (std::filesystem::exists(st_path, ec)) {
    ASSIGN_OR_RETURN(const std::string st_text, ReadFileToString(st_path, 1 << 20));
    const json st = json::parse(st_text, nullptr, /*allow_exceptions=*/false);
    if (st.is_discarded() || !st.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(st_path, ": not a JSON object"));
    }
    if (st.contains("max_seq_length") && !st["max_seq_length"].is_null()) {
      RETURN_IF_ERROR(
          Fields(st, st_path).Int("max_seq_length", 3, kMaxPositions, &p.max_seq_length));
    }
  }
  std::string pooling_dir;
  for (size_t i = 0; i < modules.size(); ++i) {
    const json& m = modules[i];
    const std::string field = absl::StrCat(modules_path, ": [", i, "]");
    if (!m.is_object() || !m.contains("type") || !m["type"].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".type: missing"));
    }
    const std::string type = m["type"].get<std::string>();
    const std::string path = m.value("path", std::string());
    if (absl::EndsWith(type, ".Transformer")) continue;
    if (absl::EndsWith(type, ".Pooling")) {
      if (path.empty() || path.find("..") != std::string::npos || path[0] == '/') {
        return absl::InvalidArgumentError(absl::StrCat(field, ".path: '", path,
                                                       "' is not a "
                                                       "subdirectory"));
      }
      pooling_dir = path;
    } else if (absl::EndsWith(type, ".Normalize")) {
      p.normalize = true;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".type: module '", type, "' is not supported (Transformer, Pooling, Normalize)"));
    }
  }
  if (pooling_dir.empty()) {
    p.pooling = PoolingMode::kCls;
    return p;
  }
  const std::string pool_path = JoinPath(JoinPath(dir, pooling_dir), "config.json");
  ASSIGN_OR_RETURN(const std::string pool_text, ReadFileToString(pool_path, 1 << 20));
  const json pool = json::parse(pool_text, nullptr, /*allow_exceptions=*/false);
  if (pool.is_discarded() || !pool.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(pool_path, ": not a JSON object"));
  }
  const Fields f(pool, pool_path);
  int dim = hidden_size;
  RETURN_IF_ERROR(f.Int("word_embedding_dimension", hidden_size, hidden_size, &dim));
  int chosen = 0;
  for (const auto& [key, value] : pool.items()) {
    if (!absl::StartsWith(key, "pooling_mode_")) continue;
    if (!value.is_boolean()) return f.Error(key, "must be true or false");
    if (!value.get<bool>()) continue;
    ++chosen;
    if (key == "pooling_mode_cls_token") {
      p.pooling = PoolingMode::kCls;
    } else if (key == "pooling_mode_mean_tokens") {
      p.pooling = PoolingMode::kMean;
    } else if (key == "pooling_mode_max_tokens") {
      p.pooling = PoolingMode::kMax;
    } else {
      return f.Error(key, "is not supported (cls_token, mean_tokens, max_tokens)");
    }
  }
  if (chosen != 1) {
    return f.Error("pooling_mode_*", absl::StrCat(chosen,
                                                  " modes are true; attnserve needs "
                                                  "exactly one"));
  }
  return p;
}

}  // namespace attnserve
