// Per-layer classification heads: multinomial logistic regression on the
// model's embedding computed from each layer's pooled state. Stored as JSON
// beside the model (<model_dir>/heads/<name>.json), written by
// tools/train_heads.
#ifndef ATTNSERVE_ENGINE_POLICY_CLASSIFIER_HEAD_H_
#define ATTNSERVE_ENGINE_POLICY_CLASSIFIER_HEAD_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve {

struct LayerHead {
  int layer = 0;               // 0-based encoder layer whose output it reads
  std::vector<float> weights;  // [labels, dim], row-major
  std::vector<float> bias;     // [labels]
  double test_accuracy = -1;   // on the training set's test split; < 0 unknown
};

struct ClassifierHead {
  std::string name;
  std::vector<std::string> labels;
  int dim = 0;
  std::vector<LayerHead> layers;  // layers[k].layer == k, one per encoder layer
  // Training set, sizes, regularisation, date: a JSON object's text (or empty).
  std::string metadata_json;

  // Softmax probabilities of layer `layer`'s head for feature row `x` [dim].
  void Probabilities(int layer, const float* x, float* probs) const;
};

// Parses and checks a head file's JSON (labels, one head per layer, shapes).
// Errors name `source` and the field.
absl::StatusOr<ClassifierHead> ParseClassifierHead(const std::string& json_text,
                                                   const std::string& source, int dim,
                                                   int num_layers);

// Every <dir>/*.json head, by name; an absent directory has none.
absl::StatusOr<std::map<std::string, ClassifierHead>> LoadClassifierHeads(const std::string& dir,
                                                                          int dim, int num_layers);

// The JSON form ParseClassifierHead reads.
std::string ClassifierHeadToJson(const ClassifierHead& head);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_POLICY_CLASSIFIER_HEAD_H_
