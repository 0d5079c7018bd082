// A tokenize request (gRPC Tokenize, HTTP /tokenize): answered inline, since
// tokenizing takes microseconds per text, within the same input limits as
// the inference calls.
#ifndef ATTNSERVE_SERVER_TOKENIZE_CALL_H_
#define ATTNSERVE_SERVER_TOKENIZE_CALL_H_

#include "absl/status/status.h"
#include "attnserve/v1/inference.pb.h"
#include "server/serving_state.h"

namespace attnserve {

// Fills one TokenIds per text: ids and pieces, with the model's special
// tokens (flagged in `special`) when the request asks for them.
absl::Status RunTokenize(const ServingState& state, const v1::TokenizeRequest& request,
                         v1::TokenizeResponse* response);

}  // namespace attnserve

#endif  // ATTNSERVE_SERVER_TOKENIZE_CALL_H_
