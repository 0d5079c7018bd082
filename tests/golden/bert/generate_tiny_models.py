#!/usr/bin/python3
"""Tiny seeded BERT-family checkpoints and their float64 reference outputs.

Writes, in the Hugging Face directory layout (config.json, model.safetensors,
vocab.txt, tokenizer_config.json, special_tokens_map.json):
  bert-cls     BertForSequenceClassification, "bert." prefix, F32, 3 labels
  distilbert   DistilBertForSequenceClassification, F16, 2 labels
  mobilebert   bare MobileBertModel (trigram input, bottlenecks, NoNorm,
               2 stacked FFNs), BF16
  mobilebert-cls  MobileBertForSequenceClassification: LayerNorm, no
               trigram, attention on the bottleneck, one FFN, F32
  minilm-st    sentence-transformers: mean pooling + Normalize, F32, with
               an I64 embeddings.position_ids buffer as older checkpoints have
  bge-st       sentence-transformers: CLS pooling + Normalize, gelu_new, F16

and the forward pass of each, written from the transformers library's
modeling code (not from attnserve), in float64 numpy on the weights as
stored (F16/BF16 rounded), with a padded batch and an attention mask.

  generate_tiny_models.py --models OUT_DIR           # models only (ctest fixture)
  generate_tiny_models.py --models OUT_DIR --expected tests/golden/bert/expected.json

The models are regenerated at test time (too large to commit); the committed
expected.json records each model.safetensors' sha256, and --models fails if a
regenerated file differs (e.g. a numpy whose RandomState stream changed).
Needs only Debian's python3-numpy. MobileBERT's trigram input uses zeros past
the text's last token, as an unpadded run of the reference does (a padded
batch would mix the [PAD] embedding into [SEP]'s row).
"""
import argparse
import hashlib
import json
import math
import os
import struct
import sys

import numpy as np

