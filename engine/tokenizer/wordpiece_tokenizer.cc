#include "engine/tokenizer/wordpiece_tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/tokenizer/bert_basic_tokenizer.h"
#include "engine/tokenizer/utf8.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

using Json = nlohmann::json;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return buffer.str();
}

// "[UNK]" or {"content": "[UNK]", ...} (AddedToken) as Hugging Face writes them.
absl::Status ReadTokenField(const Json& j, const char* field, const std::string& file,
                            std::string* out) {
  if (!j.contains(field) || j[field].is_null()) return absl::OkStatus();
  const Json& v = j[field];
  if (v.is_string()) {
    *out = v.get<std::string>();
    return absl::OkStatus();
  }
  if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    *out = v["content"].get<std::string>();
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat(file, ": ", field, " must be a string or an object with a string \"content\""));
}

absl::Status ReadBoolField(const Json& j, const char* field, const std::string& file, bool* out) {
  if (!j.contains(field) || j[field].is_null()) return absl::OkStatus();
  if (!j[field].is_boolean()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": ", field, " must be true or false"));
  }
  *out = j[field].get<bool>();
  return absl::OkStatus();
}

// strip_accents: true, false or null ("follow lowercase"); absent keeps `out`.
absl::Status ReadStripAccents(const Json& j, const std::string& file,
                              std::optional<std::optional<bool>>* out) {
  if (!j.contains("strip_accents")) return absl::OkStatus();
  const Json& v = j["strip_accents"];
  if (v.is_null()) {
    *out = std::optional<bool>();
  } else if (v.is_boolean()) {
    *out = std::optional<bool>(v.get<bool>());
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": strip_accents must be true, false or null"));
  }
  return absl::OkStatus();
}

// The JSON object in `dir`/`name`, or nullopt when the file does not exist.
absl::StatusOr<std::optional<Json>> ReadJsonObject(const std::string& dir, const char* name) {
  const std::string path = (std::filesystem::path(dir) / name).string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<Json>();
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  Json j = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(path, ": invalid JSON"));
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object"));
  return std::optional<Json>(std::move(j));
}

// The "normalizer" and "model" of a tokenizer.json (Rust tokenizers format).
absl::Status ApplyTokenizerJson(const Json& j, const std::string& file, WordPieceOptions* options,
                                std::optional<std::optional<bool>>* strip) {
  if (j.contains("normalizer") && !j["normalizer"].is_null()) {
    const Json& n = j["normalizer"];
    if (!n.is_object() || n.value("type", "") != "BertNormalizer") {
      return absl::UnimplementedError(
          absl::StrCat(file, ": normalizer must be a BertNormalizer for a WordPiece model"));
    }
    if (absl::Status s = ReadBoolField(n, "lowercase", file, &options->lowercase); !s.ok())
      return s;
    if (absl::Status s =
            ReadBoolField(n, "handle_chinese_chars", file, &options->tokenize_chinese_chars);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = ReadStripAccents(n, file, strip); !s.ok()) return s;
  }
  if (j.contains("model") && j["model"].is_object()) {
    const Json& m = j["model"];
    if (m.value("type", "WordPiece") != "WordPiece") {
      return absl::UnimplementedError(
          absl::StrCat(file, ": model.type is \"", m.value("type", ""), "\", not \"WordPiece\""));
    }
    if (m.contains("continuing_subword_prefix") && m["continuing_subword_prefix"] != Json("##")) {
      return absl::UnimplementedError(
          absl::StrCat(file, ": model.continuing_subword_prefix must be \"##\""));
    }
    if (absl::Status s = ReadTokenField(m, "unk_token", file, &options->unk_token); !s.ok()) {
      return s;
    }
    if (m.contains("max_input_chars_per_word")) {
      const Json& v = m["max_input_chars_per_word"];
      if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 1000000) {
        return absl::InvalidArgumentError(absl::StrCat(
            file, ": model.max_input_chars_per_word must be an integer in [1, 1000000]"));
      }
      options->max_input_chars_per_word = v.get<int>();
    }
  }
  return absl::OkStatus();
}

