#include "server/http/inference_routes.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/kernels/linear_precision.h"
#include "engine/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "server/admin_service.h"
#include "server/admitted_call.h"
#include "server/classify_call.h"
#include "server/embed_call.h"
#include "server/http/json_request.h"
#include "server/http/json_response.h"
#include "server/inference_service.h"
#include "server/tokenize_call.h"

namespace attnserve {
namespace {

using nlohmann::json;
using Routes = std::map<std::pair<std::string, std::string>, HttpServer::Handler>;

constexpr FieldNames kOpenAiNames{"input"};
constexpr FieldNames kTeiNames{"inputs"};
constexpr double kMaxTimeoutSeconds = 3600;

// A call's deadline: now + X-Request-Timeout seconds (none without it).
absl::StatusOr<absl::Time> DeadlineOf(const HttpRequest& request, absl::Time start) {
  std::optional<std::string> value = request.header("X-Request-Timeout");
  if (!value.has_value()) return absl::InfiniteFuture();
  double seconds = 0;
  if (!absl::SimpleAtod(*value, &seconds) || !(seconds > 0) || seconds > kMaxTimeoutSeconds) {
    return absl::InvalidArgumentError(absl::StrCat("X-Request-Timeout: '", value->substr(0, 32),
                                                   "' is not a number of seconds in (0, ",
                                                   kMaxTimeoutSeconds, "]"));
  }
  return start + absl::Seconds(seconds);
}

CallSite HttpSite(const std::string& route, const HttpRequest& request) {
  CallSite site;
  site.rpc = route;
  site.transport = "http";
  site.authorization = request.header("Authorization");
  return site;
}

// Blocks this HTTP thread until the admitted call has finished in a worker.
// `start` is handed the finish callback and starts the admitted call.
// (std::mutex, not absl::Notification: Debian's Abseil is not built for
// TSan, which would then miss this hand-over of the response.)
absl::Status RunBlocking(const std::function<void(FinishFn)>& start) {
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    absl::Status status;
  };
  auto waiter = std::make_shared<Waiter>();
  start([waiter](const absl::Status& status) {
    std::lock_guard<std::mutex> lock(waiter->mu);
    waiter->status = status;
    waiter->done = true;
    waiter->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(waiter->mu);
  waiter->cv.wait(lock, [&] { return waiter->done; });
  return waiter->status;
}

// What every JSON inference route does before its own fields: authenticate
// and refuse while draining (before reading anything), parse the body, read
// the deadline. On error, the answer is in `*error`.
struct RouteStart {
  CallSite site;
  json body;
};

absl::StatusOr<RouteStart> StartRoute(ServingState* state, const HttpApiOptions& options,
                                      const std::string& route, const HttpRequest& request) {
  RouteStart start{HttpSite(route, request), json()};
  RETURN_IF_ERROR(CheckCallable(*state, start.site));
  ASSIGN_OR_RETURN(json body, ParseJsonBody(request.body, options.max_json_depth));
  start.body = std::move(body);
  ASSIGN_OR_RETURN(absl::Time deadline, DeadlineOf(request, start.site.start));
  start.site.deadline = deadline;
  return start;
}

// StartRoute, then an embedding request's inputs from `field` (texts or
// token ids).
absl::StatusOr<RouteStart> StartEmbedRoute(ServingState* state, const HttpApiOptions& options,
                                           const std::string& route, const HttpRequest& http,
                                           const char* field, v1::EmbedRequest* request) {
  absl::StatusOr<RouteStart> start = StartRoute(state, options, route, http);
  if (!start.ok()) return start;
  if (absl::Status s = ReadInputs(start->body, field, true, request->mutable_texts(),
                                  request->mutable_token_inputs());
      !s.ok()) {
    return s;
  }
  return start;
}

// An error answered for `route` and counted like the gRPC side counts it.
HttpResponse Failed(const ServingState& state, const std::string& route, const HttpRequest& request,
                    ApiStyle style, const FieldNames& names, const absl::Status& status) {
  return ErrorResponse(style, names, RecordCall(state, HttpSite(route, request), status));
}

// TEI's timing headers, in milliseconds.
void AddTimingHeaders(const v1::RunStats& stats, absl::Time start, HttpResponse* r) {
  auto ms = [](double seconds) { return absl::StrCat(static_cast<int64_t>(seconds * 1e3)); };
  r->headers.emplace_back("x-total-time", ms(absl::ToDoubleSeconds(absl::Now() - start)));
  r->headers.emplace_back("x-tokenization-time", ms(stats.tokenize_seconds()));
  r->headers.emplace_back("x-queue-time", ms(stats.queue_seconds()));
  r->headers.emplace_back("x-inference-time", ms(stats.compute_seconds()));
}

int64_t TokensUsed(const v1::RunStats& stats) {
  int64_t n = 0;
  for (const v1::TextStats& t : stats.texts()) n += t.tokens_used();
  return n;
}

// Runs an embedding request read from an HTTP body.
absl::Status Embed(ServingState* state, const CallSite& site, const v1::EmbedRequest& request,
                   v1::EmbedResponse* response) {
  return RunBlocking([&](FinishFn finish) {
    RunAdmittedEmbed(state, site, InputsOf(request), response, std::move(finish));
  });
}

absl::Status Classify(ServingState* state, const CallSite& site, const v1::ClassifyRequest& request,
                      v1::ClassifyResponse* response) {
  return RunBlocking([&](FinishFn finish) {
    RunAdmittedCall(
        state, site, InputsOf(request),
        [&request](const PreparedCall& p) { return CheckHead(*p.engine, request.head()); },
        [&request, response](const PreparedCall& p, const CallSite& s, RunOutcome* outcome) {
          return ExecuteClassify(p, request.head(), s.deadline, s.is_cancelled, response, outcome);
        },
        std::move(finish));
  });
}

// The body fields every inference route shares: options and return_stats.
absl::Status ReadCommon(const json& body, v1::ExecutionOptions* options, bool* return_stats) {
  RETURN_IF_ERROR(ReadExecutionOptions(body, options));
  ASSIGN_OR_RETURN(std::optional<bool> stats, OptionalBool(body, "return_stats"));
  *return_stats = stats.value_or(false);
  return absl::OkStatus();
}

// POST /v1/embeddings, as OpenAI defines it.
HttpResponse OpenAiEmbeddings(ServingState* state, const HttpApiOptions& options,
                              const HttpRequest& http) {
  const std::string route = "/v1/embeddings";
  auto fail = [&](const absl::Status& s) {
    return Failed(*state, route, http, ApiStyle::kOpenAi, kOpenAiNames, s);
  };
  v1::EmbedRequest request;
  absl::StatusOr<RouteStart> start =
      StartEmbedRoute(state, options, route, http, "input", &request);
  if (!start.ok()) return fail(start.status());
  const json& body = start->body;
  bool return_stats = false;
  absl::StatusOr<std::optional<std::string>> model = OptionalString(body, "model");
  absl::StatusOr<std::optional<std::string>> format = OptionalString(body, "encoding_format");
  absl::StatusOr<std::optional<int64_t>> dimensions = OptionalInt(body, "dimensions");
  for (const absl::Status& s : {model.status(), format.status(), dimensions.status()}) {
    if (!s.ok()) return fail(s);
  }
  request.set_model(model->value_or(""));
  const std::string encoding = format->value_or("float");
  if (encoding != "float" && encoding != "base64") {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("encoding_format: '", encoding, "' is not 'float' or 'base64'")));
  }
  absl::StatusOr<std::shared_ptr<const Engine>> engine = EngineFor(*state, request.model());
  if (!engine.ok()) return fail(engine.status());
  const int dim = (*engine)->model_info().embedding_dim;
  if (dimensions->has_value() && **dimensions != dim) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "dimensions: model '", (*engine)->model_info().name, "' returns ", dim,
        "-dimensional embeddings and cannot shorten them; omit dimensions or send ", dim)));
  }
  if (absl::Status s = ReadCommon(body, request.mutable_options(), &return_stats); !s.ok()) {
    return fail(s);
  }
  v1::EmbedResponse response;
  if (absl::Status s = Embed(state, start->site, request, &response); !s.ok()) {
    return ErrorResponse(ApiStyle::kOpenAi, kOpenAiNames, s);
  }
  std::string out = R"({"object":"list","data":[)";
  for (int i = 0; i < response.embeddings_size(); ++i) {
    const auto& values = response.embeddings(i).values();
    absl::StrAppend(&out, i == 0 ? "" : ",", R"({"object":"embedding","index":)", i,
                    R"(,"embedding":)");
    if (encoding == "base64") {
      AppendBase64Floats(&out, values.data(), values.size());
    } else {
      AppendFloatArray(&out, values.data(), values.size());
    }
    out.push_back('}');
  }
  const int64_t tokens = TokensUsed(response.stats());
  absl::StrAppend(&out, R"(],"model":)", json(response.model()).dump(),
                  R"(,"usage":{"prompt_tokens":)", tokens, R"(,"total_tokens":)", tokens, "}");
  if (return_stats) absl::StrAppend(&out, R"(,"stats":)", ProtoJson(response.stats()));
  out.push_back('}');
  HttpResponse r;
  r.body = std::move(out);
  AddTimingHeaders(response.stats(), start->site.start, &r);
  return r;
}

