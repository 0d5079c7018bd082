// Where one short request's time goes (docs/PERFORMANCE.md, "Short texts:
// where a 16-token request's time goes"). Part 1: Engine::Embed on one real
// text (tokenizer included), one thread, f32 and int8 dense layers, with the
// engine's phase timers on (engine/util/run_profile.h) and time inside
// malloc recorded by a counting allocator (tests/support/counting_malloc.h).
// Part 2: the same request with the timers off, the engine keeping its
// per-thread buffers (the default) against freeing them after every run
// (--no-reuse's behaviour: what every run did before), in alternating blocks
// of one run, with the allocations per request.
//
// Wall-clock times on a shared machine: each figure is over the middle half
// of the requests ranked by total time (the median's neighbourhood, so that
// the phase columns still add up to the total).
//
//   request_profile [--model models/use-lite] [--inputs bench/data/inputs.json]
//                   [--reps 2000] [--ab-cases tok16,tok128] [--profile-case tok16]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "engine/engine.h"
#include "engine/util/run_profile.h"
#include "engine/util/thread_scratch.h"
#include "nlohmann/json.hpp"
#include "tests/support/counting_malloc.h"

namespace attnserve {
namespace {

using Clock = std::chrono::steady_clock;

// Time inside malloc goes to the kAllocation phase of the profiled run.
void BeginAllocation() {
  if (t_run_profile != nullptr) t_run_profile->Begin(ProfilePhase::kAllocation);
}
void EndAllocation() {
  if (t_run_profile != nullptr) t_run_profile->End();
}

std::string FirstLineOf(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// "model name" of the CPU and whether it has AMX.
std::string CpuDescription() {
  std::ifstream cpu("/proc/cpuinfo");
  std::string line, model, flags;
  while (std::getline(cpu, line)) {
    if (model.empty() && line.rfind("model name", 0) == 0) model = line.substr(line.find(':') + 2);
    if (flags.empty() && line.rfind("flags", 0) == 0) flags = line;
  }
  const bool amx = flags.find(" amx_tile") != std::string::npos;
  const bool vnni = flags.find(" avx512_vnni") != std::string::npos;
  return model + (vnni ? ", AVX-512 VNNI" : "") + (amx ? ", AMX" : ", no AMX");
}

// Indices of the middle half of `totals` by value.
std::vector<size_t> MiddleHalf(const std::vector<double>& totals) {
  std::vector<size_t> order(totals.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return totals[a] < totals[b]; });
  const size_t quarter = order.size() / 4;
  return {order.begin() + static_cast<std::ptrdiff_t>(quarter),
          order.end() - static_cast<std::ptrdiff_t>(quarter)};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

RunOptions Options(LinearPrecision precision) {
  RunOptions options;
  options.num_threads = 1;
  options.linear_precision = precision;
  return options;
}

struct Profiled {
  double total_ms = 0;  // middle-half mean
  double median_ms = 0;
  double phase_ms[RunProfile::kMaxLayers + 1][RunProfile::kPhases] = {};
  double allocations = 0;  // per request
};

Profiled ProfileRequests(const Engine& engine, const std::vector<std::string>& texts,
                         LinearPrecision precision, int reps) {
  const RunOptions options = Options(precision);
  for (int i = 0; i < 50; ++i) (void)engine.Embed(texts, options);  // packs, JIT, buffers
  std::vector<RunProfile> profiles(reps);
  std::vector<double> totals(reps);
  const int64_t allocations_before = testing::AllocationCount();
  testing::SetAllocationHooks({BeginAllocation, EndAllocation});
  for (int r = 0; r < reps; ++r) {
    const ProfileThisThread on(&profiles[r]);
    const auto start = Clock::now();
    const absl::StatusOr<EmbedResult> result = engine.Embed(texts, options);
    totals[r] = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!result.ok()) std::fprintf(stderr, "embed: %s\n", result.status().ToString().c_str());
  }
  testing::SetAllocationHooks({});
  Profiled out;
  out.allocations = static_cast<double>(testing::AllocationCount() - allocations_before) / reps;
  out.median_ms = Median(totals);
  const std::vector<size_t> middle = MiddleHalf(totals);
  for (size_t r : middle) {
    out.total_ms += totals[r] / middle.size();
    for (int row = 0; row <= RunProfile::kMaxLayers; ++row) {
      for (int p = 0; p < RunProfile::kPhases; ++p) {
        out.phase_ms[row][p] += profiles[r].ns[row][p] * 1e-6 / middle.size();
      }
    }
  }
  return out;
}

struct Column {
  std::string label;
  Profiled run;
};

void PrintProfile(const std::string& what, const std::vector<Column>& columns, int layers) {
  std::printf("\n## %s: where the time goes (ms; middle half of the requests by total time)\n\n",
              what.c_str());
  std::printf("| phase |");
  for (const Column& c : columns) std::printf(" %s ms | %% |", c.label.c_str());
  std::printf("\n|---|");
  for (size_t i = 0; i < columns.size(); ++i) std::printf("---:|---:|");
  std::printf("\n");
  std::vector<double> attributed(columns.size(), 0.0);
  const auto row = [&](const std::string& name, int layer_row, ProfilePhase phase) {
    std::printf("| %s |", name.c_str());
    for (size_t i = 0; i < columns.size(); ++i) {
      const double ms = columns[i].run.phase_ms[layer_row][static_cast<int>(phase)];
      attributed[i] += ms;
      std::printf(" %.3f | %.1f%% |", ms, 100 * ms / columns[i].run.total_ms);
    }
    std::printf("\n");
  };
  const auto sum_row = [&](const std::string& name, const std::vector<double>& ms) {
    std::printf("| %s |", name.c_str());
    for (size_t i = 0; i < columns.size(); ++i) {
      std::printf(" %.3f | %.1f%% |", ms[i], 100 * ms[i] / columns[i].run.total_ms);
    }
    std::printf("\n");
  };
  const ProfilePhase in_layer[] = {
      ProfilePhase::kLayerNorm,    ProfilePhase::kResidual,   ProfilePhase::kQkvGemm,
      ProfilePhase::kAttention,    ProfilePhase::kSoftmax,    ProfilePhase::kOutputProjection,
      ProfilePhase::kFfnGemms,     ProfilePhase::kActivation, ProfilePhase::kQuantize,
      ProfilePhase::kRescale,      ProfilePhase::kGemmSetup,  ProfilePhase::kAllocation,
      ProfilePhase::kThreadHandoff};
  row(ProfilePhaseName(ProfilePhase::kTokenize), 0, ProfilePhase::kTokenize);
  row(ProfilePhaseName(ProfilePhase::kEmbeddingLookup), 0, ProfilePhase::kEmbeddingLookup);
  for (int layer = 0; layer < layers; ++layer) {
    const std::vector<double> before = attributed;
    const std::string prefix = "layer " + std::to_string(layer);
    for (ProfilePhase p : in_layer) row(prefix + ": " + ProfilePhaseName(p), layer + 1, p);
    std::vector<double> sum(columns.size());
    for (size_t i = 0; i < columns.size(); ++i) sum[i] = attributed[i] - before[i];
    sum_row("**" + prefix + " total**", sum);
  }
  for (ProfilePhase p :
       {ProfilePhase::kPooling, ProfilePhase::kAllocation, ProfilePhase::kThreadHandoff,
        ProfilePhase::kCpuClock, ProfilePhase::kGemmSetup}) {
    row(std::string(ProfilePhaseName(p)) + " (outside layers)", 0, p);
  }
  std::vector<double> other(columns.size()), total(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) {
    total[i] = columns[i].run.total_ms;
    other[i] = total[i] - attributed[i];
  }
  sum_row("other (validation, clipping, stats, result)", other);
  sum_row("**request total**", total);
  std::printf("\n| | ");
  for (const Column& c : columns) std::printf("%s | ", c.label.c_str());
  std::printf("\n|---|");
  for (size_t i = 0; i < columns.size(); ++i) std::printf("---:|");
  std::printf("\n| median request ms (profiled) | ");
  for (const Column& c : columns) std::printf("%.3f | ", c.run.median_ms);
  std::printf("\n| allocations per request (tokenizer and result included) | ");
  for (const Column& c : columns) std::printf("%.1f | ", c.run.allocations);
  std::printf("\n");
}

// Keeping buffers (the default) against freeing them after every run, in
// alternating blocks so drift on the shared machine hits both alike.
void ReuseAB(const Engine& engine, const std::string& name, const std::vector<std::string>& texts,
             LinearPrecision precision, int reps) {
  const RunOptions options = Options(precision);
  constexpr int kBlock = 20;
  std::vector<double> ms[2];
  int64_t allocations[2] = {0, 0};
  for (int block = 0; block * kBlock < 2 * reps; ++block) {
    const int keep = block % 2 == 0 ? 1 : 0;
    SetKeepThreadScratch(keep == 1);
    for (int i = 0; i < 2; ++i) (void)engine.Embed(texts, options);  // settle the mode
    for (int i = 0; i < kBlock; ++i) {
      const int64_t before = testing::AllocationCount();
      const auto start = Clock::now();
      (void)engine.Embed(texts, options);
      ms[keep].push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      allocations[keep] += testing::AllocationCount() - before;
    }
  }
  SetKeepThreadScratch(true);
  const double kept = Median(ms[1]), freed = Median(ms[0]);
  std::printf("| %s | %s | %.3f | %.0f | %.3f | %.0f | %.3f |\n", name.c_str(),
              std::string(LinearPrecisionName(precision)).c_str(), freed,
              static_cast<double>(allocations[0]) / ms[0].size(), kept,
              static_cast<double>(allocations[1]) / ms[1].size(), kept / freed);
}

int Main(int argc, char** argv) {
  std::string model = "models/use-lite", inputs = "bench/data/inputs.json";
  std::string ab_cases = "tok16,tok128", profile_case = "tok16";
  int reps = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--model") {
      model = argv[i + 1];
    } else if (flag == "--inputs") {
      inputs = argv[i + 1];
    } else if (flag == "--reps") {
      reps = std::max(8, std::atoi(argv[i + 1]));
    } else if (flag == "--ab-cases") {
      ab_cases = argv[i + 1];
    } else if (flag == "--profile-case") {
      profile_case = argv[i + 1];
    } else {
      std::fprintf(stderr, "request_profile: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  EngineConfig config;
  config.model_dir = model;
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Load(config);
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", engine.status().ToString().c_str());
    return 1;
  }
  std::ifstream in(inputs);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", inputs.c_str());
    return 1;
  }
  const nlohmann::json cases = nlohmann::json::parse(in)["cases"];
  const auto texts_of = [&](const std::string& name) {
    for (const auto& c : cases) {
      if (c["name"] == name) return c["texts"].get<std::vector<std::string>>();
    }
    return std::vector<std::string>();
  };

