#include "engine/policy/classifier_head.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "engine/util/file_io.h"
#include "engine/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace attnserve {

using nlohmann::json;

void ClassifierHead::Probabilities(int layer, const float* x, float* probs) const {
  const LayerHead& h = layers[layer];
  const int k = static_cast<int>(labels.size());
  double top = -INFINITY;
  std::vector<double> z(k);
  for (int c = 0; c < k; ++c) {
    double s = h.bias[c];
    const float* w = h.weights.data() + static_cast<size_t>(c) * dim;
    for (int i = 0; i < dim; ++i) s += double{w[i]} * x[i];
    z[c] = s;
    top = std::max(top, s);
  }
  double total = 0;
  for (int c = 0; c < k; ++c) total += (z[c] = std::exp(z[c] - top));
  for (int c = 0; c < k; ++c) probs[c] = static_cast<float>(z[c] / total);
}

absl::StatusOr<ClassifierHead> ParseClassifierHead(const std::string& text,
                                                   const std::string& source, int dim,
                                                   int num_layers) {
  const auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("head file '", source, "': ", what));
  };
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    return bad(absl::StrCat("invalid JSON: ", e.what()));
  }
  ClassifierHead head;
  try {
    head.name = j.at("name").get<std::string>();
    head.labels = j.at("labels").get<std::vector<std::string>>();
    head.dim = j.at("dim").get<int>();
    if (j.contains("metadata")) head.metadata_json = j.at("metadata").dump();
    const int k = static_cast<int>(head.labels.size());
    if (k < 2) return bad("labels: at least two labels are needed");
    if (head.dim != dim) {
      return bad(absl::StrCat("dim: ", head.dim, " does not match the model's ", dim));
    }
    const json& layers = j.at("layers");
    if (!layers.is_array() || static_cast<int>(layers.size()) != num_layers) {
      return bad(absl::StrCat("layers: expected one head per layer (", num_layers, ")"));
    }
    for (int l = 0; l < num_layers; ++l) {
      const json& lj = layers[l];
      LayerHead h;
      h.layer = lj.at("layer").get<int>();
      if (h.layer != l) return bad(absl::StrCat("layers[", l, "].layer: expected ", l));
      const auto rows = lj.at("weights").get<std::vector<std::vector<float>>>();
      h.bias = lj.at("bias").get<std::vector<float>>();
      if (static_cast<int>(rows.size()) != k || static_cast<int>(h.bias.size()) != k) {
        return bad(absl::StrCat("layers[", l, "]: weights and bias need ", k, " rows"));
      }
      for (const auto& row : rows) {
        if (static_cast<int>(row.size()) != dim) {
          return bad(absl::StrCat("layers[", l, "].weights: rows need ", dim, " values"));
        }
        h.weights.insert(h.weights.end(), row.begin(), row.end());
      }
      if (lj.contains("test_accuracy")) h.test_accuracy = lj.at("test_accuracy").get<double>();
      for (float v : h.weights) {
        if (!std::isfinite(v)) return bad(absl::StrCat("layers[", l, "].weights: not finite"));
      }
      head.layers.push_back(std::move(h));
    }
  } catch (const json::exception& e) {
    return bad(e.what());
  }
  return head;
}

absl::StatusOr<std::map<std::string, ClassifierHead>> LoadClassifierHeads(const std::string& dir,
                                                                          int dim, int num_layers) {
  std::map<std::string, ClassifierHead> heads;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return heads;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  for (const std::string& file : files) {
    ASSIGN_OR_RETURN(std::string text, ReadFileToString(file));
    ASSIGN_OR_RETURN(ClassifierHead head, ParseClassifierHead(text, file, dim, num_layers));
    if (heads.count(head.name) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("head file '", file, "': name '", head.name, "' is used twice"));
    }
    std::string name = head.name;
    heads.emplace(std::move(name), std::move(head));
  }
  return heads;
}

std::string ClassifierHeadToJson(const ClassifierHead& head) {
  json layers = json::array();
  const size_t k = head.labels.size();
  for (const LayerHead& h : head.layers) {
    json rows = json::array();
    for (size_t c = 0; c < k; ++c) {
      rows.push_back(std::vector<float>(h.weights.begin() + c * head.dim,
                                        h.weights.begin() + (c + 1) * head.dim));
    }
    layers.push_back({{"layer", h.layer},
                      {"test_accuracy", h.test_accuracy},
                      {"bias", h.bias},
                      {"weights", rows}});
  }
  json j = {
      {"name", head.name},
      {"labels", head.labels},
      {"dim", head.dim},
      {"feature", "embedding after each layer (mean pool, tanh dense, L2)"},
      {"metadata", head.metadata_json.empty() ? json::object()
                                              : json::parse(head.metadata_json, nullptr, false)},
      {"layers", layers}};
  return j.dump(1);
}

}  // namespace attnserve