// POST /embed, as TEI defines it: an array of embeddings.
HttpResponse TeiEmbed(ServingState* state, const HttpApiOptions& options, const HttpRequest& http) {
  const std::string route = "/embed";
  auto fail = [&](const absl::Status& s) {
    return Failed(*state, route, http, ApiStyle::kTei, kTeiNames, s);
  };
  v1::EmbedRequest request;
  absl::StatusOr<RouteStart> start =
      StartEmbedRoute(state, options, route, http, "inputs", &request);
  if (!start.ok()) return fail(start.status());
  const json& body = start->body;
  bool return_stats = false;
  absl::StatusOr<std::optional<bool>> truncate = OptionalBool(body, "truncate");
  absl::StatusOr<std::optional<bool>> normalize = OptionalBool(body, "normalize");
  absl::StatusOr<std::optional<std::string>> model = OptionalString(body, "model");
  for (const absl::Status& s : {truncate.status(), normalize.status(), model.status()}) {
    if (!s.ok()) return fail(s);
  }
  if (truncate->has_value()) request.set_truncate(**truncate);
  if (!normalize->value_or(true)) {
    return fail(absl::InvalidArgumentError(
        "normalize: false is not supported: attnserve returns unit-length embeddings"));
  }
  request.set_model(model->value_or(""));
  if (absl::Status s = ReadCommon(body, request.mutable_options(), &return_stats); !s.ok()) {
    return fail(s);
  }
  v1::EmbedResponse response;
  if (absl::Status s = Embed(state, start->site, request, &response); !s.ok()) {
    return ErrorResponse(ApiStyle::kTei, kTeiNames, s);
  }
  std::string out = return_stats ? R"({"embeddings":[)" : "[";
  for (int i = 0; i < response.embeddings_size(); ++i) {
    if (i > 0) out.push_back(',');
    const auto& values = response.embeddings(i).values();
    AppendFloatArray(&out, values.data(), values.size());
  }
  out.push_back(']');
  if (return_stats) absl::StrAppend(&out, R"(,"stats":)", ProtoJson(response.stats()), "}");
  HttpResponse r;
  r.body = std::move(out);
  AddTimingHeaders(response.stats(), start->site.start, &r);
  return r;
}

