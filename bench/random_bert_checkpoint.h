// Random BERT-family checkpoints of a given shape in the Hugging Face layout,
// for benchmarks: latency does not depend on the weights' values, so a seeded
// normal draw stands in for a trained model. Any attention_type of
// docs/LAYER_TYPES.md.
#ifndef ATTNSERVE_BENCH_RANDOM_BERT_CHECKPOINT_H_
#define ATTNSERVE_BENCH_RANDOM_BERT_CHECKPOINT_H_

#include <string>

namespace attnserve {

struct BertShape {
  std::string name;
  int layers, hidden, heads, ffn;
  int positions = 512;  // max_position_embeddings (Super's alignment size too)
  std::string attention_type = "standard";
};

// Vocabulary rows do not change the per-token work; a short table keeps the
// generated file small (the embedding lookup is a row copy either way).
inline constexpr int kBenchVocab = 2048;

// Writes config.json, model.safetensors (F32) and vocab.txt ("[PAD]",
// "[UNK]", "[CLS]", "[SEP]", "[MASK]", then "tok5" ...) into `dir`.
void WriteRandomBertCheckpoint(const BertShape& s, const std::string& dir);

}  // namespace attnserve

#endif  // ATTNSERVE_BENCH_RANDOM_BERT_CHECKPOINT_H_
