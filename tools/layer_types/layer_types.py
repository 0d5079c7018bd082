"""Standard, Optimized, Efficient and Super attention in PyTorch.

The reference implementation of the attention layer types that
docs/LAYER_TYPES.md defines: a BERT sequence classifier (encoder, pooler,
classifier) whose self-attention is one of the four types, its parameter and
FLOP counts, and an exporter to the Hugging Face BertForSequenceClassification
directory (config.json with `attention_type`, F32 model.safetensors, vocab.txt)
that attnserve loads.

The module tree mirrors transformers' BertForSequenceClassification, so
`state_dict()` names are the checkpoint's tensor names as they are.
Needs only Debian's python3-torch (and its numpy); no transformers, no
safetensors module.
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F
from torch import nn

ATTENTION_TYPES = ("standard", "optimized", "efficient", "super")
LAYER_NORM_EPS = 1e-12


def make_config(attention_type, vocab_size, hidden_size, num_hidden_layers,
                num_attention_heads, intermediate_size, max_position_embeddings,
                num_labels):
    """The config.json fields of a BertForSequenceClassification checkpoint
    (id2label / label2id are added by `export`)."""
    if attention_type not in ATTENTION_TYPES:
        raise ValueError("attention_type must be one of %s" % ", ".join(ATTENTION_TYPES))
    if hidden_size % num_attention_heads:
        raise ValueError("hidden_size must be a multiple of num_attention_heads")
    return {"architectures": ["BertForSequenceClassification"], "model_type": "bert",
            "attention_type": attention_type, "vocab_size": vocab_size,
            "hidden_size": hidden_size, "num_hidden_layers": num_hidden_layers,
            "num_attention_heads": num_attention_heads,
            "intermediate_size": intermediate_size, "hidden_act": "gelu",
            "max_position_embeddings": max_position_embeddings, "type_vocab_size": 2,
            "layer_norm_eps": LAYER_NORM_EPS, "pad_token_id": 0, "num_labels": num_labels}


def _dense_norm(n_in, n_out):
    return nn.ModuleDict({"dense": nn.Linear(n_in, n_out),
                          "LayerNorm": nn.LayerNorm(n_out, eps=LAYER_NORM_EPS)})


class SelfAttention(nn.Module):
    """`concat_i(C_i)` of docs/LAYER_TYPES.md's table, for one attention type.

    Only the projections the type uses exist (so `state_dict()` holds exactly
    the tensors the engine accepts for it).
    """

    def __init__(self, attention_type, hidden_size, heads, max_positions):
        super().__init__()
        self.attention_type = attention_type
        self.heads = heads
        self.query = nn.Linear(hidden_size, hidden_size)
        if attention_type != "efficient":
            self.key = nn.Linear(hidden_size, hidden_size)
        if attention_type == "standard":
            self.value = nn.Linear(hidden_size, hidden_size)
        if attention_type == "super":
            self.alignment = nn.Linear(max_positions, max_positions)

    def forward(self, x, mask):
        """x: [batch, n, d] layer input; mask: [batch, n] bool, True on real
        rows. Returns the heads' contexts concatenated, [batch, n, d]."""
        b, n, d = x.shape
        dh = d // self.heads

        def split(t):
            return t.view(b, n, self.heads, dh).transpose(1, 2)

        q = self.query(x)
        # Efficient: K_i = X_i, so keys are the (unprojected) input.
        k = x if self.attention_type == "efficient" else self.key(x)
        if self.attention_type == "standard":
            v = self.value(x)
        elif self.attention_type == "super":
            # W^A[:n, :n] X + b^A[:n] mixes positions. Zeroing padded rows
            # first makes a real row's sum the one an unpadded run gives.
            xm = x * mask[..., None].to(x.dtype)
            v = torch.matmul(self.alignment.weight[:n, :n], xm) + self.alignment.bias[:n, None]
        else:  # optimized, efficient: V_i = X_i
            v = x
        scores = torch.matmul(split(q), split(k).transpose(-1, -2)) / math.sqrt(dh)
        scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
        context = torch.matmul(scores.softmax(-1), split(v))
        return context.transpose(1, 2).reshape(b, n, d)


class Layer(nn.Module):
    """BERT's post-norm layer: A = LN(X + attention(X) W^O + b^O), then
    LN(A + FFN(A)) with an erf GELU."""

    def __init__(self, config):
        super().__init__()
        d, f = config["hidden_size"], config["intermediate_size"]
        self.attention = nn.ModuleDict({
            "self": SelfAttention(config["attention_type"], d, config["num_attention_heads"],
                                  config["max_position_embeddings"]),
            "output": _dense_norm(d, d)})
        self.intermediate = nn.ModuleDict({"dense": nn.Linear(d, f)})
        self.output = _dense_norm(f, d)

    def forward(self, x, mask):
        out = self.attention["output"]
        a = out["LayerNorm"](x + out["dense"](self.attention["self"](x, mask)))
        h = F.gelu(self.intermediate["dense"](a))
        return self.output["LayerNorm"](a + self.output["dense"](h))