// Reads a classification request: inputs, head, truncate, options. TEI's
// sentence pairs and raw scores are refused by name.
absl::Status ReadClassify(const json& body, v1::ClassifyRequest* request, bool* return_stats) {
  if (auto it = body.find("inputs");
      it != body.end() && it->is_array() && !it->empty() && (*it)[0].is_array()) {
    return absl::InvalidArgumentError(
        "inputs[0]: sentence pairs are not supported; send one text per input");
  }
  if (absl::Status s = ReadInputs(body, "inputs", false, request->mutable_texts(), nullptr);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::optional<std::string>> head = OptionalString(body, "head");
  absl::StatusOr<std::optional<std::string>> model = OptionalString(body, "model");
  absl::StatusOr<std::optional<bool>> truncate = OptionalBool(body, "truncate");
  absl::StatusOr<std::optional<bool>> raw = OptionalBool(body, "raw_scores");
  for (const absl::Status& s : {head.status(), model.status(), truncate.status(), raw.status()}) {
    if (!s.ok()) return s;
  }
  if (raw->value_or(false)) {
    return absl::InvalidArgumentError(
        "raw_scores: true is not supported: attnserve returns probabilities");
  }
  request->set_head(head->value_or(""));
  request->set_model(model->value_or(""));
  if (truncate->has_value()) request->set_truncate(**truncate);
  return ReadCommon(body, request->mutable_options(), return_stats);
}

// POST /classify (the gRPC ClassifyResponse in JSON) and POST /predict
// (TEI's shape: per text, labels with scores, best first).
HttpResponse ClassifyRoute(ServingState* state, const HttpApiOptions& options,
                           const HttpRequest& http, bool tei_shape) {
  const std::string route = tei_shape ? "/predict" : "/classify";
  auto fail = [&](const absl::Status& s) {
    return Failed(*state, route, http, ApiStyle::kTei, kTeiNames, s);
  };
  absl::StatusOr<RouteStart> start = StartRoute(state, options, route, http);
  if (!start.ok()) return fail(start.status());
  v1::ClassifyRequest request;
  bool return_stats = false;
  if (absl::Status s = ReadClassify(start->body, &request, &return_stats); !s.ok()) {
    return fail(s);
  }
  v1::ClassifyResponse response;
  if (absl::Status s = Classify(state, start->site, request, &response); !s.ok()) {
    return ErrorResponse(ApiStyle::kTei, kTeiNames, s);
  }
  HttpResponse r;
  AddTimingHeaders(response.stats(), start->site.start, &r);
  if (!tei_shape) {
    if (!return_stats) response.clear_stats();
    r.body = ProtoJson(response);
    return r;
  }
  json results = json::array();
  for (const v1::Classification& c : response.results()) {
    std::vector<std::pair<float, std::string>> ranked;
    for (const auto& [label, score] : c.scores()) ranked.emplace_back(score, label);
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    json one = json::array();
    for (const auto& [score, label] : ranked) one.push_back({{"score", score}, {"label", label}});
    results.push_back(std::move(one));
  }
  const bool single = start->body["inputs"].is_string();
  json out = single ? results[0] : results;
  if (return_stats)
    out = {{"predictions", out}, {"stats", json::parse(ProtoJson(response.stats()))}};
  r.body = out.dump();
  return r;
}

// POST /tokenize, as TEI defines it: per text, its tokens.
HttpResponse TeiTokenize(ServingState* state, const HttpApiOptions& options,
                         const HttpRequest& http) {
  const std::string route = "/tokenize";
  auto fail = [&](const absl::Status& s) {
    return Failed(*state, route, http, ApiStyle::kTei, kTeiNames, s);
  };
  absl::StatusOr<RouteStart> start = StartRoute(state, options, route, http);
  if (!start.ok()) return fail(start.status());
  v1::TokenizeRequest request;
  if (absl::Status s = ReadInputs(start->body, "inputs", false, request.mutable_texts(), nullptr);
      !s.ok()) {
    return fail(s);
  }
  absl::StatusOr<std::optional<bool>> special = OptionalBool(start->body, "add_special_tokens");
  absl::StatusOr<std::optional<std::string>> model = OptionalString(start->body, "model");
  for (const absl::Status& s : {special.status(), model.status()}) {
    if (!s.ok()) return fail(s);
  }
  request.set_add_special_tokens(special->value_or(true));  // TEI's default
  request.set_model(model->value_or(""));
  v1::TokenizeResponse response;
  if (absl::Status s = RunTokenize(*state, request, &response); !s.ok()) return fail(s);
  (void)RecordCall(*state, start->site, absl::OkStatus());
  // TEI's SimpleToken: a text token's "text" is its slice of the input and
  // start/stop its byte offsets; a special token's "text" is the token, with
  // no offsets. "piece" (the vocabulary entry) is attnserve's own.
  json out = json::array();
  for (int t = 0; t < response.tokens_size(); ++t) {
    const v1::TokenIds& tokens_of_text = response.tokens(t);
    const std::string& input = request.texts(t);
    json tokens = json::array();
    for (int i = 0; i < tokens_of_text.ids_size(); ++i) {
      const bool special = i < tokens_of_text.special_size() && tokens_of_text.special(i);
      json token = {
          {"id", tokens_of_text.ids(i)}, {"special", special}, {"piece", tokens_of_text.pieces(i)}};
      if (special) {
        token["text"] = tokens_of_text.pieces(i);
        token["start"] = nullptr;
        token["stop"] = nullptr;
      } else {
        const int start = tokens_of_text.starts(i), stop = tokens_of_text.ends(i);
        token["text"] = input.substr(static_cast<size_t>(start), static_cast<size_t>(stop - start));
        token["start"] = start;
        token["stop"] = stop;
      }
      tokens.push_back(std::move(token));
    }
    out.push_back(std::move(tokens));
  }
  HttpResponse r;
  r.body = out.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

// GET /info: TEI's fields, then attnserve's (family, limits, kernels, heads).
HttpResponse Info(ServingState* state, const HttpApiOptions& options, const HttpRequest& http) {
  const CallSite site = HttpSite("/info", http);
  absl::Status status = CheckCallable(*state, site);
  std::shared_ptr<const Engine> engine = state->models->Current();
  if (!status.ok() && !(status.code() == absl::StatusCode::kUnavailable && engine != nullptr)) {
    return ErrorResponse(ApiStyle::kTei, kTeiNames, status);
  }
  const ModelInfo& m = engine->model_info();
  const std::vector<std::string> heads = engine->HeadNames();
  json model_type = heads.empty() ? json{{"embedding", {{"pooling", "model"}}}}
                                  : json{{"classifier", {{"heads", heads}}}};
  v1::ListAttentionKernelsResponse kernels;
  FillKernelCatalogue(&kernels);
  json kernel_names = json::array();
  for (const v1::AttentionKernelInfo& k : kernels.kernels()) kernel_names.push_back(k.name());
  v1::ModelInfo wire;
  ToProto(m, state->models->GenerationOf(engine.get()), &wire);
  json models = json::array();
  for (const ModelManager::Served& s : state->models->All()) {
    v1::ModelInfo one;
    ToProto(s.engine->model_info(), s.generation, &one);
    models.push_back(json::parse(ProtoJson(one)));
  }
  const json out = {{"model_id", m.name},
                    {"model_sha", nullptr},
                    {"model_dtype", "float32"},
                    {"model_type", model_type},
                    {"max_concurrent_requests", state->queue->workers() + state->queue->capacity()},
                    {"max_input_length", state->limits.max_tokens()},
                    {"max_client_batch_size", state->limits.max_texts_per_request()},
                    {"max_text_bytes", state->limits.max_text_bytes()},
                    {"version", options.version},
                    {"model", json::parse(ProtoJson(wire))},
                    {"models", models},
                    {"heads", heads},
                    {"kernels", kernel_names},
                    {"linear_precisions", LinearPrecisionChoices({"auto"})},
                    {"draining", state->draining.load()}};
  HttpResponse r;
  r.body = out.dump();
  return r;
}

// GET /v1/models, as OpenAI lists models.
HttpResponse OpenAiModels(ServingState* state, const HttpRequest& http) {
  absl::Status status = CheckCallable(*state, HttpSite("/v1/models", http));
  if (!status.ok() && status.code() != absl::StatusCode::kUnavailable) {
    return ErrorResponse(ApiStyle::kOpenAi, kOpenAiNames, status);
  }
  json data = json::array();
  for (const ModelManager::Served& m : state->models->All()) {
    data.push_back(
        {{"id", m.name}, {"object", "model"}, {"created", 0}, {"owned_by", "attnserve"}});
  }
  HttpResponse r;
  r.body = json{{"object", "list"}, {"data", data}}.dump();
  return r;
}

// GET /health: 200 only while SERVING (model loaded, not draining).
HttpResponse Health(const ServingState* state) {
  const bool serving = !state->draining.load() && state->Started();
  HttpResponse r;
  r.status = serving ? 200 : 503;
  r.body = json{{"status", serving ? "SERVING" : "NOT_SERVING"}}.dump();
  return r;
}

}  // namespace

Routes InferenceRoutes(ServingState* state, const HttpApiOptions& options) {
  Routes routes;
  routes[{"POST", "/v1/embeddings"}] = [state, options](const HttpRequest& r) {
    return OpenAiEmbeddings(state, options, r);
  };
  routes[{"GET", "/v1/models"}] = [state](const HttpRequest& r) { return OpenAiModels(state, r); };
  routes[{"POST", "/embed"}] = [state, options](const HttpRequest& r) {
    return TeiEmbed(state, options, r);
  };
  routes[{"POST", "/predict"}] = [state, options](const HttpRequest& r) {
    return ClassifyRoute(state, options, r, true);
  };
  routes[{"POST", "/classify"}] = [state, options](const HttpRequest& r) {
    return ClassifyRoute(state, options, r, false);
  };
  routes[{"POST", "/tokenize"}] = [state, options](const HttpRequest& r) {
    return TeiTokenize(state, options, r);
  };
  routes[{"GET", "/info"}] = [state, options](const HttpRequest& r) {
    return Info(state, options, r);
  };
  routes[{"GET", "/health"}] = [state](const HttpRequest&) { return Health(state); };
  return routes;
}

HttpServer::ErrorHandler ApiErrorHandler(ServingState* state) {
  return [state](const HttpRequest& request, int status, const std::string& message) {
    const bool openai = request.path.rfind("/v1/", 0) == 0;
    // Only known routes are counted (unknown paths are unbounded labels).
    if (status == 413) {
      (void)RecordCall(*state, HttpSite(request.path, request),
                       absl::ResourceExhaustedError(message));
    }
    return ErrorResponse(openai ? ApiStyle::kOpenAi : ApiStyle::kTei, status, message);
  };
}

}  // namespace attnserve
