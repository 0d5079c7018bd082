#include "engine/model/model_families.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/model/bert_model.h"
#include "engine/model/use_lite_model.h"
#include "engine/util/file_io.h"

namespace attnserve {
namespace {

bool HasFile(const std::string& dir, const char* name) {
  std::error_code ec;
  return std::filesystem::exists(JoinPath(dir, name), ec);
}

// A family's Load as the table's factory type.
template <typename Model>
absl::StatusOr<std::unique_ptr<EncoderModel>> LoadAs(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<Model>> model = Model::Load(dir);
  if (!model.ok()) return model.status();
  return std::unique_ptr<EncoderModel>(*std::move(model));
}

}  // namespace

const std::vector<ModelFamily>& AllModelFamilies() {
  // The table. To add a family: write engine/model/<family>_model.{h,cc} and
  // add one entry here (docs/ADDING_A_MODEL.md).
  static const std::vector<ModelFamily>* const kFamilies = new std::vector<ModelFamily>{
      {"use-lite", "model.json + vocab.json (USE-lite, TensorFlow.js)",
       [](const std::string& dir) { return HasFile(dir, "model.json"); }, &LoadAs<UseLiteModel>},
      {"bert", "config.json + model.safetensors + vocab.txt (BERT family, Hugging Face)",
       [](const std::string& dir) { return HasFile(dir, "config.json"); }, &LoadAs<BertModel>},
  };
  return *kFamilies;
}

absl::StatusOr<std::unique_ptr<EncoderModel>> LoadModel(const std::string& dir) {
  std::vector<std::string> expected;
  for (const ModelFamily& family : AllModelFamilies()) {
    if (family.detect(dir)) return family.load(dir);
    expected.emplace_back(family.expects);
  }
  return absl::NotFoundError(absl::StrCat("no supported model in '", dir, "': expected ",
                                          absl::StrJoin(expected, " or ")));
}

}  // namespace attnserve
