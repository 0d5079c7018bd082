// linformer's fitted projection (engine/attention/fitted_pooling.h) against a
// naive reference that builds E and F as matrices, and the checks
// LoadFittedPooling makes on <model_dir>/linformer_fit.json.
#include "engine/attention/fitted_pooling.h"

#include <cmath>
#include <fstream>
#include <random>

#include "engine/attention/registry.h"
#include "engine/model/fitted_pooling_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/per_test_dir.h"
#include "tests/unit/attention_problem.h"

namespace attnserve {
namespace {

using ::testing::HasSubstr;

// Filters for `layers` x `heads`, segments {2, 4}, one segment's span either
// side, taps drawn at random around segment means.
FittedPooling RandomFit(int layers, int heads, uint32_t seed) {
  FittedPooling fit;
  fit.source = "test";
  fit.layers = layers;
  fit.heads = heads;
  fit.segments = {2, 4};
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> jitter(-0.1f, 0.1f);
  for (int segment : fit.segments) {
    for (int i = 0; i < layers * heads; ++i) {
      PoolingFilter f;
      f.segment = segment;
      f.first_offset = -segment;
      for (int o = -segment; o < 2 * segment; ++o) {
        const float mean = o >= 0 && o < segment ? 1.0f / segment : 0.0f;
        f.key_taps.push_back(1.4f * mean + jitter(rng));
        f.value_taps.push_back(mean + jitter(rng));
      }
      fit.filters.push_back(f);
    }
  }
  return fit;
}

// softmax(scale Q (E K)^T + log count) (F V) in double, E and F [m, n] built
// entry by entry from the filter over the real keys only.
std::vector<float> NaivePooled(const testing::Problem& p, const FittedPooling& fit,
                               int segment_index, int layer) {
  std::vector<int64_t> real;
  for (int64_t j = 0; j < p.n; ++j) {
    if (p.valid.empty() || p.valid[j] != 0) real.push_back(j);
  }
  const int64_t n = static_cast<int64_t>(real.size());
  std::vector<float> out(p.n * p.width());
  for (int h = 0; h < p.heads; ++h) {
    const PoolingFilter& f = fit.Filter(segment_index, layer, h);
    const int64_t m = (n + f.segment - 1) / f.segment;
    std::vector<double> e(m * n, 0.0), fv(m * n, 0.0);
    for (int64_t s = 0; s < m; ++s) {
      for (size_t o = 0; o < f.key_taps.size(); ++o) {
        const int64_t j = s * f.segment + f.first_offset + static_cast<int64_t>(o);
        if (j < 0 || j >= n) continue;
        e[s * n + j] = f.key_taps[o];
        fv[s * n + j] = f.value_taps[o];
      }
    }
    auto at = [&](const std::vector<float>& x, int64_t row, int c) {
      return double{x[row * p.width() + h * p.d + c]};
    };
    std::vector<double> pk(m * p.d, 0.0), pv(m * p.d, 0.0);
    for (int64_t s = 0; s < m; ++s) {
      for (int64_t j = 0; j < n; ++j) {
        for (int c = 0; c < p.d; ++c) {
          pk[s * p.d + c] += e[s * n + j] * at(p.k, real[j], c);
          pv[s * p.d + c] += fv[s * n + j] * at(p.v, real[j], c);
        }
      }
    }
    for (int64_t i = 0; i < p.n; ++i) {
      std::vector<double> score(m);
      double top = -1e300;
      for (int64_t s = 0; s < m; ++s) {
        double dot = 0;
        for (int c = 0; c < p.d; ++c) dot += at(p.q, i, c) * pk[s * p.d + c];
        score[s] = p.scale() * dot +
                   std::log(static_cast<double>(std::min<int64_t>(f.segment, n - s * f.segment)));
        top = std::max(top, score[s]);
      }
      double total = 0;
      for (double& x : score) total += (x = std::exp(x - top));
      for (int c = 0; c < p.d; ++c) {
        double acc = 0;
        for (int64_t s = 0; s < m; ++s) acc += score[s] / total * pv[s * p.d + c];
        out[i * p.width() + h * p.d + c] = static_cast<float>(acc);
      }
    }
  }
  return out;
}

std::vector<float> RunFitted(const testing::Problem& p, const FittedPooling* fit, int layer, int k,
                             absl::Status* status) {
  absl::StatusOr<ResolvedAttention> r =
      ResolveAttention("linformer", {{"k", std::to_string(k)}, {"fitted", "1"}});
  EXPECT_TRUE(r.ok()) << r.status();
  std::vector<float> out(p.n * p.width());
  AttentionInputs in = testing::InputsFor(p, out.data());
  in.layer = layer;
  in.fitted_pooling = fit;
  AttentionStats stats;
  *status = r->kernel->Run(in, r->params, &stats);
  return out;
}

TEST(FittedLinformerTest, MatchesNaiveReferenceAtEveryLengthAndPadding) {
  const FittedPooling fit = RandomFit(/*layers=*/2, /*heads=*/3, /*seed=*/11);
  for (int64_t n : {1, 2, 3, 7, 37, 64, 101}) {
    for (bool padded : {false, true}) {
      const testing::Problem p = testing::MakeProblem(n, 3, 16, padded);
      for (int layer : {0, 1}) {
        // k = n / 4 picks segment 4; k = n / 2 picks segment 2.
        for (int divisor : {4, 2}) {
          absl::Status status;
          const int k = std::max<int>(1, static_cast<int>(n / divisor));
          const std::vector<float> out = RunFitted(p, &fit, layer, k, &status);
          ASSERT_TRUE(status.ok()) << status;
          int64_t real = n;
          if (padded) real = std::count(p.valid.begin(), p.valid.end(), uint8_t{1});
          const int index =
              fit.NearestSegmentIndex(static_cast<double>(real) / std::min<int64_t>(k, real));
          // Where no fitted size is nearer than 1, the kernel runs segment means.
          const std::vector<float> want =
              index >= 0 ? NaivePooled(p, fit, index, layer)
                         : testing::RunKernel(p, "linformer", {{"k", std::to_string(k)}}).out;
          EXPECT_LT(testing::MaxAbsError(out, want), 2e-5)
              << "n=" << n << " padded=" << padded << " layer=" << layer << " k=" << k;
        }
      }
    }
  }
}

TEST(FittedLinformerTest, SegmentMeanTapsEqualTheUnfittedKernel) {
  FittedPooling fit;
  fit.source = "means";
  fit.layers = 1;
  fit.heads = 2;
  fit.segments = {4};
  for (int h = 0; h < 2; ++h) {
    fit.filters.push_back({4, 0, {0.25f, 0.25f, 0.25f, 0.25f}, {0.25f, 0.25f, 0.25f, 0.25f}});
  }
  const testing::Problem p = testing::MakeProblem(64, 2, 16, /*padded=*/false);
  absl::Status status;
  const std::vector<float> fitted = RunFitted(p, &fit, 0, 16, &status);
  ASSERT_TRUE(status.ok()) << status;
  const testing::RunResult means = testing::RunKernel(p, "linformer", {{"k", "16"}});
  EXPECT_LT(testing::MaxAbsError(fitted, means.out), 1e-5);
}

TEST(FittedLinformerTest, KAtLeastNStaysExact) {
  const FittedPooling fit = RandomFit(1, 2, 3);
  const testing::Problem p = testing::MakeProblem(40, 2, 16, /*padded=*/true);
  absl::Status status;
  const std::vector<float> out = RunFitted(p, &fit, 0, 40, &status);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_LT(testing::MaxAbsError(out, testing::Reference(p)), 1e-5);
}

TEST(FittedLinformerTest, RefusesWithoutAFitOrForAnotherShape) {
  const testing::Problem p = testing::MakeProblem(32, 3, 16, false);
  absl::Status status;
  RunFitted(p, nullptr, 0, 8, &status);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("linformer_fit.json"));
  const FittedPooling fit = RandomFit(2, 3, 5);
  RunFitted(p, &fit, 2, 8, &status);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("2 layers"));
  const FittedPooling two_heads = RandomFit(2, 2, 5);
  RunFitted(p, &two_heads, 0, 8, &status);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(FittedLinformerTest, NearestSegmentIsNearestInRatio) {
  FittedPooling fit;
  fit.segments = {2, 4, 8};
  EXPECT_EQ(fit.NearestSegmentIndex(1.0), -1);  // k >= n: no pooling
  EXPECT_EQ(fit.NearestSegmentIndex(1.3), -1);
  EXPECT_EQ(fit.NearestSegmentIndex(1.5), 0);
  EXPECT_EQ(fit.NearestSegmentIndex(3.0), 1);  // log-nearer to 4 than to 2
  EXPECT_EQ(fit.NearestSegmentIndex(2.8), 0);  // ... and 2.8 to 2
  EXPECT_EQ(fit.NearestSegmentIndex(100.0), 2);
  EXPECT_EQ(fit.NearestSegmentIndex(std::sqrt(8.0)), 0);  // a tie keeps more rows
}

// A model directory with one weight file, and a fit file for it.
class FitFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::PerTestDir("attnserve_fit_");
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "group1-shard1of1") << "abc";
    model_.name = "use-lite";
    model_.num_layers = 1;
    model_.max_heads = 2;
    json_ = {{"generator", "tools/fit_linformer.py"},
             {"model", "use-lite"},
             {"layers", 1},
             {"heads", 2},
             {"weights_sha256",
              {{"group1-shard1of1",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}}},
             {"fits",
              {{{"segment", 2},
                {"first_offset", 0},
                {"key_taps", {{{0.5, 0.5}, {0.6, 0.4}}}},
                {"value_taps", {{{0.5, 0.5}, {0.4, 0.6}}}}}}}};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  absl::StatusOr<std::unique_ptr<FittedPooling>> Load() {
    std::ofstream(dir_ / kFittedPoolingFile) << json_.dump();
    return LoadFittedPooling((dir_ / kFittedPoolingFile).string(), dir_.string(), model_);
  }

  std::filesystem::path dir_;
  ModelInfo model_;
  nlohmann::json json_;
};

