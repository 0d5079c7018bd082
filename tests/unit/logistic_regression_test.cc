// Logistic-regression heads: fits a small generated data set, deterministic,
// and the head file format round-trips.
#include "engine/policy/logistic_regression.h"

#include <random>

#include "engine/policy/classifier_head.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnserve {
namespace {

// Three Gaussian blobs in 6 dimensions.
void Blobs(int n, unsigned seed, std::vector<float>* x, std::vector<int>* y) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.6f);
  for (int i = 0; i < n; ++i) {
    const int c = i % 3;
    for (int j = 0; j < 6; ++j) x->push_back((j % 3 == c ? 2.0f : 0.0f) + noise(rng));
    y->push_back(c);
  }
}

TEST(LogisticRegressionTest, SeparatesBlobsDeterministically) {
  std::vector<float> x, tx;
  std::vector<int> y, ty;
  Blobs(300, 1, &x, &y);
  Blobs(150, 2, &tx, &ty);
  LogisticRegressionOptions o;
  o.c = 10;
  const LogisticModel a = FitLogisticRegression(x, 6, y, 3, o);
  EXPECT_GT(Accuracy(a, tx, ty), 0.95);
  const LogisticModel b = FitLogisticRegression(x, 6, y, 3, o);
  EXPECT_EQ(a.weights, b.weights);
  EXPECT_EQ(a.bias, b.bias);
  // Stronger regularisation shrinks the weights.
  o.c = 0.01;
  const LogisticModel small = FitLogisticRegression(x, 6, y, 3, o);
  double na = 0, ns = 0;
  for (double w : a.weights) na += w * w;
  for (double w : small.weights) ns += w * w;
  EXPECT_LT(ns, na);
}

TEST(ClassifierHeadTest, JsonRoundTripAndErrors) {
  ClassifierHead head;
  head.name = "t";
  head.labels = {"a", "b"};
  head.dim = 2;
  head.layers.push_back({0, {1, 2, 3, 4}, {0.5f, -0.5f}, 0.75});
  const std::string json = ClassifierHeadToJson(head);
  auto back = ParseClassifierHead(json, "t.json", 2, 1);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->layers[0].weights, head.layers[0].weights);
  EXPECT_EQ(back->labels, head.labels);
  float p[2];
  const float x[2] = {1, 0};
  back->Probabilities(0, x, p);
  EXPECT_NEAR(p[0] + p[1], 1.0f, 1e-6);
  EXPECT_GT(p[0], p[1] - 10);  // finite
  auto wrong_dim = ParseClassifierHead(json, "t.json", 3, 1);
  EXPECT_THAT(wrong_dim.status().message(), ::testing::HasSubstr("t.json"));
  auto wrong_layers = ParseClassifierHead(json, "t.json", 2, 2);
  EXPECT_THAT(wrong_layers.status().message(), ::testing::HasSubstr("layers"));
}

}  // namespace
}  // namespace attnserve
