// The TF.js weights reader on small manifests written by the test: every
// malformed input is a clear error naming the file or tensor.
#include "engine/model/tfjs_weights.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/per_test_dir.h"

namespace attnserve {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class TfjsWeightsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::PerTestDir("tfjs_weights_test_");
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
  }
  static std::string Floats(const std::vector<float>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
  }
  // A manifest of a float32 [2,3] "w" and an int32 scalar "n" over two shards.
  void WriteValidModel(const std::string& dtype = "float32", const std::string& extra = "") {
    Write("model.json", R"({"modelTopology": {}, "weightsManifest": [{
        "paths": ["shard1", "shard2"],
        "weights": [{"name": "w", "shape": [2, 3], "dtype": ")" +
                            dtype + R"(")" + extra + R"(},
                    {"name": "n", "shape": [], "dtype": "int32"}]}]})");
    const std::string all = Floats({1, 2, 3, 4, 5, 6}) + std::string("\x07\0\0\0", 4);
    Write("shard1", all.substr(0, 10));  // a tensor spans the shard boundary
    Write("shard2", all.substr(10));
  }
  absl::StatusOr<TfjsWeights> Load() { return TfjsWeights::Load(dir_.string()); }

  fs::path dir_;
};

TEST_F(TfjsWeightsTest, LoadsTensorsAcrossShards) {
  WriteValidModel();
  absl::StatusOr<TfjsWeights> w = Load();
  ASSERT_TRUE(w.ok()) << w.status();
  absl::StatusOr<const float*> data = w->Float32("w", {2, 3});
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ((*data)[0], 1.0f);
  EXPECT_EQ((*data)[5], 6.0f);
  absl::StatusOr<int32_t> n = w->ScalarInt32("n");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 7);
  EXPECT_EQ(w->tensors().size(), 2u);
  EXPECT_EQ(w->total_bytes(), 28);
}

TEST_F(TfjsWeightsTest, MissingManifestIsNotFound) {
  absl::StatusOr<TfjsWeights> w = Load();
  EXPECT_EQ(w.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(w.status().message(), HasSubstr("model.json"));
}

TEST_F(TfjsWeightsTest, BadJsonNamesTheFile) {
  Write("model.json", "{\"weightsManifest\": [");
  absl::StatusOr<TfjsWeights> w = Load();
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(w.status().message(), HasSubstr("model.json: invalid JSON"));
}

// Found by fuzz_tfjs_manifest: nlohmann throws out_of_range, not
// parse_error, for a number that overflows, and it escaped (std::terminate).
TEST_F(TfjsWeightsTest, OverflowingNumberIsInvalidJson) {
  Write("model.json", "{\"weightsManifest\": [], \"x\": -1e400}");
  absl::StatusOr<TfjsWeights> w = Load();
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(w.status().message(), HasSubstr("model.json: invalid JSON"));
}

TEST_F(TfjsWeightsTest, NoManifestArray) {
  Write("model.json", "{\"modelTopology\": {}}");
  EXPECT_THAT(Load().status().message(), HasSubstr("no weightsManifest"));
}

TEST_F(TfjsWeightsTest, MissingShardIsNamed) {
  WriteValidModel();
  fs::remove(dir_ / "shard2");
  absl::StatusOr<TfjsWeights> w = Load();
  EXPECT_EQ(w.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(w.status().message(), HasSubstr("shard2"));
}

TEST_F(TfjsWeightsTest, TruncatedShardNamesTheTensor) {
  WriteValidModel();
  Write("shard2", std::string(4, '\0'));  // 14 bytes short
  absl::StatusOr<TfjsWeights> w = Load();
  EXPECT_EQ(w.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(w.status().message(), HasSubstr("tensor 'w'"));
  EXPECT_THAT(w.status().message(), HasSubstr("truncated"));
}

TEST_F(TfjsWeightsTest, TrailingBytesAreAWrongByteCount) {
  WriteValidModel();
  std::ofstream(dir_ / "shard2", std::ios::binary | std::ios::app) << "xxxx";
  absl::StatusOr<TfjsWeights> w = Load();
  EXPECT_EQ(w.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(w.status().message(), HasSubstr("wrong shard size"));
}

TEST_F(TfjsWeightsTest, UnknownDtypeIsNamed) {
  WriteValidModel("float16");
  absl::StatusOr<TfjsWeights> w = Load();
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(w.status().message(), HasSubstr("unsupported dtype 'float16'"));
  EXPECT_THAT(w.status().message(), HasSubstr("'w'"));
}

TEST_F(TfjsWeightsTest, QuantizedWeightsAreRefused) {
  WriteValidModel("float32", R"(, "quantization": {"dtype": "uint8"})");
  EXPECT_THAT(Load().status().message(), HasSubstr("quantized weights are not supported"));
}

TEST_F(TfjsWeightsTest, ShardPathsMayNotLeaveTheDirectory) {
  Write("model.json", R"({"weightsManifest": [{"paths": ["../etc/passwd"], "weights": []}]})");
  EXPECT_THAT(Load().status().message(), HasSubstr("plain file name"));
}

TEST_F(TfjsWeightsTest, NegativeDimensionIsRefused) {
  Write(
      "model.json",
      R"({"weightsManifest": [{"paths": [], "weights": [{"name": "x", "shape": [-1], "dtype": "float32"}]}]})");
  EXPECT_THAT(Load().status().message(), HasSubstr("bad shape"));
}

TEST_F(TfjsWeightsTest, ShapeAndDtypeMismatchesNameBoth) {
  WriteValidModel();
  absl::StatusOr<TfjsWeights> w = Load();
  ASSERT_TRUE(w.ok());
  absl::StatusOr<const float*> wrong = w->Float32("w", {3, 2});
  EXPECT_THAT(wrong.status().message(), HasSubstr("expected shape [3, 2], found [2, 3]"));
  EXPECT_THAT(w->Float32("n", {}).status().message(), HasSubstr("expected float32, found int32"));
  EXPECT_THAT(w->ScalarInt32("w").status().message(), HasSubstr("expected one int32 value"));
  EXPECT_EQ(w->Find("missing").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace attnserve
