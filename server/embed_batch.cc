#include "server/embed_batch.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "server/embed_call.h"

namespace attnserve {
namespace {

// The longest input's size class: its size rounded up to a power of two.
int LengthClass(const CallInputs& inputs) {
  size_t longest = 0;
  for (const std::string& t : *inputs.texts) longest = std::max(longest, t.size());
  for (const v1::TokenIds& ids : *inputs.token_inputs) {
    longest = std::max(longest, static_cast<size_t>(ids.ids_size()) * 4);  // ~4 bytes a token
  }
  return static_cast<int>(std::bit_width(longest));
}

// This member's rows and figures out of the shared run's result.
void Split(const EmbedResult& result, size_t first, size_t count, int64_t total_used,
           double total_squares, RunStats* stats) {
  const std::vector<TextStats> all = std::move(stats->texts);
  stats->texts.assign(all.begin() + first, all.begin() + first + count);
  int64_t used = 0;
  double squares = 0;
  for (const TextStats& t : stats->texts) {
    used += t.tokens_used;
    squares += static_cast<double>(t.tokens_used) * t.tokens_used;
  }
  // Linear work goes with tokens, attention work with tokens squared (exact
  // for the exact kernels, the usual case of short texts).
  const double share = total_used > 0 ? static_cast<double>(used) / total_used : 0;
  const double pair_share = total_squares > 0 ? squares / total_squares : 0;
  stats->flops = std::llround(static_cast<double>(result.stats.flops) * share);
  stats->attention_pairs_scored =
      std::llround(static_cast<double>(result.stats.attention_pairs_scored) * pair_share);
  stats->attention_pairs_total =
      std::llround(static_cast<double>(result.stats.attention_pairs_total) * pair_share);
  stats->attention_seconds = result.stats.attention_seconds * pair_share;
  stats->cpu_seconds = result.stats.cpu_seconds * share;
  // No pruning in a batch: every layer keeps every token.
  for (int64_t& alive : stats->tokens_per_layer) alive = used;
}

}  // namespace

std::string EmbedBatchKey(const PreparedCall& p) {
  const RunOptions& o = p.options;
  if (o.pruning.active() || o.early_exit.active() || o.auto_select.active()) {
    return "";
  }
  std::string key = absl::StrCat(reinterpret_cast<uintptr_t>(p.engine.get()), "|", o.attention);
  for (const auto& [name, value] : o.attention_params) absl::StrAppend(&key, ",", name, "=", value);
  absl::StrAppend(&key, "|", static_cast<int>(o.linear_precision), "|", o.max_tokens, "|",
                  o.num_threads, "|", p.reject_over, "|", LengthClass(p.inputs));
  return key;
}

int64_t EstimatedTokens(const CallInputs& inputs) {
  int64_t tokens = 0;
  for (const std::string& t : *inputs.texts) tokens += static_cast<int64_t>(t.size()) / 4 + 1;
  for (const v1::TokenIds& ids : *inputs.token_inputs) tokens += ids.ids_size();
  return tokens;
}

EmbedBatchMember::EmbedBatchMember(ServingState* state, CallSite site, PreparedCall prepared,
                                   std::string key, v1::EmbedResponse* response, FinishFn finish)
    : state(state),
      site(std::move(site)),
      prepared(std::move(prepared)),
      key(std::move(key)),
      tokens(EstimatedTokens(this->prepared.inputs)),
      response(response),
      finish(std::move(finish)) {}

BatchLimits ResolveBatchLimits(const v1::Batching& config, const v1::Policy& policy,
                               const std::string& model) {
  // Most specific first.
  std::vector<const v1::Batching*> layers;
  if (auto it = policy.model_batching().find(model); it != policy.model_batching().end()) {
    layers.push_back(&it->second);
  }
  layers.push_back(&policy.batching());
  layers.push_back(&config);
  BatchLimits limits;
  for (auto layer = layers.rbegin(); layer != layers.rend(); ++layer) {
    const v1::Batching& b = **layer;
    if (b.max_batch_requests() > 0) limits.max_requests = b.max_batch_requests();
    if (b.max_batch_tokens() > 0) limits.max_tokens = b.max_batch_tokens();
    if (b.has_max_queue_delay_us()) {
      limits.max_delay = std::chrono::microseconds(b.max_queue_delay_us());
    }
  }
  return limits;
}

void RunEmbedBatch(std::vector<std::shared_ptr<BatchMember>> group,
                   const AdmissionQueue::Release& release) {
  struct Live {
    EmbedBatchMember* m = nullptr;
    absl::Status status;
    RunOutcome outcome;
    double tokenize_seconds = 0;
    size_t first = 0, count = 0;
  };
  std::vector<Live> live;
  for (const std::shared_ptr<BatchMember>& member : group) {
    Live l;
    l.m = static_cast<EmbedBatchMember*>(member.get());
    live.push_back(std::move(l));
  }
  ServingState* state = live.front().m->state;
  const std::string model = live.front().m->prepared.engine->model_info().name;
  if (live.size() == 1) {  // alone: the plain path, bit for bit
    Live& only = live.front();
    EmbedBatchMember& m = *only.m;
    only.status =
        ExecuteEmbed(m.prepared, m.site.deadline, m.site.is_cancelled, m.response, &only.outcome);
    if (only.outcome.ran) {
      int64_t used = 0;
      for (const TextStats& t : only.outcome.stats.texts) used += t.tokens_used;
      state->observer->OnBatchRun(model, 1, used);
    }
  } else {
    // Each member leaves on its own if it expired or was cancelled queued.
    std::vector<std::vector<int32_t>> ids;
    Live* lead = nullptr;
    absl::Time deadline = absl::InfinitePast();
    for (Live& l : live) {
      absl::StatusOr<std::vector<std::vector<int32_t>>> got =
          BeginRun(l.m->prepared, l.m->site.deadline, l.m->site.is_cancelled, &l.outcome,
                   &l.tokenize_seconds);
      if (!got.ok()) {
        l.status = got.status();
        continue;
      }
      if (lead == nullptr) lead = &l;
      deadline = std::max(deadline, l.m->site.deadline);
      l.first = ids.size();
      l.count = got->size();
      for (std::vector<int32_t>& t : *got) ids.push_back(std::move(t));
    }
    if (lead != nullptr) {
      // The run stops early only when every member still in it gave up.
      std::vector<std::function<bool()>> wanted;
      for (const Live& l : live) {
        if (l.status.ok() && l.m->site.is_cancelled) wanted.push_back(l.m->site.is_cancelled);
      }
      const bool any_uncancellable = std::any_of(live.begin(), live.end(), [](const Live& l) {
        return l.status.ok() && !l.m->site.is_cancelled;
      });
      std::function<bool()> all_cancelled;
      if (!any_uncancellable) {
        all_cancelled = [wanted] {
          return std::all_of(wanted.begin(), wanted.end(), [](const auto& c) { return c(); });
        };
      }
      const PreparedCall& p = lead->m->prepared;
      RunEnergy energy(p);
      absl::StatusOr<EmbedResult> result =
          p.engine->EmbedTokenIds(std::move(ids), OptionsFor(p, deadline, all_cancelled));
      if (!result.ok()) {
        for (Live& l : live) {
          if (l.status.ok()) l.status = result.status();
        }
      } else {
        const double millijoules = energy.EndMillijoules(result->stats.cpu_seconds);
        int64_t total_used = 0;
        double total_squares = 0;
        for (const TextStats& t : result->stats.texts) {
          total_used += t.tokens_used;
          total_squares += static_cast<double>(t.tokens_used) * t.tokens_used;
        }
        int runners = 0;
        for (const Live& l : live) runners += l.status.ok() ? 1 : 0;
        state->observer->OnBatchRun(model, runners, total_used);
        for (Live& l : live) {
          if (!l.status.ok()) continue;
          RunStats stats = result->stats;
          Split(*result, l.first, l.count, total_used, total_squares, &stats);
          stats.tokenize_seconds = l.tokenize_seconds;
          v1::EmbedResponse* r = l.m->response;
          r->set_model(model);
          AppendEmbeddings(*result, l.first, l.count, l.m->prepared, r);
          int64_t used = 0;
          for (const TextStats& t : stats.texts) used += t.tokens_used;
          energy.Write(total_used > 0 ? millijoules * used / total_used : millijoules,
                       r->mutable_stats(), &l.outcome);
          FinishOutcome(l.m->prepared, std::move(stats), r->mutable_stats(), &l.outcome);
          r->mutable_stats()->set_batch_requests(runners);
          r->mutable_stats()->set_batch_texts(static_cast<int32_t>(result->token_ids.size()));
          l.outcome.batch_requests = runners;
        }
      }
    }
  }
  for (Live& l : live) RecordRun(*state, l.m->site, l.m->prepared, l.status, l.outcome);
  release();
  for (Live& l : live) l.m->finish(l.status);
}

}  // namespace attnserve