class BertClassifier(nn.Module):
    """Embeddings (word + position + token type 0, LayerNorm), the layers,
    then feature = tanh(pooler([CLS] row)) and logits = classifier(feature)."""

    def __init__(self, config):
        super().__init__()
        self.config = dict(config)
        d = config["hidden_size"]
        self.bert = nn.ModuleDict({
            "embeddings": nn.ModuleDict({
                "word_embeddings": nn.Embedding(config["vocab_size"], d),
                "position_embeddings": nn.Embedding(config["max_position_embeddings"], d),
                "token_type_embeddings": nn.Embedding(config["type_vocab_size"], d),
                "LayerNorm": nn.LayerNorm(d, eps=LAYER_NORM_EPS)}),
            "encoder": nn.ModuleDict({
                "layer": nn.ModuleList(Layer(config) for _ in range(config["num_hidden_layers"]))}),
            "pooler": nn.ModuleDict({"dense": nn.Linear(d, d)})})
        self.classifier = nn.Linear(d, config["num_labels"])
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self):
        """transformers' BERT initialisation (N(0, 0.02) weights and tables,
        zero biases, unit LayerNorm); W^A starts as the identity, so a
        Super model starts out as an Optimized one."""
        for name, p in self.named_parameters():
            if ".alignment.weight" in name:
                p.copy_(torch.eye(p.shape[0]))
            elif "LayerNorm.weight" in name:
                p.fill_(1.0)
            elif name.endswith(".bias"):
                p.zero_()
            else:
                p.normal_(0.0, 0.02)

    def forward(self, ids, mask):
        """ids: [batch, n] token ids ([CLS] first), mask: [batch, n] bool.
        Returns (feature [batch, d], logits [batch, labels])."""
        emb = self.bert["embeddings"]
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = (emb["word_embeddings"](ids) + emb["position_embeddings"](positions)[None]
             + emb["token_type_embeddings"].weight[0])
        x = emb["LayerNorm"](x)
        for layer in self.bert["encoder"]["layer"]:
            x = layer(x, mask)
        feature = torch.tanh(self.bert["pooler"]["dense"](x[:, 0]))
        return feature, self.classifier(feature)


def pad_batch(rows, pad_id=0):
    """rows: lists of token ids (with [CLS], [SEP]). Returns (ids, mask)
    tensors padded to the longest row."""
    n = max(len(r) for r in rows)
    ids = torch.tensor([list(r) + [pad_id] * (n - len(r)) for r in rows], dtype=torch.long)
    mask = torch.tensor([[True] * len(r) + [False] * (n - len(r)) for r in rows])
    return ids, mask


def count_parameters(model):
    """(total, attention): every parameter, and the attention sublayers'
    (W^Q, W^K, W^V, W^A, W^O with their biases, all layers; not the
    LayerNorm), as docs/LAYER_TYPES.md's table counts them per layer."""
    total = attention = 0
    for name, p in model.named_parameters():
        total += p.numel()
        if ".attention.self." in name or ".attention.output.dense." in name:
            attention += p.numel()
    return total, attention


def flops_per_token(config, n):
    """Forward FLOPs per token of the encoder at sequence length n, as
    2 x multiply-accumulates of its matrix products: the projections (W^Q,
    W^K, W^V, W^O as the type has them), Q K^T and P V (n d each), Super's
    W^A X (n d), and the FFN (2 d f), over all layers. Not counted: the
    embedding look-up, biases, LayerNorm, softmax, GELU, and the pooler and
    classifier (once per sequence, not per token)."""
    d, f = config["hidden_size"], config["intermediate_size"]
    kind = config["attention_type"]
    projections = {"standard": 4, "optimized": 3, "efficient": 2, "super": 3}[kind]
    macs = projections * d * d + 2 * n * d + 2 * d * f
    if kind == "super":
        macs += n * d
    return 2 * macs * config["num_hidden_layers"]


def write_safetensors(path, tensors):
    """tensors: name -> tensor; written as little-endian F32, sorted by name."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = tensors[name].detach().cpu().to(torch.float32).contiguous().numpy()
        raw = a.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def export(model, out_dir, vocab, labels):
    """Writes the Hugging Face directory: config.json (with attention_type,
    id2label, label2id), model.safetensors (F32), vocab.txt (vocab: the
    tokens in id order), tokenizer_config.json, special_tokens_map.json."""
    config = dict(model.config)
    if len(labels) != config["num_labels"]:
        raise ValueError("%d labels for a %d-way classifier" % (len(labels), config["num_labels"]))
    if len(vocab) != config["vocab_size"]:
        raise ValueError("%d tokens for a vocabulary of %d" % (len(vocab), config["vocab_size"]))
    del config["num_labels"]  # implied by id2label, as transformers saves it
    config["id2label"] = {str(i): label for i, label in enumerate(labels)}
    config["label2id"] = {label: i for i, label in enumerate(labels)}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    with open(os.path.join(out_dir, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer",
                   "model_max_length": config["max_position_embeddings"]}, f, indent=2)
        f.write("\n")
    with open(os.path.join(out_dir, "special_tokens_map.json"), "w") as f:
        json.dump({"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                   "unk_token": "[UNK]", "mask_token": "[MASK]"}, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(out_dir, "model.safetensors"), model.state_dict())
