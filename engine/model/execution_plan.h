// A request's options after validation: what the forward pass runs with.
// Its own header so the layer functions (transformer_layer.h, bert_layer.h)
// and the model interface (encoder_model.h) can all include it.
#ifndef ATTNSERVE_ENGINE_MODEL_EXECUTION_PLAN_H_
#define ATTNSERVE_ENGINE_MODEL_EXECUTION_PLAN_H_

#include <functional>

#include "absl/time/time.h"
#include "engine/attention/registry.h"
#include "engine/kernels/linear_precision.h"

namespace attnserve {

struct ExecutionPlan {
  ResolvedAttention attention;
  // The model's fitted pooling filters (engine/model/fitted_pooling_file.h),
  // or null: what linformer's fitted=1 runs on.
  const FittedPooling* fitted_pooling = nullptr;
  LinearPrecision linear = LinearPrecision::kF32;  // the dense layers' arithmetic
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> is_cancelled;
};

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_MODEL_EXECUTION_PLAN_H_
