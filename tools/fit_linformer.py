#!/usr/bin/env python3
"""Fits linformer's pooling filters to a model (docs/ATTENTION_QUALITY.md
"Fitted Linformer projections").

Linformer pools n keys and values to n / S rows with projections E and F. A
pretrained model has none, so the kernel's default pools by segment means
(E = F = 1/S on each run of S tokens). This fits, per layer and head and for
each segment size S, a filter of taps over the tokens from S * span before a
segment to S * span after it: pooled key s = sum_o key_taps[o] * k[s*S + o],
likewise for values, taps falling outside the text dropped, and each pooled
score offset by log(tokens in the segment). The taps minimise the relative
squared error of the attention output against dense attention (Adam on the
exact gradient), on the calibration prose captured by tools/capture_attention
(the labelled sets' train splits); --check reports the same error on held-out
captures before and after.

  build/tools/capture_attention --data data --length 512 --out CAL
  build/tools/capture_attention --passages bench/data/quality_passages.json \
      --length 512 --out HELD
  /usr/bin/python3 tools/fit_linformer.py --model models/use-lite --train CAL \
      --check HELD --out tools/fits/use-lite/linformer_fit.json

The output names the weight files it was fitted on with their sha256; the
engine refuses the fit for other weights.
"""
import argparse
import glob
import hashlib
import json
import os
import sys

import numpy as np


def load_captures(directory):
    meta = json.load(open(os.path.join(directory, "meta.json")))
    texts = []
    for t in range(len(meta["texts"])):
        texts.append([np.load(os.path.join(directory, f"t{t}_l{l}.npy"))
                      for l in range(meta["layers"])])
    return meta, texts


def tap_offsets(segment, span):
    return list(range(-span * segment, (span + 1) * segment))


