// attnctl: the attnserve command line. Without --server, embed, classify and
// kernels run the engine in-process; with --server HOST:PORT every command talks to
// a running attnserve over gRPC.
#include <iostream>

#include "CLI/CLI.hpp"
#include "clients/attnctl/commands.h"
#include "clients/attnctl/remote_commands.h"
#include "clients/attnctl/run_flags.h"
#include "engine/kernels/linear_precision.h"
#include "engine/util/build_info.h"

namespace {

// The flags of embed and classify (same JSON-lines contract).
void AddRunFlags(CLI::App* cmd, attnserve::EmbedCommandOptions* o) {
  cmd->add_option("--model", o->model_dir,
                  "Model directory, in-process only (default: $ATTNSERVE_MODEL_DIR or "
                  "models/use-lite)");
  cmd->add_option("--input", o->input_file, "JSON-lines input file (default: stdin)");
  cmd->add_option("--max-tokens", o->max_tokens,
                  "Tokens kept per text; 0 = the model's own clip (128 for USE-lite) or the "
                  "server policy's; larger values lift the clip")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--attention", o->attention,
                  "Attention kernel of every layer (see `attnctl kernels`)");
  cmd->add_option("--attention-param", o->attention_params,
                  "Kernel parameter key=value; repeatable");
  cmd->add_option("--linear-precision", o->linear_precision,
                  "Arithmetic of the dense layers: f32 (default), int8 (dynamic quantisation: "
                  "weights s8 per output channel, activations u8 per token), bf16, or auto "
                  "(the auto policy picks; docs/QUANTIZATION.md)")
      ->check(CLI::IsMember(attnserve::LinearPrecisionChoices({"auto"})));
  cmd->add_option("--threads", o->threads, "Compute threads; 0 = default")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch-size", o->batch_size, "Lines sent per engine call / request")
      ->check(CLI::PositiveNumber);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"attnctl: the attnserve command line"};
  app.set_version_flag("--version", attnserve::VersionLine("attnctl"));
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the subcommand too

  attnserve::RemoteOptions remote;
  app.add_option("--server", remote.server, "attnserve address HOST:PORT (gRPC)");
  app.add_option("--admin_token_file", remote.admin_token_file,
                 "File with the bearer token for admin calls (policy, kernels, reload)");
  app.add_option("--api_key_file", remote.api_key_file,
                 "File with the API key for inference calls (its first key)");
  app.add_option("--ca_file", remote.ca_file, "CA of the server certificate (enables TLS)");
  app.add_option("--cert_file", remote.cert_file, "Client certificate (mTLS)");
  app.add_option("--key_file", remote.key_file, "Client private key (mTLS)");
  app.add_option("--timeout", remote.timeout_seconds, "Per-call deadline in seconds")
      ->check(CLI::PositiveNumber);

  attnserve::EmbedCommandOptions embed;
  CLI::App* embed_cmd = app.add_subcommand(
      "embed",
      "Embed JSON lines {\"text\": ...} from --input or stdin; write one JSON line "
      "{\"token_ids\", \"embedding\", \"stats\"} or {\"error\"} per input line, in order. "
      "Exits 1 if any line failed.");
  AddRunFlags(embed_cmd, &embed);
  attnserve::AddAdaptiveFlags(embed_cmd, &embed, /*with_heads=*/false);
  embed_cmd->add_flag("--with-special-tokens", embed.with_special_tokens,
                      "token_ids as the model runs them, with the special tokens it adds "
                      "([CLS] ... [SEP] for BERT), as Hugging Face's input_ids; default: the "
                      "tokenizer's ids alone (unclipped either way)");

  attnserve::EmbedCommandOptions classify;
  CLI::App* classify_cmd = app.add_subcommand(
      "classify",
      "Classify JSON lines {\"text\": ...} with the model's classification heads "
      "(<model>/heads/*.json, tools/train_heads); write {\"label\", \"scores\", \"stats\"} "
      "or {\"error\"} per line, in order. Exits 1 if any line failed.");
  AddRunFlags(classify_cmd, &classify);
  attnserve::AddAdaptiveFlags(classify_cmd, &classify, /*with_heads=*/true);

  bool kernels_json = false;
  CLI::App* kernels_cmd = app.add_subcommand(
      "kernels", "List the attention kernels with their parameters, defaults and complexity");
  kernels_cmd->add_flag("--json", kernels_json, "Print JSON");

  CLI::App* health_cmd = app.add_subcommand("health", "Exit 0 only if the server is SERVING");
  CLI::App* models_cmd = app.add_subcommand("models", "List the served models");

  CLI::App* policy_cmd = app.add_subcommand("policy", "Show or change the runtime policy");
  policy_cmd->require_subcommand(1);
  CLI::App* policy_get = policy_cmd->add_subcommand("get", "Print the current policy");
  attnserve::PolicySetOptions policy;
  CLI::App* policy_set = policy_cmd->add_subcommand(
      "set", "Change the policy's defaults; unnamed fields keep their values");
  policy_set->add_option("--attention", policy.attention, "Default attention kernel");
  policy_set->add_option("--attention-param", policy.attention_params,
                         "Kernel parameter key=value; repeatable");
  policy_set->add_option("--max-tokens", policy.max_tokens, "Default max_tokens (0 = model's)");
  policy_set->add_option("--num-threads", policy.num_threads, "Default threads (0 = server's)");
  policy_set
      ->add_option("--linear-precision", policy.linear_precision,
                   "Default arithmetic of the dense layers: f32, int8, bf16 or auto")
      ->check(CLI::IsMember(attnserve::LinearPrecisionChoices({"auto"})));
  auto* overridable = policy_set->add_option(
      "--overridable", policy.overridable,
      "Fields requests may override: attention, max_tokens, num_threads, pruning, early_exit, "
      "budget, linear_precision (comma-separated; \"\" = none)");
  overridable->delimiter(',');
  policy_set->add_option("--over-length", policy.over_length,
                         "Texts over max_tokens: truncate or reject");
  policy_set->add_option("--expected-version", policy.expected_version,
                         "Apply only if the current version is this one");

  std::string reload_dir, reload_model;
  CLI::App* reload_cmd = app.add_subcommand(
      "reload", "Reload a served model (from its directory or another under the root)");
  reload_cmd->add_option("--model-dir", reload_dir, "Directory name under the model root");
  reload_cmd->add_option("--model-name", reload_model,
                         "Which served model to reload (default: the default model)");

  CLI11_PARSE(app, argc, argv);
  embed.attention_given = embed_cmd->count("--attention") > 0;
  classify.attention_given = classify_cmd->count("--attention") > 0;
  embed.adaptive_given = attnserve::AdaptiveFlagsGiven(*embed_cmd);
  classify.adaptive_given = attnserve::AdaptiveFlagsGiven(*classify_cmd);
  policy.overridable_given = overridable->count() > 0;
  const bool remote_mode = !remote.server.empty();
  const auto need_server = [&](const char* what) {
    std::cerr << "attnctl " << what << ": needs --server HOST:PORT\n";
    return 2;
  };

  if (embed_cmd->parsed()) {
    return remote_mode ? attnserve::RunRemoteEmbed(remote, embed)
                       : attnserve::RunEmbedCommand(embed);
  }
  if (classify_cmd->parsed()) {
    return remote_mode ? attnserve::RunRemoteClassify(remote, classify)
                       : attnserve::RunClassifyCommand(classify);
  }
  if (kernels_cmd->parsed()) {
    return remote_mode ? attnserve::RunRemoteKernels(remote)
                       : attnserve::RunKernelsCommand(kernels_json);
  }
  if (!remote_mode) return need_server("this command");
  if (health_cmd->parsed()) return attnserve::RunRemoteHealth(remote);
  if (models_cmd->parsed()) return attnserve::RunRemoteModels(remote);
  if (policy_get->parsed()) return attnserve::RunRemotePolicyGet(remote);
  if (policy_set->parsed()) return attnserve::RunRemotePolicySet(remote, policy);
  if (reload_cmd->parsed()) return attnserve::RunRemoteReload(remote, reload_model, reload_dir);
  return 2;
}
