// Length-dependent kernel defaults: the rule's arithmetic, the generated
// table's consistency with the registry, and how resolution applies it.
#include "engine/attention/length_defaults.h"

#include <cmath>

#include "engine/attention/registry.h"
#include "gtest/gtest.h"

namespace attnserve {
namespace {

const ParamSpec kIntSpec{"window", ParamType::kInt, 64, 0, 1000, ""};
const ParamSpec kFloatSpec{"ratio", ParamType::kFloat, 0.125, 0, 1, ""};

TEST(LengthDefaultTest, EndPointsHoldOutsideTheCalibratedLengths) {
  const LengthDefault rule{"k", "window", {{128, 32}, {1024, 256}}, true};
  EXPECT_EQ(rule.At(1, kIntSpec), 32);
  EXPECT_EQ(rule.At(128, kIntSpec), 32);
  EXPECT_EQ(rule.At(1024, kIntSpec), 256);
  EXPECT_EQ(rule.At(100000, kIntSpec), 256);
}

TEST(LengthDefaultTest, InterpolatesInLogLengthAndRoundsIntegersUp) {
  const LengthDefault rule{"k", "window", {{128, 32}, {512, 96}}, true};
  // 256 is half way from 128 to 512 in log n: 32 + (96 - 32) / 2 = 64.
  EXPECT_EQ(rule.At(256, kIntSpec), 64);
  // 200: t = log(200/128) / log(4) = 0.3219..., 32 + 64 t = 52.6 -> 53.
  const double t = std::log(200.0 / 128) / std::log(4.0);
  EXPECT_EQ(rule.At(200, kIntSpec), std::ceil(32 + 64 * t));
  const LengthDefault ratio{"k", "ratio", {{128, 0.5}, {512, 0.25}}, true};
  EXPECT_DOUBLE_EQ(ratio.At(256, kFloatSpec), 0.375);
}

TEST(LengthDefaultTest, ClampsToTheParameterRange) {
  const LengthDefault rule{"k", "window", {{128, 4096}}, true};
  EXPECT_EQ(rule.At(128, kIntSpec), 1000);
}

TEST(LengthDefaultTest, EveryRuleNamesARegisteredKernelParameterWithValidPoints) {
  ASSERT_FALSE(AllLengthDefaults().empty()) << "the generated table is empty";
  for (const LengthDefault& rule : AllLengthDefaults()) {
    SCOPED_TRACE(rule.kernel + "." + rule.param);
    absl::StatusOr<const AttentionKernel*> kernel = FindAttentionKernel(rule.kernel);
    ASSERT_TRUE(kernel.ok()) << kernel.status();
    const ParamSpec* spec = nullptr;
    for (const ParamSpec& p : (*kernel)->info().params) {
      if (p.name == rule.param) spec = &p;
    }
    ASSERT_NE(spec, nullptr) << "no such parameter";
    EXPECT_FALSE((*kernel)->info().exact) << "exact kernels need no budget";
    ASSERT_FALSE(rule.points.empty());
    for (size_t i = 0; i < rule.points.size(); ++i) {
      EXPECT_GE(rule.points[i].second, spec->min_value);
      EXPECT_LE(rule.points[i].second, spec->max_value);
      if (i > 0) {
        EXPECT_GT(rule.points[i].first, rule.points[i - 1].first);
      }
    }
  }
}

// The first rule in the table, for the resolution tests.
const LengthDefault& SomeRule() { return AllLengthDefaults().front(); }

TEST(LengthDefaultTest, AnUnsetParameterFollowsTheLength) {
  const LengthDefault& rule = SomeRule();
  absl::StatusOr<ResolvedAttention> resolved = ResolveAttention(rule.kernel, {});
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  ASSERT_EQ(resolved->by_length.size(), 1u);
  const ParamSpec& spec = *resolved->by_length.front().first;
  EXPECT_EQ(spec.name, rule.param);
  AttentionParams scratch;
  for (int64_t n :
       {int64_t{16}, rule.points.front().first, rule.points.back().first, int64_t{10000}}) {
    const AttentionParams& at = ParamsAtLength(*resolved, n, &scratch);
    EXPECT_EQ(at.at(rule.param), rule.At(n, spec)) << "n = " << n;
    EXPECT_EQ(at.size(), resolved->params.size());
  }
}

TEST(LengthDefaultTest, ASetParameterIsExactlyTheRequestsValue) {
  const LengthDefault& rule = SomeRule();
  absl::StatusOr<ResolvedAttention> resolved = ResolveAttention(rule.kernel, {{rule.param, "1"}});
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_TRUE(resolved->by_length.empty());
  AttentionParams scratch;
  EXPECT_EQ(ParamsAtLength(*resolved, 4096, &scratch).at(rule.param), 1);
  EXPECT_EQ(&ParamsAtLength(*resolved, 4096, &scratch), &resolved->params);
}

TEST(LengthDefaultTest, KernelsWithoutARuleKeepTheirFixedDefaults) {
  absl::StatusOr<ResolvedAttention> resolved = ResolveAttention("flash", {});
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_TRUE(resolved->by_length.empty());
  EXPECT_EQ(FindLengthDefault("dense", "window"), nullptr);
}

}  // namespace
}  // namespace attnserve
