#include "engine/engine.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/kernels/gemm.h"
#include "engine/kernels/linear_precision.h"
#include "engine/model/fitted_pooling_file.h"
#include "engine/model/model_families.h"
#include "engine/policy/adaptive_run.h"
#include "engine/policy/early_exit.h"
#include "engine/policy/token_pruning.h"
#include "engine/util/cpu_budget.h"
#include "engine/util/file_io.h"
#include "engine/util/float_env.h"
#include "engine/util/heap_policy.h"
#include "engine/util/run_profile.h"
#include "engine/util/run_thread_cap.h"
#include "engine/util/status_macros.h"
#include "engine/util/thread_cpu.h"
#include "engine/util/thread_scratch.h"

namespace attnserve {
namespace {

constexpr int kMaxThreads = 256;

// A run's clipped token ids, kept per thread (thread_scratch.h).
struct ClippedTexts {
  std::vector<std::vector<int32_t>> ids;
  int64_t CapacityBytes() const {
    int64_t bytes = attnserve::CapacityBytes(ids);
    for (const std::vector<int32_t>& t : ids) bytes += attnserve::CapacityBytes(t);
    return bytes;
  }
};

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

absl::Status WithPrefix(const absl::Status& status, absl::string_view prefix) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> Engine::Load(const EngineConfig& config) {
  if (config.max_tokens_limit < 1 || config.max_batch_texts < 1 || config.default_threads < 0 ||
      config.default_threads > kMaxThreads || config.max_request_bytes < 0) {
    return absl::InvalidArgumentError(
        "engine config: max_tokens_limit and max_batch_texts must be >= 1, "
        "default_threads in [0, 256], max_request_bytes >= 0");
  }
  KeepActivationMemoryInHeap();
  const std::string& dir = config.model_dir;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat("model directory '", dir, "' does not exist"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<EncoderModel> model, LoadModel(dir));  // model_families.cc
  EngineConfig sized = config;
  if (sized.default_threads == 0) {
    sized.default_threads = std::min(kMaxThreads, ReadCpuBudget().cpus);
  }
  std::unique_ptr<Engine> engine(new Engine(sized, std::move(model)));
  const ModelInfo& info = engine->model_->info();
  ASSIGN_OR_RETURN(
      engine->heads_,
      LoadClassifierHeads(config.heads_dir.empty() ? JoinPath(dir, "heads") : config.heads_dir,
                          info.embedding_dim, info.num_layers));
  if (const ClassifierHead* builtin = engine->model_->builtin_head(); builtin != nullptr) {
    if (!engine->heads_.emplace(builtin->name, *builtin).second) {
      return absl::InvalidArgumentError(absl::StrCat("heads: '", builtin->name,
                                                     "' is both a head file and the checkpoint's "
                                                     "own classifier; rename the file"));
    }
  }
  ASSIGN_OR_RETURN(engine->fitted_pooling_,
                   LoadFittedPooling(JoinPath(dir, kFittedPoolingFile), dir, info));
  RETURN_IF_ERROR(engine->LoadCalibration(config.calibration_file.empty()
                                              ? JoinPath(dir, "calibration.json")
                                              : config.calibration_file));
  return engine;
}

absl::Status Engine::LoadCalibration(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return absl::OkStatus();
  ASSIGN_OR_RETURN(const std::string text, ReadFileToString(path));
  ASSIGN_OR_RETURN(CalibrationTable table, ParseCalibrationTable(text, path));
  const ModelInfo& info = model_->info();
  if (!table.model.empty() && table.model != info.name) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": measured on model '", table.model,
                                                      "', not '", info.name,
                                                      "'; rerun tools/calibrate for this model"));
  }
  for (const CalibrationEntry& e : table.entries) {
    absl::Status ok = ResolveAttention(e.attention, e.attention_params).status();
    if (ok.ok()) ok = ValidatePruning(e.pruning, info.num_layers);
    if (ok.ok()) ok = CheckPruningSupported(e.pruning);
    if (ok.ok()) ok = ValidateEarlyExit(e.early_exit, info.num_layers, /*has_heads=*/true);
    if (!ok.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": entry '", e.name, "': ", ok.message()));
    }
  }
  calibration_ = std::move(table);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int32_t>> Engine::Tokenize(std::string_view text) const {
  return model_->Tokenize(text);
}

