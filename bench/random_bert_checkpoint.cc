#include "bench/random_bert_checkpoint.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"

namespace attnserve {

void WriteRandomBertCheckpoint(const BertShape& s, const std::string& dir) {
  std::filesystem::create_directories(dir);
  nlohmann::json config = {{"model_type", "bert"},
                           {"vocab_size", kBenchVocab},
                           {"hidden_size", s.hidden},
                           {"num_hidden_layers", s.layers},
                           {"num_attention_heads", s.heads},
                           {"intermediate_size", s.ffn},
                           {"hidden_act", "gelu"},
                           {"max_position_embeddings", s.positions},
                           {"type_vocab_size", 2},
                           {"layer_norm_eps", 1e-12},
                           {"attention_type", s.attention_type}};
  std::ofstream(dir + "/config.json") << config.dump(2);
  {
    std::ofstream vocab(dir + "/vocab.txt");
    vocab << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    for (int i = 5; i < kBenchVocab; ++i) vocab << "tok" << i << "\n";
  }
  std::vector<std::pair<std::string, std::vector<int64_t>>> tensors = {
      {"embeddings.word_embeddings.weight", {kBenchVocab, s.hidden}},
      {"embeddings.position_embeddings.weight", {s.positions, s.hidden}},
      {"embeddings.token_type_embeddings.weight", {2, s.hidden}},
      {"embeddings.LayerNorm.weight", {s.hidden}},
      {"embeddings.LayerNorm.bias", {s.hidden}}};
  // docs/LAYER_TYPES.md: which projections each type keeps.
  std::vector<std::string> projections = {"attention.self.query"};
  if (s.attention_type != "efficient") projections.push_back("attention.self.key");
  if (s.attention_type == "standard") projections.push_back("attention.self.value");
  projections.push_back("attention.output.dense");
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    for (const std::string& m : projections) {
      tensors.push_back({p + m + ".weight", {s.hidden, s.hidden}});
      tensors.push_back({p + m + ".bias", {s.hidden}});
    }
    if (s.attention_type == "super") {
      tensors.push_back({p + "attention.self.alignment.weight", {s.positions, s.positions}});
      tensors.push_back({p + "attention.self.alignment.bias", {s.positions}});
    }
    tensors.push_back({p + "attention.output.LayerNorm.weight", {s.hidden}});
    tensors.push_back({p + "attention.output.LayerNorm.bias", {s.hidden}});
    tensors.push_back({p + "intermediate.dense.weight", {s.ffn, s.hidden}});
    tensors.push_back({p + "intermediate.dense.bias", {s.ffn}});
    tensors.push_back({p + "output.dense.weight", {s.hidden, s.ffn}});
    tensors.push_back({p + "output.dense.bias", {s.hidden}});
    tensors.push_back({p + "output.LayerNorm.weight", {s.hidden}});
    tensors.push_back({p + "output.LayerNorm.bias", {s.hidden}});
  }
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const auto& [name, shape] : tensors) {
    uint64_t n = 1;
    for (int64_t d : shape) n *= d;
    header[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {offset, offset + 4 * n}}};
    offset += 4 * n;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  std::ofstream out(dir + "/model.safetensors", std::ios::binary);
  const uint64_t len = text.size();
  out.write(reinterpret_cast<const char*>(&len), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (const auto& [name, shape] : tensors) {
    uint64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float> v(n);
    const bool gain = name.ends_with("LayerNorm.weight");
    for (float& x : v) x = gain ? 1.0f + normal(rng) : normal(rng);
    out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(4 * n));
  }
}

}  // namespace attnserve
