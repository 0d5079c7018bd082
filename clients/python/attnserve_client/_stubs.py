"""Finds (or generates) the protobuf/gRPC modules and imports them.

The generated modules are not committed. They are looked up in this order:

1. ``$ATTNSERVE_PY_STUBS``: a directory written by the build (the CMake
   target ``attnserve_python_stubs`` writes ``BUILD/clients/python/gen``).
2. ``_bundled_stubs`` inside this package: an installed wheel ships the
   build's stubs there (clients/python/build_wheel.py), so it never runs protoc.
3. Otherwise they are generated on first import into a cache directory,
   ``$ATTNSERVE_STUB_CACHE`` or ``$XDG_CACHE_HOME/attnserve`` or
   ``~/.cache/attnserve``, in a subdirectory named by a hash of the .proto
   files (so an edited .proto regenerates). The .proto files are taken from
   ``$ATTNSERVE_PROTO_DIR``, else from the repository this package sits in
   (``clients/python/attnserve_client`` -> ``proto/``).
"""

from __future__ import annotations

import os
import sys

from . import _protogen

_ENV_STUBS = "ATTNSERVE_PY_STUBS"


def _repo_proto_dir() -> str:
    env = os.environ.get("ATTNSERVE_PROTO_DIR")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "..", "proto"))


def _cache_root() -> str:
    env = os.environ.get("ATTNSERVE_STUB_CACHE")
    if env:
        return env
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(xdg, "attnserve")


def stub_dir() -> str:
    """The directory holding attnserve/v1/*_pb2*.py (generating it if needed)."""
    given = os.environ.get(_ENV_STUBS)
    if given:
        if not os.path.isfile(os.path.join(given, _protogen.STAMP)):
            raise ImportError(
                f"${_ENV_STUBS}={given} holds no generated stubs "
                "(build the CMake target attnserve_python_stubs, or unset it to "
                "generate them into a cache directory)")
        return given
    bundled = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bundled_stubs")
    if os.path.isfile(os.path.join(bundled, _protogen.STAMP)):
        return bundled
    proto_dir = _repo_proto_dir()
    try:
        key = _protogen.proto_hash(proto_dir)
    except OSError as e:
        raise ImportError(
            f"attnserve .proto files not found in {proto_dir}: set ${_ENV_STUBS} to "
            "generated stubs or $ATTNSERVE_PROTO_DIR to the repository's proto/") from e
    out = os.path.join(_cache_root(), f"pystubs-{key}")
    if not os.path.isfile(os.path.join(out, _protogen.STAMP)):
        try:
            _protogen.generate(proto_dir, out)
        except (_protogen.GenerationError, OSError) as e:
            raise ImportError(f"cannot generate the attnserve stubs into {out}: {e}") from e
    return out


_dir = stub_dir()
if _dir not in sys.path:
    sys.path.insert(0, _dir)

# pylint: disable=wrong-import-position,import-error,unused-import
from attnserve.v1 import admin_pb2, admin_pb2_grpc  # noqa: E402
from attnserve.v1 import inference_pb2, inference_pb2_grpc  # noqa: E402
from attnserve.v1 import types_pb2  # noqa: E402
from attnserve_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

__all__ = ["admin_pb2", "admin_pb2_grpc", "inference_pb2", "inference_pb2_grpc",
           "types_pb2", "health_pb2", "health_pb2_grpc", "stub_dir"]
