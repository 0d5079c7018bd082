// The auto policy's table parsing and choice rules (engine/policy/auto_policy.h),
// and the engine running what it chose.
#include "engine/policy/auto_policy.h"

#include <filesystem>
#include <fstream>

#include "engine/engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_model.h"

namespace attnserve {
namespace {

using ::testing::HasSubstr;

// Three rows: dense (slow, exact), window (faster, cosine falls with length),
// exit after one layer (fastest, worst). Lengths 16 / 128 / 1024.
constexpr char kTable[] = R"({
  "model": "use-lite",
  "lengths": [16, 128, 1024],
  "entries": [
    {"name": "dense", "attention": "dense",
     "latency_ms": [2, 10, 200], "cosine": [1, 1, 1], "retention": 1.0},
    {"name": "window", "attention": "sliding_window", "attention_params": {"window": "32"},
     "latency_ms": [2, 8, 40], "cosine": [1, 0.995, 0.95], "retention": 0.99},
    {"name": "exit1", "attention": "dense", "early_exit": {"max_layers": 1},
     "latency_ms": [1, 4, 90], "cosine": [0.9, 0.9, 0.9], "retention": 0.93},
    {"name": "confident", "attention": "dense", "early_exit": {"min_confidence": 0.9},
     "latency_ms": [1.5, 6, 120], "cosine": [1, 1, 1], "retention": 0.98}
  ]})";

CalibrationTable Table() {
  auto t = ParseCalibrationTable(kTable, "test");
  EXPECT_TRUE(t.ok()) << t.status();
  return *t;
}

RunOptions AutoAll(double max_latency_ms, double min_retention) {
  RunOptions o;
  o.auto_select.attention = o.auto_select.pruning = o.auto_select.early_exit = true;
  o.auto_select.max_latency_ms = max_latency_ms;
  o.auto_select.min_retention = min_retention;
  return o;
}

TEST(AutoPolicyTest, ParsesAndRoundTrips) {
  const CalibrationTable t = Table();
  ASSERT_EQ(t.entries.size(), 4u);
  EXPECT_EQ(t.entries[1].attention_params.at("window"), "32");
  EXPECT_EQ(t.entries[2].early_exit.max_layers, 1);
  auto again = ParseCalibrationTable(CalibrationTableToJson(t), "again");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->entries[1].latency_ms, t.entries[1].latency_ms);
  EXPECT_EQ(again->entries[3].early_exit.min_confidence, 0.9);
}

TEST(AutoPolicyTest, MalformedTablesNameTheField) {
  struct Case {
    const char* json;
    const char* message;
  };
  const Case cases[] = {
      {"[]", "not a JSON object"},
      {R"({"entries": []})", "lengths: missing"},
      {R"({"lengths": [16, 16], "entries": [{}]})", "strictly increasing"},
      {R"({"lengths": [16], "entries": []})", "entries: missing or empty"},
      {R"({"lengths": [16], "entries": [{"latency_ms": [1], "cosine": [1]}]})", "name: missing"},
      {R"({"lengths": [16, 32], "entries": [{"name": "a", "latency_ms": [1], "cosine": [1, 1]}]})",
       "entries[0]: latency_ms: 1 values for 2 lengths"},
      {R"({"lengths": [16], "entries": [{"name": "a", "latency_ms": [-1], "cosine": [1]}]})",
       "out of range"},
      {R"({"lengths": [16], "entries": [{"name": "a", "latency_ms": [1], "cosine": [1]},
                                       {"name": "a", "latency_ms": [1], "cosine": [1]}]})",
       "'a' repeats"},
      {R"({"lengths": [16], "entries": [{"name": "a", "latency_ms": [1], "cosine": [1],
           "pruning": {"fallback": "magic"}}]})",
       "entries[0].pruning: fallback"},
  };
  for (const Case& c : cases) {
    auto t = ParseCalibrationTable(c.json, "calibration.json");
    ASSERT_FALSE(t.ok()) << c.json;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr(c.message)) << c.json;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr("calibration.json"));
  }
}

TEST(AutoPolicyTest, InterpolatesLatencyAndCosine) {
  const CalibrationTable t = Table();
  const CalibrationEntry& w = t.entries[1];
  EXPECT_DOUBLE_EQ(PredictLatencyMs(t, w, 16), 2);
  EXPECT_DOUBLE_EQ(PredictLatencyMs(t, w, 72), 5);     // halfway 16..128
  EXPECT_DOUBLE_EQ(PredictLatencyMs(t, w, 1920), 72);  // extrapolated past 1024
  EXPECT_DOUBLE_EQ(PredictCosine(t, w, 8), 1);         // held at the ends
  EXPECT_DOUBLE_EQ(PredictCosine(t, w, 4096), 0.95);
}

