// The worker side of an embedding request (Embed, EmbedStream, HTTP
// /v1/embeddings and /embed): run the engine on a prepared call and fill the
// response.
#ifndef ATTNSERVE_SERVER_EMBED_CALL_H_
#define ATTNSERVE_SERVER_EMBED_CALL_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "attnserve/v1/inference.pb.h"
#include "server/prepared_call.h"

namespace attnserve {

// Appends texts [first, first + count) of `result` to `response` (with their
// token ids when the request asked for them, framed by the model's special
// tokens when it asked for that too).
void AppendEmbeddings(const EmbedResult& result, size_t first, size_t count,
                      const PreparedCall& prepared, v1::EmbedResponse* response);

// Tokenizes (or checks the given ids), applies the over-length rule, runs
// the engine and fills `response`; `outcome` receives what telemetry needs.
absl::Status ExecuteEmbed(const PreparedCall& prepared, absl::Time deadline,
                          std::function<bool()> is_cancelled, v1::EmbedResponse* response,
                          RunOutcome* outcome);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_EMBED_CALL_H_