def gathered(x, segment, first_offset, num_taps):
    """[taps, m, d]: row s of plane o is x[s * segment + first_offset + o], zero
    outside [0, n), so pooled rows = tensordot(taps, gathered, 1): the
    kernel's rule (PoolRows)."""
    n, d = x.shape
    m = -(-n // segment)
    index = (np.arange(m)[None, :] * segment + first_offset + np.arange(num_taps)[:, None])
    inside = (index >= 0) & (index < n)
    out = x[np.clip(index, 0, n - 1)]
    out[~inside] = 0
    return out


def segment_bias(segment, n):
    m = -(-n // segment)
    return np.log(np.array([min(segment, n - s * segment) for s in range(m)], np.float32))


class Head:
    """One text's layer-and-head data, gathered once for a segment size."""

    def __init__(self, planes, segment, first_offset, num_taps, scale):
        q, k, v, self.o = planes
        self.q = q * scale
        self.gk = gathered(k, segment, first_offset, num_taps)
        self.gv = gathered(v, segment, first_offset, num_taps)
        self.bias = segment_bias(segment, q.shape[0])
        self.norm2 = float((self.o * self.o).sum())

    def forward(self, key_taps, value_taps):
        pk = np.tensordot(key_taps, self.gk, 1)
        pv = np.tensordot(value_taps, self.gv, 1)
        s = self.q @ pk.T + self.bias
        s -= s.max(1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(1, keepdims=True)
        return p, pv, p @ pv

    def error(self, key_taps, value_taps):
        out = self.forward(key_taps, value_taps)[2]
        return float(np.sqrt(((out - self.o) ** 2).sum() / self.norm2))

    def gradient(self, key_taps, value_taps):
        """d (||out - o||^2 / ||o||^2) / d taps."""
        p, pv, out = self.forward(key_taps, value_taps)
        d_out = 2 * (out - self.o) / self.norm2
        d_p = d_out @ pv.T
        d_pv = p.T @ d_out
        d_s = p * (d_p - (d_p * p).sum(1, keepdims=True))
        d_pk = d_s.T @ self.q
        return (np.tensordot(self.gk, d_pk, ([1, 2], [0, 1])),
                np.tensordot(self.gv, d_pv, ([1, 2], [0, 1])))


def mean_taps(offsets, segment):
    return np.array([1.0 / segment if 0 <= o < segment else 0.0 for o in offsets], np.float32)


def fit_head(heads, offsets, segment, steps, lr):
    """Adam from segment means on the mean relative squared error."""
    params = [mean_taps(offsets, segment), mean_taps(offsets, segment)]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    for step in range(steps):
        grads = [np.zeros_like(p) for p in params]
        for h in heads:
            g = h.gradient(*params)
            grads[0] += g[0] / len(heads)
            grads[1] += g[1] / len(heads)
        for i, p in enumerate(params):
            first[i] = 0.9 * first[i] + 0.1 * grads[i]
            second[i] = 0.999 * second[i] + 0.001 * grads[i] ** 2
            p -= lr * (first[i] / (1 - 0.9 ** (step + 1))) / (
                np.sqrt(second[i] / (1 - 0.999 ** (step + 1))) + 1e-8)
    return params


def weight_files(model_dir):
    files = sorted(glob.glob(os.path.join(model_dir, "group1-shard*")) +
                   glob.glob(os.path.join(model_dir, "*.safetensors")))
    if not files:
        sys.exit(f"fit_linformer: no weight files (group1-shard*, *.safetensors) in {model_dir}")
    out = {}
    for path in files:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        out[os.path.basename(path)] = digest.hexdigest()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model directory (its weight files are hashed)")
    ap.add_argument("--train", required=True,
                    help="capture_attention directories, comma-separated (calibration)")
    ap.add_argument("--check", help="capture_attention directories, comma-separated (held out)")
    ap.add_argument("--segments", default="2,4,8", help="segment sizes to fit")
    ap.add_argument("--span", type=int, default=1, help="neighbouring segments each side")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    train, held, meta = [], [], None
    for directory in args.train.split(","):
        meta, texts = load_captures(directory)
        train += texts
    for directory in (args.check.split(",") if args.check else []):
        held += load_captures(directory)[1]
    scale = meta["scale"]
    fits = []
    print("Relative error of each head's attention output to dense, mean over texts "
          f"({len(train)} calibration, {len(held)} held out):\n")
    print("| S | layer | head | calibration: means | calibration: fitted "
          "| held out: means | held out: fitted |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for segment in [int(s) for s in args.segments.split(",")]:
        offsets = tap_offsets(segment, args.span)
        fit = {"segment": segment, "first_offset": offsets[0], "key_taps": [], "value_taps": []}
        for layer in range(meta["layers"]):
            fit["key_taps"].append([])
            fit["value_taps"].append([])
            for head in range(meta["heads"]):
                def heads_of(texts):
                    return [Head(t[layer][:, head], segment, offsets[0], len(offsets), scale)
                            for t in texts]
                train_heads, held_heads = heads_of(train), heads_of(held)
                kt, vt = fit_head(train_heads, offsets, segment, args.steps, args.lr)
                fit["key_taps"][-1].append([round(float(x), 6) for x in kt])
                fit["value_taps"][-1].append([round(float(x), 6) for x in vt])
                means = mean_taps(offsets, segment)
                cells = []
                for hs in (train_heads, held_heads):
                    for taps in ((means, means), (kt, vt)):
                        cells.append(f"{np.mean([h.error(*taps) for h in hs]):.3f}" if hs else "-")
                print(f"| {segment} | {layer} | {head} | " + " | ".join(cells) + " |", flush=True)
        fits.append(fit)
    lengths = sorted({t[0].shape[2] for t in train})
    out = {
        "generator": "tools/fit_linformer.py",
        "model": meta["model"],
        "layers": meta["layers"],
        "heads": meta["heads"],
        "weights_sha256": weight_files(args.model),
        "calibration": {"texts": len(train), "tokens": lengths,
                        "steps": args.steps, "lr": args.lr, "span": args.span},
        "fits": fits,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
