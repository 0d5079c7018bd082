// SafetensorsFile on hand-built files: values of each dtype, and every kind
// of malformed file refused with an error naming the file and the tensor.
#include "engine/model/safetensors.h"

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/per_test_dir.h"

namespace attnserve {
namespace {

using ::testing::HasSubstr;

std::string U64(uint64_t v) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &v, 8);
  return s;
}

template <typename T>
std::string Bytes(std::initializer_list<T> values) {
  std::string s;
  for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof(T));
  return s;
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::PerTestDir("safetensors_test_");
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A file of the given header text and data region.
  std::string Write(const std::string& header, const std::string& data) {
    return WriteRaw(U64(header.size()) + header + data);
  }
  std::string WriteRaw(const std::string& bytes) {
    const std::string path = (dir_ / "model.safetensors").string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  absl::Status OpenError(const std::string& path) {
    auto f = SafetensorsFile::Open(path);
    return f.ok() ? absl::OkStatus() : f.status();
  }

  std::filesystem::path dir_;
};

TEST_F(SafetensorsTest, ReadsF32F16Bf16AsFloat) {
  // F16: 1, -2, 0.5, the smallest subnormal; BF16: 1, -3.5.
  const std::string data = Bytes<float>({1.5f, -2.25f}) +
                           Bytes<uint16_t>({0x3C00, 0xC000, 0x3800, 0x0001}) +
                           Bytes<uint16_t>({0x3F80, 0xC060});
  const std::string header = R"({"__metadata__":{"format":"pt"},)"
                             R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("h":{"dtype":"F16","shape":[2,2],"data_offsets":[8,16]},)"
                             R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[16,20]}})";
  auto file = SafetensorsFile::Open(Write(header, data));
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->tensors().size(), 3u);
  EXPECT_EQ(file->metadata().at("format"), "pt");
  auto a = file->Float32("a", {2});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)[0], 1.5f);
  EXPECT_EQ((*a)[1], -2.25f);
  auto h = file->Float32("h", {2, 2});
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ((*h)[0], 1.0f);
  EXPECT_EQ((*h)[1], -2.0f);
  EXPECT_EQ((*h)[2], 0.5f);
  EXPECT_FLOAT_EQ((*h)[3], 5.9604645e-8f);
  EXPECT_EQ(file->source_dtype("h"), SafetensorsDType::kF16);
  auto b = file->Float32("b", {2});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*b)[0], 1.0f);
  EXPECT_EQ((*b)[1], -3.5f);
  EXPECT_EQ(file->float_bytes(), 4 * (2 + 4 + 2));
}

TEST_F(SafetensorsTest, MisalignedF32IsCopied) {
  // A 5-byte-longer header puts the data region off a 4-byte boundary.
  const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}     )";
  ASSERT_NE((8 + header.size()) % 4, 0u);
  auto file = SafetensorsFile::Open(Write(header, Bytes<float>({7.0f})));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(reinterpret_cast<uintptr_t>((*file->Find("a"))->data) % 4, 0u);
  EXPECT_EQ((*file->Float32("a", {1}))[0], 7.0f);
}

TEST_F(SafetensorsTest, ScalarAndEmptyTensors) {
  const std::string header = R"({"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
                             R"("e":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4]}})";
  auto file = SafetensorsFile::Open(Write(header, Bytes<float>({3.0f})));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file->Float32("s", {}))[0], 3.0f);
  EXPECT_EQ((*file->Find("e"))->num_elements, 0);
}

TEST_F(SafetensorsTest, MissingFileIsNotFound) {
  auto file = SafetensorsFile::Open((dir_ / "absent.safetensors").string());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(file.status().message(), HasSubstr("absent.safetensors"));
}

TEST_F(SafetensorsTest, TruncatedBeforeHeaderLength) {
  const std::string path = WriteRaw("\x05\x00\x00");
  EXPECT_THAT(OpenError(path).message(), HasSubstr("truncated"));
  EXPECT_THAT(OpenError(path).message(), HasSubstr(path));
}

TEST_F(SafetensorsTest, EmptyFile) {
  EXPECT_THAT(OpenError(WriteRaw("")).message(), HasSubstr("truncated"));
}