absl::Status ApplySpecialTokens(const Json& j, const std::string& file, WordPieceOptions* options) {
  for (auto [field, out] :
       {std::pair{"unk_token", &options->unk_token}, std::pair{"cls_token", &options->cls_token},
        std::pair{"sep_token", &options->sep_token}, std::pair{"pad_token", &options->pad_token}}) {
    if (absl::Status s = ReadTokenField(j, field, file, out); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Hugging Face's "longest_first": how many tokens to drop from a and from b.
std::pair<size_t, size_t> LongestFirst(size_t len_a, size_t len_b, size_t remove) {
  const size_t diff = len_a > len_b ? len_a - len_b : len_b - len_a;
  const size_t first = std::min(diff, remove);
  const size_t second = remove - first;
  if (len_a > len_b) return {first + second / 2, second - second / 2};
  return {second / 2, first + second - second / 2};
}

}  // namespace

absl::StatusOr<WordPieceTokenizer> WordPieceTokenizer::FromVocabFile(const std::string& path,
                                                                     WordPieceOptions options) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::vector<std::string> tokens;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    tokens.emplace_back(line);
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  absl::StatusOr<WordPieceTokenizer> t = FromTokens(std::move(tokens), std::move(options));
  if (!t.ok())
    return absl::Status(t.status().code(), absl::StrCat(path, ": ", t.status().message()));
  return t;
}

absl::StatusOr<WordPieceTokenizer> WordPieceTokenizer::FromTokens(std::vector<std::string> tokens,
                                                                  WordPieceOptions options) {
  if (options.max_input_chars_per_word < 1) {
    return absl::InvalidArgumentError(absl::StrCat("max_input_chars_per_word must be >= 1, got ",
                                                   options.max_input_chars_per_word));
  }
  if (tokens.size() > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError("vocabulary has more than 2^31-1 tokens");
  }
  WordPieceTokenizer t;
  t.initial_.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (absl::Status s = ValidateUtf8(token); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("line ", i + 1, ": ", s.message()));
    }
    auto [it, inserted] = t.initial_.emplace(token, static_cast<int32_t>(i));
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat("line ", i + 1, ": duplicate token \"", token,
                                                     "\" (first on line ", it->second + 1, ")"));
    }
    if (token.size() > 2 && token.compare(0, 2, "##") == 0) {
      t.continuation_.emplace(token.substr(2), static_cast<int32_t>(i));
    }
    t.max_token_bytes_ = std::max(t.max_token_bytes_, token.size());
  }
  for (auto [name, token, id] : {std::tuple{"unk_token", &options.unk_token, &t.unk_id_},
                                 std::tuple{"cls_token", &options.cls_token, &t.cls_id_},
                                 std::tuple{"sep_token", &options.sep_token, &t.sep_id_},
                                 std::tuple{"pad_token", &options.pad_token, &t.pad_id_}}) {
    auto it = t.initial_.find(*token);
    if (it == t.initial_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("vocabulary has no ", name, " \"", *token, "\""));
    }
    *id = it->second;
  }
  t.tokens_ = std::move(tokens);
  t.options_ = std::move(options);
  return t;
}

absl::StatusOr<WordPieceTokenizer> WordPieceTokenizer::FromDirectory(const std::string& dir) {
  absl::StatusOr<WordPieceOptions> options = OptionsFromDirectory(dir);
  if (!options.ok()) return options.status();
  const std::string vocab_txt = (std::filesystem::path(dir) / "vocab.txt").string();
  std::error_code ec;
  if (std::filesystem::exists(vocab_txt, ec)) return FromVocabFile(vocab_txt, *std::move(options));

  // No vocab.txt: the {token: id} map of tokenizer.json's WordPiece model.
  const std::string file = (std::filesystem::path(dir) / "tokenizer.json").string();
  absl::StatusOr<std::optional<Json>> tj = ReadJsonObject(dir, "tokenizer.json");
  if (!tj.ok()) return tj.status();
  if (!tj->has_value()) {
    return absl::NotFoundError(absl::StrCat(dir, ": neither vocab.txt nor tokenizer.json"));
  }
  const Json& j = **tj;
  if (!j.contains("model") || !j["model"].is_object() || !j["model"].contains("vocab") ||
      !j["model"]["vocab"].is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": model.vocab must be an object of token -> id"));
  }
  const Json& vocab = j["model"]["vocab"];
  std::vector<std::string> tokens(vocab.size());
  std::vector<bool> seen(vocab.size(), false);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const Json& id = it.value();
    if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
        id.get<int64_t>() >= static_cast<int64_t>(tokens.size())) {
      return absl::InvalidArgumentError(absl::StrCat(
          file, ": model.vocab[\"", it.key(), "\"] must be an id in [0, ", tokens.size(), ")"));
    }
    const auto index = static_cast<size_t>(id.get<int64_t>());
    if (seen[index]) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": model.vocab id ", index, " is used twice (\"", it.key(), "\")"));
    }
    seen[index] = true;
    tokens[index] = it.key();
  }
  absl::StatusOr<WordPieceTokenizer> t = FromTokens(std::move(tokens), *std::move(options));
  if (!t.ok()) {
    return absl::Status(t.status().code(),
                        absl::StrCat(file, ": model.vocab: ", t.status().message()));
  }
  return t;
}

