// eval_quality: the quality evaluation grid (docs/QUALITY.md). For each test
// set, every configuration of quality::ClassificationGrid() classifies each
// text alone (one thread, batch 1, end-to-end latency = tokenize + forward +
// head) and the rows go to a JSON list and a Markdown table; then long prose
// passages (512 / 2,048 / 4,096 tokens) are embedded under
// quality::LongGrid() for the cosine to dense and the speed-up. Progress on
// stderr.
//
//   eval_quality --heads build-quality/heads [--data data] [--model DIR]
//                [--datasets imdb,yelp,amazon,spam_assassin] [--max-texts 600]
//                [--configs a,b] [--long-configs a,b] [--lengths 512,2048,4096]
//                [--max-tokens N]   (--configs also takes "kernel:p=v;p=v")
//                [--out docs/results/quality.json]
//                [--out-long docs/results/quality_long.json]
//                [--markdown docs/QUALITY.md]
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>

#include "CLI/CLI.hpp"
#include "absl/strings/str_split.h"
#include "engine/attention/registry.h"
#include "engine/engine.h"
#include "nlohmann/json.hpp"
#include "server/telemetry/power/detect.h"
#include "tools/labelled_data.h"
#include "tools/quality_grid.h"

namespace attnserve {
namespace {

constexpr char kBegin[] = "<!-- BEGIN GENERATED: tools/eval_quality -->";
constexpr char kEnd[] = "<!-- END GENERATED: tools/eval_quality -->";

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return buf;
}

// A subsample of `n` texts drawn with a fixed seed, kept in file order.
LabelledSet Subsample(const LabelledSet& set, size_t n, uint32_t seed) {
  if (n == 0 || set.texts.size() <= n) return set;
  std::vector<size_t> idx(set.texts.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::mt19937 rng(seed);
  std::shuffle(idx.begin(), idx.end(), rng);
  idx.resize(n);
  std::sort(idx.begin(), idx.end());
  LabelledSet out;
  for (size_t i : idx) {
    out.texts.push_back(set.texts[i]);
    out.labels.push_back(set.labels[i]);
  }
  return out;
}

// A measured energy counter (RAPL, hwmon, PMIC), never the estimate: the
// report's energy column is a reading or null.
struct EnergyCounter {
  std::unique_ptr<power::PowerSource> source;
  std::string name;
};

EnergyCounter OpenEnergyCounter(std::vector<std::string>* notes) {
  for (const char* name : {"rapl", "hwmon", "rpi_pmic"}) {
    power::PowerConfig config;
    config.source = name;
    auto source = power::CreatePowerSource(name, config);
    if (!source.ok()) {
      notes->push_back(std::string(name) + ": " + std::string(source.status().message()));
      continue;
    }
    auto sample = (*source)->Read();
    if (sample.ok() && sample->energy_joules) return {std::move(*source), name};
    notes->push_back(std::string(name) + ": no energy counter");
  }
  return {};
}

std::vector<quality::GridConfig> Select(std::vector<quality::GridConfig> grid,
                                        const std::string& only) {
  if (only.empty()) return grid;
  std::vector<std::string> names = absl::StrSplit(only, ',');
  std::vector<quality::GridConfig> out;
  for (const std::string& name : names) {
    auto it = std::find_if(grid.begin(), grid.end(),
                           [&](const quality::GridConfig& c) { return c.name == name; });
    if (it != grid.end()) {
      out.push_back(*it);
      continue;
    }
    // Not a grid row: an attention kernel at its defaults or at set
    // parameters, "kernel" or "kernel:p=v;p=v" (';' because ',' separates
    // configs), everything else as dense f32.
    std::string text = name;
    std::replace(text.begin(), text.end(), ';', ',');
    absl::StatusOr<AttentionText> parsed = ParseAttentionText(text);
    if (!parsed.ok()) {
      std::cerr << "eval_quality: --configs: " << name
                << " is neither a grid config nor an attention kernel: " << parsed.status() << "\n";
      std::exit(2);
    }
    quality::GridConfig c;
    c.name = name;
    c.attention = parsed->kernel;
    c.attention_params = parsed->params;
    out.push_back(c);
  }
  // The baseline is always measured first (retention, relative FLOPs).
  if (out.empty() || out.front().name != "dense") {
    out.erase(std::remove_if(out.begin(), out.end(),
                             [](const quality::GridConfig& c) { return c.name == "dense"; }),
              out.end());
    out.insert(out.begin(), grid.front());
  }
  return out;
}

void WriteJson(const std::string& path, const nlohmann::ordered_json& j) {
  if (path.empty()) return;
  if (std::filesystem::path(path).has_parent_path()) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  }
  std::ofstream(path) << j.dump(1) << "\n";
  std::cerr << "eval_quality: wrote " << path << "\n";
}

// Replaces the generated section of `path` (or appends one).
void WriteMarkdown(const std::string& path, const std::string& section) {
  if (path.empty()) return;
  std::string text;
  if (std::ifstream in(path); in) text.assign(std::istreambuf_iterator<char>(in), {});
  const std::string block = std::string(kBegin) + "\n" + section + kEnd;
  const size_t begin = text.find(kBegin), end = text.find(kEnd);
  if (begin != std::string::npos && end != std::string::npos && end > begin) {
    text.replace(begin, end + std::string(kEnd).size() - begin, block);
  } else {
    text += (text.empty() ? "" : "\n") + block + "\n";
  }
  std::ofstream(path) << text;
  std::cerr << "eval_quality: wrote " << path << "\n";
}

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

struct Args {
  std::string model = "models/use-lite", heads, data = "data", passages;
  std::string datasets = "imdb,yelp,amazon,spam_assassin", configs, long_configs;
  std::string lengths = "512,2048,4096";
  std::string out = "docs/results/quality.json", out_long = "docs/results/quality_long.json";
  std::string markdown = "docs/QUALITY.md";
  size_t max_texts = 300;
  uint32_t seed = 20240605;
  int warmup = 5, repeats = 1;
  int max_tokens = 0;
  std::string clock = "cpu";
  bool skip_long = false;
};

int Run(const Args& args) {
  EngineConfig config;
  config.model_dir = args.model;
  config.heads_dir = args.heads;
  config.default_threads = 1;
  auto engine = Engine::Load(config);
  if (!engine.ok()) {
    std::cerr << "eval_quality: " << engine.status() << "\n";
    return 2;
  }
  std::vector<std::string> notes;
  EnergyCounter energy = OpenEnergyCounter(&notes);
  std::cerr << "eval_quality: energy "
            << (energy.source ? "from " + energy.name : std::string("not measured (no counter)"))
            << "\n";
  for (const std::string& n : notes) std::cerr << "  " << n << "\n";
  quality::RowOptions options;
  options.threads = 1;
  options.max_tokens = args.max_tokens;
  options.warmup = args.warmup;
  options.repeats = args.repeats;
  options.clock =
      args.clock == "wall" ? quality::LatencyClock::kWall : quality::LatencyClock::kThreadCpu;
  if (energy.source) {
    options.energy_joules = [&energy]() -> std::optional<double> {
      auto s = energy.source->Read();
      return s.ok() ? s->energy_joules : std::nullopt;
    };
  }
  const std::string load_before = ReadFirstLine("/proc/loadavg");

  const std::vector<quality::GridConfig> grid = Select(quality::ClassificationGrid(), args.configs);
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  std::vector<quality::QualityRow> all_rows;
  std::ostringstream sizes;
  for (absl::string_view set_view : absl::StrSplit(args.datasets, ',', absl::SkipEmpty())) {
    const std::string set(set_view);
    auto full = ReadLabelledJsonl(args.data + "/" + set + "/test.jsonl");
    if (!full.ok()) {
      std::cerr << "eval_quality: " << full.status() << "\n";
      return 2;
    }
    const LabelledSet test = Subsample(*full, args.max_texts, args.seed);
    sizes << set << " " << test.texts.size() << "/" << full->texts.size() << "; ";
    quality::RowMeasurement dense;
    for (size_t c = 0; c < grid.size(); ++c) {
      quality::RowOptions o = options;
      o.progress = [&](size_t done, size_t total) {
        if (done % 25 == 0 || done == total) {
          std::cerr << "\r[" << set << " " << c + 1 << "/" << grid.size() << "] " << grid[c].name
                    << ": " << done << "/" << total << "   " << std::flush;
        }
      };
      auto m = quality::MeasureClassification(**engine, grid[c], test.texts, test.labels, set, o);
      if (!m.ok()) {
        std::cerr << "\neval_quality: " << set << ": " << m.status() << "\n";
        return 1;
      }
      if (c == 0) dense = *m;
      const quality::QualityRow row = quality::MakeQualityRow(grid[c], set, *m, dense);
      std::cerr << " acc " << Fmt("%.3f", row.accuracy) << " ret " << Fmt("%.3f", row.retention)
                << " " << Fmt("%.2f", row.latency_mean_ms) << " ms (wall "
                << Fmt("%.2f", m->wall_mean_ms) << ")\n";
      rows.push_back(quality::QualityRowToJson(row));
      all_rows.push_back(row);
    }
  }
  WriteJson(args.out, rows);

  // Long passages.
  nlohmann::ordered_json long_rows = nlohmann::ordered_json::array();
  std::vector<quality::LongRow> all_long;
  if (!args.skip_long) {
    std::ifstream in(args.passages);
    if (!in) {
      std::cerr << "eval_quality: --passages: cannot open " << args.passages << "\n";
      return 2;
    }
    const nlohmann::json root = nlohmann::json::parse(in, nullptr, false);
    std::vector<std::string> passages;
    if (!root.is_discarded() && root.contains("passages") && root["passages"].is_array()) {
      for (const auto& p : root["passages"]) {
        if (p.contains("text") && p["text"].is_string()) passages.push_back(p["text"]);
      }
    }
    if (passages.empty()) {
      std::cerr << "eval_quality: " << args.passages << ": no passages[].text strings\n";
      return 2;
    }
    const std::vector<quality::GridConfig> long_grid =
        Select(quality::LongGrid(), args.long_configs);
    for (absl::string_view len : absl::StrSplit(args.lengths, ',', absl::SkipEmpty())) {
      const int n = std::stoi(std::string(len));
      quality::RowOptions warm = options;
      warm.repeats = 1;
      (void)quality::MeasureLong(**engine, long_grid[0], passages, n, warm);
      quality::LongMeasurement dense;
      for (size_t c = 0; c < long_grid.size(); ++c) {
        quality::RowOptions o = options;
        o.progress = [&](size_t done, size_t total) {
          std::cerr << "\r[long " << n << " " << c + 1 << "/" << long_grid.size() << "] "
                    << long_grid[c].name << ": " << done << "/" << total << "   " << std::flush;
        };
        auto m = quality::MeasureLong(**engine, long_grid[c], passages, n, o);
        if (!m.ok()) {
          std::cerr << "\neval_quality: " << m.status() << "\n";
          return 1;
        }
        if (c == 0) dense = *m;
        auto row = quality::MakeLongRow(long_grid[c], *m, dense);
        if (!row.ok()) {
          std::cerr << "\neval_quality: " << row.status() << "\n";
          return 1;
        }
        std::cerr << " cos " << Fmt("%.4f", row->cosine_mean) << " " << Fmt("%.2fx", row->speedup)
                  << "\n";
        long_rows.push_back(quality::LongRowToJson(*row));
        all_long.push_back(*row);
      }
    }
    WriteJson(args.out_long, long_rows);
  }
  const std::string load_after = ReadFirstLine("/proc/loadavg");

  // Markdown: the run, then one table per set and the long table.
  std::ostringstream md;
  md << "Run " << UtcNow() << "; model `" << (*engine)->model_info().name
     << "`, 1 compute thread, batch 1, " << args.warmup << " warm-up calls per row, "
     << args.repeats
     << " call(s) per text with the fastest timed; texts per set (measured/test "
        "split): "
     << sizes.str() << "latency clock: "
     << (args.clock == "cpu" ? "CPU time of the calling thread (= the whole call with 1 thread)"
                             : "wall")
     << "; energy: "
     << (energy.source ? energy.name : std::string("not measured (no RAPL/hwmon/PMIC counter)"))
     << "; load average before `" << load_before << "`, after `" << load_after << "`.\n\n";
  md << "| dataset | config | accuracy | retention | latency mean ms | p95 ms | speed-up | "
        "tokens kept | exit layer | rel. FLOPs | energy mJ |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  std::map<std::string, double> dense_ms;
  for (const auto& r : all_rows) {
    if (r.config == "dense") dense_ms[r.dataset] = r.latency_mean_ms;
    md << "| " << r.dataset << " | " << r.config << " | " << Fmt("%.3f", r.accuracy) << " | "
       << Fmt("%.3f", r.retention) << " | " << Fmt("%.2f", r.latency_mean_ms) << " | "
       << Fmt("%.2f", r.latency_p95_ms) << " | "
       << Fmt("%.2fx", dense_ms[r.dataset] / r.latency_mean_ms) << " | "
       << Fmt("%.1f", r.tokens_kept_mean) << " | " << Fmt("%.2f", r.exit_layer_mean) << " | "
       << Fmt("%.2f", r.relative_flops) << " | "
       << (r.energy_mj_mean ? Fmt("%.1f", *r.energy_mj_mean) : std::string("n/a")) << " |\n";
  }
  if (!all_long.empty()) {
    md << "\nLong passages (" << args.repeats
       << " calls per passage, the fastest timed; latency = mean over the passages):\n\n"
          "| tokens | config | cosine mean | cosine min | latency ms | speed-up | rel. FLOPs | "
          "tokens kept |\n|---:|---|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& r : all_long) {
      md << "| " << r.tokens << " | " << r.config << " | " << Fmt("%.4f", r.cosine_mean) << " | "
         << Fmt("%.4f", r.cosine_min) << " | " << Fmt("%.1f", r.latency_ms) << " | "
         << Fmt("%.2fx", r.speedup) << " | " << Fmt("%.2f", r.relative_flops) << " | "
         << Fmt("%.0f", r.tokens_kept_mean) << " |\n";
    }
  }
  WriteMarkdown(args.markdown, md.str());
  return 0;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) {
  CLI::App app{"eval_quality: accuracy / latency grid over attention, pruning and early exit"};
  attnserve::Args a;
  app.add_option("--model", a.model, "Model directory");
  app.add_option("--heads", a.heads, "Heads directory (tools/train_heads output)")->required();
  app.add_option("--data", a.data, "Folder with <set>/test.jsonl");
  app.add_option("--datasets", a.datasets, "Comma-separated set names (= head names)");
  app.add_option("--max-texts", a.max_texts, "Subsample larger test sets to this (0 = all)");
  app.add_option("--seed", a.seed, "Subsampling seed");
  app.add_option("--max-tokens", a.max_tokens,
                 "Clip of the classification texts (0 = the model's own; more lifts it)");
  app.add_option("--configs", a.configs, "Only these classification configs (dense is added)");
  app.add_option("--long-configs", a.long_configs, "Only these long-passage configs");
  app.add_option("--passages", a.passages, "Long prose passages JSON")
      ->default_val("bench/data/quality_passages.json");
  app.add_option("--lengths", a.lengths, "Long-passage clips");
  app.add_option("--warmup", a.warmup, "Untimed calls before each row");
  app.add_option("--repeats", a.repeats, "Calls per text or passage (the fastest is timed)");
  app.add_flag("--skip-long", a.skip_long, "Skip the long-passage part");
  app.add_option("--clock", a.clock,
                 "Latency clock: cpu (the calling thread's CPU time: idle-core latency on a "
                 "shared machine) or wall")
      ->check(CLI::IsMember({"cpu", "wall"}));
  app.add_option("--out", a.out, "JSON rows (\"\" = none)");
  app.add_option("--out-long", a.out_long, "Long-passage JSON rows (\"\" = none)");
  app.add_option("--markdown", a.markdown, "Markdown file whose generated section is replaced");
  CLI11_PARSE(app, argc, argv);
  return attnserve::Run(a);
}
