// The interface every model family implements (USE-lite, the BERT family):
// tokenize text, and run the encoder layer by layer (StepwiseEncoder), on
// which the plain Embed is written once.
#ifndef ATTNSERVE_ENGINE_MODEL_ENCODER_MODEL_H_
#define ATTNSERVE_ENGINE_MODEL_ENCODER_MODEL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/model/execution_plan.h"
#include "engine/model/stepwise_encoder.h"
#include "engine/run_options.h"
#include "engine/tokenizer/aligned_text.h"

namespace attnserve {

struct ClassifierHead;  // engine/policy/classifier_head.h

struct ModelInfo {
  std::string name;    // e.g. "use-lite"
  std::string family;  // e.g. "use-lite"
  int embedding_dim = 0;
  int default_max_tokens = 0;  // the model's own clip
  // Largest clip the model can compute (sinusoidal positions: any; learned
  // positions: the table size). 0 = unbounded.
  int position_limit = 0;
  int num_layers = 0;
  int vocab_size = 0;
  int64_t num_parameters = 0;
  int64_t weight_bytes = 0;
  // For the engine's memory bound on a request (EngineConfig::max_request_bytes):
  // the widest per-token activation row (floats) and the most heads of a layer.
  int max_activation_width = 0;
  int max_heads = 0;
  // Why the model cannot prune tokens (e.g. Super attention's positional
  // alignment); empty when it can.
  std::string no_pruning_reason;
};

// Token ids the model adds around a text's own ids before it runs them.
struct SpecialTokens {
  std::vector<int32_t> prefix;  // e.g. BERT's [CLS]
  std::vector<int32_t> suffix;  // e.g. BERT's [SEP]
};

// A family implements the StepwiseEncoder methods (its computation, layer by
// layer) and the ones below (what it is, how it tokenizes).
class EncoderModel : public StepwiseEncoder {
 public:
  virtual const ModelInfo& info() const = 0;

  // Token ids of valid UTF-8 text, never truncated.
  virtual absl::StatusOr<std::vector<int32_t>> Tokenize(std::string_view text) const = 0;

  // Tokenize's ids and, for each, the bytes of `text` it stands for.
  virtual absl::Status TokenizeWithOffsets(std::string_view text, std::vector<int32_t>* ids,
                                           std::vector<ByteSpan>* offsets) const = 0;

  // The vocabulary piece of a token id ("" when out of range).
  virtual std::string Piece(int32_t id) const = 0;

  // What the model adds around Tokenize's ids (none by default).
  virtual SpecialTokens special_tokens() const { return {}; }

  // Embeds each non-empty, already clipped id sequence into one row of `out`
  // ([ids.size(), embedding_dim]): every layer, no pruning or early exit
  // (EmbedStepwise). Adds layer-level figures to `stats`.
  absl::Status Embed(const std::vector<std::vector<int32_t>>& ids, const ExecutionPlan& plan,
                     float* out, RunStats* stats) const {
    return EmbedStepwise(*this, info().num_layers, ids, plan, out, stats);
  }

  // A classification head that ships inside the checkpoint (e.g. a Hugging
  // Face sequence classifier), on this model's embedding; null if none.
  virtual const ClassifierHead* builtin_head() const { return nullptr; }
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_MODEL_ENCODER_MODEL_H_