absl::StatusOr<WordPieceOptions> WordPieceTokenizer::OptionsFromDirectory(const std::string& dir) {
  WordPieceOptions options;
  // Outer nullopt: never set; inner nullopt: explicitly null (= lowercase).
  std::optional<std::optional<bool>> strip;
  const auto path = [&dir](const char* name) {
    return (std::filesystem::path(dir) / name).string();
  };

  absl::StatusOr<std::optional<Json>> tj = ReadJsonObject(dir, "tokenizer.json");
  if (!tj.ok()) return tj.status();
  if (tj->has_value()) {
    if (absl::Status s = ApplyTokenizerJson(**tj, path("tokenizer.json"), &options, &strip);
        !s.ok()) {
      return s;
    }
  }

  absl::StatusOr<std::optional<Json>> config = ReadJsonObject(dir, "tokenizer_config.json");
  if (!config.ok()) return config.status();
  if (config->has_value()) {
    const Json& j = **config;
    const std::string file = path("tokenizer_config.json");
    // transformers' BertTokenizer(Fast) takes these three from here, with its
    // defaults for absent keys, and rebuilds tokenizer.json's normalizer to
    // match; tokenizer.json's values only count without this file.
    options.lowercase = true;
    options.tokenize_chinese_chars = true;
    strip = std::optional<bool>();
    if (absl::Status s = ReadBoolField(j, "do_lower_case", file, &options.lowercase); !s.ok()) {
      return s;
    }
    if (absl::Status s =
            ReadBoolField(j, "tokenize_chinese_chars", file, &options.tokenize_chinese_chars);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = ReadStripAccents(j, file, &strip); !s.ok()) return s;
    if (absl::Status s = ApplySpecialTokens(j, file, &options); !s.ok()) return s;
  }

  absl::StatusOr<std::optional<Json>> special = ReadJsonObject(dir, "special_tokens_map.json");
  if (!special.ok()) return special.status();
  if (special->has_value()) {
    if (absl::Status s = ApplySpecialTokens(**special, path("special_tokens_map.json"), &options);
        !s.ok()) {
      return s;
    }
  }

  options.strip_accents = strip.has_value() && strip->has_value() ? **strip : options.lowercase;
  return options;
}

void WordPieceTokenizer::EncodeWord(std::u32string_view word, std::string* scratch,
                                    std::vector<int32_t>* ids,
                                    std::vector<uint32_t>* piece_ends) const {
  const auto whole_word_unknown = [&] {
    ids->push_back(unk_id_);
    if (piece_ends != nullptr) piece_ends->push_back(static_cast<uint32_t>(word.size()));
  };
  if (word.size() > static_cast<size_t>(options_.max_input_chars_per_word)) {
    whole_word_unknown();
    return;
  }
  // UTF-8 of the word and the byte offset of every code point.
  scratch->clear();
  uint32_t offsets[256];
  std::vector<uint32_t> big_offsets;
  uint32_t* off = offsets;
  if (word.size() + 1 > std::size(offsets)) {
    big_offsets.resize(word.size() + 1);
    off = big_offsets.data();
  }
  for (size_t i = 0; i < word.size(); ++i) {
    off[i] = static_cast<uint32_t>(scratch->size());
    AppendUtf8(word[i], scratch);
  }
  off[word.size()] = static_cast<uint32_t>(scratch->size());

  const size_t first = ids->size();
  const size_t first_end = piece_ends != nullptr ? piece_ends->size() : 0;
  const std::string_view bytes = *scratch;
  size_t start = 0;
  while (start < word.size()) {
    const auto& map = start == 0 ? initial_ : continuation_;
    int32_t found = -1;
    // Every code point is at least one byte: no need to try ends further out
    // than the longest token (keeps huge max_input_chars_per_word linear).
    size_t end = std::min(word.size(), start + max_token_bytes_);
    for (; end > start; --end) {
      const size_t length = off[end] - off[start];
      if (length > max_token_bytes_) continue;
      // Debian's absl::string_view is its own type: the map hashes that one.
      auto it = map.find(absl::string_view(bytes.data() + off[start], length));
      if (it != map.end()) {
        found = it->second;
        break;
      }
    }
    if (found < 0) {
      // No piece matches here: the whole word is [UNK], as in BERT.
      ids->resize(first);
      if (piece_ends != nullptr) piece_ends->resize(first_end);
      whole_word_unknown();
      return;
    }
    ids->push_back(found);
    if (piece_ends != nullptr) piece_ends->push_back(static_cast<uint32_t>(end));
    start = end;
  }
}

