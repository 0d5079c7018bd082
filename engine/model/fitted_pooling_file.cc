#include "engine/model/fitted_pooling_file.h"

#include <openssl/evp.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "engine/util/file_io.h"
#include "engine/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

absl::Status Bad(const std::string& path, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

// A number array of exactly `size` finite values.
absl::Status ReadTaps(const nlohmann::json& j, size_t size, const std::string& path,
                      const std::string& where, std::vector<float>* out) {
  if (!j.is_array() || j.size() != size) {
    return Bad(path, absl::StrCat(where, " must be an array of ", size, " numbers"));
  }
  out->clear();
  for (const nlohmann::json& x : j) {
    if (!x.is_number() || !std::isfinite(x.get<double>())) {
      return Bad(path, absl::StrCat(where, " holds a value that is not a finite number"));
    }
    out->push_back(x.get<float>());
  }
  return absl::OkStatus();
}

// The weight files a model directory holds (the ones a fit must list).
std::set<std::string> WeightFiles(const std::string& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("group1-shard", 0) == 0 || entry.path().extension() == ".safetensors") {
      names.insert(name);
    }
  }
  return names;
}

}  // namespace

absl::StatusOr<std::string> FileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return absl::InternalError("sha256: cannot start a digest");
  }
  std::vector<char> block(1 << 20);
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), block.data(), in.gcount());
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("read error in ", path));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &size);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

absl::StatusOr<std::unique_ptr<FittedPooling>> LoadFittedPooling(const std::string& path,
                                                                 const std::string& model_dir,
                                                                 const ModelInfo& model) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::unique_ptr<FittedPooling>();
  ASSIGN_OR_RETURN(const std::string text, ReadFileToString(path));
  const nlohmann::json root = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) return Bad(path, "not a JSON object");
  if (!root.contains("model") || root["model"] != model.name) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": fitted to model ", root.value("model", std::string("(none)")),
                     ", not ", model.name, "; rerun tools/fit_linformer.py"));
  }
  auto fit = std::make_unique<FittedPooling>();
  fit->source = path;
  if (!root.contains("layers") || !root["layers"].is_number_integer() ||
      root["layers"] != model.num_layers) {
    return Bad(path, absl::StrCat("\"layers\" must be the model's ", model.num_layers));
  }
  fit->layers = model.num_layers;
  if (!root.contains("heads") || !root["heads"].is_number_integer() || root["heads"] < 1 ||
      root["heads"] > model.max_heads) {
    return Bad(path, absl::StrCat("\"heads\" must be in [1, ", model.max_heads, "]"));
  }
  fit->heads = root["heads"].get<int>();

  // The weights it was fitted on: every weight file present, listed, equal.
  if (!root.contains("weights_sha256") || !root["weights_sha256"].is_object()) {
    return Bad(path, "\"weights_sha256\" (weight file -> sha256) is missing");
  }
  const nlohmann::json& hashes = root["weights_sha256"];
  const std::set<std::string> present = WeightFiles(model_dir);
  for (const std::string& name : present) {
    if (!hashes.contains(name)) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, ": weight file ", name,
                       " is not among those fitted on; rerun tools/fit_linformer.py"));
    }
  }
  for (const auto& [name, want] : hashes.items()) {
    if (!present.contains(name)) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, ": fitted on weight file ", name, ", which ", model_dir, " lacks"));
    }
    ASSIGN_OR_RETURN(const std::string got, FileSha256(model_dir + "/" + name));
    if (!want.is_string() || want.get<std::string>() != got) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, ": ", name, " differs from the weights fitted on (sha256 ", got,
                       "); rerun tools/fit_linformer.py"));
    }
  }

  if (!root.contains("fits") || !root["fits"].is_array() || root["fits"].empty()) {
    return Bad(path, "\"fits\" must be a non-empty array");
  }
  std::vector<std::pair<int, const nlohmann::json*>> by_segment;
  for (const nlohmann::json& f : root["fits"]) {
    if (!f.is_object() || !f.contains("segment") || !f["segment"].is_number_integer() ||
        f["segment"] < 1 || f["segment"] > 4096) {
      return Bad(path, "each fit needs an integer \"segment\" in [1, 4096]");
    }
    by_segment.emplace_back(f["segment"].get<int>(), &f);
  }
  std::sort(by_segment.begin(), by_segment.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [segment, f] : by_segment) {
    if (!fit->segments.empty() && fit->segments.back() == segment) {
      return Bad(path, absl::StrCat("segment ", segment, " is fitted twice"));
    }
    fit->segments.push_back(segment);
    const std::string where = absl::StrCat("segment ", segment);
    if (!f->contains("first_offset") || !(*f)["first_offset"].is_number_integer()) {
      return Bad(path, where + ": integer \"first_offset\" is missing");
    }
    const int first_offset = (*f)["first_offset"].get<int>();
    for (const char* field : {"key_taps", "value_taps"}) {
      if (!f->contains(field) || !(*f)[field].is_array() ||
          (*f)[field].size() != static_cast<size_t>(fit->layers)) {
        return Bad(path,
                   absl::StrCat(where, ": \"", field, "\" must hold ", fit->layers, " layers"));
      }
    }
    const nlohmann::json& first = (*f)["key_taps"][0];
    const size_t num_taps =
        first.is_array() && !first.empty() && first[0].is_array() ? first[0].size() : 0;
    if (num_taps == 0 || num_taps > 3 * 4096) {
      return Bad(path, where + ": \"key_taps\" must be [layers][heads][taps], taps >= 1");
    }
    for (int layer = 0; layer < fit->layers; ++layer) {
      for (const char* field : {"key_taps", "value_taps"}) {
        if (!(*f)[field][layer].is_array() ||
            (*f)[field][layer].size() != static_cast<size_t>(fit->heads)) {
          return Bad(path, absl::StrCat(where, ": \"", field, "\"[", layer, "] must hold ",
                                        fit->heads, " heads"));
        }
      }
      for (int head = 0; head < fit->heads; ++head) {
        PoolingFilter filter;
        filter.segment = segment;
        filter.first_offset = first_offset;
        const std::string at = absl::StrCat("[", layer, "][", head, "]");
        RETURN_IF_ERROR(ReadTaps((*f)["key_taps"][layer][head], num_taps, path,
                                 absl::StrCat(where, ": key_taps", at), &filter.key_taps));
        RETURN_IF_ERROR(ReadTaps((*f)["value_taps"][layer][head], num_taps, path,
                                 absl::StrCat(where, ": value_taps", at), &filter.value_taps));
        fit->filters.push_back(std::move(filter));
      }
    }
  }
  return fit;
}

}  // namespace attnserve
