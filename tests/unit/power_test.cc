// Power sources on fake sysfs/procfs trees, the energy meter's integration
// and fallback, and the per-request attribution arithmetic.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/telemetry/power/board_profiles.h"
#include "server/telemetry/power/cpu_busy_clock.h"
#include "server/telemetry/power/detect.h"
#include "server/telemetry/power/energy_meter.h"
#include "server/telemetry/power/estimate_source.h"
#include "server/telemetry/power/hwmon_source.h"
#include "server/telemetry/power/pmic_parse.h"
#include "server/telemetry/power/proc_stat.h"
#include "server/telemetry/power/rapl_source.h"
#include "server/telemetry/power/request_energy.h"
#include "server/telemetry/power/rpi_pmic_source.h"
#include "server/telemetry/power/run_command.h"

namespace attnserve::power {
namespace {

using ::testing::DoubleNear;
using ::testing::HasSubstr;

// A fresh directory per test, removed afterwards.
class FakeTree {
 public:
  FakeTree() {
    std::string tmpl = ::testing::TempDir() + "/power_test_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    root_ = ::mkdtemp(buf.data());
  }
  ~FakeTree() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }

  const std::string& root() const { return root_; }
  std::string Path(const std::string& rel) const { return root_ + "/" + rel; }

  void Write(const std::string& rel, const std::string& content) const {
    std::string path = Path(rel);
    std::filesystem::create_directories(path.substr(0, path.rfind('/')));
    std::ofstream(path) << content;
  }
  void Remove(const std::string& rel) const { std::filesystem::remove_all(Path(rel)); }
  // An executable shell script.
  std::string Script(const std::string& rel, const std::string& body) const {
    Write(rel, "#!/bin/sh\n" + body + "\n");
    ::chmod(Path(rel).c_str(), 0755);
    return Path(rel);
  }