absl::StatusOr<std::vector<int32_t>> WordPieceTokenizer::Encode(std::string_view text) const {
  BertWords words;
  const BertBasicOptions basic{options_.lowercase, options_.strip_accents,
                               options_.tokenize_chinese_chars};
  if (absl::Status s = BertBasicTokenize(text, basic, &words); !s.ok()) return s;
  std::vector<int32_t> ids;
  ids.reserve(words.size() + words.size() / 4);
  std::string scratch;
  for (size_t i = 0; i < words.size(); ++i) EncodeWord(words.word(i), &scratch, &ids);
  return ids;
}

absl::Status WordPieceTokenizer::EncodeWithOffsets(std::string_view text, std::vector<int32_t>* ids,
                                                   std::vector<ByteSpan>* offsets) const {
  BertWords words;
  std::vector<ByteSpan> origins;
  const BertBasicOptions basic{options_.lowercase, options_.strip_accents,
                               options_.tokenize_chinese_chars};
  if (absl::Status s = BertBasicTokenize(text, basic, &words, &origins); !s.ok()) return s;
  ids->clear();
  offsets->clear();
  std::string scratch;
  std::vector<uint32_t> piece_ends;
  for (size_t i = 0; i < words.size(); ++i) {
    piece_ends.clear();
    EncodeWord(words.word(i), &scratch, ids, &piece_ends);
    uint32_t piece_begin = words.spans[i].first;
    for (uint32_t end : piece_ends) {
      const uint32_t piece_end = words.spans[i].first + end;
      ByteSpan span;
      for (uint32_t c = piece_begin; c < piece_end; ++c) span = Union(span, origins[c]);
      offsets->push_back(span);
      piece_begin = piece_end;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<BertEncoding> WordPieceTokenizer::EncodeForModel(std::string_view a,
                                                                std::optional<std::string_view> b,
                                                                int max_length) const {
  const size_t specials = b.has_value() ? 3 : 2;
  if (max_length > 0 && static_cast<size_t>(max_length) < specials) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_length ", max_length, " cannot hold the ", specials, " special tokens"));
  }
  absl::StatusOr<std::vector<int32_t>> ids_a = Encode(a);
  if (!ids_a.ok()) return ids_a.status();
  std::vector<int32_t> ids_b;
  if (b.has_value()) {
    absl::StatusOr<std::vector<int32_t>> encoded = Encode(*b);
    if (!encoded.ok()) return encoded.status();
    ids_b = std::move(*encoded);
  }
  const size_t total = ids_a->size() + ids_b.size() + specials;
  if (max_length > 0 && total > static_cast<size_t>(max_length)) {
    const auto [drop_a, drop_b] =
        LongestFirst(ids_a->size(), ids_b.size(), total - static_cast<size_t>(max_length));
    ids_a->resize(ids_a->size() - drop_a);
    ids_b.resize(ids_b.size() - drop_b);
  }
  BertEncoding out;
  out.input_ids.reserve(ids_a->size() + ids_b.size() + specials);
  out.input_ids.push_back(cls_id_);
  out.input_ids.insert(out.input_ids.end(), ids_a->begin(), ids_a->end());
  out.input_ids.push_back(sep_id_);
  out.token_type_ids.assign(out.input_ids.size(), 0);
  if (b.has_value()) {
    out.input_ids.insert(out.input_ids.end(), ids_b.begin(), ids_b.end());
    out.input_ids.push_back(sep_id_);
    out.token_type_ids.resize(out.input_ids.size(), 1);
  }
  return out;
}

const std::string& WordPieceTokenizer::Piece(int32_t id) const {
  static const std::string* const kEmpty = new std::string();
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size()) return *kEmpty;
  return tokens_[static_cast<size_t>(id)];
}

}  // namespace attnserve
