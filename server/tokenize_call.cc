#include "server/tokenize_call.h"

#include "absl/strings/str_cat.h"
#include "engine/util/status_macros.h"
#include "server/prepared_call.h"

namespace attnserve {

absl::Status RunTokenize(const ServingState& state, const v1::TokenizeRequest& request,
                         v1::TokenizeResponse* response) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Engine> engine, EngineFor(state, request.model()));
  const google::protobuf::RepeatedPtrField<v1::TokenIds> no_ids;
  const v1::ExecutionOptions no_options;
  const std::string& model = engine->model_info().name;
  RETURN_IF_ERROR(CheckInputLimits(
      state.LimitsFor(model),
      CallInputs{&request.model(), &request.texts(), &no_ids, &no_options, false, std::nullopt},
      state.LimitsScope(model)));
  std::vector<int32_t> text_ids;
  std::vector<ByteSpan> offsets;
  for (int t = 0; t < request.texts_size(); ++t) {
    if (absl::Status s = engine->TokenizeWithOffsets(request.texts(t), &text_ids, &offsets);
        !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("texts[", t, "]: ", s.message()));
    }
    int leading = 0;
    const std::vector<int32_t> ids =
        request.add_special_tokens() ? engine->WithSpecialTokens(text_ids, &leading) : text_ids;
    v1::TokenIds* out = response->add_tokens();
    out->mutable_ids()->Add(ids.begin(), ids.end());
    for (size_t i = 0; i < ids.size(); ++i) {
      out->add_pieces(engine->Piece(ids[i]));
      const bool special =
          static_cast<int>(i) < leading || i >= static_cast<size_t>(leading) + text_ids.size();
      if (request.add_special_tokens()) out->add_special(special);
      const ByteSpan span = special ? ByteSpan{} : offsets[i - leading];
      out->add_starts(static_cast<int32_t>(span.begin));
      out->add_ends(static_cast<int32_t>(span.end));
    }
  }
  return absl::OkStatus();
}

}  // namespace attnserve