absl::StatusOr<std::vector<std::vector<int32_t>>> Engine::TokenizeBatch(
    absl::Span<const std::string_view> texts, int reject_over, absl::string_view why) const {
  if (texts.size() > static_cast<size_t>(config_.max_batch_texts)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "texts: ", texts.size(), " texts exceed the limit of ", config_.max_batch_texts));
  }
  std::vector<std::vector<int32_t>> ids;
  ids.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    absl::StatusOr<std::vector<int32_t>> t = model_->Tokenize(texts[i]);
    if (!t.ok()) return WithPrefix(t.status(), absl::StrCat("texts[", i, "]: "));
    if (reject_over > 0 && t->size() > static_cast<size_t>(reject_over)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "texts[", i, "]: ", t->size(), " tokens exceed max_tokens ", reject_over, why));
    }
    ids.push_back(*std::move(t));
  }
  return ids;
}

std::vector<int32_t> Engine::WithSpecialTokens(const std::vector<int32_t>& ids,
                                               int* leading) const {
  const SpecialTokens special = model_->special_tokens();
  std::vector<int32_t> out;
  out.reserve(ids.size() + special.prefix.size() + special.suffix.size());
  out.insert(out.end(), special.prefix.begin(), special.prefix.end());
  out.insert(out.end(), ids.begin(), ids.end());
  out.insert(out.end(), special.suffix.begin(), special.suffix.end());
  if (leading != nullptr) *leading = static_cast<int>(special.prefix.size());
  return out;
}

absl::StatusOr<EmbedResult> Engine::Embed(const std::vector<std::string>& texts,
                                          const RunOptions& options) const {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string_view> views(texts.begin(), texts.end());
  absl::StatusOr<std::vector<std::vector<int32_t>>> tokenized;
  {
    const ProfileScope tokenizing(ProfilePhase::kTokenize);
    tokenized = TokenizeBatch(views);
  }
  ASSIGN_OR_RETURN(std::vector<std::vector<int32_t>> ids, std::move(tokenized));
  const double tokenize_seconds = SecondsSince(start);
  ASSIGN_OR_RETURN(EmbedResult result, EmbedTokenIds(std::move(ids), options));
  result.stats.tokenize_seconds = tokenize_seconds;
  return result;
}

absl::StatusOr<Engine::ResolvedRun> Engine::Resolve(const RunOptions& options) const {
  const ModelInfo& info = model_->info();
  ResolvedRun run;
  run.max_tokens = options.max_tokens == 0 ? info.default_max_tokens : options.max_tokens;
  int limit = config_.max_tokens_limit;
  if (info.position_limit > 0) limit = std::min(limit, info.position_limit);
  if (run.max_tokens < 1 || run.max_tokens > limit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_tokens: ", options.max_tokens,
        run.max_tokens > limit ? " exceeds the limit of " : " is out of range [1, ", limit,
        run.max_tokens > limit ? "" : "]", " (0 = the model's own ", info.default_max_tokens, ")",
        info.position_limit > 0 && limit == info.position_limit
            ? "; the cap is the model's learned position table (max_position_embeddings)"
            : "; the cap is the server's limits.max_tokens (EngineConfig::max_tokens_limit)"));
  }
  if (options.num_threads < 0 || options.num_threads > kMaxThreads) {
    return absl::InvalidArgumentError(absl::StrCat("num_threads: ", options.num_threads,
                                                   " is out of range [0, ", kMaxThreads, "]"));
  }
  run.threads = ThreadsFor(options.num_threads);
  ASSIGN_OR_RETURN(run.plan.attention,
                   ResolveAttention(options.attention, options.attention_params));
  run.plan.linear = options.linear_precision;
  run.plan.fitted_pooling = fitted_pooling_.get();
  if (options.pruning.active() || options.early_exit.active()) {
    RETURN_IF_ERROR(ValidatePruning(options.pruning, info.num_layers));
    RETURN_IF_ERROR(CheckPruningSupported(options.pruning));
    RETURN_IF_ERROR(ValidateEarlyExit(options.early_exit, info.num_layers, !heads_.empty()));
  }
  run.plan.deadline = options.deadline;
  run.plan.is_cancelled = options.is_cancelled;
  return run;
}

absl::Status Engine::CheckPruningSupported(const PruningOptions& pruning) const {
  const ModelInfo& info = model_->info();
  if (!pruning.active() || info.no_pruning_reason.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "pruning: model '", info.name, "' cannot prune tokens: ", info.no_pruning_reason));
}

