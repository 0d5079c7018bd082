// Dynamic batching of embedding calls: queued requests whose resolved
// options are the same share one engine run (a ragged batch: no padding),
// then each gets its own rows, stats and share of the energy.
//
// Rules (docs/BATCHING.md):
//  - only calls without token pruning, early exit or any "auto" option batch
//    (their per-layer figures would not split per request);
//  - the key holds everything that changes the arithmetic: the engine
//    (model generation), kernel and parameters, linear precision, clip,
//    threads, the over-length rule, and a length class: the longest input's
//    size rounded up to a power of two (bytes of text, or token ids), so a
//    4,000-token text never holds 10-token texts back;
//  - each member keeps its own deadline and cancellation: one that expired
//    or was cancelled while queued leaves before the run; the others run.
#ifndef ATTNSERVE_SERVER_EMBED_BATCH_H_
#define ATTNSERVE_SERVER_EMBED_BATCH_H_

#include <memory>
#include <string>
#include <vector>

#include "server/admission_queue.h"
#include "server/admitted_call.h"

namespace attnserve {

// The batch key of a prepared embedding call; "" when it must run alone.
std::string EmbedBatchKey(const PreparedCall& prepared);

// Estimated tokens of a call's inputs (bytes / 4 for texts), for the batch
// token limit.
int64_t EstimatedTokens(const CallInputs& inputs);

// One queued embedding call.
struct EmbedBatchMember final : BatchMember {
  EmbedBatchMember(ServingState* state, CallSite site, PreparedCall prepared, std::string key,
                   v1::EmbedResponse* response, FinishFn finish);
  const std::string& batch_key() const override { return key; }
  int64_t batch_tokens() const override { return tokens; }
  const std::string& batch_model() const override { return prepared.engine->model_info().name; }

  ServingState* state;
  CallSite site;
  PreparedCall prepared;
  std::string key;
  int64_t tokens;
  v1::EmbedResponse* response;
  FinishFn finish;
};

// The queue's group job: runs `members` (EmbedBatchMembers of one key) as
// one engine run, records and answers each.
void RunEmbedBatch(std::vector<std::shared_ptr<BatchMember>> members,
                   const AdmissionQueue::Release& release);

// The batch limits in force for `model`'s requests, field by field: the
// policy's model_batching[model], else the policy's batching, else the
// config's (zero or unset fields fall through).
BatchLimits ResolveBatchLimits(const v1::Batching& config, const v1::Policy& policy,
                               const std::string& model);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_EMBED_BATCH_H_
