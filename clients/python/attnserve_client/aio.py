"""asyncio variant of the client (grpc.aio), for apps that run an event loop.

    import asyncio
    from attnserve_client.aio import AsyncClient

    async def main():
        async with AsyncClient("127.0.0.1:50051") as client:
            results = await asyncio.gather(*(client.embed(t) for t in ["a", "b"]))

The inference calls of Client, same arguments and results; errors raise the
same AttnServeError. Admin calls stay on the blocking Client.
"""

from __future__ import annotations

import os
from typing import (Any, AsyncIterator, Dict, Iterable, List, Mapping, Optional, Sequence,
                    Tuple, Union)

import grpc
from grpc import aio

from . import _stubs
from .client import (DEFAULT_ADDRESS, EmbedResult, ParamValue, PathOrPem, Texts, Tokens,
                     _channel_settings, _embed_request, _embed_result, _encode_texts,
                     _health_name, _options, _read_token, _tokens, _wrap)

inference_pb2 = _stubs.inference_pb2
health_pb2 = _stubs.health_pb2


class AsyncClient:
    """An asyncio connection to one attnserve server (see Client for the
    arguments). Use `async with` or `await close()`."""

    def __init__(self, address: str = DEFAULT_ADDRESS,
                 root_certificates: Optional[PathOrPem] = None, *,
                 private_key: Optional[PathOrPem] = None,
                 certificate_chain: Optional[PathOrPem] = None,
                 api_key: Optional[str] = None,
                 api_key_file: Optional[Union[str, "os.PathLike[str]"]] = None,
                 timeout: Optional[float] = 60.0,
                 max_receive_message_bytes: int = 64 << 20,
                 channel_options: Sequence[Tuple[str, Any]] = ()):
        api_key = _read_token(api_key, api_key_file)
        self.address = address
        self.timeout = timeout
        self._api_key = api_key
        credentials, options = _channel_settings(root_certificates, private_key,
                                                 certificate_chain, max_receive_message_bytes,
                                                 channel_options)
        if credentials is not None:
            self._channel = aio.secure_channel(address, credentials, options=options)
        else:
            self._channel = aio.insecure_channel(address, options=options)
        self._inference = _stubs.inference_pb2_grpc.InferenceStub(self._channel)
        self._health = _stubs.health_pb2_grpc.HealthStub(self._channel)

    async def close(self) -> None:
        """Closes the channel (calls in flight are cancelled)."""
        await self._channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    @property
    def channel(self) -> aio.Channel:
        """The underlying grpc.aio.Channel (for stubs of your own)."""
        return self._channel

    def _kwargs(self, timeout: Optional[float]) -> Dict[str, Any]:
        metadata = [("authorization", f"Bearer {self._api_key}")] if self._api_key else None
        return {"timeout": timeout if timeout is not None else self.timeout,
                "metadata": metadata}

    async def _call(self, method: str, rpc: Any, request: Any,
                    timeout: Optional[float]) -> Any:
        try:
            return await rpc(request, **self._kwargs(timeout))
        except grpc.RpcError as e:
            raise _wrap(e, method) from None

    async def embed(self, texts: Texts, attention: Optional[str] = None,
                    attention_params: Optional[Mapping[str, ParamValue]] = None,
                    max_tokens: int = 0, *, num_threads: int = 0,
                    return_token_ids: bool = False, linear_precision: str = "",
                    model: str = "", timeout: Optional[float] = None) -> EmbedResult:
        """Client.embed, awaited."""
        request = _embed_request(texts, attention, attention_params, max_tokens, num_threads,
                                 return_token_ids, linear_precision, model)
        return _embed_result(await self._call("Embed", self._inference.Embed, request, timeout))

    async def embed_stream(self, batches: Iterable[Texts], attention: Optional[str] = None,
                           attention_params: Optional[Mapping[str, ParamValue]] = None,
                           max_tokens: int = 0, *, num_threads: int = 0,
                           return_token_ids: bool = False, linear_precision: str = "",
                           model: str = "",
                           timeout: Optional[float] = None) -> AsyncIterator[EmbedResult]:
        """Client.embed_stream as an async iterator: one result per batch, in order."""
        requests = (_embed_request(b, attention, attention_params, max_tokens, num_threads,
                                   return_token_ids, linear_precision, model) for b in batches)
        call = self._inference.EmbedStream(requests, **self._kwargs(timeout))
        try:
            async for response in call:
                yield _embed_result(response)
        except grpc.RpcError as e:
            raise _wrap(e, "EmbedStream") from None

    async def classify(self, texts: Texts, head: str = "", attention: Optional[str] = None,
                       attention_params: Optional[Mapping[str, ParamValue]] = None,
                       max_tokens: int = 0, *, linear_precision: str = "", model: str = "",
                       timeout: Optional[float] = None) -> List[Tuple[str, Dict[str, float]]]:
        """Client.classify, awaited."""
        request = inference_pb2.ClassifyRequest(
            model=model, texts=_encode_texts(texts), head=head,
            options=_options(attention, attention_params, max_tokens, 0, linear_precision))
        response = await self._call("Classify", self._inference.Classify, request, timeout)
        return [(r.label, dict(r.scores)) for r in response.results]

    async def tokenize(self, texts: Texts, *, model: str = "", add_special_tokens: bool = False,
                       timeout: Optional[float] = None) -> List[Tokens]:
        """Client.tokenize, awaited."""
        request = inference_pb2.TokenizeRequest(model=model, texts=_encode_texts(texts),
                                                add_special_tokens=add_special_tokens)
        return _tokens(await self._call("Tokenize", self._inference.Tokenize, request, timeout))

    async def list_models(self, *, timeout: Optional[float] = None) -> List[Any]:
        """The served models (attnserve.v1.ModelInfo messages)."""
        response = await self._call("ListModels", self._inference.ListModels,
                                    inference_pb2.ListModelsRequest(), timeout)
        return list(response.models)

    async def health(self, service: str = "", *, timeout: Optional[float] = None) -> str:
        """grpc.health.v1 status name: "SERVING", "NOT_SERVING", ..."""
        response = await self._call("Health.Check", self._health.Check,
                                    health_pb2.HealthCheckRequest(service=service), timeout)
        return _health_name(response)