  std::printf("# request_profile: %s, one thread\n\nCPU: %s; load average before: %s\n",
              (*engine)->model_info().name.c_str(), CpuDescription().c_str(),
              FirstLineOf("/proc/loadavg").c_str());
  if (!testing::CountingMallocActive()) std::printf("(allocation counting compiled out)\n");

  const std::vector<std::string> profiled = texts_of(profile_case);
  if (profiled.empty()) {
    std::fprintf(stderr, "request_profile: %s has no case %s\n", inputs.c_str(),
                 profile_case.c_str());
    return 2;
  }
  const absl::StatusOr<std::vector<int32_t>> ids = (*engine)->Tokenize(profiled.at(0));
  // Kept buffers (the default), then freed after every run (as before).
  std::vector<Column> columns;
  for (const bool keep : {true, false}) {
    SetKeepThreadScratch(keep);
    for (LinearPrecision p : {LinearPrecision::kF32, LinearPrecision::kInt8}) {
      columns.push_back({std::string(LinearPrecisionName(p)) + (keep ? " kept" : " freed"),
                         ProfileRequests(**engine, profiled, p, reps)});
    }
  }
  SetKeepThreadScratch(true);
  PrintProfile(profile_case + " (" + std::to_string(ids.ok() ? ids->size() : 0) + " tokens)",
               columns, (*engine)->model_info().num_layers);

  std::printf(
      "\n## Buffers kept per thread (default) vs freed after every run (as before), timers off\n\n"
      "| case | dense layers | freed: median ms | allocations | kept: median ms | allocations "
      "| kept / freed |\n|---|---|---:|---:|---:|---:|---:|\n");
  for (const absl::string_view name : absl::StrSplit(ab_cases, ',')) {
    const std::vector<std::string> texts = texts_of(std::string(name));
    if (texts.empty()) continue;
    for (LinearPrecision p : {LinearPrecision::kF32, LinearPrecision::kInt8}) {
      ReuseAB(**engine, std::string(name), texts, p, reps);
    }
  }
  std::printf("\nLoad average after: %s\n", FirstLineOf("/proc/loadavg").c_str());
  return 0;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) { return attnserve::Main(argc, argv); }
