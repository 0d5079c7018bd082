#!/usr/bin/python3
"""Tiny seeded checkpoints of each attention layer type and their reference
outputs, for the engine's golden test (docs/LAYER_TYPES.md).

  generate.py          writes models/{standard,optimized,efficient,super}/
                       and expected.json next to this file
  generate.py --check  regenerates into a temporary directory and fails,
                       naming the file, if a model file differs from the
                       committed one or a model.safetensors' sha256 from
                       expected.json, or if a reference output moved

The models are tools/layer_types/layer_types.py's BertClassifier (hidden 32,
4 heads, 2 layers, intermediate 64, 24 positions, 3 labels) with seeded
random weights, stored F32. The reference outputs come from the same module
run in float64 (model.double() on the stored float32 weights) on a padded
batch with an attention mask. Before they are written, an independent float64
numpy forward pass written from docs/LAYER_TYPES.md's table (not calling the
torch module), run on each sequence alone (no padding), must agree with them
to 1e-9, so the torch module is checked against the spec.

Needs Debian's python3-torch (and numpy), only to regenerate.
"""
import argparse
import filecmp
import hashlib
import json
import math
import os
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "tools", "layer_types"))
sys.path.insert(0, os.path.join(ROOT, "tests", "golden", "bert"))
import layer_types  # noqa: E402
from generate_tiny_models import CASES, CLS, SEP, VOCAB  # noqa: E402

LABELS = ["negative", "neutral", "positive"]
SEEDS = {"standard": 101, "optimized": 102, "efficient": 103, "super": 104}
SELF_CHECK_TOLERANCE = 1e-9
# expected.json holds 9 significant digits; --check allows for that rounding.
CHECK_TOLERANCE = 1e-7


def make_model(attention_type):
    """A seeded model whose every tensor is far from a no-op: random
    weights, biases, LayerNorm gains and offsets, and a W^A that mixes
    positions strongly (identity plus noise)."""
    config = layer_types.make_config(attention_type, vocab_size=len(VOCAB), hidden_size=32,
                                     num_hidden_layers=2, num_attention_heads=4,
                                     intermediate_size=64, max_position_embeddings=24,
                                     num_labels=len(LABELS))
    torch.manual_seed(SEEDS[attention_type])
    model = layer_types.BertClassifier(config)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):  # sorted: a fixed draw order
            noise = torch.randn(p.shape)
            if ".alignment.weight" in name:
                p.copy_(torch.eye(p.shape[0]) + 0.3 * noise)
            elif "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith(".bias"):
                p.copy_(0.05 * noise)
            elif "embeddings" in name:
                p.copy_(0.5 * noise)
            else:
                p.copy_(0.2 * noise)
    return model.eval()


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---- the spec, in numpy (float64), one unpadded sequence at a time ----

def _lin(w, name, x):
    return x @ w[name + ".weight"].T + w[name + ".bias"]


def _layer_norm(w, name, x):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    normed = (x - mu) / np.sqrt(var + layer_types.LAYER_NORM_EPS)
    return normed * w[name + ".weight"] + w[name + ".bias"]