int Engine::ThreadsFor(int requested) const {
  // Load resolved a default of 0 to the CPU budget; the server's worker may
  // cap it to what the runs in flight leave free.
  const int threads = requested == 0 ? config_.default_threads : requested;
  const int cap = RunThreadCap();
  return cap > 0 ? std::min(threads, cap) : threads;
}

absl::StatusOr<RunOptions> Engine::AutoRequest(const RunOptions& options) const {
  RunOptions request = options;
  RETURN_IF_ERROR(ValidateAutoOptions(request.auto_select));
  if (request.auto_select.active()) RETURN_IF_ERROR(RequireCalibration());
  return request;
}

absl::Status Engine::CheckOptions(const RunOptions& options) const {
  ASSIGN_OR_RETURN(RunOptions probe, AutoRequest(options));
  if (probe.auto_select.active()) {
    // The auto dimensions are checked when the table is loaded.
    if (probe.auto_select.attention) {
      probe.attention = "dense";
      probe.attention_params.clear();
    }
    if (probe.auto_select.pruning) probe.pruning = PruningOptions();
    if (probe.auto_select.early_exit) probe.early_exit = EarlyExitOptions();
  }
  return Resolve(probe).status();
}

absl::Status Engine::RequireCalibration() const {
  if (calibration_) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "auto policy: model '", model_->info().name,
      "' has no calibration table (calibration.json beside the model); run tools/calibrate on "
      "this machine to measure one"));
}

absl::StatusOr<RunOptions> Engine::ApplyAutoPolicy(
    const RunOptions& options, const std::vector<std::vector<int32_t>>& token_ids, bool classify,
    AutoChoice* choice) const {
  ASSIGN_OR_RETURN(const RunOptions request, AutoRequest(options));
  if (!request.auto_select.active()) return request;
  const int max_tokens =
      request.max_tokens == 0 ? model_->info().default_max_tokens : request.max_tokens;
  std::vector<int> counts;
  counts.reserve(token_ids.size());
  for (const auto& ids : token_ids) {
    counts.push_back(static_cast<int>(std::min<size_t>(ids.size(), std::max(1, max_tokens))));
  }
  ASSIGN_OR_RETURN(*choice, ChooseConfiguration(*calibration_, request, counts,
                                                ThreadsFor(request.num_threads), classify));
  return ApplyChoice(request, *choice->entry);
}

void ReportAutoChoice(const AutoChoice& choice, RunStats* stats) {
  if (choice.entry == nullptr) return;
  stats->auto_config = choice.entry->name;
  stats->budget_met = choice.budget_met;
  stats->budget_note = choice.note;
  stats->predicted_latency_ms = choice.predicted_latency_ms;
  stats->predicted_quality = choice.predicted_quality;
}

absl::StatusOr<EmbedResult> Engine::EmbedTokenIds(std::vector<std::vector<int32_t>> token_ids,
                                                  const RunOptions& options) const {
  AutoChoice choice;
  ASSIGN_OR_RETURN(const RunOptions chosen,
                   ApplyAutoPolicy(options, token_ids, /*classify=*/false, &choice));
  ASSIGN_OR_RETURN(EmbedResult result, EmbedChosen(std::move(token_ids), chosen));
  ReportAutoChoice(choice, &result.stats);
  return result;
}

int64_t Engine::EstimateRunBytes(const std::vector<int64_t>& lengths, int threads,
                                 const AttentionKernel& kernel) const {
  const ModelInfo& info = model_->info();
  const int64_t width =
      std::max<int64_t>({1, info.max_activation_width, int64_t{4} * info.embedding_dim});
  const int64_t heads_in_flight = std::max(1, std::min(threads, std::max(1, info.max_heads)));
  const bool quadratic = absl::StrContains(kernel.info().memory_complexity, "n^2");
  int64_t tokens = 0, longest = 0;
  for (int64_t n : lengths) {
    tokens += n;
    longest = std::max(longest, n);
  }
  const int64_t activations = tokens * width * 4 * 4;
  const int64_t per_head = quadratic ? longest * longest * 4 : longest * width * 4;
  return activations + heads_in_flight * per_head;
}