 private:
  std::string root_;
};

// Real-looking Raspberry Pi 5 output (idle, 8 GB board).
constexpr char kPmicSample[] =
    " 3V7_WL_SW_A current(0)=0.00780744A\n"
    "   3V3_SYS_A current(1)=0.12199130A\n"
    "   1V8_SYS_A current(2)=0.24300660A\n"
    "  DDR_VDD2_A current(3)=0.02147046A\n"
    "  DDR_VDDQ_A current(4)=0.00000000A\n"
    "   1V1_SYS_A current(5)=0.18640260A\n"
    "   0V8_SW_A current(6)=0.26935670A\n"
    "  VDD_CORE_A current(7)=0.75012000A\n"
    "   3V3_DAC_A current(17)=0.00006105A\n"
    "   3V3_ADC_A current(18)=0.00036630A\n"
    "   0V8_AON_A current(16)=0.00305250A\n"
    "      HDMI_A current(22)=0.02417580A\n"
    " 3V7_WL_SW_V volt(8)=3.69977600V\n"
    "   3V3_SYS_V volt(9)=3.31003300V\n"
    "   1V8_SYS_V volt(10)=1.80512600V\n"
    "  DDR_VDD2_V volt(11)=1.10476100V\n"
    "  DDR_VDDQ_V volt(12)=0.60146460V\n"
    "   1V1_SYS_V volt(13)=1.11025500V\n"
    "   0V8_SW_V volt(14)=0.80146440V\n"
    "  VDD_CORE_V volt(15)=0.86173300V\n"
    "   3V3_DAC_V volt(20)=3.31318300V\n"
    "   3V3_ADC_V volt(21)=3.30677300V\n"
    "   0V8_AON_V volt(19)=0.80029220V\n"
    "      HDMI_V volt(23)=5.08664000V\n"
    "     EXT5V_V volt(24)=5.09066000V\n"
    "      BATT_V volt(25)=0.00000000V\n";

double PmicSampleWatts() {
  return 0.00780744 * 3.69977600 + 0.12199130 * 3.31003300 + 0.24300660 * 1.80512600 +
         0.02147046 * 1.10476100 + 0.0 * 0.60146460 + 0.18640260 * 1.11025500 +
         0.26935670 * 0.80146440 + 0.75012000 * 0.86173300 + 0.00006105 * 3.31318300 +
         0.00036630 * 3.30677300 + 0.00305250 * 0.80029220 + 0.02417580 * 5.08664000;
}

// /proc/stat with `cpus` CPUs; the aggregate line's fields as given.
std::string ProcStat(int cpus, uint64_t user, uint64_t system, uint64_t idle, uint64_t irq = 0,
                     uint64_t steal = 0, uint64_t guest = 0) {
  std::string out = absl::StrCat("cpu  ", user, " 0 ", system, " ", idle, " 0 ", irq, " 0 ", steal,
                                 " ", guest, " 0\n");
  for (int i = 0; i < cpus; ++i) absl::StrAppend(&out, "cpu", i, " 1 0 1 1 0 0 0 0 0 0\n");
  absl::StrAppend(&out, "intr 12345\nctxt 999\nbtime 1700000000\n");
  return out;
}

void WriteRaplDomain(const FakeTree& t, const std::string& dir, const std::string& name,
                     uint64_t energy_uj, uint64_t max_range_uj) {
  t.Write(dir + "/name", name + "\n");
  t.Write(dir + "/energy_uj", absl::StrCat(energy_uj, "\n"));
  t.Write(dir + "/max_energy_range_uj", absl::StrCat(max_range_uj, "\n"));
}

// ---------------------------------------------------------------- RAPL

TEST(CounterDeltaTest, ForwardWrapAndUnknownRange) {
  EXPECT_EQ(CounterDelta(100, 250, 1000), 150u);
  EXPECT_EQ(CounterDelta(900, 50, 1000), 150u);  // 100 to the top, 50 after the wrap
  EXPECT_EQ(CounterDelta(900, 50, 0), 50u);      // unknown range: restart from 0
  EXPECT_EQ(CounterDelta(5, 5, 1000), 0u);
}

TEST(RaplSourceTest, SumsPackagesSkipsSubdomainsAndUndoesWrap) {
  FakeTree t;
  WriteRaplDomain(t, "intel-rapl:0", "package-0", 1'000'000, 10'000'000);
  WriteRaplDomain(t, "intel-rapl:0/intel-rapl:0:0", "core", 500'000, 10'000'000);
  WriteRaplDomain(t, "intel-rapl:0:0", "core", 500'000, 10'000'000);  // flat sysfs link
  WriteRaplDomain(t, "intel-rapl:1", "package-1", 9'500'000, 10'000'000);
  WriteRaplDomain(t, "intel-rapl:2", "psys", 1, 10'000'000);
  WriteRaplDomain(t, "intel-rapl-mmio:0", "package-0", 1, 10'000'000);

  absl::StatusOr<std::unique_ptr<RaplSource>> rapl = RaplSource::Create(t.root());
  ASSERT_TRUE(rapl.ok()) << rapl.status();
  EXPECT_EQ((*rapl)->name(), "rapl");
  absl::StatusOr<PowerSample> s0 = (*rapl)->Read();
  ASSERT_TRUE(s0.ok()) << s0.status();
  ASSERT_TRUE(s0->energy_joules.has_value());
  EXPECT_DOUBLE_EQ(*s0->energy_joules, 0.0);
  EXPECT_FALSE(s0->power_watts.has_value());

  // Package 0 +2 J; package 1 wraps: 0.5 J to the top, then 1 J.
  t.Write("intel-rapl:0/energy_uj", "3000000\n");
  t.Write("intel-rapl:1/energy_uj", "1000000\n");
  t.Write("intel-rapl:0:0/energy_uj", "9999999\n");  // a subdomain: ignored
  t.Write("intel-rapl:2/energy_uj", "9999999\n");    // psys: ignored
  absl::StatusOr<PowerSample> s1 = (*rapl)->Read();
  ASSERT_TRUE(s1.ok()) << s1.status();
  EXPECT_NEAR(*s1->energy_joules, 2.0 + 0.5 + 1.0, 1e-9);

  t.Write("intel-rapl:0/energy_uj", "4000000\n");
  absl::StatusOr<PowerSample> s2 = (*rapl)->Read();
  ASSERT_TRUE(s2.ok());
  EXPECT_NEAR(*s2->energy_joules, 4.5, 1e-9);
}

TEST(RaplSourceTest, NoPackageIsNotFoundAndGarbageNamesTheFile) {
  FakeTree t;
  WriteRaplDomain(t, "intel-rapl:0", "psys", 1, 10);
  absl::StatusOr<std::unique_ptr<RaplSource>> rapl = RaplSource::Create(t.root());
  EXPECT_TRUE(absl::IsNotFound(rapl.status())) << rapl.status();

  FakeTree u;
  WriteRaplDomain(u, "intel-rapl:0", "package-0", 1, 10);
  u.Write("intel-rapl:0/energy_uj", "twelve\n");
  rapl = RaplSource::Create(u.root());
  ASSERT_FALSE(rapl.ok());
  EXPECT_THAT(std::string(rapl.status().message()), HasSubstr("intel-rapl:0/energy_uj"));
  EXPECT_THAT(std::string(rapl.status().message()), HasSubstr("twelve"));

  EXPECT_FALSE(RaplSource::Create(u.Path("missing")).ok());
}

// ---------------------------------------------------------------- hwmon

// Jetson Orin Nano: the upstream ina3221 driver, voltage and current only.
void WriteJetsonIna3221(const FakeTree& t, const std::string& dir) {
  t.Write(dir + "/name", "ina3221\n");
  const char* labels[] = {"VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"};
  const int mv[] = {5000, 4800, 4900};
  const int ma[] = {1200, 300, 400};
  for (int i = 0; i < 3; ++i) {
    t.Write(absl::StrCat(dir, "/in", i + 1, "_label"), absl::StrCat(labels[i], "\n"));
    t.Write(absl::StrCat(dir, "/in", i + 1, "_input"), absl::StrCat(mv[i], "\n"));
    t.Write(absl::StrCat(dir, "/curr", i + 1, "_input"), absl::StrCat(ma[i], "\n"));
  }
  t.Write(dir + "/in4_input", "3300\n");  // a voltage without current: no channel
}

TEST(HwmonSourceTest, JetsonIna3221UsesVddInAlone) {
  FakeTree t;
  t.Write("hwmon0/name", "cpu_thermal\n");
  t.Write("hwmon0/temp1_input", "45000\n");
  WriteJetsonIna3221(t, "hwmon1");

  absl::StatusOr<std::vector<HwmonChannel>> all = ListHwmonChannels(t.root());
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 3u);

  absl::StatusOr<std::unique_ptr<HwmonSource>> hwmon = HwmonSource::Create(t.root(), "");
  ASSERT_TRUE(hwmon.ok()) << hwmon.status();
  ASSERT_EQ((*hwmon)->channels().size(), 1u);
  EXPECT_EQ((*hwmon)->channels()[0].label, "VDD_IN");
  absl::StatusOr<PowerSample> s = (*hwmon)->Read();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NEAR(*s->power_watts, 6.0, 1e-9);  // 5.0 V x 1.2 A
  EXPECT_FALSE(s->energy_joules.has_value());

  // A configured label picks that rail instead.
  hwmon = HwmonSource::Create(t.root(), "VDD_SOC");
  ASSERT_TRUE(hwmon.ok()) << hwmon.status();
  EXPECT_NEAR(*(*hwmon)->Read()->power_watts, 4.9 * 0.4, 1e-9);

  hwmon = HwmonSource::Create(t.root(), "VDD_GPU");
  ASSERT_FALSE(hwmon.ok());
  EXPECT_THAT(std::string(hwmon.status().message()), HasSubstr("ina3221/VDD_IN"));
}

TEST(HwmonSourceTest, SumsPowerChannelsOfSeveralBoardsAndSkipsGpus) {
  FakeTree t;
  t.Write("hwmon0/name", "ina219\n");
  t.Write("hwmon0/power1_input", "2500000\n");  // 2.5 W
  t.Write("hwmon1/name", "ina226\n");
  t.Write("hwmon1/power1_input", "1250000\n");
  t.Write("hwmon1/power1_label", "fan board\n");
  t.Write("hwmon2/name", "amdgpu\n");
  t.Write("hwmon2/power1_average", "30000000\n");
  t.Write("hwmon3/name", "power_meter\n");
  t.Write("hwmon3/power1_average", "750000\n");  // ACPI meters average

  absl::StatusOr<std::unique_ptr<HwmonSource>> hwmon = HwmonSource::Create(t.root(), "");
  ASSERT_TRUE(hwmon.ok()) << hwmon.status();
  EXPECT_EQ((*hwmon)->channels().size(), 3u);
  EXPECT_NEAR(*(*hwmon)->Read()->power_watts, 4.5, 1e-9);
}

TEST(HwmonSourceTest, EnergyCountersAccumulateAndSkipPerCoreCounters) {
  FakeTree t;
  t.Write("hwmon0/name", "amd_energy\n");
  t.Write("hwmon0/energy1_label", "Ecore000\n");
  t.Write("hwmon0/energy1_input", "100000000\n");
  t.Write("hwmon0/energy2_label", "Esocket0\n");
  t.Write("hwmon0/energy2_input", "500000000\n");

  absl::StatusOr<std::unique_ptr<HwmonSource>> hwmon = HwmonSource::Create(t.root(), "");
  ASSERT_TRUE(hwmon.ok()) << hwmon.status();
  ASSERT_EQ((*hwmon)->channels().size(), 1u);
  EXPECT_EQ((*hwmon)->channels()[0].label, "Esocket0");
  t.Write("hwmon0/energy2_input", "503000000\n");
  t.Write("hwmon0/energy1_input", "900000000\n");
  absl::StatusOr<PowerSample> s = (*hwmon)->Read();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->power_watts.has_value());
  EXPECT_NEAR(*s->energy_joules, 3.0, 1e-9);  // since Create's first read
}

TEST(HwmonSourceTest, NothingToReadIsNotFound) {
  FakeTree t;
  t.Write("hwmon0/name", "coretemp\n");
  t.Write("hwmon0/temp1_input", "40000\n");
  EXPECT_TRUE(absl::IsNotFound(HwmonSource::Create(t.root(), "").status()));
}

// ---------------------------------------------------------------- PMIC

TEST(PmicParseTest, PairsRailsByNameAndSumsPower) {
  absl::StatusOr<PmicReading> r = ParsePmicReadAdc(kPmicSample);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rails.size(), 12u);  // EXT5V and BATT have no current
  EXPECT_NEAR(r->watts, PmicSampleWatts(), 1e-9);
  bool found_core = false;
  for (const PmicRail& rail : r->rails) {
    if (rail.name != "VDD_CORE") continue;
    found_core = true;
    EXPECT_DOUBLE_EQ(rail.amps, 0.75012);
    EXPECT_DOUBLE_EQ(rail.volts, 0.861733);
  }
  EXPECT_TRUE(found_core);
}

