// The pieces every model family shares: the family table Engine::Load asks,
// the cancel/deadline check of every layer loop, and the attention sublayer's
// per-sequence dispatch and pruning step (attention_sublayer.h).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "engine/attention/registry.h"
#include "engine/model/attention_sublayer.h"
#include "engine/model/model_families.h"
#include "engine/model/stepwise_encoder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/per_test_dir.h"

namespace attnserve {
namespace {

using ::testing::ElementsAre;
namespace fs = std::filesystem;

class FamilyTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::PerTestDir("model_families_");
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Touch(const char* name) { std::ofstream(dir_ / name) << "{}"; }
  std::vector<std::string> Detected() const {
    std::vector<std::string> names;
    for (const ModelFamily& f : AllModelFamilies()) {
      if (f.detect(dir_.string())) names.emplace_back(f.name);
    }
    return names;
  }
  fs::path dir_;
};

TEST_F(FamilyTableTest, EveryFamilyHasANameADetectorAndAFactory) {
  std::set<std::string> names;
  for (const ModelFamily& f : AllModelFamilies()) {
    EXPECT_TRUE(names.emplace(f.name).second) << f.name;
    EXPECT_FALSE(f.expects.empty()) << f.name;
    EXPECT_NE(f.detect, nullptr) << f.name;
    EXPECT_NE(f.load, nullptr) << f.name;
  }
  EXPECT_THAT(names, ElementsAre("bert", "use-lite"));
}

TEST_F(FamilyTableTest, MarkerFilesPickTheFamily) {
  EXPECT_TRUE(Detected().empty());
  Touch("config.json");
  EXPECT_THAT(Detected(), ElementsAre("bert"));
  Touch("model.json");  // USE-lite is asked first
  EXPECT_THAT(Detected(), ElementsAre("use-lite", "bert"));
  EXPECT_EQ(AllModelFamilies().front().name, "use-lite");
}

TEST_F(FamilyTableTest, NoFamilyListsWhatEachExpects) {
  const auto model = LoadModel(dir_.string());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(model.status().message(),
            "no supported model in '" + dir_.string() +
                "': expected model.json + vocab.json (USE-lite, TensorFlow.js) or config.json + "
                "model.safetensors + vocab.txt (BERT family, Hugging Face)");
}

TEST_F(FamilyTableTest, TheDetectedFamilyLoadsAndReportsItsOwnErrors) {
  Touch("config.json");  // {}: BERT's loader, which wants model_type
  const auto model = LoadModel(dir_.string());
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(model.status().message(), ::testing::HasSubstr("config.json"));
}

TEST(CheckStillWantedTest, CancelThenDeadline) {
  ExecutionPlan plan;
  EXPECT_TRUE(CheckStillWanted(plan, 0, 2).ok());
  plan.deadline = absl::Now() - absl::Seconds(1);
  absl::Status s = CheckStillWanted(plan, 1, 2);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(s.message(), "deadline expired before layer 1 of 2");
  plan.is_cancelled = [] { return true; };
  s = CheckStillWanted(plan, 0, 6);
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(s.message(), "run cancelled before layer 0 of 6");
  plan.is_cancelled = [] { return false; };
  plan.deadline = absl::InfiniteFuture();
  EXPECT_TRUE(CheckStillWanted(plan, 5, 6).ok());
}

// Fused q | k | v rows of a ragged batch, 2 heads of 4.
struct Batch {
  FusedQkvHeads heads{2, 4, 0.5f};
  std::vector<int64_t> offsets{0, 5, 5, 12};  // an empty sequence in the middle
  std::vector<float> qkv;
  Batch() {
    std::mt19937 rng(11);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    qkv.resize(offsets.back() * 3 * heads.width());
    for (float& v : qkv) v = nd(rng);
  }
};

ExecutionPlan PlanWith(const char* kernel) {
  auto resolved = ResolveAttention(kernel, {});
  EXPECT_TRUE(resolved.ok()) << resolved.status();
  ExecutionPlan plan;
  plan.attention = *resolved;
  return plan;
}

TEST(AttendEachSequenceTest, SequencesAttendOnlyWithinThemselves) {
  const Batch batch;
  const ExecutionPlan plan = PlanWith("dense");
  const int w = batch.heads.width();
  std::vector<float> context(batch.offsets.back() * w), mass;
  RunStats stats;
  auto got = AttendEachSequence(plan, batch.heads, batch.qkv.data(), batch.offsets, nullptr, &mass,
                                context.data(), &stats);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, nullptr);  // no pruner: no key mass
  EXPECT_EQ(stats.attention_pairs_total, 2 * (5 * 5 + 7 * 7));
  EXPECT_GT(stats.flops, 0);