absl::StatusOr<EmbedResult> Engine::EmbedChosen(std::vector<std::vector<int32_t>> token_ids,
                                                const RunOptions& options) const {
  const ModelInfo& info = model_->info();
  if (token_ids.empty()) return absl::InvalidArgumentError("texts: no texts given");
  if (token_ids.size() > static_cast<size_t>(config_.max_batch_texts)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "texts: ", token_ids.size(), " texts exceed the limit of ", config_.max_batch_texts));
  }
  ASSIGN_OR_RETURN(const ResolvedRun run, Resolve(options));
  const ExecutionPlan& plan = run.plan;
  const int threads = run.threads;

  EmbedResult result;
  result.dim = info.embedding_dim;
  RunStats& stats = result.stats;
  KeptScratch<ClippedTexts> kept;  // the previous run's id buffers, on this thread
  std::vector<std::vector<int32_t>>& clipped = kept->ids;
  RETURN_IF_ERROR(ClipTexts(token_ids, run, &clipped, &stats));

  result.embeddings.resize(clipped.size() * info.embedding_dim);
  double cpu_start = 0;
  {
    const ProfileScope handoff(ProfilePhase::kThreadHandoff);
    PrepareComputeThreads(threads);
  }
  {
    const ProfileScope clock(ProfilePhase::kCpuClock);
    cpu_start = TeamCpuSeconds(threads);
  }
  const auto start = std::chrono::steady_clock::now();
  if (options.pruning.active() || options.early_exit.active()) {
    AdaptiveRunOutputs outputs;
    outputs.embeddings = result.embeddings.data();
    RETURN_IF_ERROR(RunAdaptive(*model_, info.num_layers, info.embedding_dim, clipped, plan,
                                options.pruning, options.early_exit, outputs, &stats));
  } else {
    RETURN_IF_ERROR(model_->Embed(clipped, plan, result.embeddings.data(), &stats));
    stats.exit_layer = stats.layers_run;
    for (TextStats& t : stats.texts) {
      t.tokens_kept = t.tokens_used;
      t.exit_layer = stats.layers_run;
    }
  }
  stats.compute_seconds = SecondsSince(start);
  const ProfileScope clock(ProfilePhase::kCpuClock);
  stats.cpu_seconds = TeamCpuSeconds(threads) - cpu_start;
  result.token_ids = std::move(token_ids);
  return result;
}

absl::Status Engine::ClipTexts(const std::vector<std::vector<int32_t>>& token_ids,
                               const ResolvedRun& run, std::vector<std::vector<int32_t>>* clipped,
                               RunStats* stats) const {
  stats->attention_kernel = std::string(run.plan.attention.kernel->name());
  stats->gemm_backend = std::string(GemmBackendName());
  stats->linear_precision = std::string(LinearPrecisionName(run.plan.linear));
  stats->num_threads = run.threads;
  stats->max_tokens = run.max_tokens;
  // resize, not assign: a kept vector (EmbedChosen's) keeps its rows' capacity.
  clipped->resize(token_ids.size());
  stats->texts.reserve(stats->texts.size() + token_ids.size());
  for (size_t i = 0; i < token_ids.size(); ++i) {
    if (token_ids[i].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("texts[", i, "]: text is empty (no tokens after NFKC normalisation)"));
    }
    const size_t used = std::min(token_ids[i].size(), static_cast<size_t>(run.max_tokens));
    (*clipped)[i].assign(token_ids[i].begin(), token_ids[i].begin() + used);
    stats->texts.push_back(
        TextStats{static_cast<int>(token_ids[i].size()), static_cast<int>(used)});
  }
  // Bound the run's memory before anything is allocated for it.
  if (config_.max_request_bytes > 0) {
    thread_local std::vector<int64_t> lengths;  // kept: thread_scratch.h
    lengths.clear();
    for (const std::vector<int32_t>& c : *clipped)
      lengths.push_back(static_cast<int64_t>(c.size()));
    const int64_t need = EstimateRunBytes(lengths, run.threads, *run.plan.attention.kernel);
    if (need > config_.max_request_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "request needs an estimated ", need, " bytes (", lengths.size(), " texts, max_tokens ",
          run.max_tokens, ", ", run.threads, " threads, attention ", stats->attention_kernel,
          "), over the limit of ", config_.max_request_bytes, " bytes per request"));
    }
    ReleaseUnlessKept(&lengths);
  }
  return absl::OkStatus();
}

}  // namespace attnserve
