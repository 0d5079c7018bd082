// Throughput of WordPieceTokenizer::Encode (docs/TOKENIZER.md, "Speed").
//   wordpiece_bench GGUF TEXT_FILE...
// GGUF: llama.cpp's ggml-vocab-bert-bge.gguf (tools/fetch_tokenizer_vectors.sh).
// Each non-empty line of the text files is one Encode call; the lines are
// encoded repeatedly for about two seconds per file, on one thread.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "engine/tokenizer/wordpiece_tokenizer.h"
#include "tests/unit/gguf_vocab_reader.h"

namespace {

std::string FromLlamaPiece(const std::string& piece) {
  if (piece.size() >= 2 && piece.front() == '[' && piece.back() == ']') return piece;
  static const std::string kPhantom = "\xE2\x96\x81";
  if (piece.compare(0, kPhantom.size(), kPhantom) == 0) return piece.substr(kPhantom.size());
  return "##" + piece;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s GGUF TEXT_FILE...\n", argv[0]);
    return 2;
  }
  auto pieces = attnserve::testing::ReadGgufStringArray(argv[1], "tokenizer.ggml.tokens");
  if (!pieces.ok()) {
    std::fprintf(stderr, "%s\n", std::string(pieces.status().message()).c_str());
    return 1;
  }
  std::vector<std::string> tokens;
  for (const std::string& p : *pieces) tokens.push_back(FromLlamaPiece(p));
  auto tokenizer = attnserve::WordPieceTokenizer::FromTokens(tokens, {});
  if (!tokenizer.ok()) {
    std::fprintf(stderr, "%s\n", std::string(tokenizer.status().message()).c_str());
    return 1;
  }
  for (int f = 2; f < argc; ++f) {
    std::ifstream in(argv[f]);
    std::vector<std::string> lines;
    size_t bytes = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      bytes += line.size();
      lines.push_back(std::move(line));
    }
    if (lines.empty()) {
      std::fprintf(stderr, "%s: no text\n", argv[f]);
      return 1;
    }
    size_t ids = 0, total_bytes = 0;
    int passes = 0;
    const auto start = std::chrono::steady_clock::now();
    double seconds = 0;
    while (seconds < 2.0) {
      for (const std::string& line : lines) {
        auto encoded = tokenizer->Encode(line);
        if (!encoded.ok()) {
          std::fprintf(stderr, "%s\n", std::string(encoded.status().message()).c_str());
          return 1;
        }
        ids += encoded->size();
      }
      total_bytes += bytes;
      ++passes;
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    std::printf("%s: %zu lines, %zu bytes, %d passes: %.1f MB/s, %.2f M ids/s, %.2f us/line\n",
                argv[f], lines.size(), bytes, passes, total_bytes / seconds / 1e6,
                ids / seconds / 1e6, seconds * 1e6 / (static_cast<double>(lines.size()) * passes));
  }
  return 0;
}
