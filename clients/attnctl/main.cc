// attnctl: the attnserve command line. Subcommands run the engine in-process
// (embed, kernels); the gRPC client commands join them with the server.
#include "CLI/CLI.hpp"
#include "clients/attnctl/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"attnctl: the attnserve command line"};
  app.require_subcommand(1);

  attnserve::EmbedCommandOptions embed;
  CLI::App* embed_cmd = app.add_subcommand(
      "embed",
      "Embed JSON lines {\"text\": ...} from --input or stdin; write one JSON line "
      "{\"token_ids\", \"embedding\", \"stats\"} or {\"error\"} per input line, in order. "
      "Exits 1 if any line failed.");
  embed_cmd->add_option("--model", embed.model_dir,
                        "Model directory (default: $ATTNSERVE_MODEL_DIR or models/use-lite)");
  embed_cmd->add_option("--input", embed.input_file, "JSON-lines input file (default: stdin)");
  embed_cmd->add_option("--max-tokens", embed.max_tokens,
                        "Tokens kept per text; 0 = the model's own clip (128 for USE-lite); "
                        "larger values lift the clip")
      ->check(CLI::NonNegativeNumber);
  embed_cmd->add_option("--attention", embed.attention,
                        "Attention kernel of every layer (see `attnctl kernels`)");
  embed_cmd->add_option("--attention-param", embed.attention_params,
                        "Kernel parameter key=value; repeatable");
  embed_cmd->add_option("--threads", embed.threads, "Compute threads; 0 = all cores")
      ->check(CLI::NonNegativeNumber);
  embed_cmd->add_option("--batch-size", embed.batch_size, "Lines embedded per engine call")
      ->check(CLI::PositiveNumber);

  bool kernels_json = false;
  CLI::App* kernels_cmd = app.add_subcommand(
      "kernels", "List the attention kernels with their parameters, defaults and complexity");
  kernels_cmd->add_flag("--json", kernels_json, "Print JSON");

  CLI11_PARSE(app, argc, argv);
  if (embed_cmd->parsed()) return attnserve::RunEmbedCommand(embed);
  if (kernels_cmd->parsed()) return attnserve::RunKernelsCommand(kernels_json);
  return 2;
}
