#!/usr/bin/python3
"""Trains sequence classifiers of each attention layer type (docs/LAYER_TYPES.md)
on the labelled sets and compares their test accuracy and size.

  train.py --data data --out build/layer_types [--sets imdb yelp ...]
           [--types standard optimized ...] [--seeds 3] [--steps N]

Every run uses the same tokenizer (BERT uncased WordPiece with the bge
vocabulary from models/test-vectors/ggml-vocab-bert-bge.gguf), model size
(hidden 128, 4 heads, 2 layers, intermediate 256, 128 positions), optimizer
(AdamW, lr 1e-3, linear warm-up then linear decay, batch 32) and number of
steps (set by the data set); runs differ only in the type and the seed.
Training is deterministic: the seed fixes the initialisation and the batch
order (a seeded generator), and PyTorch is held to deterministic algorithms
on 2 threads.

Each run is exported to OUT/<set>/<type>-seed<s>/ (layer_types.export) with a
reference.json: 8 test texts, their ids and the float32 model's
probabilities, to check the engine on trained models. OUT/results.json holds
every run's test accuracy, training time, parameter counts and FLOPs per
token; a Markdown summary is printed. Needs Debian's python3-torch.
"""
import argparse
import importlib.util
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import layer_types  # noqa: E402

SETS = ("imdb", "yelp", "amazon", "spam_assassin")
GGUF = os.path.join("models", "test-vectors", "ggml-vocab-bert-bge.gguf")
MODEL_SIZE = {"hidden_size": 128, "num_attention_heads": 4, "num_hidden_layers": 2,
              "intermediate_size": 256, "max_position_embeddings": 128}
BATCH = 32
LR = 1e-3
WEIGHT_DECAY = 0.01
WARMUP = 0.1  # fraction of the steps
# Steps per set (the same for every type and seed): the sentiment sets (700
# short texts, ~6 s a run on 2 cores) see ~3.7 epochs; spam_assassin (4,130
# texts, most clipped at 128 tokens, ~30 s a run) ~0.8, as at 60 steps a
# third of its runs had not yet left the majority class.
DEFAULT_STEPS = {"imdb": 80, "yelp": 80, "amazon": 80, "spam_assassin": 100}
BUCKET = 8  # batches per length-sorted chunk: little padding, still shuffled
REFERENCE_TEXTS = 8


def load_tokenizer():
    """(tokens in id order, encode(text) -> content ids) from the wordpiece
    golden generator's reference BertTokenizer (uncased)."""
    path = os.path.join(ROOT, "tests", "golden", "wordpiece", "generate.py")
    spec = importlib.util.spec_from_file_location("wordpiece_reference", path)
    wordpiece = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(wordpiece)
    pieces = wordpiece.read_gguf_tokens(os.path.join(ROOT, GGUF))
    tokens = [wordpiece.from_llama_piece(p) for p in pieces]
    vocab = {t: i for i, t in enumerate(tokens)}
    return tokens, lambda text: wordpiece.encode(vocab, text)


def load_set(data_dir, name, encode, tokens):
    """Returns (labels, train, test); train and test are dicts of texts, ids
    ([CLS] content[:l - 2] [SEP]) and label indices. Labels are sorted."""
    parts = {}
    for part in ("train", "test"):
        with open(os.path.join(data_dir, name, part + ".jsonl"), encoding="utf-8") as f:
            parts[part] = [json.loads(line) for line in f if line.strip()]
    labels = sorted({r["label"] for r in parts["train"]})
    cls, sep = tokens.index("[CLS]"), tokens.index("[SEP]")
    clip = MODEL_SIZE["max_position_embeddings"] - 2
    out = []
    for part in ("train", "test"):
        rows = parts[part]
        out.append({"texts": [r["text"] for r in rows],
                    "ids": [[cls] + encode(r["text"])[:clip] + [sep] for r in rows],
                    "y": [labels.index(r["label"]) for r in rows]})
    return labels, out[0], out[1]


