#include "server/http/json_request.h"

#include "absl/strings/str_cat.h"
#include "engine/util/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace attnserve {
namespace {

using nlohmann::json;

const char* TypeName(const json& v) {
  return v.is_string()    ? "a string"
         : v.is_boolean() ? "a boolean"
         : v.is_number()  ? "a number"
         : v.is_array()   ? "an array"
         : v.is_object()  ? "an object"
                          : "null";
}

absl::Status WrongType(absl::string_view field, const char* want, const json& got) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": expected ", want, ", got ", TypeName(got)));
}

bool IsIdArray(const json& v) {
  if (!v.is_array() || v.empty()) return false;
  for (const json& e : v) {
    if (!e.is_number_integer()) return false;
  }
  return true;
}

absl::Status AddIds(const json& array, absl::string_view field, v1::TokenIds* out) {
  for (size_t j = 0; j < array.size(); ++j) {
    const json& e = array[j];
    if (!e.is_number_integer()) return WrongType(absl::StrCat(field, "[", j, "]"), "a token id", e);
    const int64_t id = e.get<int64_t>();
    if (id < 0 || id > INT32_MAX) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[", j, "]: token id ", id, " is out of range"));
    }
    out->add_ids(static_cast<int32_t>(id));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<json> ParseJsonBody(absl::string_view body, int max_depth) {
  if (body.empty()) return absl::InvalidArgumentError("body: empty; expected a JSON object");
  bool too_deep = false;
  const json::parser_callback_t limit_depth = [&](int depth, json::parse_event_t, json&) {
    if (depth > max_depth) too_deep = true;
    return !too_deep;
  };
  json parsed;
  try {
    parsed = json::parse(body.begin(), body.end(), limit_depth);
  } catch (const json::parse_error& e) {
    // e.what() carries the byte position and what was expected.
    return absl::InvalidArgumentError(absl::StrCat("body: not valid JSON: ", e.what()));
  } catch (const json::exception& e) {  // out_of_range: a number that overflows (1e999)
    return absl::InvalidArgumentError(absl::StrCat("body: not valid JSON: ", e.what()));
  }
  if (too_deep) {
    return absl::InvalidArgumentError(
        absl::StrCat("body: JSON nested deeper than ", max_depth, " levels"));
  }
  if (!parsed.is_object()) return WrongType("body", "a JSON object", parsed);
  return parsed;
}

absl::Status ReadInputs(const json& body, const char* field, bool allow_ids,
                        google::protobuf::RepeatedPtrField<std::string>* texts,
                        google::protobuf::RepeatedPtrField<v1::TokenIds>* token_inputs) {
  auto it = body.find(field);
  if (it == body.end()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  const json& v = *it;
  if (v.is_string()) {
    texts->Add(v.get<std::string>());
    return absl::OkStatus();
  }
  const char* want = allow_ids ? "a string, an array of strings or token-id arrays"
                               : "a string or an array of strings";
  if (!v.is_array()) return WrongType(field, want, v);
  if (v.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": at least one input is required"));
  }
  if (allow_ids && IsIdArray(v)) return AddIds(v, field, token_inputs->Add());
  for (size_t i = 0; i < v.size(); ++i) {
    const json& e = v[i];
    const std::string where = absl::StrCat(field, "[", i, "]");
    if (e.is_string() && (token_inputs == nullptr || token_inputs->empty())) {
      texts->Add(e.get<std::string>());
    } else if (allow_ids && e.is_array() && texts->empty()) {
      if (e.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": no token ids"));
      RETURN_IF_ERROR(AddIds(e, where, token_inputs->Add()));
    } else {
      return WrongType(
          where, allow_ids ? "inputs of one kind: all strings or all token-id arrays" : "a string",
          e);
    }
  }
  return absl::OkStatus();
}

absl::Status ReadExecutionOptions(const json& body, v1::ExecutionOptions* out) {
  json options = json::object();
  for (const char* key :
       {"pruning", "early_exit", "budget", "linear_precision", "max_tokens", "num_threads"}) {
    if (auto it = body.find(key); it != body.end()) options[key] = *it;
  }
  if (auto it = body.find("attention"); it != body.end()) {
    if (it->is_string()) {
      options["attention"] = json{{"kernel", *it}};
    } else if (it->is_object()) {
      options["attention"] = *it;
    } else {
      return WrongType("attention", "a kernel name or {\"kernel\", \"params\"}", *it);
    }
  }
  if (auto it = body.find("attention_params"); it != body.end()) {
    if (!it->is_object()) return WrongType("attention_params", "an object", *it);
    if (!options.contains("attention")) {
      return absl::InvalidArgumentError("attention_params: give \"attention\" (the kernel) too");
    }
    json& params = options["attention"]["params"];
    for (const auto& [name, value] : it->items()) {
      // The wire schema carries parameters as decimal text; accept numbers.
      if (value.is_number()) {
        params[name] = value.dump();
      } else if (value.is_string()) {
        params[name] = value;
      } else {
        return WrongType(absl::StrCat("attention_params.", name), "a number", value);
      }
    }
  }
  // One key at a time, so an error names the key it came from.
  for (const auto& [key, value] : options.items()) {
    v1::ExecutionOptions one;
    const auto parsed =
        google::protobuf::util::JsonStringToMessage(json{{key, value}}.dump(), &one);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(key, ": ", parsed.message().ToString()));
    }
    out->MergeFrom(one);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<bool>> OptionalBool(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) return WrongType(field, "true or false", *it);
  return it->get<bool>();
}

absl::StatusOr<std::optional<std::string>> OptionalString(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return WrongType(field, "a string", *it);
  return it->get<std::string>();
}

absl::StatusOr<std::optional<int64_t>> OptionalInt(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) return WrongType(field, "an integer", *it);
  return it->get<int64_t>();
}

}  // namespace attnserve
