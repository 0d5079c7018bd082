#!/usr/bin/env python3
"""tools/prepare_datasets.py's concatenated reviews on small synthetic
sentiment sets (small enough that texts run out of sentences): no sentence in
both splits, every text past the word target unless its label's sentences
ran out, its label a strict majority of its sentences, one source per text,
the same output for the same seed."""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import prepare_datasets  # noqa: E402


def synthetic_sources():
    sources = {}
    for name in ("imdb", "yelp", "amazon"):
        rows = []
        for label in ("negative", "positive"):
            for i in range(60):
                text = f"{name} {label} sentence {i} " + "word " * (5 + i % 7)
                rows.append({"text": text.strip(), "label": label})
        sources[name] = rows
    return sources


def read(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


class ConcatenatedReviewsTest(unittest.TestCase):
    def build(self, out):
        prepare_datasets.concatenated_reviews(synthetic_sources(), out)
        d = os.path.join(out, "reviews_concat")
        return read(os.path.join(d, "train.jsonl")), read(os.path.join(d, "test.jsonl"))

    def test_splits_labels_and_lengths(self):
        with tempfile.TemporaryDirectory() as out:
            train, test = self.build(out)
        per_label = prepare_datasets.CONCAT_PER_LABEL
        self.assertEqual(len(train), 2 * per_label["train"])
        self.assertEqual(len(test), 2 * per_label["test"])
        known = {r["text"] for rows in synthetic_sources().values() for r in rows}

        def sentences(text):
            # Synthetic sentences start with "<source> <label> sentence".
            parts, current = [], []
            for word in text.split():
                if current and word in ("imdb", "yelp", "amazon"):
                    parts.append(" ".join(current))
                    current = []
                current.append(word)
            parts.append(" ".join(current))
            return parts

        train_sentences = set()
        for rows, seen in ((train, train_sentences), (test, None)):
            for r in rows:
                parts = sentences(r["text"])
                for p in parts:
                    self.assertIn(p, known)
                self.assertEqual(len(parts), len(set(parts)), "a sentence twice in one text")
                self.assertEqual(len({p.split()[0] for p in parts}), 1, "one source per text")
                mine = sum(p.split()[1] == r["label"] for p in parts)
                self.assertGreater(mine, len(parts) / 2, r["text"][:80])
                # Long enough, unless its label's sentences ran out.
                pool = 42 if seen is not None else 18  # 70 / 30 % of 60
                if sum(p.split()[1] == r["label"] for p in parts) < pool:
                    self.assertGreaterEqual(len(r["text"].split()), prepare_datasets.CONCAT_WORDS)
                if seen is not None:
                    seen.update(parts)
                else:
                    self.assertFalse(set(parts) & train_sentences, "a test sentence in train")

    def test_same_seed_same_output(self):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            self.assertEqual(self.build(a), self.build(b))


if __name__ == "__main__":
    unittest.main()
