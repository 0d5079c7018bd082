#include "server/embed_call.h"

#include "engine/util/status_macros.h"

namespace attnserve {

void AppendEmbeddings(const EmbedResult& result, size_t first, size_t count,
                      const PreparedCall& prepared, v1::EmbedResponse* response) {
  for (size_t i = first; i < first + count; ++i) {
    v1::Embedding* e = response->add_embeddings();
    e->mutable_values()->Add(result.embedding(i), result.embedding(i) + result.dim);
    if (!prepared.inputs.return_token_ids) continue;
    if (prepared.inputs.token_ids_with_special_tokens) {
      const std::vector<int32_t> framed = prepared.engine->WithSpecialTokens(result.token_ids[i]);
      e->mutable_token_ids()->Add(framed.begin(), framed.end());
    } else {
      e->mutable_token_ids()->Add(result.token_ids[i].begin(), result.token_ids[i].end());
    }
  }
}

absl::Status ExecuteEmbed(const PreparedCall& prepared, absl::Time deadline,
                          std::function<bool()> is_cancelled, v1::EmbedResponse* response,
                          RunOutcome* outcome) {
  const Engine& engine = *prepared.engine;
  ASSIGN_OR_RETURN(
      EmbedResult result,
      RunEngine(prepared, deadline, std::move(is_cancelled), response->mutable_stats(), outcome,
                [&](std::vector<std::vector<int32_t>> ids, RunOptions options) {
                  return engine.EmbedTokenIds(std::move(ids), options);
                }));
  response->set_model(engine.model_info().name);
  AppendEmbeddings(result, 0, result.token_ids.size(), prepared, response);
  FinishOutcome(prepared, std::move(result.stats), response->mutable_stats(), outcome);
  return absl::OkStatus();
}

}  // namespace attnserve
