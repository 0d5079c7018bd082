// ReadCpuBudget on fake /proc + /sys trees (cgroup v1 and v2, nested limits,
// malformed files) and on a thread pinned to one CPU, like `taskset -c 0`.
#include "engine/util/cpu_budget.h"

#include <sched.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/support/per_test_dir.h"

namespace attnserve {
namespace {

namespace fs = std::filesystem;

class CpuBudgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::PerTestDir("cpu_budget").string();
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& path, const std::string& text) {
    const fs::path file = fs::path(root_) / path.substr(1);
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
  }

  std::string root_;
};

// Kubernetes on cgroup v2 with a cgroup namespace off: the pod's limit sits on
// a parent of the container's cgroup, the container's own is "max".
TEST_F(CpuBudgetTest, CgroupV2TakesTheTightestLevel) {
  Write("/proc/self/mountinfo",
        "25 20 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
  Write("/proc/self/cgroup", "0::/kubepods/pod1/ctr\n");
  Write("/sys/fs/cgroup/cpu.max", "max 100000\n");
  Write("/sys/fs/cgroup/kubepods/pod1/cpu.max", "150000 100000\n");
  Write("/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max", "max 100000\n");
  const CpuBudget b = ReadCpuBudget(root_);
  EXPECT_DOUBLE_EQ(b.quota, 1.5);
  EXPECT_EQ(b.quota_file, "/sys/fs/cgroup/kubepods/pod1/cpu.max");
  EXPECT_EQ(b.cpus, 1);  // floor(1.5): a second thread would be throttled half the time
  EXPECT_NE(b.Describe().find("cgroup quota 1.50 CPUs in /sys/fs/cgroup/kubepods/pod1/cpu.max"),
            std::string::npos)
      << b.Describe();
}

// Docker on cgroup v1: the cpu controller shares a hierarchy with cpuacct and
// the container sees its own cgroup at the mount's root.
TEST_F(CpuBudgetTest, CgroupV1WithTheMountRootAtTheContainer) {
  Write("/proc/self/mountinfo",
        "31 30 0:28 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup "
        "rw,cpu,cpuacct\n"
        "34 30 0:31 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n");
  Write("/proc/self/cgroup", "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n");
  Write("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "200000\n");
  Write("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  const CpuBudget b = ReadCpuBudget(root_);
  EXPECT_DOUBLE_EQ(b.quota, 2.0);
  EXPECT_EQ(b.cpus, std::min(2, std::min(b.online, b.affinity)));
}

TEST_F(CpuBudgetTest, NoQuotaUnlimitedOrMalformedLeavesTheCpus) {
  Write("/proc/self/mountinfo",
        "25 20 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
        "31 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n");
  Write("/proc/self/cgroup", "1:cpu:/\n0::/a\n");
  Write("/sys/fs/cgroup/a/cpu.max", "lots 100000\n");    // malformed
  Write("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n");  // v1 "no limit"
  Write("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n");
  const CpuBudget b = ReadCpuBudget(root_);
  EXPECT_EQ(b.quota, 0);
  EXPECT_EQ(b.cpus, std::min(b.online, b.affinity));
  EXPECT_NE(b.Describe().find("no cgroup CPU quota"), std::string::npos);
  // No tree at all (a root with nothing under it): the same.
  EXPECT_EQ(ReadCpuBudget(root_ + "/absent").quota, 0);
}

TEST(CpuQuotaParseTest, CpuMaxAndCfs) {
  EXPECT_DOUBLE_EQ(QuotaFromCpuMax("50000 100000"), 0.5);
  EXPECT_EQ(QuotaFromCpuMax("max 100000"), 0);
  EXPECT_EQ(QuotaFromCpuMax("100000"), 0);
  EXPECT_EQ(QuotaFromCpuMax("0 100000"), 0);
  EXPECT_EQ(QuotaFromCpuMax("-5 100000"), 0);
  EXPECT_DOUBLE_EQ(QuotaFromCfs("400000", "100000"), 4.0);
  EXPECT_EQ(QuotaFromCfs("-1", "100000"), 0);
  EXPECT_EQ(QuotaFromCfs("100000", "0"), 0);
  EXPECT_EQ(QuotaFromCfs("", ""), 0);
}

// `taskset -c 0`: the affinity mask narrows the budget to one CPU. The mask is
// per thread, so a pinned thread reads it and the test's own stays as it was.
TEST(CpuBudgetAffinityTest, APinnedThreadHasOneCpu) {
  CpuBudget pinned;
  std::thread([&pinned] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
    pinned = ReadCpuBudget();
  }).join();
  EXPECT_EQ(pinned.affinity, 1);
  EXPECT_EQ(pinned.cpus, 1);
}

}  // namespace
}  // namespace attnserve