TEST(AutoPolicyTest, QualityFloorPicksTheCheapestThatMeetsIt) {
  const CalibrationTable t = Table();
  auto c = ChooseConfiguration(t, AutoAll(0, 0.99), {128}, 1, /*classify=*/false);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->entry->name, "window");  // 8 ms at cosine 0.995; exit1 is cheaper but 0.9
  EXPECT_TRUE(c->budget_met);
  EXPECT_DOUBLE_EQ(c->predicted_latency_ms, 8);
  // At 1,024 tokens the window's cosine (0.95) misses 0.99: dense it is.
  c = ChooseConfiguration(t, AutoAll(0, 0.99), {1024}, 1, false);
  EXPECT_EQ(c->entry->name, "dense");
  // Classification uses the measured retention, and its own exit rows.
  c = ChooseConfiguration(t, AutoAll(0, 0.98), {128}, 1, /*classify=*/true);
  EXPECT_EQ(c->entry->name, "confident");
  EXPECT_DOUBLE_EQ(c->predicted_quality, 0.98);
}

TEST(AutoPolicyTest, LatencyBudgetPicksTheBestQualityThatFits) {
  const CalibrationTable t = Table();
  // Two texts of 128 tokens on one thread: dense 20, window 16, exit1 8 ms.
  auto c = ChooseConfiguration(t, AutoAll(17, 0), {128, 128}, 1, false);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->entry->name, "window");
  EXPECT_DOUBLE_EQ(c->predicted_latency_ms, 16);
  // Two threads halve the prediction: dense fits.
  c = ChooseConfiguration(t, AutoAll(17, 0), {128, 128}, 2, false);
  EXPECT_EQ(c->entry->name, "dense");
  // Both bounds: the cheapest meeting both.
  c = ChooseConfiguration(t, AutoAll(100, 0.9), {128}, 1, false);
  EXPECT_EQ(c->entry->name, "exit1");
}

TEST(AutoPolicyTest, UnmetBudgetsRunTheClosestMissAndSaySo) {
  const CalibrationTable t = Table();
  auto c = ChooseConfiguration(t, AutoAll(0.5, 0), {128}, 1, false);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->budget_met);
  EXPECT_EQ(c->entry->name, "exit1");  // the fastest
  EXPECT_THAT(c->note, HasSubstr("over max_latency_ms"));
  c = ChooseConfiguration(t, AutoAll(9, 0.999), {128}, 1, false);
  EXPECT_FALSE(c->budget_met);
  EXPECT_EQ(c->entry->name, "window");  // the best quality within 9 ms
  EXPECT_THAT(c->note, HasSubstr("within the latency budget"));
}

TEST(AutoPolicyTest, FixedSettingsRestrictTheCandidates) {
  const CalibrationTable t = Table();
  RunOptions o = AutoAll(0, 0.5);
  o.auto_select.attention = false;  // attention stays dense
  auto c = ChooseConfiguration(t, o, {128}, 1, false);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->entry->name, "exit1");
  o.auto_select.early_exit = false;  // and no early exit
  c = ChooseConfiguration(t, o, {128}, 1, false);
  EXPECT_EQ(c->entry->name, "dense");
  o.attention = "lsh";  // nothing calibrated
  c = ChooseConfiguration(t, o, {128}, 1, false);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("'lsh'"));
}

// Rows differing only in the dense layers' precision: "auto" may pick the
// int8 one; a fixed precision keeps to its own rows; a bad name is refused.
TEST(AutoPolicyTest, LinearPrecisionIsADimension) {
  auto t = ParseCalibrationTable(R"({"lengths": [16, 128], "entries": [
      {"name": "dense", "latency_ms": [2, 10], "cosine": [1, 1], "retention": 1.0},
      {"name": "dense+linear_int8", "linear_precision": "int8",
       "latency_ms": [0.7, 3], "cosine": [0.9997, 0.9996], "retention": 0.995}]})",
                                 "test");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->entries[0].linear_precision, LinearPrecision::kF32);
  EXPECT_EQ(t->entries[1].linear_precision, LinearPrecision::kInt8);
  auto again = ParseCalibrationTable(CalibrationTableToJson(*t), "again");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->entries[1].linear_precision, LinearPrecision::kInt8);

  RunOptions o;
  o.auto_select.min_retention = 0.99;
  o.auto_select.linear_precision = true;
  auto c = ChooseConfiguration(*t, o, {64}, 1, true);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->entry->name, "dense+linear_int8");
  EXPECT_EQ(ApplyChoice(o, *c->entry).linear_precision, LinearPrecision::kInt8);
  o.auto_select.linear_precision = false;  // fixed f32: the int8 row is not a candidate
  o.auto_select.attention = true;
  c = ChooseConfiguration(*t, o, {64}, 1, true);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->entry->name, "dense");
  EXPECT_EQ(ApplyChoice(o, *c->entry).linear_precision, LinearPrecision::kF32);

  auto bad = ParseCalibrationTable(R"({"lengths": [16], "entries": [{"name": "x",
      "linear_precision": "int4", "latency_ms": [1], "cosine": [1]}]})",
                                   "t.json");
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("linear_precision: 'int4'"));
}