TEST(PmicParseTest, SkipsBadLinesAndRejectsOutputWithoutRails) {
  absl::StatusOr<PmicReading> r = ParsePmicReadAdc(
      "  VDD_CORE_A current(7)=2.00000000A\n"
      "  VDD_CORE_V volt(15)=0.80000000V\n"
      "  BATT_V volt(25)=nanV\n"
      "  BAD_A volt(1)=3.0A\n"
      "  WORSE_V volt(2)=1.2.3V\n"
      "garbage line\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rails.size(), 1u);
  EXPECT_NEAR(r->watts, 1.6, 1e-12);

  absl::StatusOr<PmicReading> pi4 =
      ParsePmicReadAdc("error=1 error_msg=\"Command not registered\"\n");
  EXPECT_TRUE(absl::IsInvalidArgument(pi4.status()));
  EXPECT_THAT(std::string(pi4.status().message()), HasSubstr("Command not registered"));

  // Currents only (truncated output): nothing pairs.
  EXPECT_FALSE(ParsePmicReadAdc("  VDD_CORE_A current(7)=2.0A\n").ok());
  EXPECT_FALSE(ParsePmicReadAdc("").ok());
}

TEST(RpiPmicSourceTest, RunsTheCommandAndParsesIt) {
  FakeTree t;
  t.Write("pmic.txt", kPmicSample);
  std::string script = t.Script("vcgencmd", absl::StrCat("cat '", t.Path("pmic.txt"), "'"));
  absl::StatusOr<std::unique_ptr<RpiPmicSource>> pmic =
      RpiPmicSource::Create(script + " pmic_read_adc", absl::Seconds(5));
  ASSERT_TRUE(pmic.ok()) << pmic.status();
  EXPECT_EQ((*pmic)->name(), "rpi_pmic");
  absl::StatusOr<PowerSample> s = (*pmic)->Read();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NEAR(*s->power_watts, PmicSampleWatts(), 1e-9);
}

TEST(RpiPmicSourceTest, NeverHangsAndNamesTheCommand) {
  FakeTree t;
  std::string hang = t.Script("hang", "sleep 30");
  absl::Time start = absl::Now();
  absl::StatusOr<std::string> out = RunCommand({hang}, absl::Milliseconds(200));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_TRUE(absl::IsDeadlineExceeded(out.status())) << out.status();
  EXPECT_THAT(std::string(out.status().message()), HasSubstr(hang));

  absl::StatusOr<std::unique_ptr<RpiPmicSource>> pmic =
      RpiPmicSource::Create(hang, absl::Milliseconds(200));
  EXPECT_TRUE(absl::IsDeadlineExceeded(pmic.status()));

  pmic = RpiPmicSource::Create(t.Path("no-such-vcgencmd") + " pmic_read_adc", absl::Seconds(1));
  EXPECT_TRUE(absl::IsNotFound(pmic.status())) << pmic.status();

  std::string fails = t.Script("fails", "echo oops; exit 3");
  out = RunCommand({fails}, absl::Seconds(5));
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("status 3"));
}

