// What attnbench sends: the kernel mix, the texts (built to a token length,
// or read from a JSON-lines file) and the request shape.
#ifndef ATTNSERVE_CLIENTS_ATTNBENCH_WORKLOAD_H_
#define ATTNSERVE_CLIENTS_ATTNBENCH_WORKLOAD_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attnserve/v1/inference.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace attnserve::bench {

// One entry of --attention: a kernel name ("" = the policy's default) and its
// weight in the mix.
struct KernelChoice {
  std::string name;
  double weight = 1;
  std::map<std::string, std::string> params;
};

// Parses "dense,flash" (cycled) or "dense:3,flash:1" (weighted at random).
// "default" (or an empty list) means: leave the kernel to the policy.
absl::StatusOr<std::vector<KernelChoice>> ParseKernelMix(const std::string& spec, bool* weighted);

// The texts of one length class.
struct TextClass {
  std::string label;        // "16" (target tokens) or "input"
  int target_tokens = 0;    // 0 for --input texts
  int measured_tokens = 0;  // the tokenizer's count for the first text, 0 if unknown
  int words = 0;            // words per built text
  std::vector<std::string> texts;
};

// A text of `words` words from the built-in word list; `variant` shifts the
// words so that texts of one class differ.
std::string BuildText(int words, int variant);

// Texts of about `target` tokens: the word count is calibrated with the
// server's Tokenize (an inference call) so the tokenizer's count is the
// target or as near as a word allows.
absl::StatusOr<TextClass> CalibratedClass(v1::Inference::Stub* stub, int target, int variants,
                                          double timeout_seconds);

// JSON lines {"text": "..."}; blank lines skipped.
absl::StatusOr<TextClass> ReadInputFile(const std::string& path);

// The requests of a run. Request `seq` uses kernel seq % K (or a weighted
// draw) and length class (seq / K) % L, so every pair is covered.
class Workload {
 public:
  Workload(std::vector<KernelChoice> kernels, bool weighted, std::vector<TextClass> classes,
           int texts_per_request, int max_tokens, uint64_t seed);

  struct Pick {
    int kernel = 0;
    int length = 0;
  };
  // Which kernel and length request `seq` uses (thread-safe, deterministic).
  Pick Choose(uint64_t seq) const;
  void Fill(uint64_t seq, const Pick& pick, v1::EmbedRequest* request) const;

  const std::vector<KernelChoice>& kernels() const { return kernels_; }
  const std::vector<TextClass>& classes() const { return classes_; }
  std::string KernelLabel(int kernel) const;
  int texts_per_request() const { return texts_per_request_; }
  // ExecutionOptions.linear_precision of every request ("" = the policy's).
  void set_linear_precision(std::string precision) { linear_precision_ = std::move(precision); }
  nlohmann::ordered_json Describe() const;

 private:
  std::vector<KernelChoice> kernels_;
  bool weighted_;
  std::vector<double> cumulative_;
  std::vector<TextClass> classes_;
  int texts_per_request_;
  int max_tokens_;
  std::string linear_precision_;
  uint64_t seed_;
};

}  // namespace attnserve::bench

#endif  // ATTNSERVE_CLIENTS_ATTNBENCH_WORKLOAD_H_
