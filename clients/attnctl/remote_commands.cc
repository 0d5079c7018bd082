#include "clients/attnctl/remote_commands.h"

#include <fstream>
#include <iostream>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "clients/attnctl/json_lines.h"
#include "engine/util/file_io.h"
#include "engine/util/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "server/bearer_token.h"

namespace attnserve {
namespace {

std::unique_ptr<AttnClient> ConnectOrDie(const RemoteOptions& remote, bool admin, int* exit_code) {
  ClientOptions options;
  options.address = remote.server;
  options.ca_file = remote.ca_file;
  options.cert_file = remote.cert_file;
  options.key_file = remote.key_file;
  options.timeout = absl::Seconds(remote.timeout_seconds);
  if (!remote.api_key_file.empty()) {
    absl::StatusOr<std::vector<std::string>> keys =
        ReadTokenFile("--api_key_file", remote.api_key_file);
    if (!keys.ok()) {
      std::cerr << "attnctl: " << keys.status().message() << "\n";
      *exit_code = 2;
      return nullptr;
    }
    options.api_key = keys->front();
  }
  if (admin && !remote.admin_token_file.empty()) {
    absl::StatusOr<std::string> token = ReadFileToString(remote.admin_token_file, 64 << 10);
    if (!token.ok()) {
      std::cerr << "attnctl: --admin_token_file: " << token.status().message() << "\n";
      *exit_code = 2;
      return nullptr;
    }
    options.admin_token = std::string(absl::StripAsciiWhitespace(*token));
  }
  absl::StatusOr<std::unique_ptr<AttnClient>> client = AttnClient::Connect(options);
  if (!client.ok()) {
    std::cerr << "attnctl: " << client.status().message() << "\n";
    *exit_code = 2;
    return nullptr;
  }
  return *std::move(client);
}

int Fail(const absl::Status& status) {
  std::cerr << "attnctl: " << absl::StatusCodeToString(status.code()) << ": " << status.message()
            << "\n";
  return 1;
}

int PrintJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  std::cout << json;
  return 0;
}

absl::StatusOr<std::map<std::string, std::string>> ParseParams(
    const std::vector<std::string>& pairs) {
  std::map<std::string, std::string> params;
  for (const std::string& pair : pairs) {
    const size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--attention-param '", pair, "': expected key=value"));
    }
    params[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return params;
}

// The batch figures of a response, as the in-process commands report them.
RunStats StatsFromProto(const v1::RunStats& s) {
  RunStats stats;
  stats.max_tokens = s.max_tokens();
  stats.attention_kernel = s.attention_kernel();
  stats.linear_precision = s.linear_precision();
  stats.layers_run = s.layers_run();
  stats.num_threads = s.num_threads();
  stats.compute_seconds = s.compute_seconds();
  stats.attention_seconds = s.attention_seconds();
  stats.flops = s.flops();
  stats.tokens_per_layer.assign(s.tokens_per_layer().begin(), s.tokens_per_layer().end());
  if (s.has_auto_selection()) {
    stats.auto_config = s.auto_selection().config();
    stats.budget_met = s.auto_selection().budget_met();
    stats.budget_note = s.auto_selection().note();
    stats.predicted_latency_ms = s.auto_selection().predicted_latency_ms();
    stats.predicted_quality = s.auto_selection().predicted_quality();
  }
  return stats;
}

// The request options a command line asks for (only what it sets).
absl::Status FillOptions(const EmbedCommandOptions& o, v1::ExecutionOptions* out) {
  if (o.attention_given) {
    out->mutable_attention()->set_kernel(o.attention);
    ASSIGN_OR_RETURN(auto params, ParseParams(o.attention_params));
    for (const auto& [k, v] : params) (*out->mutable_attention()->mutable_params())[k] = v;
  }
  out->set_max_tokens(o.max_tokens);
  out->set_num_threads(o.threads);
  out->set_linear_precision(o.linear_precision);
  if (o.adaptive_given) {
    v1::PruningOptions* p = out->mutable_pruning();
    for (double r : o.keep_ratio) p->add_keep_ratio(r);
    for (double t : o.prune_threshold) p->add_importance_threshold(t);
    p->set_min_tokens(o.prune_min_tokens);
    p->set_keep_first(o.prune_keep_first);
    p->set_fallback(o.prune_fallback);
    v1::EarlyExitOptions* e = out->mutable_early_exit();
    e->set_max_layers(o.exit_max_layers);
    e->set_embed_cosine(o.exit_cosine);
    e->set_min_confidence(o.exit_confidence);
    if (o.exit_entropy >= 0) e->set_max_entropy(o.exit_entropy);
    p->set_mode(o.prune_mode);
    e->set_mode(o.exit_mode);
    if (o.max_latency_ms != 0 || o.min_retention != 0) {
      out->mutable_budget()->set_max_latency_ms(o.max_latency_ms);
      out->mutable_budget()->set_min_retention(o.min_retention);
    }
  }
  return absl::OkStatus();
}

// One input line on its way through: a text, or an error already.
struct Line {
  std::string text;
  std::optional<std::string> error;
  int64_t number = 0;
};

// Sends the chunk's good lines in one request; when the server refuses the
// batch because of one text, resends line by line so each gets its answer.
template <typename Request, typename Response, typename Call, typename Print>
bool FlushRemote(std::vector<Line>& chunk, const v1::ExecutionOptions& options, Call call,
                 Print print) {
  Request request;
  *request.mutable_options() = options;
  for (const Line& l : chunk) {
    if (!l.error) request.add_texts(l.text);
  }
  std::optional<absl::StatusOr<Response>> batch;
  if (request.texts_size() > 0) batch = call(request);
  const bool per_line = batch && !batch->ok() &&
                        batch->status().code() == absl::StatusCode::kInvalidArgument &&
                        request.texts_size() > 1;
  bool all_ok = true;
  int row = 0;
  for (Line& l : chunk) {
    if (l.error) {
      std::cout << FormatErrorLine(*l.error) << "\n";
      all_ok = false;
      continue;
    }
    if (per_line) {
      Request single;
      *single.mutable_options() = options;
      single.add_texts(l.text);
      absl::StatusOr<Response> one = call(single);
      if (!one.ok()) {
        std::cout << FormatErrorLine(absl::StrCat("line ", l.number, ": ", one.status().message()))
                  << "\n";
        all_ok = false;
      } else {
        print(*one, 0);
      }
      continue;
    }
    if (!batch->ok()) {
      std::cout << FormatErrorLine(absl::StrCat("line ", l.number, ": ",
                                                absl::StatusCodeToString(batch->status().code()),
                                                ": ", batch->status().message()))
                << "\n";
      all_ok = false;
      continue;
    }
    print(**batch, row++);
  }
  std::cout.flush();
  chunk.clear();
  return all_ok;
}

// Reads JSON lines and hands chunks to `flush`.
template <typename Flush>
int ForEachChunk(const EmbedCommandOptions& o, Flush flush) {
  std::ifstream file;
  if (!o.input_file.empty()) {
    file.open(o.input_file, std::ios::binary);
    if (!file) {
      std::cerr << "attnctl: cannot open --input '" << o.input_file << "'\n";
      return 2;
    }
  }
  std::istream& in = o.input_file.empty() ? std::cin : file;
  bool all_ok = true;
  std::vector<Line> chunk;
  int64_t number = 0;
  for (std::string text; std::getline(in, text);) {
    ++number;
    if (absl::StripAsciiWhitespace(text).empty()) continue;
    Line line;
    line.number = number;
    absl::StatusOr<std::string> parsed = ParseTextLine(text);
    if (!parsed.ok()) {
      line.error = absl::StrCat("line ", number, ": ", parsed.status().message());
    } else {
      line.text = *std::move(parsed);
    }
    chunk.push_back(std::move(line));
    if (static_cast<int>(chunk.size()) >= o.batch_size) all_ok &= flush(chunk);
  }
  if (!chunk.empty()) all_ok &= flush(chunk);
  return all_ok ? 0 : 1;
}

}  // namespace

int RunRemoteEmbed(const RemoteOptions& remote, const EmbedCommandOptions& o) {
  int code = 0;
  std::unique_ptr<AttnClient> client = ConnectOrDie(remote, false, &code);
  if (client == nullptr) return code;
  v1::ExecutionOptions options;
  if (absl::Status s = FillOptions(o, &options); !s.ok()) {
    std::cerr << "attnctl embed: " << s.message() << "\n";
    return 2;
  }
  return ForEachChunk(o, [&](std::vector<Line>& chunk) {
    return FlushRemote<v1::EmbedRequest, v1::EmbedResponse>(
        chunk, options,
        [&](v1::EmbedRequest& request) {
          request.set_return_token_ids(true);
          request.set_token_ids_with_special_tokens(o.with_special_tokens);
          return client->Embed(request);
        },
        [](const v1::EmbedResponse& response, int row) {
          const v1::Embedding& e = response.embeddings(row);
          const RunStats stats = StatsFromProto(response.stats());
          const v1::TextStats& t = response.stats().texts(row);
          TextStats text{t.tokens_in(), t.tokens_used(), t.tokens_kept(), t.exit_layer()};
          std::vector<int32_t> ids(e.token_ids().begin(), e.token_ids().end());
          std::cout << FormatEmbedLine(ids, e.values().data(), e.values_size(), text, stats,
                                       response.embeddings_size())
                    << "\n";
        });
  });
}

int RunRemoteClassify(const RemoteOptions& remote, const EmbedCommandOptions& o) {
  int code = 0;
  std::unique_ptr<AttnClient> client = ConnectOrDie(remote, false, &code);
  if (client == nullptr) return code;
  v1::ExecutionOptions options;
  if (absl::Status s = FillOptions(o, &options); !s.ok()) {
    std::cerr << "attnctl classify: " << s.message() << "\n";
    return 2;
  }
  return ForEachChunk(o, [&](std::vector<Line>& chunk) {
    return FlushRemote<v1::ClassifyRequest, v1::ClassifyResponse>(
        chunk, options,
        [&](v1::ClassifyRequest& request) {
          request.set_head(o.head);
          return client->Classify(request);
        },
        [](const v1::ClassifyResponse& response, int row) {
          const v1::Classification& c = response.results(row);
          std::vector<std::string> labels;
          std::vector<float> scores;
          for (const auto& [label, score] : c.scores()) {
            labels.push_back(label);
            scores.push_back(score);
          }
          const v1::TextStats& t = response.stats().texts(row);
          TextStats text{t.tokens_in(), t.tokens_used(), t.tokens_kept(), t.exit_layer()};
          std::cout << FormatClassifyLine(c.label(), labels, scores, text,
                                          StatsFromProto(response.stats()), response.results_size())
                    << "\n";
        });
  });
}

int RunRemoteHealth(const RemoteOptions& remote) {
  int code = 0;
  std::unique_ptr<AttnClient> client = ConnectOrDie(remote, false, &code);
  if (client == nullptr) return code;
  auto status = client->Health();
  if (!status.ok()) return Fail(status.status());
  std::cout << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(*status) << "\n";
  return *status == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : 1;
}

int RunRemoteModels(const RemoteOptions& remote) {
  int code = 0;
  std::unique_ptr<AttnClient> client = ConnectOrDie(remote, false, &code);
  if (client == nullptr) return code;
  auto models = client->ListModels();
  return models.ok() ? PrintJson(*models) : Fail(models.status());
}

int RunRemoteKernels(const RemoteOptions& remote) {
  int code = 0;
  std::unique_ptr<AttnClient> client = ConnectOrDie(remote, true, &code);
  if (client == nullptr) return code;
  auto kernels = client->ListAttentionKernels();
  return kernels.ok() ? PrintJson(*kernels) : Fail(kernels.status());
}

int RunRemotePolicyGet(const RemoteOptions& remote) {
  int code = 0;
  std::unique_ptr<AttnClient> client = ConnectOrDie(remote, true, &code);
  if (client == nullptr) return code;
  auto policy = client->GetPolicy();
  return policy.ok() ? PrintJson(*policy) : Fail(policy.status());
}

int RunRemotePolicySet(const RemoteOptions& remote, const PolicySetOptions& o) {
  int code = 0;
  std::unique_ptr<AttnClient> client = ConnectOrDie(remote, true, &code);
  if (client == nullptr) return code;
  // Start from the current policy: flags change only what they name.
  auto current = client->GetPolicy();
  if (!current.ok()) return Fail(current.status());
  v1::SetPolicyRequest request;
  *request.mutable_policy() = *current;
  request.set_expected_version(o.expected_version != 0 ? o.expected_version : current->version());
  v1::ExecutionOptions* defaults = request.mutable_policy()->mutable_defaults();
  if (!o.attention.empty()) {
    defaults->mutable_attention()->set_kernel(o.attention);
    defaults->mutable_attention()->clear_params();
  }
  absl::StatusOr<std::map<std::string, std::string>> params = ParseParams(o.attention_params);
  if (!params.ok()) {
    std::cerr << "attnctl policy set: " << params.status().message() << "\n";
    return 2;
  }
  for (const auto& [k, v] : *params) (*defaults->mutable_attention()->mutable_params())[k] = v;
  if (o.max_tokens >= 0) defaults->set_max_tokens(o.max_tokens);
  if (o.num_threads >= 0) defaults->set_num_threads(o.num_threads);
  if (!o.linear_precision.empty()) defaults->set_linear_precision(o.linear_precision);
  if (o.overridable_given) {
    request.mutable_policy()->clear_overridable();
    for (const std::string& f : o.overridable) {
      if (!f.empty()) request.mutable_policy()->add_overridable(f);
    }
  }
  if (!o.over_length.empty()) request.mutable_policy()->set_over_length(o.over_length);
  auto installed = client->SetPolicy(request);
  return installed.ok() ? PrintJson(*installed) : Fail(installed.status());
}

int RunRemoteReload(const RemoteOptions& remote, const std::string& model,
                    const std::string& model_dir) {
  int code = 0;
  std::unique_ptr<AttnClient> client = ConnectOrDie(remote, true, &code);
  if (client == nullptr) return code;
  v1::ReloadModelRequest request;
  request.set_model_dir(model_dir);
  request.set_model(model);
  auto info = client->ReloadModel(request);
  return info.ok() ? PrintJson(*info) : Fail(info.status());
}

}  // namespace attnserve
