"""A model root for reload tests: the real model as "good" (links to its
files) beside "corrupt", the same files with the largest (a weight shard or model.safetensors) cut in half, so
ReloadModel("corrupt") must fail and leave the old model serving.

Shared by tests/e2e/crash_safety_test.py and scripts/soak.sh's driver.
"""

from __future__ import annotations

import os


def make_model_root(parent: str, model_dir: str) -> str:
    """Creates parent/models/{good,corrupt} from `model_dir`; returns the root."""
    model_dir = os.path.abspath(model_dir)
    root = os.path.join(parent, "models")
    for name in ("good", "corrupt"):
        os.makedirs(os.path.join(root, name), exist_ok=True)
    damaged = max(os.listdir(model_dir),
                  key=lambda f: os.path.getsize(os.path.join(model_dir, f)))
    for entry in os.listdir(model_dir):
        source = os.path.join(model_dir, entry)
        for name in ("good", "corrupt"):
            target = os.path.join(root, name, entry)
            if os.path.lexists(target):
                os.remove(target)
            if name == "corrupt" and entry == damaged:
                with open(source, "rb") as f:
                    data = f.read()
                with open(target, "wb") as f:
                    f.write(data[: len(data) // 2])
            else:
                os.symlink(source, target)
    return root
