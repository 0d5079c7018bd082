"""attnserve_client: Python client of the attnserve gRPC inference server.

    from attnserve_client import Client

    with Client("127.0.0.1:50051") as client:
        result = client.embed(["hello world", "good morning"], attention="dense")
        print(result.embeddings.shape, result.stats.compute_seconds)

The protobuf/gRPC modules are generated, not committed: from
$ATTNSERVE_PY_STUBS (the build's clients/python/gen), from the copy an
installed wheel ships, or else into a cache directory on first import (see attnserve_client._stubs and
docs/CLIENTS.md). Needs Debian's python3-grpcio, python3-protobuf and
python3-numpy.
"""

try:
    from ._version import __version__
except ImportError:  # a source checkout: the wheel build writes _version.py
    __version__ = "0+source"
from .client import (DEFAULT_ADDRESS, AttnServeError, Client, EmbedResult, Tokens,
                     cosine_similarity)
from ._stubs import admin_pb2, health_pb2, inference_pb2, types_pb2

__all__ = [
    "__version__", "DEFAULT_ADDRESS", "AttnServeError", "Client", "EmbedResult", "Tokens",
    "cosine_similarity", "admin_pb2", "health_pb2", "inference_pb2", "types_pb2",
]
