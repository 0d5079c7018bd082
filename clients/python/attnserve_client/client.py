"""The attnserve Python client: a thin, typed wrapper over the gRPC stubs."""

from __future__ import annotations

import dataclasses
import os
from typing import (Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple,
                    Union)

import grpc
import numpy as np

from . import _stubs

admin_pb2 = _stubs.admin_pb2
inference_pb2 = _stubs.inference_pb2
types_pb2 = _stubs.types_pb2
health_pb2 = _stubs.health_pb2

# A text: str (encoded as UTF-8 here) or bytes (sent as they are; the server
# checks them and names the text when they are not valid UTF-8).
Text = Union[str, bytes]
Texts = Union[Text, Sequence[Text]]
ParamValue = Union[str, int, float]
PathOrPem = Union[bytes, str, "os.PathLike[str]"]

DEFAULT_ADDRESS = "127.0.0.1:50051"


class AttnServeError(Exception):
    """A call failed: the gRPC status code and the server's message.

    Attributes:
      code: the grpc.StatusCode (e.g. grpc.StatusCode.INVALID_ARGUMENT).
      code_name: its name, e.g. "INVALID_ARGUMENT".
      details: the server's message, e.g. "texts[0]: invalid UTF-8 at byte 1".
      method: the RPC that failed, e.g. "Embed".
    """

    def __init__(self, code: grpc.StatusCode, details: str, method: str = ""):
        self.code = code
        self.code_name = code.name if code is not None else "UNKNOWN"
        self.details = details or ""
        self.method = method
        prefix = f"{method}: " if method else ""
        super().__init__(f"{prefix}{self.code_name}: {self.details}")


def _wrap(error: grpc.RpcError, method: str) -> AttnServeError:
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    return AttnServeError(code, details, method)


@dataclasses.dataclass
class EmbedResult:
    """One Embed answer.

    Attributes:
      embeddings: float32 array of shape (len(texts), embedding_dim), rows in
        the order of the texts (L2-normalised by USE-lite).
      stats: what the request did and cost (attnserve.v1.RunStats: kernel,
        queue/compute seconds, tokens per text, policy version, ...).
      model: the model that answered.
      token_ids: per text, the tokenizer's ids, when return_token_ids=True.
    """

    embeddings: np.ndarray
    stats: Any
    model: str
    token_ids: Optional[List[List[int]]] = None

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])


@dataclasses.dataclass
class Tokens:
    """The tokenizer's output for one text: ids, their pieces and, per id,
    the bytes [start, end) of the text's UTF-8 it stands for (Hugging Face's
    offset_mapping; (0, 0) for a special token)."""

    ids: List[int]
    pieces: List[str]
    offsets: List[Tuple[int, int]] = dataclasses.field(default_factory=list)
    special: List[bool] = dataclasses.field(default_factory=list)


def _encode_texts(texts: Texts) -> List[bytes]:
    if isinstance(texts, (str, bytes)):
        texts = [texts]
    out = []
    for i, t in enumerate(texts):
        if isinstance(t, bytes):
            out.append(t)
        elif isinstance(t, str):
            try:
                out.append(t.encode("utf-8"))
            except UnicodeEncodeError as e:
                raise ValueError(f"texts[{i}]: not encodable as UTF-8: {e}") from e
        else:
            raise TypeError(f"texts[{i}]: expected str or bytes, got {type(t).__name__}")
    return out


def _options(attention: Optional[str], attention_params: Optional[Mapping[str, ParamValue]],
             max_tokens: int, num_threads: int, linear_precision: str = "") -> Any:
    options = types_pb2.ExecutionOptions(max_tokens=max_tokens, num_threads=num_threads,
                                         linear_precision=linear_precision)
    if attention is not None or attention_params:
        options.attention.kernel = attention or ""
        for key, value in (attention_params or {}).items():
            options.attention.params[key] = str(value)
    return options


def _read_pem(value: Optional[PathOrPem]) -> Optional[bytes]:
    if value is None or isinstance(value, bytes):
        return value
    with open(value, "rb") as f:
        return f.read()


def _channel_settings(root_certificates: Optional[PathOrPem], private_key: Optional[PathOrPem],
                      certificate_chain: Optional[PathOrPem], max_receive_message_bytes: int,
                      channel_options: Sequence[Tuple[str, Any]]) -> Tuple[Any, List[Any]]:
    """(TLS credentials or None for plaintext, channel options) of a client."""
    options = [("grpc.max_receive_message_length", max_receive_message_bytes),
               *channel_options]
    if root_certificates is None:
        if private_key is not None or certificate_chain is not None:
            raise ValueError("private_key/certificate_chain need root_certificates (TLS)")
        return None, options
    credentials = grpc.ssl_channel_credentials(root_certificates=_read_pem(root_certificates),
                                               private_key=_read_pem(private_key),
                                               certificate_chain=_read_pem(certificate_chain))
    return credentials, options


