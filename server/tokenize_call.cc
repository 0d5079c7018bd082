#include "server/tokenize_call.h"

#include "engine/util/status_macros.h"
#include "server/prepared_call.h"

namespace attnserve {

absl::Status RunTokenize(const ServingState& state, const v1::TokenizeRequest& request,
                         v1::TokenizeResponse* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Engine> engine, EngineFor(state, request.model()));
  const google::protobuf::RepeatedPtrField<v1::TokenIds> no_ids;
  const v1::ExecutionOptions no_options;
  RETURN_IF_ERROR(CheckInputLimits(
      state.limits,
      CallInputs{&request.model(), &request.texts(), &no_ids, &no_options, false, std::nullopt}));
  const std::vector<std::string_view> texts(request.texts().begin(), request.texts().end());
  ASSIGN_OR_RETURN(std::vector<std::vector<int32_t>> batch, engine->TokenizeBatch(texts));
  for (const std::vector<int32_t>& text_ids : batch) {
    int leading = 0;
    const std::vector<int32_t> ids =
        request.add_special_tokens() ? engine->WithSpecialTokens(text_ids, &leading) : text_ids;
    v1::TokenIds* out = response->add_tokens();
    out->mutable_ids()->Add(ids.begin(), ids.end());
    for (size_t i = 0; i < ids.size(); ++i) {
      out->add_pieces(engine->Piece(ids[i]));
      if (request.add_special_tokens()) {
        const bool special =
            static_cast<int>(i) < leading || i >= static_cast<size_t>(leading) + text_ids.size();
        out->add_special(special);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace attnserve
