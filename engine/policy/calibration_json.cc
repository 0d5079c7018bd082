// calibration.json <-> CalibrationTable, through the schema in
// engine/policy/calibration.proto: protobuf's JSON mapping checks the types,
// names and nesting; this file checks what a schema cannot say.
#include <cmath>
#include <string_view>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "engine/kernels/linear_precision.h"
#include "engine/options_from_proto.h"
#include "engine/policy/auto_policy.h"
#include "engine/policy/calibration.pb.h"
#include "engine/util/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace attnserve {
namespace {

namespace pb = ::attnserve::calibration;

absl::Status Bad(const std::string& source, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
}

template <typename Repeated>
absl::Status CheckFinite(const Repeated& values, const std::string& field,
                         const std::string& where) {
  for (double v : values) {
    if (!std::isfinite(v)) return Bad(where, absl::StrCat(field, ": expected finite numbers"));
  }
  return absl::OkStatus();
}

absl::StatusOr<PruningOptions> FromProto(const pb::Pruning& p, const std::string& where) {
  RETURN_IF_ERROR(CheckFinite(p.keep_ratio(), "keep_ratio", where));
  RETURN_IF_ERROR(CheckFinite(p.importance_threshold(), "importance_threshold", where));
  PruningOptions out;
  if (absl::Status s = PruningFromProto("", p, &out); !s.ok()) {
    return Bad(where, std::string(s.message()));
  }
  return out;
}

absl::StatusOr<CalibrationEntry> FromProto(const pb::Entry& row, const CalibrationTable& table,
                                           const std::string& where) {
  CalibrationEntry e;
  e.name = row.name();
  if (e.name.empty()) return Bad(where, "name: missing");
  if (table.Find(e.name) != nullptr)
    return Bad(where, absl::StrCat("name: '", e.name, "' repeats"));
  if (!row.attention().empty()) e.attention = row.attention();
  e.attention_params.insert(row.attention_params().begin(), row.attention_params().end());
  if (!row.linear_precision().empty()) {
    const std::optional<LinearPrecision> precision = ParseLinearPrecision(row.linear_precision());
    if (!precision) {
      return Bad(where, absl::StrCat("linear_precision: '", row.linear_precision(),
                                     "' is not one of ", kLinearPrecisionNames));
    }
    e.linear_precision = *precision;
  }
  ASSIGN_OR_RETURN(e.pruning, FromProto(row.pruning(), where + ".pruning"));
  e.early_exit = EarlyExitFromProto(row.early_exit());
  for (const auto& [field, values, out] :
       {std::tuple{"latency_ms", &row.latency_ms(), &e.latency_ms},
        std::tuple{"cosine", &row.cosine(), &e.cosine}}) {
    if (values->empty()) return Bad(where, absl::StrCat(field, ": missing"));
    RETURN_IF_ERROR(CheckFinite(*values, field, where));
    if (values->size() != static_cast<int>(table.lengths.size())) {
      return Bad(where, absl::StrCat(field, ": ", values->size(), " values for ",
                                     table.lengths.size(), " lengths"));
    }
    const double high = std::string_view(field) == "cosine" ? 1.0001 : INFINITY;
    for (double x : *values) {
      if (x < 0 || x > high) return Bad(where, absl::StrCat(field, ": value ", x, " out of range"));
    }
    out->assign(values->begin(), values->end());
  }
  if (row.has_retention()) {
    const double r = row.retention().value();
    if (!(r >= 0 && r <= 2)) return Bad(where, "retention: expected a number in [0, 2] or null");
    e.retention = r;
  }
  return e;
}

pb::Pruning ToProto(const PruningOptions& p) {
  pb::Pruning out;
  out.mutable_keep_ratio()->Add(p.keep_ratio.begin(), p.keep_ratio.end());
  out.mutable_importance_threshold()->Add(p.importance_threshold.begin(),
                                          p.importance_threshold.end());
  out.set_min_tokens(p.min_tokens);
  out.set_keep_first(p.keep_first);
  out.set_fallback(std::string(PruningFallbackName(p.fallback)));
  return out;
}

pb::EarlyExit ToProto(const EarlyExitOptions& e) {
  pb::EarlyExit out;
  out.set_max_layers(e.max_layers);
  out.set_embed_cosine(e.embed_cosine);
  out.set_min_confidence(e.min_confidence);
  out.set_max_entropy(e.max_entropy);
  return out;
}

}  // namespace

absl::StatusOr<CalibrationTable> ParseCalibrationTable(const std::string& json_text,
                                                       const std::string& source) {
  pb::Table file;
  const auto parsed = google::protobuf::util::JsonStringToMessage(json_text, &file);
  if (!parsed.ok()) {
    return Bad(source, absl::StrCat("not a JSON object of the calibration schema "
                                    "(engine/policy/calibration.proto): ",
                                    parsed.message().ToString()));
  }
  CalibrationTable table;
  table.model = file.model();
  if (file.has_metadata()) {
    google::protobuf::util::JsonPrintOptions compact;
    (void)google::protobuf::util::MessageToJsonString(file.metadata(), &table.metadata_json,
                                                      compact);
  }
  if (file.lengths().empty()) return Bad(source, "lengths: missing or empty");
  for (int i = 0; i < file.lengths_size(); ++i) {
    const int v = file.lengths(i);
    if (v < 1 || v > 1 << 20 || (i > 0 && v <= file.lengths(i - 1))) {
      return Bad(source, "lengths: must be strictly increasing whole token counts >= 1");
    }
    table.lengths.push_back(v);
  }
  if (file.entries().empty()) return Bad(source, "entries: missing or empty");
  for (int i = 0; i < file.entries_size(); ++i) {
    ASSIGN_OR_RETURN(CalibrationEntry e,
                     FromProto(file.entries(i), table, absl::StrCat(source, ": entries[", i, "]")));
    table.entries.push_back(std::move(e));
  }
  return table;
}

std::string CalibrationTableToJson(const CalibrationTable& table) {
  pb::Table file;
  file.set_model(table.model);
  file.mutable_lengths()->Add(table.lengths.begin(), table.lengths.end());
  if (!table.metadata_json.empty()) {
    // Written by our own tools as a JSON object; anything else is dropped.
    (void)google::protobuf::util::JsonStringToMessage(table.metadata_json, file.mutable_metadata());
  }
  for (const CalibrationEntry& e : table.entries) {
    pb::Entry* row = file.add_entries();
    row->set_name(e.name);
    row->set_attention(e.attention);
    row->mutable_attention_params()->insert(e.attention_params.begin(), e.attention_params.end());
    row->set_linear_precision(std::string(LinearPrecisionName(e.linear_precision)));
    *row->mutable_pruning() = ToProto(e.pruning);
    *row->mutable_early_exit() = ToProto(e.early_exit);
    row->mutable_latency_ms()->Add(e.latency_ms.begin(), e.latency_ms.end());
    row->mutable_cosine()->Add(e.cosine.begin(), e.cosine.end());
    if (e.retention >= 0) row->mutable_retention()->set_value(e.retention);
  }
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(file, &out, options);
  return out;
}

}  // namespace attnserve
