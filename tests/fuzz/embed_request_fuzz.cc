// A serialized attnserve.v1.EmbedRequest through the Embed handler's steps:
// parse, PrepareCall (limits, model name, policy overrides, kernel and
// parameter checks), then ExecuteEmbed (tokenize, over-length policy, run) on
// the real model. Needs the model (ATTNSERVE_MODEL_DIR or models/use-lite);
// without it the target does nothing and says so.
//
// Limits are smaller than the server's defaults (4 texts, 2 KiB each, 256
// tokens, at most 2 threads) so that each input runs in milliseconds.
#include <filesystem>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "attnserve/v1/inference.pb.h"
#include "server/embed_call.h"
#include "server/model_manager.h"
#include "server/policy_store.h"
#include "server/request_options.h"
#include "server/serving_state.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

struct Harness {
  std::unique_ptr<attnserve::ModelManager> models;
  std::unique_ptr<attnserve::PolicyStore> policy;
  attnserve::ServingState state;
};

Harness* MakeHarness() {
  const std::string dir = attnserve::fuzz::ModelDirIfPresent();
  if (dir.empty()) {
    attnserve::fuzz::MarkUnavailable("embed_request: the model is absent (models/use-lite)");
    return nullptr;
  }
  auto* h = new Harness;
  attnserve::EngineConfig engine;
  engine.max_tokens_limit = 256;
  engine.max_batch_texts = 4;
  engine.default_threads = 1;
  const std::filesystem::path path = std::filesystem::absolute(dir);
  h->models = std::make_unique<attnserve::ModelManager>(engine, path.parent_path().string());
  if (absl::Status s = h->models->Add(path.filename().string()); !s.ok()) {
    std::fprintf(stderr, "model: %s\n", std::string(s.message()).c_str());
    std::abort();
  }
  attnserve::v1::Policy initial;
  for (const std::string& f : attnserve::PolicyStore::OverridableFields()) {
    initial.add_overridable(f);
  }
  attnserve::ModelManager* models = h->models.get();
  auto policy = attnserve::PolicyStore::Open("", initial, [models](const attnserve::v1::Policy& p) {
    absl::StatusOr<attnserve::RunOptions> options = attnserve::PolicyRunOptions(p);
    return options.ok() ? models->Current()->CheckOptions(*options) : options.status();
  });
  if (!policy.ok()) std::abort();
  h->policy = *std::move(policy);
  h->state.limits.set_max_texts_per_request(4);
  h->state.limits.set_max_text_bytes(2048);
  h->state.limits.set_max_tokens(256);
  h->state.threads_per_request = 1;
  h->state.models = h->models.get();
  h->state.policy = h->policy.get();
  return h;
}

// One request through PrepareCall and ExecuteEmbed; aborts when a property fails.
void EmbedOne(Harness& harness, const attnserve::v1::EmbedRequest& request) {
  absl::StatusOr<attnserve::PreparedCall> prepared =
      attnserve::PrepareCall(harness.state, attnserve::InputsOf(request));
  if (!prepared.ok()) {
    ATTNSERVE_FUZZ_CHECK(!prepared.status().message().empty());
    return;
  }
  if (prepared->options.num_threads > 2) prepared->options.num_threads = 2;
  attnserve::v1::EmbedResponse response;
  attnserve::RunOutcome outcome;
  const absl::Status run = attnserve::ExecuteEmbed(*prepared, absl::Now() + absl::Seconds(5),
                                                   nullptr, &response, &outcome);
  if (run.ok()) {
    ATTNSERVE_FUZZ_CHECK(response.embeddings_size() ==
                         request.texts_size() + request.token_inputs_size());
  } else {
    ATTNSERVE_FUZZ_CHECK(!run.message().empty());
  }
}

}  // namespace

ATTNSERVE_FUZZ_TARGET(embed_request) {
  // The harness (model load, its threads) and every engine run live on the
  // signal-free thread: see RunOnSignalFreeThread.
  static Harness* harness = [] {
    Harness* h = nullptr;
    attnserve::fuzz::RunOnSignalFreeThread([&h] { h = MakeHarness(); });
    return h;
  }();
  if (harness == nullptr) return 0;
  attnserve::v1::EmbedRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  attnserve::fuzz::RunOnSignalFreeThread([&] { EmbedOne(*harness, request); });
  return 0;
}