VOCAB = (["[PAD]"] + ["[unused%d]" % i for i in range(5)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"] +
         [",", ".", "!", "?", "'", "-", "a", "i", "the", "of", "and", "to", "in", "is", "it", "that",
          "was", "for", "on", "with", "as", "he", "she", "they", "we", "you", "at", "by", "this",
          "from", "but", "not", "be", "have", "had", "hello", "world", "good", "bad", "movie",
          "film", "great", "terrible", "love", "hate", "very", "really", "story", "time", "day",
          "night", "sea", "ship", "whale", "captain", "call", "me", "ish", "##s", "##ed", "##ing",
          "##ly", "##er", "##est", "##a", "##e", "##i", "##o", "##u", "##n", "##t", "##r", "un",
          "##able", "##ness", "##ful", "##less", "new", "old", "long", "short", "read", "write",
          "sentence", "word", "text", "model"])
CLS, SEP, PAD = VOCAB.index("[CLS]"), VOCAB.index("[SEP]"), VOCAB.index("[PAD]")

# Content ids (the model adds [CLS] and [SEP]); each case is one batch.
CASES = [
    [[45, 46]],  # "hello world"
    [[27, 55, 61, 10, 44, 30, 57, 52, 11]],
    [[88, 71, 35, 10], [27, 96, 73, 66, 19, 23, 56, 57, 11, 12, 13], [6]],
    [[(7 * i + 3) % 85 + 10 for i in range(22)]],  # 24 rows: the position table's size
    [[44, 45, 46], [44, 45, 46, 47, 48]],
]
# Texts and their ids by BertTokenizer's rules (lowercase, split punctuation,
# greedy longest-match WordPiece: "s" alone is [UNK], "whales" = whale ##s),
# derived by hand for this vocabulary.
TEXTS = [("Hello, world!", [45, 10, 46, 12]),
         ("The CAPTAIN's whales, at sea.", [18, 64, 14, 6, 63, 68, 10, 36, 61, 11])]


def bf16_round(a):
    bits = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return bits.astype(np.uint16)


def stored(a, dtype):
    """(bytes as stored, float64 values the reader must see)."""
    a = np.asarray(a, dtype=np.float32)
    if dtype == "F32":
        return a.astype("<f4").tobytes(), a.astype(np.float64)
    if dtype == "F16":
        h = a.astype("<f2")
        return h.tobytes(), h.astype(np.float64)
    b = bf16_round(a)
    return b.astype("<u2").tobytes(), (b.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def write_safetensors(path, tensors, dtype):
    """tensors: name -> float32 array (int64 arrays are written as I64, as
    older transformers saved the position-id buffer). Returns name -> float64
    as stored."""
    header, blobs, values, offset = {}, [], {}, 0
    for name in sorted(tensors):
        if tensors[name].dtype == np.int64:
            raw, d = tensors[name].astype("<i8").tobytes(), "I64"
        else:
            raw, d = stored(tensors[name], dtype)
            values[name] = d
            d = dtype
        header[name] = {"dtype": d, "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt", "generator": "tests/golden/bert/generate_tiny_models.py"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    return values


class Weights:
    def __init__(self, seed):
        self.rng = np.random.RandomState(seed)
        self.t = {}

    def linear(self, name, n_in, n_out):
        self.t[name + ".weight"] = (self.rng.standard_normal((n_out, n_in)) * 0.2).astype(np.float32)
        self.t[name + ".bias"] = (self.rng.standard_normal(n_out) * 0.05).astype(np.float32)

    def norm(self, name, width):
        self.t[name + ".weight"] = (1.0 + self.rng.standard_normal(width) * 0.1).astype(np.float32)
        self.t[name + ".bias"] = (self.rng.standard_normal(width) * 0.05).astype(np.float32)

    def table(self, name, rows, width):
        self.t[name] = (self.rng.standard_normal((rows, width)) * 0.5).astype(np.float32)


# ---- reference forward pass (float64, padded batch + attention mask) ----

def lin(w, name, x):
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def layer_norm(w, name, x, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w[name + ".weight"] + w[name + ".bias"]


def no_norm(w, name, x):
    return x * w[name + ".weight"] + w[name + ".bias"]


_erf = np.vectorize(math.erf)


def act(name, x):
    if name == "gelu":
        return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))
    if name == "gelu_new":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    assert name == "relu"
    return np.maximum(x, 0.0)


def attention(q, k, v, heads, mask):
    b, n, width = q.shape
    dh = width // heads
    split = lambda t: t.reshape(b, n, heads, dh).transpose(0, 2, 1, 3)
    s = split(q) @ split(k).transpose(0, 1, 3, 2) / math.sqrt(dh)
    s = s + (1.0 - mask[:, None, None, :]) * -1e30
    s = np.exp(s - s.max(-1, keepdims=True))
    p = s / s.sum(-1, keepdims=True)
    return (p @ split(v)).transpose(0, 2, 1, 3).reshape(b, n, width)


def padded(batch):
    rows = [[CLS] + ids + [SEP] for ids in batch]
    n = max(len(r) for r in rows)
    ids = np.array([r + [PAD] * (n - len(r)) for r in rows])
    mask = np.array([[1.0] * len(r) + [0.0] * (n - len(r)) for r in rows])
    return rows, ids, mask


def bert_encoder(w, c, p, batch):
    rows, ids, mask = padded(batch)
    n = ids.shape[1]
    x = w[p + "embeddings.word_embeddings.weight"][ids]
    x = x + w[p + "embeddings.position_embeddings.weight"][np.arange(n)][None]
    x = x + w[p + "embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(w, p + "embeddings.LayerNorm", x, c["layer_norm_eps"])
    for l in range(c["num_hidden_layers"]):
        q = p + "encoder.layer.%d." % l
        ctx = attention(lin(w, q + "attention.self.query", x), lin(w, q + "attention.self.key", x),
                        lin(w, q + "attention.self.value", x), c["num_attention_heads"], mask)
        a = layer_norm(w, q + "attention.output.LayerNorm", lin(w, q + "attention.output.dense", ctx) + x,
                       c["layer_norm_eps"])
        h = act(c["hidden_act"], lin(w, q + "intermediate.dense", a))
        x = layer_norm(w, q + "output.LayerNorm", lin(w, q + "output.dense", h) + a, c["layer_norm_eps"])
    return x, mask


def distilbert_encoder(w, c, p, batch):
    rows, ids, mask = padded(batch)
    n = ids.shape[1]
    x = w[p + "embeddings.word_embeddings.weight"][ids]
    x = x + w[p + "embeddings.position_embeddings.weight"][np.arange(n)][None]
    x = layer_norm(w, p + "embeddings.LayerNorm", x, 1e-12)
    for l in range(c["n_layers"]):
        q = p + "transformer.layer.%d." % l
        ctx = attention(lin(w, q + "attention.q_lin", x), lin(w, q + "attention.k_lin", x),
                        lin(w, q + "attention.v_lin", x), c["n_heads"], mask)
        a = layer_norm(w, q + "sa_layer_norm", lin(w, q + "attention.out_lin", ctx) + x, 1e-12)
        h = lin(w, q + "ffn.lin2", act(c["activation"], lin(w, q + "ffn.lin1", a)))
        x = layer_norm(w, q + "output_layer_norm", h + a, 1e-12)
    return x, mask


def mobilebert_encoder(w, c, p, batch):
    rows, ids, mask = padded(batch)
    b, n = ids.shape
    norm = (lambda name, x: no_norm(w, name, x)) if c["normalization_type"] == "no_norm" else \
        (lambda name, x: layer_norm(w, name, x, c["layer_norm_eps"]))
    e = w[p + "embeddings.word_embeddings.weight"][ids]
    E = e.shape[-1]
    if c["trigram_input"]:
        tri = np.zeros((b, n, 3 * E))
        for i, r in enumerate(rows):  # per text: zeros past its own ends
            m = len(r)
            tri[i, :m - 1, :E] = e[i, 1:m]
            tri[i, :m, E:2 * E] = e[i, :m]
            tri[i, 1:m, 2 * E:] = e[i, :m - 1]
        e = tri
    if c["trigram_input"] or E != c["hidden_size"]:
        e = lin(w, p + "embeddings.embedding_transformation", e)
    x = e + w[p + "embeddings.position_embeddings.weight"][np.arange(n)][None]
    x = x + w[p + "embeddings.token_type_embeddings.weight"][0]
    x = norm(p + "embeddings.LayerNorm", x)
    for l in range(c["num_hidden_layers"]):
        q = p + "encoder.layer.%d." % l
        layer_input = norm(q + "bottleneck.input.LayerNorm", lin(w, q + "bottleneck.input.dense", x))
        if c["use_bottleneck_attention"]:
            qk = v = layer_input
        elif c["key_query_shared_bottleneck"]:
            qk = norm(q + "bottleneck.attention.LayerNorm", lin(w, q + "bottleneck.attention.dense", x))
            v = x
        else:
            qk = v = x
        ctx = attention(lin(w, q + "attention.self.query", qk), lin(w, q + "attention.self.key", qk),
                        lin(w, q + "attention.self.value", v), c["num_attention_heads"], mask)
        a = norm(q + "attention.output.LayerNorm", lin(w, q + "attention.output.dense", ctx) + layer_input)
        for f in range(c["num_feedforward_networks"] - 1):
            g = q + "ffn.%d." % f
            h = act(c["hidden_act"], lin(w, g + "intermediate.dense", a))
            a = norm(g + "output.LayerNorm", lin(w, g + "output.dense", h) + a)
        h = act(c["hidden_act"], lin(w, q + "intermediate.dense", a))
        o = norm(q + "output.LayerNorm", lin(w, q + "output.dense", h) + a)
        x = norm(q + "output.bottleneck.LayerNorm", lin(w, q + "output.bottleneck.dense", o) + x)
    return x, mask


# ---- model definitions ----

def bert_weights(seed, c, p, act_name, classifier=None):
    W = Weights(seed)
    H, F = c["hidden_size"], c["intermediate_size"]
    W.table(p + "embeddings.word_embeddings.weight", c["vocab_size"], H)
    W.table(p + "embeddings.position_embeddings.weight", c["max_position_embeddings"], H)
    W.table(p + "embeddings.token_type_embeddings.weight", c["type_vocab_size"], H)
    W.norm(p + "embeddings.LayerNorm", H)
    for l in range(c["num_hidden_layers"]):
        q = p + "encoder.layer.%d." % l
        for m in ("attention.self.query", "attention.self.key", "attention.self.value",
                  "attention.output.dense"):
            W.linear(q + m, H, H)
        W.norm(q + "attention.output.LayerNorm", H)
        W.linear(q + "intermediate.dense", H, F)
        W.linear(q + "output.dense", F, H)
        W.norm(q + "output.LayerNorm", H)
    W.linear(p + "pooler.dense", H, H)
    if classifier:
        W.linear("classifier", H, classifier)
    return W.t


def bert_config(**kw):
    c = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": len(VOCAB),
         "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
         "intermediate_size": 64, "hidden_act": "gelu", "max_position_embeddings": 24,
         "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0}
    c.update(kw)
    return c


def softmax(z):
    z = np.exp(z - z.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def make_bert_cls():
    c = bert_config(architectures=["BertForSequenceClassification"],
                    id2label={"0": "negative", "1": "neutral", "2": "positive"},
                    label2id={"negative": 0, "neutral": 1, "positive": 2})
    t = bert_weights(11, c, "bert.", c["hidden_act"], classifier=3)

    def forward(w, batch):
        x, _ = bert_encoder(w, c, "bert.", batch)
        pooled = np.tanh(lin(w, "bert.pooler.dense", x[:, 0]))
        return pooled, softmax(lin(w, "classifier", pooled))
    return c, t, "F32", forward, None


def make_distilbert():
    c = {"architectures": ["DistilBertForSequenceClassification"], "model_type": "distilbert",
         "vocab_size": len(VOCAB), "dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 64,
         "activation": "gelu", "max_position_embeddings": 24, "sinusoidal_pos_embds": False,
         "id2label": {"0": "NEGATIVE", "1": "POSITIVE"}, "label2id": {"NEGATIVE": 0, "POSITIVE": 1}}
    W = Weights(22)
    p = "distilbert."
    W.table(p + "embeddings.word_embeddings.weight", c["vocab_size"], 32)
    W.table(p + "embeddings.position_embeddings.weight", c["max_position_embeddings"], 32)
    W.norm(p + "embeddings.LayerNorm", 32)
    for l in range(c["n_layers"]):
        q = p + "transformer.layer.%d." % l
        for m in ("q_lin", "k_lin", "v_lin", "out_lin"):
            W.linear(q + "attention." + m, 32, 32)
        W.norm(q + "sa_layer_norm", 32)
        W.linear(q + "ffn.lin1", 32, 64)
        W.linear(q + "ffn.lin2", 64, 32)
        W.norm(q + "output_layer_norm", 32)
    W.linear("pre_classifier", 32, 32)
    W.linear("classifier", 32, 2)

    def forward(w, batch):
        x, _ = distilbert_encoder(w, c, p, batch)
        feature = np.maximum(lin(w, "pre_classifier", x[:, 0]), 0.0)
        return feature, softmax(lin(w, "classifier", feature))
    return c, W.t, "F16", forward, None


def make_mobilebert():
    c = {"architectures": ["MobileBertModel"], "model_type": "mobilebert", "vocab_size": len(VOCAB),
         "hidden_size": 32, "embedding_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4,
         "intermediate_size": 32, "intra_bottleneck_size": 16, "true_hidden_size": 16,
         "hidden_act": "relu", "max_position_embeddings": 24, "type_vocab_size": 2,
         "layer_norm_eps": 1e-12, "normalization_type": "no_norm", "num_feedforward_networks": 2,
         "trigram_input": True, "use_bottleneck": True, "use_bottleneck_attention": False,
         "key_query_shared_bottleneck": True, "classifier_activation": True, "pad_token_id": 0}
    W = Weights(33)
    H, E, I, F = 32, 16, 16, 32
    W.table("embeddings.word_embeddings.weight", c["vocab_size"], E)
    W.table("embeddings.position_embeddings.weight", c["max_position_embeddings"], H)
    W.table("embeddings.token_type_embeddings.weight", 2, H)
    W.linear("embeddings.embedding_transformation", 3 * E, H)
    W.norm("embeddings.LayerNorm", H)
    for l in range(c["num_hidden_layers"]):
        q = "encoder.layer.%d." % l
        W.linear(q + "bottleneck.input.dense", H, I)
        W.norm(q + "bottleneck.input.LayerNorm", I)
        W.linear(q + "bottleneck.attention.dense", H, I)
        W.norm(q + "bottleneck.attention.LayerNorm", I)
        W.linear(q + "attention.self.query", I, I)
        W.linear(q + "attention.self.key", I, I)
        W.linear(q + "attention.self.value", H, I)
        W.linear(q + "attention.output.dense", I, I)
        W.norm(q + "attention.output.LayerNorm", I)
        for f in range(c["num_feedforward_networks"] - 1):
            g = q + "ffn.%d." % f
            W.linear(g + "intermediate.dense", I, F)
            W.linear(g + "output.dense", F, I)
            W.norm(g + "output.LayerNorm", I)
        W.linear(q + "intermediate.dense", I, F)
        W.linear(q + "output.dense", F, I)
        W.norm(q + "output.LayerNorm", I)
        W.linear(q + "output.bottleneck.dense", I, H)
        W.norm(q + "output.bottleneck.LayerNorm", H)
    W.linear("pooler.dense", H, H)  # in the checkpoint; the bare model's embedding is [CLS]

    def forward(w, batch):
        x, _ = mobilebert_encoder(w, c, "", batch)
        return x[:, 0], None
    return c, W.t, "BF16", forward, None


def make_mobilebert_cls():
    """The other MobileBERT switches: LayerNorm, no trigram (E != H still maps
    E -> H), attention on the bottleneck, one FFN, gelu, a classifier head."""
    c = {"architectures": ["MobileBertForSequenceClassification"], "model_type": "mobilebert",
         "vocab_size": len(VOCAB), "hidden_size": 32, "embedding_size": 16, "num_hidden_layers": 2,
         "num_attention_heads": 2, "intermediate_size": 48, "intra_bottleneck_size": 24,
         "true_hidden_size": 24, "hidden_act": "gelu", "max_position_embeddings": 24,
         "type_vocab_size": 2, "layer_norm_eps": 1e-6, "normalization_type": "layer_norm",
         "num_feedforward_networks": 1, "trigram_input": False, "use_bottleneck": True,
         "use_bottleneck_attention": True, "key_query_shared_bottleneck": False,
         "classifier_activation": True, "id2label": {"0": "no", "1": "yes"},
         "label2id": {"no": 0, "yes": 1}}
    W = Weights(66)
    H, E, I, F, p = 32, 16, 24, 48, "mobilebert."
    W.table(p + "embeddings.word_embeddings.weight", c["vocab_size"], E)
    W.table(p + "embeddings.position_embeddings.weight", c["max_position_embeddings"], H)
    W.table(p + "embeddings.token_type_embeddings.weight", 2, H)
    W.linear(p + "embeddings.embedding_transformation", E, H)
    W.norm(p + "embeddings.LayerNorm", H)
    for l in range(c["num_hidden_layers"]):
        q = p + "encoder.layer.%d." % l
        W.linear(q + "bottleneck.input.dense", H, I)
        W.norm(q + "bottleneck.input.LayerNorm", I)
        for m in ("query", "key", "value"):
            W.linear(q + "attention.self." + m, I, I)
        W.linear(q + "attention.output.dense", I, I)
        W.norm(q + "attention.output.LayerNorm", I)
        W.linear(q + "intermediate.dense", I, F)
        W.linear(q + "output.dense", F, I)
        W.norm(q + "output.LayerNorm", I)
        W.linear(q + "output.bottleneck.dense", I, H)
        W.norm(q + "output.bottleneck.LayerNorm", H)
    W.linear(p + "pooler.dense", H, H)
    W.linear("classifier", H, 2)

    def forward(w, batch):
        x, _ = mobilebert_encoder(w, c, p, batch)
        pooled = np.tanh(lin(w, p + "pooler.dense", x[:, 0]))
        return pooled, softmax(lin(w, "classifier", pooled))
    return c, W.t, "F32", forward, None


def make_st(seed, pooling, act_name, dtype):
    c = bert_config(hidden_act=act_name, max_position_embeddings=40)
    t = bert_weights(seed, c, "", act_name)
    if pooling == "mean":  # like all-MiniLM-L6-v2's file: the saved position-id buffer
        t["embeddings.position_ids"] = np.arange(c["max_position_embeddings"], dtype=np.int64)[None]
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]
    pool = {"word_embedding_dimension": 32, "pooling_mode_cls_token": pooling == "cls",
            "pooling_mode_mean_tokens": pooling == "mean", "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False}

    def forward(w, batch):
        x, mask = bert_encoder(w, c, "", batch)
        if pooling == "cls":
            v = x[:, 0]
        else:
            v = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12), None
    # sentence-transformers' clip ([CLS] and [SEP] included), below the
    # position table for the MiniLM-like model as for all-MiniLM-L6-v2.
    st_config = {"max_seq_length": 32 if pooling == "mean" else 40, "do_lower_case": False}
    return c, t, dtype, forward, (modules, pool, st_config)


MODELS = {
    "bert-cls": make_bert_cls,
    "distilbert": make_distilbert,
    "mobilebert": make_mobilebert,
    "mobilebert-cls": make_mobilebert_cls,
    "minilm-st": lambda: make_st(44, "mean", "gelu", "F32"),
    "bge-st": lambda: make_st(55, "cls", "gelu_new", "F16"),
}


def write_model(out, name):
    config, tensors, dtype, forward, st = MODELS[name]()
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer",
                   "model_max_length": config["max_position_embeddings"]}, f, indent=2)
    with open(os.path.join(d, "special_tokens_map.json"), "w") as f:
        json.dump({"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                   "unk_token": "[UNK]", "mask_token": "[MASK]"}, f, indent=2)
    if st:
        modules, pool, st_config = st
        with open(os.path.join(d, "sentence_bert_config.json"), "w") as f:
            json.dump(st_config, f, indent=2)
        with open(os.path.join(d, "modules.json"), "w") as f:
            json.dump(modules, f, indent=2)
        os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
        with open(os.path.join(d, "1_Pooling", "config.json"), "w") as f:
            json.dump(pool, f, indent=2)
    weights = write_safetensors(os.path.join(d, "model.safetensors"), tensors, dtype)
    with open(os.path.join(d, "model.safetensors"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return weights, forward, digest, dtype


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="directory to write the model directories into")
    ap.add_argument("--expected", help="write the reference outputs here (JSON)")
    ap.add_argument("--check", help="expected.json whose sha256 the regenerated models must match")
    args = ap.parse_args()
    recorded = {}
    if args.check:
        with open(args.check) as f:
            recorded = {k: v["sha256"] for k, v in json.load(f)["models"].items()}
    result = {"generator": "tests/golden/bert/generate_tiny_models.py", "numpy": np.__version__,
              "models": {}}
    for name in MODELS:
        weights, forward, digest, dtype = write_model(args.models, name)
        if name in recorded and recorded[name] != digest:
            sys.exit("%s/model.safetensors: sha256 %s differs from the recorded %s" %
                     (name, digest, recorded[name]))
        if not args.expected:
            continue
        cases = []
        for batch in CASES:
            emb, probs = forward(weights, batch)
            case = {"ids": batch, "embeddings": [[float("%.9g" % v) for v in row] for row in emb]}
            if probs is not None:
                case["probabilities"] = [[float("%.9g" % v) for v in row] for row in probs]
            cases.append(case)
        emb, probs = forward(weights, [ids for _, ids in TEXTS])
        case = {"texts": [t for t, _ in TEXTS], "ids": [ids for _, ids in TEXTS],
                "embeddings": [[float("%.9g" % v) for v in row] for row in emb]}
        if probs is not None:
            case["probabilities"] = [[float("%.9g" % v) for v in row] for row in probs]
        cases.append(case)
        result["models"][name] = {"sha256": digest, "dtype": dtype, "cases": cases}
    if args.expected:
        with open(args.expected, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
