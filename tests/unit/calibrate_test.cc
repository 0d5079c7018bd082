// tools/calibrate as a real process on the real model: the table it writes
// parses, is self-consistent (dense is its own reference, exact kernels stay
// at cosine ~1, a one-layer exit does not), and the engine can use it.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/engine.h"
#include "engine/policy/auto_policy.h"
#include "engine/util/file_io.h"
#include "gtest/gtest.h"
#include "tests/support/test_model.h"

namespace attnserve {
namespace {

TEST(CalibrateTest, WritesATableTheEngineUses) {
  ATTNSERVE_REQUIRE_TEST_MODEL();
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("calibrate_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string out = (dir / "calibration.json").string();
  const std::string command = std::string(CALIBRATE_PATH) + " --quick --lengths 16,48 --reps 1" +
                              " --model " + testing::TestModelDir() + " --heads " +
                              (dir / "no-heads").string() + " --out " + out + " 2>" +
                              (dir / "log").string();
  ASSERT_EQ(std::system(command.c_str()), 0) << *ReadFileToString((dir / "log").string());

  auto text = ReadFileToString(out);
  ASSERT_TRUE(text.ok());
  auto table = ParseCalibrationTable(*text, out);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->lengths, (std::vector<int>{16, 48}));
  const CalibrationEntry* dense = table->Find("dense");
  const CalibrationEntry* bf16 = table->Find("bf16");
  const CalibrationEntry* exit1 = table->Find("dense+exit1");
  ASSERT_NE(dense, nullptr);
  ASSERT_NE(bf16, nullptr);
  ASSERT_NE(exit1, nullptr);
  for (double c : dense->cosine) EXPECT_NEAR(c, 1.0, 1e-6);
  for (double c : bf16->cosine) EXPECT_GT(c, 0.99);
  EXPECT_LT(exit1->cosine[1], 0.99);  // one layer of two is not the embedding
  for (const CalibrationEntry& e : table->entries) {
    for (double ms : e.latency_ms) EXPECT_GT(ms, 0) << e.name;
    EXPECT_LT(e.retention, 0) << "no heads, so no retention: " << e.name;
    EXPECT_EQ(e.name.find("conf"), std::string::npos) << "confidence rows need a head";
  }

  EngineConfig config;
  config.model_dir = testing::TestModelDir();
  config.calibration_file = out;
  auto engine = Engine::Load(config);
  ASSERT_TRUE(engine.ok()) << engine.status();
  RunOptions o;
  SetAttention("auto", &o);
  o.auto_select.early_exit = true;
  o.num_threads = 1;
  auto r = (*engine)->Embed({"calibrated choice"}, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->stats.auto_config.empty());
  EXPECT_TRUE(r->stats.budget_met);
  EXPECT_NE(r->stats.auto_config, "dense+exit1");  // misses the default 0.99 floor
  fs::remove_all(dir);
}

}  // namespace
}  // namespace attnserve
