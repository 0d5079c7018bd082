// Pruning and early-exit options from any protobuf message that names their
// fields the same way: the API's v1::PruningOptions / v1::EarlyExitOptions
// and calibration.json's calibration::Pruning / calibration::EarlyExit. One
// copy of the field mapping, so the two schemas cannot drift apart silently.
#ifndef ATTNSERVE_ENGINE_OPTIONS_FROM_PROTO_H_
#define ATTNSERVE_ENGINE_OPTIONS_FROM_PROTO_H_

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "engine/run_options.h"

namespace attnserve {

// `field_prefix` ("options.pruning.", ...) names the message in errors.
template <typename PruningProto>
absl::Status PruningFromProto(std::string_view field_prefix, const PruningProto& p,
                              PruningOptions* out) {
  PruningOptions pruning;
  pruning.keep_ratio.assign(p.keep_ratio().begin(), p.keep_ratio().end());
  pruning.importance_threshold.assign(p.importance_threshold().begin(),
                                      p.importance_threshold().end());
  if (p.has_min_tokens()) pruning.min_tokens = p.min_tokens();
  if (p.has_keep_first()) pruning.keep_first = p.keep_first();
  if (absl::Status s =
          SetPruningFallback(std::string(field_prefix) + "fallback", p.fallback(), &pruning);
      !s.ok()) {
    return s;
  }
  *out = std::move(pruning);
  return absl::OkStatus();
}

template <typename EarlyExitProto>
EarlyExitOptions EarlyExitFromProto(const EarlyExitProto& e) {
  EarlyExitOptions out;
  out.max_layers = e.max_layers();
  out.embed_cosine = e.embed_cosine();
  out.min_confidence = e.min_confidence();
  if (e.has_max_entropy()) out.max_entropy = e.max_entropy();
  return out;
}

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_OPTIONS_FROM_PROTO_H_