TEST(AutoPolicyTest, BudgetRangesAreChecked) {
  RunOptions o = AutoAll(0, 1.5);
  EXPECT_THAT(std::string(ValidateAutoOptions(o.auto_select).message()),
              HasSubstr("budget.min_retention"));
  o = AutoAll(-1, 0);
  EXPECT_THAT(std::string(ValidateAutoOptions(o.auto_select).message()),
              HasSubstr("budget.max_latency_ms"));
  AutoOptions no_auto;
  no_auto.max_latency_ms = 5;
  EXPECT_THAT(std::string(ValidateAutoOptions(no_auto).message()), HasSubstr("needs the auto"));
}

// The engine runs exactly the configuration it chose, and refuses "auto"
// without a table.
TEST(AutoPolicyEngineTest, RunsTheChosenConfiguration) {
  ATTNSERVE_REQUIRE_TEST_MODEL();
  namespace fs = std::filesystem;
  const fs::path file =
      fs::temp_directory_path() / ("attnserve_calibration_" + std::to_string(::getpid()) + ".json");
  std::ofstream(file) << kTable;
  EngineConfig config;
  config.model_dir = testing::TestModelDir();
  config.calibration_file = file.string();
  auto engine = Engine::Load(config);
  ASSERT_TRUE(engine.ok()) << engine.status();
  // About 100 tokens, where the window row is cheaper than dense.
  std::string text;
  for (int i = 0; i < 12; ++i) text += "a longer text about the weather today, ";
  const std::vector<std::string> texts = {text};

  RunOptions o;
  SetAttention("auto", &o);
  o.auto_select.min_retention = 0.99;
  o.num_threads = 1;
  o.max_tokens = 128;
  auto chosen = (*engine)->Embed(texts, o);
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(chosen->stats.auto_config, "window");
  EXPECT_TRUE(chosen->stats.budget_met);
  EXPECT_EQ(chosen->stats.attention_kernel, "sliding_window");

  RunOptions explicit_run;
  explicit_run.attention = "sliding_window";
  explicit_run.attention_params = {{"window", "32"}};
  explicit_run.num_threads = 1;
  explicit_run.max_tokens = 128;
  auto direct = (*engine)->Embed(texts, explicit_run);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(direct->embeddings, chosen->embeddings);
  EXPECT_TRUE(direct->stats.auto_config.empty());
  EXPECT_TRUE((*engine)->CheckOptions(o).ok());

  config.calibration_file = (fs::temp_directory_path() / "attnserve_no_such_table.json").string();
  auto plain = Engine::Load(config);
  ASSERT_TRUE(plain.ok());
  auto refused = (*plain)->Embed(texts, o);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("tools/calibrate"));
  EXPECT_EQ((*plain)->CheckOptions(o).code(), absl::StatusCode::kFailedPrecondition);

  // A table measured on another model, or naming a kernel parameter that
  // does not exist, is a load error naming the file.
  std::ofstream(file) << R"({"model": "bert", "lengths": [16],
      "entries": [{"name": "d", "latency_ms": [1], "cosine": [1]}]})";
  config.calibration_file = file.string();
  auto other = Engine::Load(config);
  EXPECT_THAT(std::string(other.status().message()), HasSubstr("measured on model 'bert'"));
  std::ofstream(file) << R"({"lengths": [16], "entries": [{"name": "w",
      "attention": "sliding_window", "attention_params": {"nope": "1"},
      "latency_ms": [1], "cosine": [1]}]})";
  auto bad = Engine::Load(config);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("entry 'w'"));
  fs::remove(file);
}

}  // namespace
}  // namespace attnserve
