#include "server/embed_call.h"

#include "engine/util/status_macros.h"

namespace attnserve {

absl::Status ExecuteEmbed(const PreparedCall& prepared, absl::Time deadline,
                          std::function<bool()> is_cancelled, v1::EmbedResponse* response,
                          RunOutcome* outcome) {
  double tokenize_seconds = 0;
  ASSIGN_OR_RETURN(std::vector<std::vector<int32_t>> ids,
                   BeginRun(prepared, deadline, is_cancelled, outcome, &tokenize_seconds));
  const Engine& engine = *prepared.engine;
  RunEnergy energy(prepared);
  ASSIGN_OR_RETURN(EmbedResult result,
                   engine.EmbedTokenIds(std::move(ids),
                                        OptionsFor(prepared, deadline, std::move(is_cancelled))));
  result.stats.tokenize_seconds = tokenize_seconds;
  energy.End(result.stats.cpu_seconds, response->mutable_stats(), outcome);

  response->set_model(engine.model_info().name);
  for (size_t i = 0; i < result.token_ids.size(); ++i) {
    v1::Embedding* e = response->add_embeddings();
    e->mutable_values()->Add(result.embedding(i), result.embedding(i) + result.dim);
    if (prepared.inputs.return_token_ids) {
      e->mutable_token_ids()->Add(result.token_ids[i].begin(), result.token_ids[i].end());
    }
  }
  ToProto(result.stats, outcome->queue_seconds, prepared.policy->version(),
          response->mutable_stats());
  outcome->ran = true;
  outcome->stats = std::move(result.stats);
  return absl::OkStatus();
}

}  // namespace attnserve
