#!/usr/bin/env python3
"""Embeds two sentences with a running attnserve and prints their cosine similarity.

    # from the repository root, with a server on 127.0.0.1:50051
    PYTHONPATH=clients/python /usr/bin/python3 clients/python/examples/embed_example.py
    ... --address HOST:PORT --attention flash "first sentence" "second sentence"

Set ATTNSERVE_PY_STUBS=build/clients/python/gen to use the stubs the build
generated; otherwise they are generated on first import into ~/.cache/attnserve.
"""

# pylint: disable=wrong-import-position
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from attnserve_client import (AttnServeError, Client,  # noqa: E402
                              cosine_similarity)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("sentences", nargs="*",
                        default=["How old are you?", "What is your age?"])
    parser.add_argument("--address", default="127.0.0.1:50051")
    parser.add_argument("--attention", default=None, help="kernel name (default: the policy's)")
    parser.add_argument("--max-tokens", type=int, default=0)
    args = parser.parse_args()
    if len(args.sentences) != 2:
        parser.error("give two sentences (or none for the built-in pair)")

    with Client(args.address, timeout=30) as client:
        try:
            print(f"server health: {client.health()}")
            result = client.embed(args.sentences, attention=args.attention,
                                  max_tokens=args.max_tokens, return_token_ids=True)
        except AttnServeError as e:
            print(f"attnserve error: {e.code_name}: {e.details}", file=sys.stderr)
            return 1

    a, b = result.embeddings
    print(f"model: {result.model}, embeddings: {result.embeddings.shape}")
    for sentence, ids in zip(args.sentences, result.token_ids or [[], []]):
        print(f"  {sentence!r}: {len(ids)} tokens")
    print(f"cosine similarity: {cosine_similarity(a, b):.4f}")
    s = result.stats
    print(f"stats: kernel={s.attention_kernel} threads={s.num_threads} "
          f"queue={s.queue_seconds * 1e3:.2f} ms tokenize={s.tokenize_seconds * 1e3:.2f} ms "
          f"compute={s.compute_seconds * 1e3:.2f} ms attention={s.attention_seconds * 1e3:.2f} ms "
          f"flops={s.flops} policy_version={s.policy_version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