def _read_token(token: Optional[str],
                token_file: Optional[Union[str, "os.PathLike[str]"]]) -> Optional[str]:
    if token is None and token_file is not None:
        with open(token_file, "r", encoding="utf-8") as f:
            return f.read().strip()
    return token


def _embed_request(texts: Texts, attention: Optional[str],
                   attention_params: Optional[Mapping[str, ParamValue]], max_tokens: int,
                   num_threads: int, return_token_ids: bool, linear_precision: str,
                   model: str) -> Any:
    return inference_pb2.EmbedRequest(
        model=model, texts=_encode_texts(texts),
        options=_options(attention, attention_params, max_tokens, num_threads, linear_precision),
        return_token_ids=return_token_ids)


def _tokens(response: Any) -> List[Tokens]:
    return [Tokens(ids=list(t.ids), pieces=list(t.pieces), offsets=list(zip(t.starts, t.ends)),
                   special=list(t.special) or [False] * len(t.ids))
            for t in response.tokens]


def _health_name(response: Any) -> str:
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


def _embed_result(response: Any) -> EmbedResult:
    dim = len(response.embeddings[0].values) if response.embeddings else 0
    matrix = np.zeros((len(response.embeddings), dim), dtype=np.float32)
    token_ids = None
    for row, embedding in enumerate(response.embeddings):
        matrix[row] = np.asarray(embedding.values, dtype=np.float32)
    if any(len(e.token_ids) for e in response.embeddings):
        token_ids = [list(e.token_ids) for e in response.embeddings]
    return EmbedResult(embeddings=matrix, stats=response.stats, model=response.model,
                       token_ids=token_ids)