// ---------------------------------------------------------------- estimate

TEST(ProcStatTest, BusyLeavesOutIdleIowaitAndGuest) {
  absl::StatusOr<CpuTimes> c = ParseProcStat(
      "cpu  100 20 30 1000 50 5 6 7 40 0\ncpu0 1 0 0 0 0 0 0 0 0 0\ncpu1 1 0 0 0 0 0 0 0 0 0\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->busy_ticks, 100u + 20 + 30 + 5 + 6 + 7);
  EXPECT_EQ(c->total_ticks, c->busy_ticks + 1000 + 50);
  EXPECT_EQ(c->num_cpus, 2);
  EXPECT_FALSE(ParseProcStat("intr 1\n").ok());
  EXPECT_FALSE(ParseProcStat("cpu  1 2 3\n").ok());
}

TEST(CpuBusyClockTest, ReadsBusySeconds) {
  FakeTree t;
  t.Write("stat", ProcStat(2, 300, 100, 5000, 10, 5, 50));
  CpuBusyClock clock(t.root());
  absl::StatusOr<double> busy = clock.BusySeconds();
  ASSERT_TRUE(busy.ok()) << busy.status();
  EXPECT_NEAR(*busy, (300 + 100 + 10 + 5) * SecondsPerTick(), 1e-12);
  EXPECT_FALSE(CpuBusyClock(t.Path("nowhere")).BusySeconds().ok());
}

TEST(CpuBusyClockTest, RereadsAtMostOncePerInterval) {
  FakeTree t;
  t.Write("stat", ProcStat(2, 300, 100, 5000, 10, 5, 50));
  CpuBusyClock clock(t.root(), absl::Hours(1));
  const double first = *clock.BusySeconds();
  t.Write("stat", ProcStat(2, 900, 100, 5000, 10, 5, 50));
  EXPECT_EQ(*clock.BusySeconds(), first);  // within the interval: cached
  CpuBusyClock eager(t.root(), absl::ZeroDuration());
  EXPECT_GT(*eager.BusySeconds(), first);
}

TEST(BoardProfileTest, DetectsFromDeviceTreeOrCpuinfo) {
  FakeTree pi5;
  pi5.Write("device-tree/model", std::string("Raspberry Pi 5 Model B Rev 1.0") + '\0');
  EXPECT_EQ(DetectBoardProfile(pi5.root()).name, "rpi5");
  FakeTree pi4;
  pi4.Write("device-tree/model", std::string("Raspberry Pi 4 Model B Rev 1.4") + '\0');
  EXPECT_EQ(DetectBoardProfile(pi4.root()).name, "rpi4");
  FakeTree orin;
  orin.Write("device-tree/model", std::string("NVIDIA Jetson Orin Nano Developer Kit") + '\0');
  EXPECT_EQ(DetectBoardProfile(orin.root()).name, "jetson_orin_nano");
  FakeTree other_arm;
  other_arm.Write("device-tree/model", std::string("Radxa ROCK 5B") + '\0');
  EXPECT_EQ(DetectBoardProfile(other_arm.root()).name, "generic_arm");
  FakeTree x86;
  x86.Write("cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\n");
  EXPECT_EQ(DetectBoardProfile(x86.root()).name, "generic_x86");
  FakeTree arm;
  arm.Write("cpuinfo", "processor\t: 0\nBogoMIPS\t: 108.00\nCPU implementer\t: 0x41\n");
  EXPECT_EQ(DetectBoardProfile(arm.root()).name, "generic_arm");

  EXPECT_TRUE(absl::IsNotFound(FindBoardProfile("pi9").status()));
  for (const BoardProfile& p : BoardProfiles()) {
    EXPECT_GT(p.max_watts, p.idle_watts) << p.name;
    EXPECT_GT(p.idle_watts, 0) << p.name;
  }
}

TEST(EstimateSourceTest, IdlePlusActiveWattsPerBusyCore) {
  FakeTree t;
  t.Write("stat", ProcStat(4, 0, 0, 1000));
  PowerConfig config;
  config.proc_root = t.root();
  config.board_profile = "rpi5";
  absl::StatusOr<std::unique_ptr<EstimateSource>> est = EstimateSource::Create(config);
  ASSERT_TRUE(est.ok()) << est.status();
  (*est)->set_min_stat_interval(absl::ZeroDuration());
  const double idle = 3.0, per_core = (7.5 - 3.0) / 4;
  EXPECT_DOUBLE_EQ((*est)->active_watts_per_core(), per_core);
  EXPECT_EQ((*est)->name(), "estimate");
  EXPECT_NEAR(*(*est)->Read()->power_watts, idle, 1e-9);  // nothing moved: previous power

  // 400 ticks pass, 200 of them busy: half of 4 CPUs = 2 busy cores.
  t.Write("stat", ProcStat(4, 150, 50, 1200));
  EXPECT_NEAR(*(*est)->Read()->power_watts, idle + 2 * per_core, 1e-9);
  // All busy.
  t.Write("stat", ProcStat(4, 550, 50, 1200));
  EXPECT_NEAR(*(*est)->Read()->power_watts, 7.5, 1e-9);
  // Idle again.
  t.Write("stat", ProcStat(4, 550, 50, 1600));
  EXPECT_NEAR(*(*est)->Read()->power_watts, idle, 1e-9);

  config.board_profile = "generic_x86";
  config.idle_watts = 5;
  config.max_watts = 25;
  est = EstimateSource::Create(config);
  ASSERT_TRUE(est.ok());
  EXPECT_DOUBLE_EQ((*est)->active_watts_per_core(), 5.0);  // (25 - 5) / this tree's 4 CPUs
  config.max_watts = 1;
  EXPECT_TRUE(absl::IsInvalidArgument(EstimateSource::Create(config).status()));
  config.board_profile = "pi9";
  EXPECT_FALSE(EstimateSource::Create(config).ok());
}

// ---------------------------------------------------------------- detection

TEST(DetectTest, TriesRaplHwmonPmicThenEstimate) {
  FakeTree t;
  t.Write("proc/stat", ProcStat(2, 10, 10, 100));
  t.Write("proc/cpuinfo", "vendor_id\t: GenuineIntel\n");
  PowerConfig config;
  config.powercap_root = t.Path("powercap");
  config.hwmon_root = t.Path("hwmon");
  config.pmic_command = t.Path("no-vcgencmd") + " pmic_read_adc";
  config.proc_root = t.Path("proc");

  std::vector<std::string> notes;
  absl::StatusOr<std::unique_ptr<PowerSource>> s = DetectPowerSource(config, &notes);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->name(), "estimate");
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_THAT(notes[0], HasSubstr("rapl"));
  EXPECT_THAT(notes[1], HasSubstr("hwmon"));
  EXPECT_THAT(notes[2], HasSubstr("rpi_pmic"));

  t.Write("pmic.txt", kPmicSample);
  config.pmic_command = t.Script("vcgencmd", absl::StrCat("cat '", t.Path("pmic.txt"), "'"));
  EXPECT_EQ((*DetectPowerSource(config))->name(), "rpi_pmic");

  t.Write("hwmon/hwmon0/name", "ina219\n");
  t.Write("hwmon/hwmon0/power1_input", "2000000\n");
  EXPECT_EQ((*DetectPowerSource(config))->name(), "hwmon");

  WriteRaplDomain(t, "powercap/intel-rapl:0", "package-0", 5, 100);
  EXPECT_EQ((*DetectPowerSource(config))->name(), "rapl");

  config.source = "estimate";
  EXPECT_EQ((*DetectPowerSource(config))->name(), "estimate");
  config.source = "hwmon";
  EXPECT_EQ((*DetectPowerSource(config))->name(), "hwmon");
  // A named source that fails is an error, not a silent estimate.
  t.Remove("hwmon");
  EXPECT_FALSE(DetectPowerSource(config).ok());
  config.source = "battery";
  EXPECT_TRUE(absl::IsInvalidArgument(DetectPowerSource(config).status()));
}

