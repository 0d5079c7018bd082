// Checks an engine against reference outputs written by an independent
// implementation (a golden generator's expected.json): per case, token ids,
// the embedding of each text and, for sequence classifiers, the head's
// probabilities and logits. Used by the BERT-family and layer-type golden
// tests, whose generators write the same JSON shape, and the check that
// every attention kernel runs on a model.
#ifndef ATTNSERVE_TESTS_SUPPORT_REFERENCE_OUTPUTS_H_
#define ATTNSERVE_TESTS_SUPPORT_REFERENCE_OUTPUTS_H_

#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "engine/attention/registry.h"
#include "engine/engine.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::testing {

// Embeddings: cosine to the reference and largest element difference.
constexpr double kReferenceMinCosine = 0.99999;
constexpr double kReferenceMaxAbsDiff = 1e-4;

inline nlohmann::json ReadJsonFile(const std::string& path) {
  std::ifstream in(path);
  return in ? nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false) : nlohmann::json();
}

inline double Cosine(const float* a, const std::vector<double>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    ab += a[i] * b[i];
    aa += double{a[i]} * a[i];
    bb += b[i] * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

// Softmax leaves logits defined up to a constant: compare them centred.
inline std::vector<double> Centred(std::vector<double> v) {
  double mean = 0;
  for (double x : v) mean += x / static_cast<double>(v.size());
  for (double& x : v) x -= mean;
  return v;
}

// Every case of `model` (expected.json's models.<name>: {"cases": [{"ids",
// "embeddings", optional "texts", "probabilities", "logits"}]}) against
// `engine`, with default options.
inline void CheckReferenceCases(const Engine& engine, const nlohmann::json& model) {
  ASSERT_TRUE(model.contains("cases")) << "no cases in " << model.dump().substr(0, 200);
  for (const nlohmann::json& c : model["cases"]) {
    const auto ids = c["ids"].get<std::vector<std::vector<int32_t>>>();
    SCOPED_TRACE("ids " + c["ids"].dump());
    auto result = engine.EmbedTokenIds(ids, RunOptions());
    ASSERT_TRUE(result.ok()) << result.status();
    const auto want = c["embeddings"].get<std::vector<std::vector<double>>>();
    ASSERT_EQ(result->dim, static_cast<int>(want[0].size()));
    for (size_t t = 0; t < want.size(); ++t) {
      const float* got = result->embedding(t);
      EXPECT_GE(Cosine(got, want[t]), kReferenceMinCosine) << "text " << t;
      for (size_t i = 0; i < want[t].size(); ++i) {
        ASSERT_NEAR(got[i], want[t][i], kReferenceMaxAbsDiff) << "text " << t << " dim " << i;
      }
    }
    if (c.contains("texts")) {
      // The same through the model's own tokenizer.
      auto embedded = engine.Embed(c["texts"].get<std::vector<std::string>>(), RunOptions());
      ASSERT_TRUE(embedded.ok()) << embedded.status();
      EXPECT_EQ(embedded->token_ids, ids);
      EXPECT_EQ(embedded->embeddings, result->embeddings);
    }
    if (!c.contains("probabilities")) continue;
    auto classified = engine.ClassifyTokenIds(ids, "classifier", RunOptions());
    ASSERT_TRUE(classified.ok()) << classified.status();
    const auto probs = c["probabilities"].get<std::vector<std::vector<double>>>();
    for (size_t t = 0; t < probs.size(); ++t) {
      const std::vector<float>& got = classified->scores[t];
      ASSERT_EQ(got.size(), probs[t].size());
      for (size_t k = 0; k < probs[t].size(); ++k) {
        EXPECT_NEAR(got[k], probs[t][k], kReferenceMaxAbsDiff) << "text " << t;
      }
      if (!c.contains("logits")) continue;
      // log p = logit - logsumexp: centred, the engine's log-probabilities
      // are the reference's centred logits.
      std::vector<double> log_p;
      for (float p : got) log_p.push_back(std::log(double{p}));
      const std::vector<double> got_logits = Centred(log_p);
      const std::vector<double> want_logits = Centred(c["logits"][t].get<std::vector<double>>());
      for (size_t k = 0; k < want_logits.size(); ++k) {
        EXPECT_NEAR(got_logits[k], want_logits[k], kReferenceMaxAbsDiff)
            << "text " << t << " logit " << k;
      }
    }
  }
}

// Every registered attention kernel on `ids`: each runs, gives finite
// embeddings of dense's size, and the exact ones dense's numbers (cosine
// >= 0.99999).
inline void CheckEveryKernelRuns(const Engine& engine,
                                 const std::vector<std::vector<int32_t>>& ids) {
  auto dense = engine.EmbedTokenIds(ids, RunOptions());
  ASSERT_TRUE(dense.ok()) << dense.status();
  for (const AttentionKernel* kernel : AllAttentionKernels()) {
    SCOPED_TRACE(std::string(kernel->name()));
    RunOptions options;
    options.attention = std::string(kernel->name());
    auto result = engine.EmbedTokenIds(ids, options);
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(result->embeddings.size(), dense->embeddings.size());
    for (float v : result->embeddings) ASSERT_TRUE(std::isfinite(v));
    if (!kernel->info().exact) continue;
    for (size_t t = 0; t < ids.size(); ++t) {
      const std::vector<double> want(dense->embedding(t), dense->embedding(t) + dense->dim);
      EXPECT_GE(Cosine(result->embedding(t), want), 0.99999) << "text " << t;
    }
  }
}

}  // namespace attnserve::testing

#endif  // ATTNSERVE_TESTS_SUPPORT_REFERENCE_OUTPUTS_H_