class Client:
    """A connection to one attnserve server.

    Args:
      address: "HOST:PORT" (default 127.0.0.1:50051).
      admin_token: bearer token for the Admin service (GetPolicy, SetPolicy,
        ListAttentionKernels, ReloadModel). Without it (or a client
        certificate over mTLS) admin calls fail with UNAUTHENTICATED.
      admin_token_file: read the token from this file instead (stripped).
      api_key: the key inference calls present ("authorization: Bearer
        <key>") when the server was started with --api_key_file.
      root_certificates: the server's CA, as PEM bytes or a file path; enables
        TLS. Without it the channel is plaintext.
      private_key, certificate_chain: the client's key pair (PEM bytes or
        paths), for mutual TLS.
      timeout: default per-call deadline in seconds (None = no deadline).
      max_receive_message_bytes: the channel's receive limit.
      channel_options: extra grpc channel options [(key, value), ...].

    Every method raises AttnServeError (with .code and .details) when the
    server answers with an error. Use as a context manager or call close().
    """

    def __init__(self, address: str = DEFAULT_ADDRESS, admin_token: Optional[str] = None,
                 root_certificates: Optional[PathOrPem] = None, *,
                 admin_token_file: Optional[Union[str, "os.PathLike[str]"]] = None,
                 private_key: Optional[PathOrPem] = None,
                 certificate_chain: Optional[PathOrPem] = None,
                 api_key: Optional[str] = None,
                 timeout: Optional[float] = 60.0,
                 max_receive_message_bytes: int = 64 << 20,
                 channel_options: Sequence[Tuple[str, Any]] = ()):
        admin_token = _read_token(admin_token, admin_token_file)
        self.address = address
        self.timeout = timeout
        self._admin_token = admin_token
        self._api_key = api_key
        credentials, options = _channel_settings(root_certificates, private_key,
                                                 certificate_chain, max_receive_message_bytes,
                                                 channel_options)
        if credentials is not None:
            self._channel = grpc.secure_channel(address, credentials, options=options)
        else:
            self._channel = grpc.insecure_channel(address, options=options)
        self._inference = _stubs.inference_pb2_grpc.InferenceStub(self._channel)
        self._admin = _stubs.admin_pb2_grpc.AdminStub(self._channel)
        self._health = _stubs.health_pb2_grpc.HealthStub(self._channel)

    # -- lifecycle ---------------------------------------------------------

    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def channel(self) -> grpc.Channel:
        """The underlying grpc.Channel (for stubs of your own)."""
        return self._channel

    # -- plumbing ----------------------------------------------------------

    def _call(self, method: str, rpc: Any, request: Any, admin: bool = False,
              timeout: Optional[float] = None) -> Any:
        metadata = self._metadata(admin)
        try:
            return rpc(request, timeout=self._timeout(timeout), metadata=metadata)
        except grpc.RpcError as e:
            raise _wrap(e, method) from None

    def _metadata(self, admin: bool) -> Optional[List[Tuple[str, str]]]:
        token = self._admin_token if admin else self._api_key
        if token:
            return [("authorization", f"Bearer {token}")]
        return None

    def _timeout(self, timeout: Optional[float]) -> Optional[float]:
        return timeout if timeout is not None else self.timeout

    # -- Inference ---------------------------------------------------------

    def embed(self, texts: Texts, attention: Optional[str] = None,
              attention_params: Optional[Mapping[str, ParamValue]] = None,
              max_tokens: int = 0, *, num_threads: int = 0, return_token_ids: bool = False,
              linear_precision: str = "", model: str = "",
              timeout: Optional[float] = None) -> EmbedResult:
        """Embeds a batch of texts.

        Args:
          texts: str (encoded as UTF-8) or bytes, or a list of them; a single
            str/bytes is one text.
          attention: attention kernel name (see list_attention_kernels); None
            = the policy's default.
          attention_params: the kernel's parameters, e.g. {"block": 64}.
          max_tokens: tokens kept per text; 0 = the policy's value (the
            model's clip, 128 for USE-lite, by default).
          num_threads: compute threads; 0 = the server's per-request budget.
          return_token_ids: also return each text's token ids.
          linear_precision: the dense layers' arithmetic, "f32", "int8",
            "bf16" or "auto"; "" = the policy's (docs/QUANTIZATION.md).
          model: "" = the served model.
          timeout: deadline in seconds for this call (default: the client's).

        Returns:
          EmbedResult with .embeddings (np.float32, shape (n, dim)) and .stats.
        """
        request = _embed_request(texts, attention, attention_params, max_tokens, num_threads,
                                 return_token_ids, linear_precision, model)
        return _embed_result(self._call("Embed", self._inference.Embed, request,
                                        timeout=timeout))

    def embed_stream(self, batches: Iterable[Texts], attention: Optional[str] = None,
                     attention_params: Optional[Mapping[str, ParamValue]] = None,
                     max_tokens: int = 0, *, num_threads: int = 0,
                     return_token_ids: bool = False, linear_precision: str = "",
                     model: str = "",
                     timeout: Optional[float] = None) -> Iterator[EmbedResult]:
        """Embeds batches over one bidirectional stream, one result per batch, in order.

        `batches` may be a generator (consumed lazily as the stream sends);
        the options apply to every batch. The deadline covers the whole
        stream. Raises AttnServeError while iterating if the stream fails.
        """
        options = _options(attention, attention_params, max_tokens, num_threads,
                           linear_precision)

        def requests() -> Iterator[Any]:
            for batch in batches:
                yield inference_pb2.EmbedRequest(model=model, texts=_encode_texts(batch),
                                                 options=options,
                                                 return_token_ids=return_token_ids)

        try:
            for response in self._inference.EmbedStream(requests(),
                                                        timeout=self._timeout(timeout)):
                yield _embed_result(response)
        except grpc.RpcError as e:
            raise _wrap(e, "EmbedStream") from None

    def classify(self, texts: Texts, head: str = "", attention: Optional[str] = None,
                 attention_params: Optional[Mapping[str, ParamValue]] = None,
                 max_tokens: int = 0, *, linear_precision: str = "", model: str = "",
                 timeout: Optional[float] = None) -> List[Tuple[str, Dict[str, float]]]:
        """Classifies texts with one of the model's heads: [(label, scores), ...].

        Models without classification heads answer an error (AttnServeError).
        """
        request = inference_pb2.ClassifyRequest(
            model=model, texts=_encode_texts(texts), head=head,
            options=_options(attention, attention_params, max_tokens, 0, linear_precision))
        response = self._call("Classify", self._inference.Classify, request, timeout=timeout)
        return [(r.label, dict(r.scores)) for r in response.results]

    def tokenize(self, texts: Texts, *, model: str = "", add_special_tokens: bool = False,
                 timeout: Optional[float] = None) -> List[Tokens]:
        """The tokenizer's ids, pieces and offsets of each text (no clip
        applied); with add_special_tokens, also the ids the model adds around
        a text (BERT's [CLS] and [SEP]), as Hugging Face's input_ids."""
        request = inference_pb2.TokenizeRequest(model=model, texts=_encode_texts(texts),
                                                add_special_tokens=add_special_tokens)
        response = self._call("Tokenize", self._inference.Tokenize, request, timeout=timeout)
        return _tokens(response)

    def list_models(self, *, timeout: Optional[float] = None) -> List[Any]:
        """The served models (attnserve.v1.ModelInfo messages)."""
        response = self._call("ListModels", self._inference.ListModels,
                              inference_pb2.ListModelsRequest(), timeout=timeout)
        return list(response.models)

    def get_model_info(self, model: str = "", *, timeout: Optional[float] = None) -> Any:
        """One model's attnserve.v1.ModelInfo ("" = the served model)."""
        return self._call("GetModelInfo", self._inference.GetModelInfo,
                          inference_pb2.GetModelInfoRequest(model=model), timeout=timeout)

    def health(self, service: str = "", *, timeout: Optional[float] = None) -> str:
        """grpc.health.v1 status name: "SERVING", "NOT_SERVING", ..."""
        response = self._call("Health.Check", self._health.Check,
                              health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        return _health_name(response)

    # -- Admin (token or mTLS client certificate) --------------------------

    def get_policy(self, *, timeout: Optional[float] = None) -> Any:
        """The current attnserve.v1.Policy (version, defaults, overridable, ...)."""
        return self._call("GetPolicy", self._admin.GetPolicy, admin_pb2.GetPolicyRequest(),
                          admin=True, timeout=timeout)

    def set_policy(self, attention: Optional[str] = None,
                   attention_params: Optional[Mapping[str, ParamValue]] = None, *,
                   max_tokens: Optional[int] = None, num_threads: Optional[int] = None,
                   linear_precision: Optional[str] = None,
                   overridable: Optional[Sequence[str]] = None,
                   over_length: Optional[str] = None, policy: Any = None,
                   expected_version: Optional[int] = None,
                   timeout: Optional[float] = None) -> Any:
        """Changes the runtime policy; returns the installed attnserve.v1.Policy.

        With `policy` (a Policy message) it is installed as given. Otherwise
        the current policy is read and only the named fields change
        (attention replaces the kernel and its parameters; attention_params
        alone adds to the current ones), like `attnctl policy set`.

        expected_version: install only if the server's version still equals it
        (else ABORTED); by default the version that was read (or, with
        `policy`, 0 = unconditional).
        """
        if policy is None:
            current = self.get_policy(timeout=timeout)
            policy = admin_pb2.Policy()
            policy.CopyFrom(current)
            if expected_version is None:
                expected_version = current.version
            defaults = policy.defaults
            if attention is not None:
                defaults.attention.kernel = attention
                defaults.attention.params.clear()
            for key, value in (attention_params or {}).items():
                defaults.attention.params[key] = str(value)
            if max_tokens is not None:
                defaults.max_tokens = max_tokens
            if num_threads is not None:
                defaults.num_threads = num_threads
            if linear_precision is not None:
                defaults.linear_precision = linear_precision
            if overridable is not None:
                del policy.overridable[:]
                policy.overridable.extend(overridable)
            if over_length is not None:
                policy.over_length = over_length
        request = admin_pb2.SetPolicyRequest(policy=policy,
                                             expected_version=expected_version or 0)
        return self._call("SetPolicy", self._admin.SetPolicy, request, admin=True,
                          timeout=timeout)

    def list_attention_kernels(self, *, timeout: Optional[float] = None) -> List[Any]:
        """The kernel catalogue (attnserve.v1.AttentionKernelInfo, with parameter schemas)."""
        response = self._call("ListAttentionKernels", self._admin.ListAttentionKernels,
                              admin_pb2.ListAttentionKernelsRequest(), admin=True,
                              timeout=timeout)
        return list(response.kernels)

    def reload_model(self, model_dir: str = "", *, model: str = "",
                     timeout: Optional[float] = None) -> Any:
        """Reloads a served model (`model`, by name; "" = the default one)
        from `model_dir` (a directory under the server's model root; "" = the
        one it was loaded from); returns its attnserve.v1.ModelInfo. A failed
        reload keeps the old model serving and raises AttnServeError; the
        other served models are never touched."""
        return self._call("ReloadModel", self._admin.ReloadModel,
                          admin_pb2.ReloadModelRequest(model_dir=model_dir, model=model),
                          admin=True, timeout=timeout)


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors (embeddings are already unit length,
    so this is their dot product up to rounding)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