// ---------------------------------------------------------------- meter

// A source whose readings the test scripts.
class ScriptedSource : public PowerSource {
 public:
  explicit ScriptedSource(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  absl::Duration min_read_interval() const override { return absl::ZeroDuration(); }
  absl::StatusOr<PowerSample> Read() override {
    ++reads;
    if (fail) return absl::UnavailableError("scripted failure");
    return next;
  }
  PowerSample next;
  bool fail = false;
  int reads = 0;

 private:
  std::string name_;
};

absl::Time T(double seconds) { return absl::UnixEpoch() + absl::Seconds(seconds); }

TEST(EnergyMeterTest, IntegratesPowerWithTrapezoids) {
  auto owned = std::make_unique<ScriptedSource>("hwmon");
  ScriptedSource* src = owned.get();
  EnergyMeter meter(std::move(owned), nullptr, {});
  src->next.time = T(0);
  src->next.power_watts = 2.0;
  EXPECT_DOUBLE_EQ(meter.Sample().energy_joules, 0.0);
  src->next.time = T(2);
  src->next.power_watts = 4.0;
  EnergyReading r = meter.Sample();
  EXPECT_DOUBLE_EQ(r.energy_joules, 6.0);  // (2 + 4) / 2 x 2 s
  EXPECT_DOUBLE_EQ(r.power_watts, 4.0);
  EXPECT_EQ(r.source, "hwmon");
  EXPECT_EQ(meter.source_name(), "hwmon");
}

TEST(EnergyMeterTest, UsesCountersAndTheirRate) {
  auto owned = std::make_unique<ScriptedSource>("rapl");
  ScriptedSource* src = owned.get();
  EnergyMeter meter(std::move(owned), nullptr, {});
  src->next.time = T(10);
  src->next.energy_joules = 100.0;
  meter.Sample();
  src->next.time = T(12);
  src->next.energy_joules = 130.0;
  EnergyReading r = meter.Sample();
  EXPECT_DOUBLE_EQ(r.energy_joules, 30.0);
  EXPECT_DOUBLE_EQ(r.power_watts, 15.0);
}

TEST(EnergyMeterTest, ReusesReadingsInsideTheSourceInterval) {
  FakeTree t;
  t.Write("hwmon0/name", "ina219\n");
  t.Write("hwmon0/power1_input", "2000000\n");
  absl::Time now = T(100);
  EnergyMeter meter(*HwmonSource::Create(t.root(), ""), nullptr, {}, [&] { return now; });
  EXPECT_DOUBLE_EQ(meter.Sample().power_watts, 2.0);
  t.Write("hwmon0/power1_input", "3000000\n");
  now += absl::Milliseconds(5);  // inside hwmon's 10 ms
  EXPECT_DOUBLE_EQ(meter.Sample().power_watts, 2.0);
  now += absl::Milliseconds(10);
  EXPECT_DOUBLE_EQ(meter.Sample().power_watts, 3.0);
}

TEST(EnergyMeterTest, FallsBackToTheEstimateWhenTheSourceDisappears) {
  FakeTree t;
  WriteRaplDomain(t, "powercap/intel-rapl:0", "package-0", 1'000'000, 100'000'000);
  t.Write("proc/stat", ProcStat(2, 10, 10, 100));
  t.Write("proc/cpuinfo", "vendor_id\t: GenuineIntel\n");
  PowerConfig config;
  config.powercap_root = t.Path("powercap");
  config.proc_root = t.Path("proc");
  config.board_profile = "generic_x86";

  absl::StatusOr<std::unique_ptr<PowerSource>> rapl = DetectPowerSource(config);
  ASSERT_TRUE(rapl.ok()) << rapl.status();
  ASSERT_EQ((*rapl)->name(), "rapl");
  absl::StatusOr<std::unique_ptr<EstimateSource>> estimate = EstimateSource::Create(config);
  ASSERT_TRUE(estimate.ok()) << estimate.status();
  std::vector<std::string> log;
  EnergyMeter meter(std::move(*rapl), std::move(*estimate),
                    [&](const std::string& line) { log.push_back(line); });

  EnergyReading r0 = meter.Sample();
  EXPECT_EQ(r0.source, "rapl");
  t.Write("powercap/intel-rapl:0/energy_uj", "3000000\n");
  absl::SleepFor(absl::Milliseconds(2));
  EnergyReading r1 = meter.Sample();
  EXPECT_NEAR(r1.energy_joules, 2.0, 1e-9);

  t.Remove("powercap");
  absl::SleepFor(absl::Milliseconds(2));
  EnergyReading r2 = meter.Sample();
  EXPECT_EQ(r2.source, "estimate");
  EXPECT_EQ(meter.source_name(), "estimate");
  EXPECT_GE(r2.energy_joules, r1.energy_joules);
  EXPECT_GE(r2.power_watts, 10.0);  // at least the generic x86 idle
  ASSERT_EQ(log.size(), 1u);
  EXPECT_THAT(log[0], HasSubstr("rapl"));
  EXPECT_THAT(log[0], HasSubstr("energy_uj"));
  EXPECT_THAT(log[0], HasSubstr("estimate"));

  // Keeps working, energy keeps growing, and nothing more is logged.
  double last = r2.energy_joules;
  for (int i = 0; i < 3; ++i) {
    absl::SleepFor(absl::Milliseconds(15));
    EnergyReading r = meter.Sample();
    EXPECT_EQ(r.source, "estimate");
    EXPECT_GT(r.energy_joules, last);
    last = r.energy_joules;
  }
  EXPECT_EQ(log.size(), 1u);
}

TEST(EnergyMeterTest, WithoutAFallbackHoldsTheLastPowerAndLogsOnce) {
  auto owned = std::make_unique<ScriptedSource>("hwmon");
  ScriptedSource* src = owned.get();
  absl::Time now = T(0);
  int logs = 0;
  EnergyMeter meter(
      std::move(owned), nullptr, [&](const std::string&) { ++logs; }, [&] { return now; });
  src->next.time = T(0);
  src->next.power_watts = 5.0;
  meter.Sample();
  src->fail = true;
  now = T(1);
  EXPECT_DOUBLE_EQ(meter.Sample().energy_joules, 5.0);
  now = T(2);
  EXPECT_DOUBLE_EQ(meter.Sample().energy_joules, 10.0);
  EXPECT_EQ(logs, 1);
}

TEST(EnergyMeterTest, BackgroundSamplingKeepsReadsOffTheCaller) {
  auto owned = std::make_unique<ScriptedSource>("rpi_pmic");
  ScriptedSource* src = owned.get();
  src->next.time = absl::Now();
  src->next.power_watts = 4.0;
  EnergyMeter meter(std::move(owned), nullptr, {});
  meter.StartBackgroundSampling(absl::Milliseconds(5));
  absl::SleepFor(absl::Milliseconds(100));
  EnergyReading r = meter.Sample();
  EXPECT_EQ(r.source, "rpi_pmic");
  EXPECT_DOUBLE_EQ(r.power_watts, 4.0);
  EXPECT_EQ(meter.source_name(), "rpi_pmic");
  // The scripted source is read only by the thread (its fields are not
  // synchronised, so the count is not inspected while it runs).
}

// ---------------------------------------------------------------- attribution

TEST(AttributionTest, ShareOfBusyTimeClampedToTheIntervalEnergy) {
  EXPECT_DOUBLE_EQ(AttributeEnergyJoules(10.0, 0.5, 2.0), 2.5);     // a quarter
  EXPECT_DOUBLE_EQ(AttributeEnergyJoules(10.0, 2.0, 2.0), 10.0);    // all of it
  EXPECT_DOUBLE_EQ(AttributeEnergyJoules(10.0, 3.0, 2.0), 10.0);    // tick rounding: clamped
  EXPECT_DOUBLE_EQ(AttributeEnergyJoules(10.0, 0.004, 0.0), 10.0);  // no tick elapsed
  EXPECT_DOUBLE_EQ(AttributeEnergyJoules(10.0, 0.0, 2.0), 0.0);
  EXPECT_DOUBLE_EQ(AttributeEnergyJoules(10.0, 0.0, 0.0), 0.0);
  EXPECT_DOUBLE_EQ(AttributeEnergyJoules(0.0, 1.0, 2.0), 0.0);
  EXPECT_DOUBLE_EQ(AttributeEnergyJoules(-1.0, 1.0, 2.0), 0.0);
}

TEST(AttributionTest, IntervalEnergyFromCountersOrPowerTimesWallTime) {
  EnergyReading a, b;
  a.time = T(1);
  a.energy_joules = 10;
  b.time = T(2);
  b.energy_joules = 14;
  b.power_watts = 3;
  EXPECT_DOUBLE_EQ(IntervalJoules(a, b, absl::Milliseconds(900)), 4.0);
  // Same reading on both ends: power x wall time.
  EXPECT_DOUBLE_EQ(IntervalJoules(b, b, absl::Milliseconds(5)), 0.015);
}

TEST(AttributionTest, SpanAttributesTheRequestShare) {
  FakeTree t;
  t.Write("stat", ProcStat(2, 100, 0, 1000));
  auto owned = std::make_unique<ScriptedSource>("rapl");
  ScriptedSource* src = owned.get();
  EnergyMeter meter(std::move(owned), nullptr, {});
  CpuBusyClock clock(t.root(), absl::ZeroDuration());  // read on every call
  RequestEnergyAttributor attributor(&meter, &clock);

  src->next.time = T(0);
  src->next.energy_joules = 0;
  meter.Sample();
  src->next.time = T(1);
  src->next.energy_joules = 20;
  EnergySpan span = attributor.BeginSpan();
  // The machine does 40 ticks of busy work during the request.
  t.Write("stat", ProcStat(2, 140, 0, 1000));
  src->next.time = T(2);
  src->next.energy_joules = 30;                // 10 J during the request
  double request_cpu = 10 * SecondsPerTick();  // a quarter of the busy time
  EXPECT_NEAR(attributor.EndSpanMillijoules(span, request_cpu), 2500.0, 1e-6);
}

}  // namespace
}  // namespace attnserve::power
