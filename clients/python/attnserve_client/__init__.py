"""attnserve_client: Python client of the attnserve gRPC inference server.

    from attnserve_client import Client

    with Client("127.0.0.1:50051") as client:
        result = client.embed(["hello world", "good morning"], attention="dense")
        print(result.embeddings.shape, result.stats.compute_seconds)

The protobuf/gRPC modules are generated, not committed: from
$ATTNSERVE_PY_STUBS (the build's clients/python/gen) or, without it, into a
cache directory on first import (see attnserve_client._stubs and
docs/CLIENTS.md). Needs Debian's python3-grpcio, python3-protobuf and
python3-numpy.
"""

from .client import (DEFAULT_ADDRESS, AttnServeError, Client, EmbedResult, Tokens,
                     cosine_similarity)
from ._stubs import admin_pb2, health_pb2, inference_pb2, types_pb2

__all__ = [
    "DEFAULT_ADDRESS", "AttnServeError", "Client", "EmbedResult", "Tokens", "cosine_similarity",
    "admin_pb2", "health_pb2", "inference_pb2", "types_pb2",
]
