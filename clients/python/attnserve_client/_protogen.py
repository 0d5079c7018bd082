"""Generates the Python messages and gRPC stubs of proto/ (stdlib only).

Used two ways, with the same code:

* at build time, by CMake (clients/python/CMakeLists.txt), run as a script::

    python3 clients/python/attnserve_client/_protogen.py \\
        --proto_dir proto --out BUILD/clients/python/gen \\
        --protoc protoc --plugin grpc_python_plugin

* at import time, by attnserve_client._stubs, when no generated directory is
  given: it generates into a per-user cache directory keyed by a hash of the
  .proto files.

The generator is protoc (Debian protobuf-compiler) with the gRPC Python plugin
(Debian protobuf-compiler-grpc, /usr/bin/grpc_python_plugin): the same protoc
that builds the C++ stubs. Debian bookworm's python3-grpc-tools bundles an old
protoc that rejects proto3 `optional` fields (types.proto has one), so it is
only tried as a last resort, when protoc itself is missing.

Output layout (put OUT on sys.path)::

    OUT/attnserve/v1/{types,inference,admin,config}_pb2.py, *_pb2_grpc.py
    OUT/attnserve_health/v1/health_pb2.py, health_pb2_grpc.py

grpc/health/v1/health.proto is compiled under the name
attnserve_health/v1/health.proto so that its module does not collide with the
`grpc` package (the service is still grpc.health.v1.Health on the wire).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from typing import List, Optional, Sequence

# .proto files under proto/, in dependency order.
ATTNSERVE_PROTOS = (
    "attnserve/v1/types.proto",
    "attnserve/v1/inference.proto",
    "attnserve/v1/admin.proto",
    "attnserve/v1/config.proto",
)
HEALTH_PROTO = "grpc/health/v1/health.proto"
HEALTH_RENAMED = "attnserve_health/v1/health.proto"

# A file that exists once generation has completed.
STAMP = "ATTNSERVE_STUBS_OK"


class GenerationError(RuntimeError):
    """protoc could not be found or failed."""


def proto_hash(proto_dir: str) -> str:
    """A short hash of every .proto the stubs come from (the cache key)."""
    digest = hashlib.sha256()
    for rel in ATTNSERVE_PROTOS + (HEALTH_PROTO,):
        digest.update(rel.encode())
        with open(os.path.join(proto_dir, rel), "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()[:16]


def _find(name: str, explicit: Optional[str]) -> Optional[str]:
    if explicit:
        return explicit
    return shutil.which(name)


def _run(command: List[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise GenerationError(
            f"{' '.join(command)} failed (exit {result.returncode}): "
            f"{result.stderr.strip() or result.stdout.strip()}")


def generate(proto_dir: str, out_dir: str, protoc: Optional[str] = None,
             plugin: Optional[str] = None) -> None:
    """Writes the generated modules into out_dir (created; atomically complete).

    Raises GenerationError when no generator is available or it fails.
    """
    proto_dir = os.path.abspath(proto_dir)
    for rel in ATTNSERVE_PROTOS + (HEALTH_PROTO,):
        if not os.path.isfile(os.path.join(proto_dir, rel)):
            raise GenerationError(f"{rel} not found under {proto_dir}")
    parent = os.path.dirname(os.path.abspath(out_dir)) or "."
    os.makedirs(parent, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".attnserve_stubs_", dir=parent)
    try:
        # The health proto under its collision-free name.
        src = os.path.join(work, "src")
        os.makedirs(os.path.join(src, os.path.dirname(HEALTH_RENAMED)))
        shutil.copyfile(os.path.join(proto_dir, HEALTH_PROTO),
                        os.path.join(src, HEALTH_RENAMED))
        gen = os.path.join(work, "gen")
        os.makedirs(gen)
        inputs = [os.path.join(proto_dir, p) for p in ATTNSERVE_PROTOS]
        health = [os.path.join(src, HEALTH_RENAMED)]

        protoc = _find("protoc", protoc)
        plugin = _find("grpc_python_plugin", plugin)
        if protoc and plugin:
            for include, files in ((proto_dir, inputs), (src, health)):
                _run([protoc, f"--proto_path={include}", f"--python_out={gen}",
                      f"--grpc_out={gen}", f"--plugin=protoc-gen-grpc={plugin}",
                      *files])
        else:
            if importlib.util.find_spec("grpc_tools") is None:
                raise GenerationError(
                    "no stub generator: install protoc and grpc_python_plugin "
                    "(Debian: protobuf-compiler protobuf-compiler-grpc)")
            for include, files in ((proto_dir, inputs), (src, health)):
                _run([sys.executable, "-m", "grpc_tools.protoc", f"--proto_path={include}",
                      f"--python_out={gen}", f"--grpc_python_out={gen}", *files])
        with open(os.path.join(gen, STAMP), "w", encoding="utf-8") as f:
            f.write(proto_hash(proto_dir) + "\n")
        # Replace out_dir in one step (a concurrent generator may win: fine).
        if os.path.isdir(out_dir):
            shutil.rmtree(out_dir, ignore_errors=True)
        try:
            os.replace(gen, out_dir)
        except OSError:
            if not os.path.isfile(os.path.join(out_dir, STAMP)):
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--proto_dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--protoc")
    parser.add_argument("--plugin", help="grpc_python_plugin")
    args = parser.parse_args(argv)
    try:
        generate(args.proto_dir, args.out, args.protoc, args.plugin)
    except GenerationError as e:
        print(f"_protogen: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