TEST_F(SafetensorsTest, HeaderLengthPastEndOfFile) {
  const absl::Status s = OpenError(WriteRaw(U64(1000) + "{}"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("header length 1000 runs past the end"));
  EXPECT_THAT(OpenError(WriteRaw(U64(~uint64_t{0}) + "{}")).message(),
              HasSubstr("runs past the end"));
}

TEST_F(SafetensorsTest, BadJson) {
  EXPECT_THAT(OpenError(Write(R"({"a": {"dtype": )", "")).message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(OpenError(Write("[1, 2]", "")).message(), HasSubstr("not a JSON object"));
}

TEST_F(SafetensorsTest, TruncatedData) {
  // The header promises 8 bytes; the file ends after 4.
  const std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const absl::Status s = OpenError(Write(header, Bytes<float>({1.0f})));
  EXPECT_THAT(s.message(), HasSubstr("tensor 'w'"));
  EXPECT_THAT(s.message(), HasSubstr("outside the data region of 4 bytes"));
}

TEST_F(SafetensorsTest, OutOfRangeOffsets) {
  const std::string header = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})";
  EXPECT_THAT(OpenError(Write(header, Bytes<float>({1, 2, 3}))).message(),
              HasSubstr("tensor 'w': data_offsets [8, 4)"));
  const std::string negative = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})";
  EXPECT_THAT(OpenError(Write(negative, Bytes<float>({1}))).message(),
              HasSubstr("data_offsets must be two non-negative integers"));
}

TEST_F(SafetensorsTest, Overlap) {
  const std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  const absl::Status s = OpenError(Write(header, Bytes<float>({1, 2, 3})));
  EXPECT_THAT(s.message(), HasSubstr("'x' and 'y' overlap"));
}

TEST_F(SafetensorsTest, UnknownDtypeNamesTensorAndDtype) {
  const std::string header = R"({"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})";
  const absl::Status s = OpenError(Write(header, Bytes<int64_t>({1})));
  EXPECT_THAT(s.message(), HasSubstr("tensor 'ids': dtype I64 is not supported"));
}

// Older transformers versions saved the position-id buffer with the weights:
// it is checked like any tensor and skipped; other integer tensors are not.
TEST_F(SafetensorsTest, PositionIdsBufferIsCheckedAndSkipped) {
  const std::string header =
      R"({"embeddings.position_ids":{"dtype":"I64","shape":[1,3],"data_offsets":[0,24]},)"
      R"("w":{"dtype":"F32","shape":[1],"data_offsets":[24,28]}})";
  auto file = SafetensorsFile::Open(Write(header, Bytes<int64_t>({0, 1, 2}) + Bytes<float>({5})));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_FALSE(file->Has("embeddings.position_ids"));
  EXPECT_EQ(file->tensors().size(), 1u);
  EXPECT_EQ(*file->Float32("w", {1}).value(), 5.0f);

  const std::string short_ids =
      R"({"embeddings.position_ids":{"dtype":"I64","shape":[1,3],"data_offsets":[0,12]}})";
  EXPECT_THAT(OpenError(Write(short_ids, Bytes<int32_t>({0, 1, 2}))).message(),
              HasSubstr("tensor 'embeddings.position_ids': shape [1, 3] of I64 needs 24 bytes"));
  const std::string other = R"({"token_ids":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})";
  EXPECT_THAT(OpenError(Write(other, Bytes<int32_t>({1}))).message(),
              HasSubstr("dtype I32 is not supported"));
}

TEST_F(SafetensorsTest, ShapeBytesMismatch) {
  const std::string header = R"({"w":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}})";
  const absl::Status s = OpenError(Write(header, Bytes<float>({1, 2})));
  EXPECT_THAT(s.message(), HasSubstr("tensor 'w': shape [3] of F16 needs 6 bytes"));
}

TEST_F(SafetensorsTest, HugeShapeDoesNotOverflow) {
  const std::string header =
      R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})";
  EXPECT_THAT(OpenError(Write(header, Bytes<float>({1}))).message(), HasSubstr("shape overflows"));
}

TEST_F(SafetensorsTest, BadEntries) {
  EXPECT_THAT(OpenError(Write(R"({"w":3})", "")).message(), HasSubstr("entry is not an object"));
  EXPECT_THAT(OpenError(Write(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", "abcd")).message(),
              HasSubstr("no dtype"));
  EXPECT_THAT(
      OpenError(Write(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", "abcd"))
          .message(),
      HasSubstr("non-negative integers"));
  EXPECT_THAT(OpenError(Write(R"({"__metadata__":{"k":1}})", "")).message(),
              HasSubstr("__metadata__.k"));
}

TEST_F(SafetensorsTest, LookupsNameTheTensor) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  auto file = SafetensorsFile::Open(Write(header, Bytes<float>({1, 2})));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_THAT(file->Float32("a", {1, 2}).status().message(),
              HasSubstr("tensor 'a' has shape [2], expected [1, 2]"));
  EXPECT_EQ(file->Float32("b", {2}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(file->Find("b").status().message(), HasSubstr("no tensor 'b'"));
}

}  // namespace
}  // namespace attnserve