  // The last sequence alone gives the same rows.
  const std::vector<int64_t> alone{0, 7};
  std::vector<float> context_alone(7 * w);
  RunStats stats_alone;
  ASSERT_TRUE(AttendEachSequence(plan, batch.heads, batch.qkv.data() + 5 * 3 * w, alone, nullptr,
                                 &mass, context_alone.data(), &stats_alone)
                  .ok());
  for (int64_t i = 0; i < 7 * w; ++i) EXPECT_EQ(context[5 * w + i], context_alone[i]) << i;
}

TEST(AttendEachSequenceTest, KeyMassOnlyWhenThePrunerAsksAndTheKernelReports) {
  const Batch batch;
  const int64_t rows = batch.offsets.back();
  std::vector<float> context(rows * batch.heads.width()), mass;
  RunStats stats;
  SublayerPruner pruner;
  pruner.want_key_mass = false;
  auto got = AttendEachSequence(PlanWith("dense"), batch.heads, batch.qkv.data(), batch.offsets,
                                &pruner, &mass, context.data(), &stats);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, nullptr);

  pruner.want_key_mass = true;
  got = AttendEachSequence(PlanWith("dense"), batch.heads, batch.qkv.data(), batch.offsets, &pruner,
                           &mass, context.data(), &stats);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(*got, mass.data());
  ASSERT_EQ(mass.size(), static_cast<size_t>(rows));
  // Each query's probabilities sum to 1 per head: a sequence's mass is
  // heads * its length.
  double first = 0, last = 0;
  for (int64_t r = 0; r < 5; ++r) first += mass[r];
  for (int64_t r = 5; r < rows; ++r) last += mass[r];
  EXPECT_NEAR(first, 2 * 5, 1e-4);
  EXPECT_NEAR(last, 2 * 7, 1e-4);

  got = AttendEachSequence(PlanWith("nystrom"), batch.heads, batch.qkv.data(), batch.offsets,
                           &pruner, &mass, context.data(), &stats);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, nullptr);  // nystrom forms no probabilities
}

TEST(PruneRowsTest, CompactsTheKeptRowsAndCanKeepFirstRows) {
  // Rows hold their own index; 2 sequences: rows 0-3 and 4-6.
  const int width = 2;
  std::vector<float> rows(7 * width);
  for (int r = 0; r < 7; ++r) rows[r * width] = rows[r * width + 1] = static_cast<float>(r);
  SublayerPruner pruner;
  pruner.select = [](const float*, const float*, int, const std::vector<int64_t>& offsets,
                     std::vector<int64_t>* keep, std::vector<int64_t>* new_offsets) {
    EXPECT_THAT(offsets, ElementsAre(0, 4, 7));
    *keep = {2, 3, 5};
    *new_offsets = {0, 2, 3};
    return absl::OkStatus();
  };
  for (bool keep_first : {false, true}) {
    std::vector<float> hidden = rows;
    std::vector<int64_t> offsets{0, 4, 7}, keep;
    ASSERT_TRUE(PruneRows(pruner, nullptr, hidden.data(), width, keep_first, &offsets, &keep).ok());
    if (keep_first) {
      EXPECT_THAT(keep, ElementsAre(0, 2, 3, 4, 5));
      EXPECT_THAT(offsets, ElementsAre(0, 3, 5));
    } else {
      EXPECT_THAT(keep, ElementsAre(2, 3, 5));
      EXPECT_THAT(offsets, ElementsAre(0, 2, 3));
    }
    for (size_t i = 0; i < keep.size(); ++i) {
      EXPECT_EQ(hidden[i * width], static_cast<float>(keep[i]));
      EXPECT_EQ(hidden[i * width + 1], static_cast<float>(keep[i]));
    }
  }
  pruner.select = [](const float*, const float*, int, const std::vector<int64_t>&,
                     std::vector<int64_t>*,
                     std::vector<int64_t>*) { return absl::InternalError("no"); };
  std::vector<float> hidden = rows;
  std::vector<int64_t> offsets{0, 4, 7}, keep;
  EXPECT_EQ(PruneRows(pruner, nullptr, hidden.data(), width, true, &offsets, &keep).message(),
            "no");
  EXPECT_THAT(offsets, ElementsAre(0, 4, 7));  // untouched on error
}

}  // namespace
}  // namespace attnserve