def _softmax(z):
    z = np.exp(z - z.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


_erf = np.vectorize(math.erf)


def spec_forward(w, config, ids):
    """docs/LAYER_TYPES.md on one sequence (ids with [CLS], [SEP]):
    returns (feature, logits)."""
    kind, h = config["attention_type"], config["num_attention_heads"]
    n, d = len(ids), config["hidden_size"]
    dh = d // h
    x = (w["bert.embeddings.word_embeddings.weight"][ids]
         + w["bert.embeddings.position_embeddings.weight"][:n]
         + w["bert.embeddings.token_type_embeddings.weight"][0])
    x = _layer_norm(w, "bert.embeddings.LayerNorm", x)
    for k in range(config["num_hidden_layers"]):
        p = "bert.encoder.layer.%d." % k
        s = p + "attention.self."
        q = _lin(w, s + "query", x)
        key = x if kind == "efficient" else _lin(w, s + "key", x)
        if kind == "standard":
            v = _lin(w, s + "value", x)
        elif kind == "super":
            v = w[s + "alignment.weight"][:n, :n] @ x + w[s + "alignment.bias"][:n, None]
        else:
            v = x
        heads = []
        for i in range(h):
            cols = slice(i * dh, (i + 1) * dh)
            heads.append(_softmax(q[:, cols] @ key[:, cols].T / math.sqrt(dh)) @ v[:, cols])
        a = _layer_norm(w, p + "attention.output.LayerNorm",
                        x + _lin(w, p + "attention.output.dense", np.concatenate(heads, axis=1)))
        f = _lin(w, p + "intermediate.dense", a)
        f = 0.5 * f * (1.0 + _erf(f / math.sqrt(2.0)))
        x = _layer_norm(w, p + "output.LayerNorm", a + _lin(w, p + "output.dense", f))
    feature = np.tanh(_lin(w, "bert.pooler.dense", x[0]))
    return feature, _lin(w, "classifier", feature)


# ---- generation ----

def _rounded(rows):
    return [[float("%.9g" % v) for v in row] for row in rows]


def reference_cases(model):
    """Runs every case as one padded batch in float64 and checks each row
    against the numpy spec run on that sequence alone."""
    model = model.double()
    w = {name: t.detach().numpy() for name, t in model.state_dict().items()}
    cases = []
    for batch in CASES:
        rows = [[CLS] + ids + [SEP] for ids in batch]
        ids, mask = layer_types.pad_batch(rows, VOCAB.index("[PAD]"))
        with torch.no_grad():
            feature, logits = (t.numpy() for t in model(ids, mask))
        for i, row in enumerate(rows):
            spec_feature, spec_logits = spec_forward(w, model.config, row)
            diff = max(np.abs(spec_feature - feature[i]).max(),
                       np.abs(spec_logits - logits[i]).max())
            if diff > SELF_CHECK_TOLERANCE:
                sys.exit("%s: torch and the numpy spec differ by %.3g on case %s" %
                         (model.config["attention_type"], diff, batch))
        cases.append({"ids": batch, "embeddings": _rounded(feature), "logits": _rounded(logits),
                      "probabilities": _rounded(_softmax(logits))})
    return cases


def generate(models_dir):
    """Writes the four model directories; returns expected.json's content."""
    result = {"generator": "tests/golden/layer_types/generate.py", "torch": torch.__version__,
              "models": {}}
    for kind in layer_types.ATTENTION_TYPES:
        model = make_model(kind)
        out = os.path.join(models_dir, kind)
        layer_types.export(model, out, VOCAB, LABELS)
        result["models"][kind] = {"sha256": sha256(os.path.join(out, "model.safetensors")),
                                  "dtype": "F32", "cases": reference_cases(model)}
    return result


def _max_diff(a, b):
    """Largest |a - b| over two equally nested lists of numbers (inf if the
    shapes differ)."""
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return math.inf
        return max((_max_diff(x, y) for x, y in zip(a, b)), default=0.0)
    return abs(a - b)


def check(models_dir, expected_path):
    """Regenerates into a temporary directory; returns the problems found."""
    with open(expected_path) as f:
        expected = json.load(f)["models"]
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(tmp)["models"]
        for kind in layer_types.ATTENTION_TYPES:
            rel = os.path.join("models", kind)
            if kind not in expected:
                problems.append("expected.json: no entry for %s" % kind)
                continue
            if fresh[kind]["sha256"] != expected[kind]["sha256"]:
                problems.append("%s/model.safetensors: sha256 %s, expected.json records %s" %
                                (rel, fresh[kind]["sha256"], expected[kind]["sha256"]))
            names = sorted(set(os.listdir(os.path.join(tmp, kind))) |
                           set(os.listdir(os.path.join(models_dir, kind))
                               if os.path.isdir(os.path.join(models_dir, kind)) else []))
            for name in names:
                a, b = os.path.join(tmp, kind, name), os.path.join(models_dir, kind, name)
                same = os.path.isfile(a) and os.path.isfile(b) and filecmp.cmp(a, b, shallow=False)
                if not same:
                    problems.append("%s/%s: differs from the regenerated file (or is missing)" %
                                    (rel, name))
            for got, want in zip(fresh[kind]["cases"], expected[kind]["cases"]):
                keys = ("embeddings", "logits", "probabilities")
                if got["ids"] != want["ids"] or any(_max_diff(got[k], want[k]) > CHECK_TOLERANCE
                                                    for k in keys):
                    problems.append("expected.json: %s case %s moved" % (kind, want["ids"]))
            if len(fresh[kind]["cases"]) != len(expected[kind]["cases"]):
                problems.append("expected.json: %s has %d cases, the generator makes %d" %
                                (kind, len(expected[kind]["cases"]), len(fresh[kind]["cases"])))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="regenerate in a temporary directory and compare with the committed files")
    args = ap.parse_args()
    torch.set_num_threads(2)
    models_dir = os.path.join(HERE, "models")
    expected_path = os.path.join(HERE, "expected.json")
    if args.check:
        problems = check(models_dir, expected_path)
        if problems:
            sys.exit("generate.py --check: FAILED\n  " + "\n  ".join(problems))
        print("generate.py --check: the models and expected.json match")
        return
    result = generate(models_dir)
    with open(expected_path, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    for kind in layer_types.ATTENTION_TYPES:
        size = os.path.getsize(os.path.join(models_dir, kind, "model.safetensors"))
        print("%-9s model.safetensors %6d bytes  sha256 %s" %
              (kind, size, result["models"][kind]["sha256"]))


if __name__ == "__main__":
    main()