def batches(data, steps, generator):
    """`steps` training batches: each epoch is a seeded permutation, cut into
    chunks of BUCKET batches that are sorted by length (so a batch pads
    little), and the epoch's batches are then shuffled."""
    n, made = len(data["ids"]), 0
    while True:
        order = torch.randperm(n, generator=generator).tolist()
        epoch = []
        for start in range(0, n, BATCH * BUCKET):
            chunk = sorted(order[start:start + BATCH * BUCKET], key=lambda i: len(data["ids"][i]))
            epoch += [chunk[b:b + BATCH] for b in range(0, len(chunk), BATCH)]
        for b in torch.randperm(len(epoch), generator=generator).tolist():
            ids, mask = layer_types.pad_batch([data["ids"][i] for i in epoch[b]])
            yield ids, mask, torch.tensor([data["y"][i] for i in epoch[b]])
            made += 1
            if made == steps:
                return


def make_optimizer(model, steps):
    """AdamW (weight decay on the linear maps' weights only, not on biases,
    LayerNorm or the embedding tables) with a linear warm-up over WARMUP of
    the steps and a linear decay to zero."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() == 2 and "embeddings" not in name else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": no_decay, "weight_decay": 0.0}], lr=LR)
    warmup = max(1, int(WARMUP * steps))

    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (steps - step) / max(1, steps - warmup))
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


@torch.no_grad()
def predict(model, rows, batch=128):
    """Probabilities for rows of ids, in order (batched by length)."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    probs = [None] * len(rows)
    for start in range(0, len(order), batch):
        part = order[start:start + batch]
        ids, mask = layer_types.pad_batch([rows[i] for i in part])
        for i, p in zip(part, model(ids, mask)[1].softmax(-1)):
            probs[i] = p
    return torch.stack(probs)