TEST_F(FitFileTest, LoadsAFitForTheseWeights) {
  absl::StatusOr<std::unique_ptr<FittedPooling>> fit = Load();
  ASSERT_TRUE(fit.ok()) << fit.status();
  ASSERT_NE(*fit, nullptr);
  EXPECT_EQ((*fit)->segments, std::vector<int>{2});
  EXPECT_EQ((*fit)->Filter(0, 0, 1).key_taps, (std::vector<float>{0.6f, 0.4f}));
  EXPECT_EQ((*fit)->Filter(0, 0, 1).value_taps, (std::vector<float>{0.4f, 0.6f}));
}

TEST_F(FitFileTest, AbsentFileIsNoFit) {
  absl::StatusOr<std::unique_ptr<FittedPooling>> fit =
      LoadFittedPooling((dir_ / "none.json").string(), dir_.string(), model_);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_EQ(*fit, nullptr);
}

TEST_F(FitFileTest, OtherWeightsAreRefused) {
  std::ofstream(dir_ / "group1-shard1of1") << "abd";
  absl::StatusOr<std::unique_ptr<FittedPooling>> fit = Load();
  EXPECT_EQ(fit.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(fit.status().message(), HasSubstr("group1-shard1of1 differs"));
}

TEST_F(FitFileTest, AnUnlistedOrMissingWeightFileIsRefused) {
  std::ofstream(dir_ / "group1-shard2of2") << "x";
  EXPECT_THAT(Load().status().message(), HasSubstr("group1-shard2of2 is not among"));
  std::filesystem::remove(dir_ / "group1-shard2of2");
  std::filesystem::remove(dir_ / "group1-shard1of1");
  EXPECT_THAT(Load().status().message(), HasSubstr("lacks"));
}

TEST_F(FitFileTest, MalformedFieldsAreNamed) {
  json_["fits"][0]["key_taps"][0][1] = {0.5, 0.5, 0.1};
  EXPECT_THAT(Load().status().message(), HasSubstr("key_taps[0][1] must be an array of 2"));
  json_["fits"][0]["key_taps"][0][1] = {0.5, "x"};
  EXPECT_THAT(Load().status().message(), HasSubstr("not a finite number"));
  json_["fits"][0]["key_taps"][0][1] = {0.5, 0.5};
  json_["layers"] = 3;
  EXPECT_THAT(Load().status().message(), HasSubstr("\"layers\" must be the model's 1"));
  json_["layers"] = 1;
  json_["model"] = "bert";
  EXPECT_EQ(Load().status().code(), absl::StatusCode::kFailedPrecondition);
  json_["model"] = "use-lite";
  json_["fits"] = nlohmann::json::array();
  EXPECT_THAT(Load().status().message(), HasSubstr("\"fits\" must be a non-empty array"));
  std::ofstream(dir_ / kFittedPoolingFile) << "{not json";
  EXPECT_THAT(LoadFittedPooling((dir_ / kFittedPoolingFile).string(), dir_.string(), model_)
                  .status()
                  .message(),
              HasSubstr("not a JSON object"));
}

}  // namespace
}  // namespace attnserve