def train_run(attention_type, seed, steps, train, vocab_size, num_labels):
    """Trains one model; returns (model, seconds, last-10-steps mean loss)."""
    torch.manual_seed(seed)
    config = layer_types.make_config(attention_type, vocab_size=vocab_size,
                                     num_labels=num_labels, **MODEL_SIZE)
    model = layer_types.BertClassifier(config)
    # Only the word-embedding rows of tokens in the training set are
    # trained, as a compact table: a row that never gets a gradient stays
    # put under AdamW (zero moments, no decay on embeddings), so this is the
    # full-table run's arithmetic without updating 30k untouched rows a step.
    embeddings = model.bert["embeddings"]
    full = embeddings["word_embeddings"]
    used = torch.tensor(sorted({0}.union(*train["ids"])))
    remap = torch.zeros(vocab_size, dtype=torch.long)
    remap[used] = torch.arange(len(used))
    embeddings["word_embeddings"] = torch.nn.Embedding.from_pretrained(full.weight[used].clone(),
                                                                       freeze=False)
    opt, schedule = make_optimizer(model, steps)
    losses = []
    start = time.perf_counter()
    model.train()
    for ids, mask, y in batches(train, steps, torch.Generator().manual_seed(seed)):
        loss = F.cross_entropy(model(remap[ids], mask)[1], y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        schedule.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    with torch.no_grad():
        full.weight[used] = embeddings["word_embeddings"].weight
    embeddings["word_embeddings"] = full
    return model.eval(), seconds, statistics.mean(losses[-10:])


def write_reference(model, test, path):
    """The first REFERENCE_TEXTS test texts, their ids and the float32
    model's probabilities (one padded batch with a mask)."""
    rows = test["ids"][:REFERENCE_TEXTS]
    with torch.no_grad():
        probs = model(*layer_types.pad_batch(rows))[1].softmax(-1)
    ref = {"texts": test["texts"][:REFERENCE_TEXTS], "ids": rows,
           "labels": test["y"][:REFERENCE_TEXTS],
           "probabilities": [[float("%.9g" % v) for v in p] for p in probs.tolist()]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
        f.write("\n")


def mean_std(values):
    """'mean ± sample std' in percent."""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return "%.1f ± %.1f" % (100 * statistics.mean(values), 100 * std)


def summary(runs, majority):
    """The Markdown table: per set x type over the seeds."""
    lines = ["| set | type | test accuracy %, mean ± std | attention params | vs standard "
             "| total params | FLOPs/token @16 / @128 | train s (mean) |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for name in dict.fromkeys(r["set"] for r in runs):
        of_set = [r for r in runs if r["set"] == name]
        standard = next((r["params_attention"] for r in of_set if r["type"] == "standard"), None)
        for kind in dict.fromkeys(r["type"] for r in of_set):
            group = [r for r in of_set if r["type"] == kind]
            first = group[0]
            ratio = "%.3f" % (first["params_attention"] / standard) if standard else "-"
            lines.append("| %s | %s | %s (n=%d) | %d | %s | %d | %.2fM / %.2fM | %.1f |" % (
                name, kind, mean_std([r["accuracy"] for r in group]), len(group),
                first["params_attention"], ratio, first["params_total"],
                first["flops_per_token"]["16"] / 1e6, first["flops_per_token"]["128"] / 1e6,
                statistics.mean(r["train_time_s"] for r in group)))
    lines.append("")
    lines.append("Majority class on the test sets: " +
                 ", ".join("%s %.1f%%" % (k, 100 * v) for k, v in majority.items()) + ".")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "data"),
                    help="directory of <set>/{train,test}.jsonl (default: the repo's data/)")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "layer_types"),
                    help="output directory (default: the repo's build/layer_types)")
    ap.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    ap.add_argument("--types", nargs="+", default=list(layer_types.ATTENTION_TYPES),
                    choices=layer_types.ATTENTION_TYPES)
    ap.add_argument("--seeds", type=int, default=3, help="seeds 0 .. N-1 per set and type")
    ap.add_argument("--steps", type=int,
                    help="training steps of every run (default: per set, %s)" %
                    ", ".join("%s %d" % kv for kv in DEFAULT_STEPS.items()))
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    began = time.perf_counter()
    tokens, encode = load_tokenizer()
    runs, majority = [], {}
    for name in args.sets:
        labels, train, test = load_set(args.data, name, encode, tokens)
        majority[name] = max(test["y"].count(i) for i in range(len(labels))) / len(test["y"])
        truth = torch.tensor(test["y"])
        steps = args.steps or DEFAULT_STEPS[name]
        for kind in args.types:
            for seed in range(args.seeds):
                model, seconds, loss = train_run(kind, seed, steps, train, len(tokens), len(labels))
                right = (predict(model, test["ids"]).argmax(-1) == truth).sum().item()
                accuracy = right / len(truth)
                out = os.path.join(args.out, name, "%s-seed%d" % (kind, seed))
                layer_types.export(model, out, tokens, labels)
                write_reference(model, test, os.path.join(out, "reference.json"))
                total, attention = layer_types.count_parameters(model)
                runs.append({"set": name, "type": kind, "seed": seed, "steps": steps,
                             "accuracy": accuracy,
                             "train_time_s": round(seconds, 2), "final_loss": round(loss, 4),
                             "params_total": total, "params_attention": attention,
                             "flops_per_token": {
                                 str(n): layer_types.flops_per_token(model.config, n)
                                 for n in (16, 128)},
                             "model": os.path.relpath(out, args.out)})
                print("%-13s %-9s seed %d: accuracy %.3f, loss %.3f, %.1f s" %
                      (name, kind, seed, accuracy, loss, seconds), flush=True)
    result = {"torch": torch.__version__, "batch": BATCH, "lr": LR,
              "weight_decay": WEIGHT_DECAY, "warmup": WARMUP, "model": MODEL_SIZE,
              "tokenizer": GGUF, "runs": runs, "wall_s": round(time.perf_counter() - began, 1)}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print()
    print(summary(runs, majority))
    print()
    print("%d runs in %.0f s" % (len(runs), time.perf_counter() - began))


if __name__ == "__main__":
    main()
