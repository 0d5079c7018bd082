"""The HTTP/JSON API (OpenAI and TEI routes) against the real attnserve binary.

Real clients on a real socket: python3-requests and curl for HTTP, the
project's gRPC client (attnserve_client) for the answers HTTP must equal.
Run by ctest (labels e2e, integration) from the repository root with
ATTNSERVE_BIN, ATTNSERVE_PY_STUBS and PYTHONPATH=clients/python set by
tests/e2e/CMakeLists.txt. Skips (77) without the model unless
ATTNSERVE_REQUIRE_MODEL=1.
"""

from __future__ import annotations

# pylint: disable=wrong-import-position,missing-function-docstring

import base64
import email.utils
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import numpy as np
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python", "tests"))
from attnserve_client import AttnServeError, Client  # noqa: E402
from server_process import SKIP_EXIT, ServerProcess, model_dir, model_present  # noqa: E402

TEXTS = ["hello world", "The quick brown fox jumps over the lazy dog.",
         "Ünïcödé text, with emoji ✓ and numbers 12345."]
API_KEY = "http-test-api-key-0123456789"


def binary() -> str:
    path = os.environ.get("ATTNSERVE_BIN")
    if not path:
        raise RuntimeError("ATTNSERVE_BIN (the attnserve binary) is not set")
    return path


def require_model() -> None:
    if not model_present():
        if os.environ.get("ATTNSERVE_REQUIRE_MODEL") == "1":
            raise RuntimeError(f"model not found in {model_dir()} (run tools/fetch_model.sh)")
        raise unittest.SkipTest(f"model not found in {model_dir()}")


def long_text(words: int) -> str:
    vocab = ["market", "river", "quiet", "engine", "morning", "paper", "silver", "window",
             "garden", "letter", "station", "winter", "number", "orange", "travel", "simple"]
    return " ".join(vocab[(i * 7) % len(vocab)] for i in range(words))


def floats(values) -> np.ndarray:
    return np.array(values, dtype=np.float32)


class HttpApiTest(unittest.TestCase):
    """Routes, shapes and equality with gRPC on one server."""

    server: ServerProcess
    grpc: Client
    url: str
    session: requests.Session

    @classmethod
    def setUpClass(cls):
        require_model()
        cls.server = ServerProcess(binary())
        cls.url = cls.server.http_url
        cls.grpc = Client(cls.server.address, timeout=60)
        cls.session = requests.Session()

    @classmethod
    def tearDownClass(cls):
        cls.session.close()
        cls.grpc.close()
        cls.server.stop()

    def post(self, path: str, body, headers=None) -> requests.Response:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return self.session.post(self.url + path, data=data, timeout=120,
                                 headers={"Content-Type": "application/json", **(headers or {})})

    def assert_serving(self):
        r = self.session.get(self.url + "/health", timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json(), {"status": "SERVING"})

    def test_openai_float_embeddings_equal_grpc_and_match_the_schema(self):
        r = self.post("/v1/embeddings", {"input": TEXTS, "model": "use-lite"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.headers["Content-Type"], "application/json")
        body = r.json()
        # OpenAI's CreateEmbeddingResponse, field by field.
        self.assertEqual(set(body), {"object", "data", "model", "usage"})
        self.assertEqual(body["object"], "list")
        self.assertEqual(body["model"], "use-lite")
        self.assertEqual(set(body["usage"]), {"prompt_tokens", "total_tokens"})
        tokens = sum(len(t.ids) for t in self.grpc.tokenize(TEXTS))
        self.assertEqual(body["usage"]["prompt_tokens"], tokens)
        self.assertEqual(body["usage"]["total_tokens"], tokens)
        self.assertEqual(len(body["data"]), len(TEXTS))
        for i, item in enumerate(body["data"]):
            self.assertEqual(set(item), {"object", "index", "embedding"})
            self.assertEqual(item["object"], "embedding")
            self.assertEqual(item["index"], i)
            self.assertEqual(len(item["embedding"]), 512)
            self.assertTrue(all(isinstance(v, float) for v in item["embedding"]))
        expected = self.grpc.embed(TEXTS).embeddings
        got = floats([item["embedding"] for item in body["data"]])
        # Shortest round-trip decimals: the same float32 values, bit for bit.
        np.testing.assert_array_equal(got, expected)

    def test_openai_base64_embeddings_equal_grpc(self):
        r = self.post("/v1/embeddings", {"input": TEXTS, "encoding_format": "base64"})
        self.assertEqual(r.status_code, 200, r.text)
        data = r.json()["data"]
        got = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4")
                        for d in data])
        np.testing.assert_array_equal(got, self.grpc.embed(TEXTS).embeddings)

    def test_token_id_inputs_equal_text_inputs(self):
        ids = [t.ids for t in self.grpc.tokenize(TEXTS[:2])]
        by_text = self.post("/v1/embeddings", {"input": TEXTS[:2]}).json()["data"]
        by_ids = self.post("/v1/embeddings", {"input": ids}).json()["data"]
        one = self.post("/v1/embeddings", {"input": ids[0]}).json()["data"]
        one_text = self.post("/v1/embeddings", {"input": TEXTS[0]}).json()["data"]
        for a, b in zip(by_text, by_ids):
            np.testing.assert_array_equal(floats(a["embedding"]), floats(b["embedding"]))
        # A batch of one runs other GEMM shapes than a batch of two: compare
        # like with like.
        self.assertEqual(len(one), 1)
        np.testing.assert_array_equal(floats(one[0]["embedding"]),
                                      floats(one_text[0]["embedding"]))

    def test_tei_embed_equals_grpc(self):
        r = self.post("/embed", {"inputs": TEXTS})
        self.assertEqual(r.status_code, 200, r.text)
        for name in ("x-total-time", "x-queue-time", "x-inference-time"):
            self.assertIn(name, r.headers)
        np.testing.assert_array_equal(floats(r.json()), self.grpc.embed(TEXTS).embeddings)
        single = self.post("/embed", {"inputs": TEXTS[0]}).json()
        self.assertEqual(len(single), 1)

    def test_tei_tokenize_equals_grpc_tokenize(self):
        expected = self.grpc.tokenize(TEXTS)
        for special in (True, False):
            r = self.post("/tokenize", {"inputs": TEXTS, "add_special_tokens": special})
            self.assertEqual(r.status_code, 200, r.text)
            for text, tokens, want in zip(TEXTS, r.json(), expected):
                self.assertEqual([t["id"] for t in tokens], want.ids)
                self.assertEqual([t["piece"] for t in tokens], want.pieces)
                # USE-lite adds no special tokens of its own.
                self.assertFalse(any(t["special"] for t in tokens))
                # TEI's SimpleToken: "text" is the slice [start, stop) of the
                # input's UTF-8 bytes, the same offsets as gRPC's.
                raw = text.encode("utf-8")
                self.assertEqual(len(want.offsets), len(tokens))
                for t, (start, end) in zip(tokens, want.offsets):
                    self.assertEqual(set(t), {"id", "text", "special", "start", "stop", "piece"})
                    self.assertEqual((t["start"], t["stop"]), (start, end))
                    self.assertEqual(t["text"], raw[start:end].decode("utf-8"))
                self.assertEqual(b"".join(raw[t["start"]:t["stop"]] for t in tokens).strip(),
                                 raw.strip())

    def test_info_models_and_health(self):
        info = self.session.get(self.url + "/info", timeout=10).json()
        self.assertEqual(info["model_id"], "use-lite")
        self.assertEqual(info["model"]["embedding_dim"], 512)
        self.assertEqual(info["max_client_batch_size"], 256)
        self.assertIn("sliding_window", info["kernels"])
        self.assertTrue(info["version"])
        models = self.session.get(self.url + "/v1/models", timeout=10).json()
        self.assertEqual(models["object"], "list")
        self.assertEqual([m["id"] for m in models["data"]], ["use-lite"])
        self.assert_serving()

    def test_one_date_header_in_imf_fixdate(self):
        # We send Date ourselves (civetweb's own uses gmtime(), not thread safe):
        # exactly one, RFC 9110 format, close to now.
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/health")
        r = conn.getresponse()
        r.read()
        dates = r.msg.get_all("Date")
        conn.close()
        self.assertEqual(len(dates), 1, dates)
        self.assertRegex(dates[0], r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$")
        self.assertLess(abs(email.utils.parsedate_to_datetime(dates[0]).timestamp() - time.time()),
                        120)

    def test_attnserve_options_apply_and_stats_come_back(self):
        r = self.post("/v1/embeddings", {
            "input": TEXTS, "attention": "sliding_window", "attention_params": {"window": 4},
            "linear_precision": "int8", "return_stats": True})
        self.assertEqual(r.status_code, 200, r.text)
        body = r.json()
        self.assertEqual(body["stats"]["attention_kernel"], "sliding_window")
        self.assertEqual(body["stats"]["linear_precision"], "int8")
        self.assertEqual(len(body["stats"]["texts"]), len(TEXTS))
        expected = self.grpc.embed(TEXTS, attention="sliding_window",
                                   attention_params={"window": 4},
                                   linear_precision="int8").embeddings
        np.testing.assert_allclose(floats([d["embedding"] for d in body["data"]]), expected,
                                   atol=1e-6)
        tei = self.post("/embed", {"inputs": TEXTS[0], "return_stats": True}).json()
        self.assertEqual(tei["stats"]["attention_kernel"], "dense")
        self.assertEqual(len(tei["embeddings"]), 1)

    def test_curl_gets_the_same_answer(self):
        body = json.dumps({"input": TEXTS, "encoding_format": "base64"})
        out = subprocess.run(
            ["curl", "-sS", "--fail-with-body", "-H", "Content-Type: application/json",
             "--data-binary", body, self.url + "/v1/embeddings"],
            check=True, capture_output=True, timeout=60).stdout
        data = json.loads(out)["data"]
        got = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4")
                        for d in data])
        np.testing.assert_array_equal(got, self.grpc.embed(TEXTS).embeddings)

    def test_truncate_false_refuses_a_long_text(self):
        text = long_text(300)  # over USE-lite's own clip of 128 tokens
        refused = self.post("/embed", {"inputs": text, "truncate": False})
        self.assertEqual(refused.status_code, 400, refused.text)
        self.assertIn("truncate: false", refused.json()["error"])
        self.assertEqual(self.post("/embed", {"inputs": text, "truncate": True}).status_code, 200)
        self.assertEqual(self.post("/embed", {"inputs": text}).status_code, 200)  # policy: clip

    def test_expired_deadline_is_504(self):
        r = self.post("/v1/embeddings", {"input": TEXTS},
                      headers={"X-Request-Timeout": "0.000001"})
        self.assertEqual(r.status_code, 504, r.text)
        self.assertEqual(r.json()["error"]["type"], "timeout_error")
        self.assert_serving()

    def test_bad_input_table(self):
        deep = "[" * 40 + "]" * 40
        cases = [
            # path, body, extra headers, status, what the error must name
            ("/v1/embeddings", b"{bad", {}, 400, "body"),
            ("/v1/embeddings", b'{"input":"\xff\xfe"}', {}, 400, "UTF-8"),
            ("/v1/embeddings", b"[1]", {}, 400, "body"),
            ("/v1/embeddings", b"", {}, 400, "body"),
            ("/v1/embeddings", b"{}", {}, 400, "input"),
            ("/v1/embeddings", b'{"input":[]}', {}, 400, "input"),
            ("/v1/embeddings", b'{"input":""}', {}, 400, "input[0]"),
            ("/v1/embeddings", b'{"input":5}', {}, 400, "input"),
            ("/v1/embeddings", b'{"input":["a",[1]]}', {}, 400, "input[1]"),
            ("/v1/embeddings", b'{"input":"x","model":"gpt-4"}', {}, 404, "model"),
            ("/v1/embeddings", b'{"input":"x","encoding_format":"int8"}', {}, 400,
             "encoding_format"),
            ("/v1/embeddings", b'{"input":"x","dimensions":3}', {}, 400, "dimensions"),
            ("/v1/embeddings", b'{"input":"x","attention":"nope"}', {}, 400, "attention"),
            ("/v1/embeddings", b'{"input":"x","attention":"sliding_window",'
             b'"attention_params":{"window":-1}}', {}, 400, "window"),
            ("/v1/embeddings", b'{"input":"x","linear_precision":"fp16"}', {}, 400,
             "linear_precision"),
            ("/v1/embeddings", b'{"input":"x","max_tokens":999999}', {}, 400, "max_tokens"),
            ("/v1/embeddings", b'{"input":"x","pruning":{"keep_ratio":"half"}}', {}, 400,
             "pruning"),
            ("/v1/embeddings", b'{"input":[[1,2,999999]]}', {}, 400, "input[0][2]"),
            ("/v1/embeddings", json.dumps({"input": deep}).encode(), {}, 200, None),
            ("/v1/embeddings", ('{"input":' + deep + "}").encode(), {}, 400, "deeper"),
            ("/v1/embeddings", json.dumps({"input": ["x"] * 257}).encode(), {}, 400, "input"),
            ("/v1/embeddings", json.dumps({"input": "a" * 70000}).encode(), {}, 400,
             "input[0]"),
            ("/v1/embeddings", b'{"input":"x"}', {"X-Request-Timeout": "soon"}, 400,
             "X-Request-Timeout"),
            ("/embed", b'{"inputs":"x","normalize":false}', {}, 400, "normalize"),
            ("/embed", b'{"inputs":"x","truncate":"yes"}', {}, 400, "truncate"),
            ("/predict", b'{"inputs":[["a","b"]]}', {}, 400, "pairs"),
            ("/predict", b'{"inputs":"x"}', {}, 400, "heads"),
            ("/classify", b'{"inputs":"x","raw_scores":true}', {}, 400, "raw_scores"),
            ("/tokenize", b'{"inputs":7}', {}, 400, "inputs"),
        ]
        for path, body, headers, status, names in cases:
            with self.subTest(path=path, body=body[:60]):
                r = self.post(path, body, headers)
                self.assertEqual(r.status_code, status, r.text)
                if names is not None:
                    error = r.json()["error"]
                    if path.startswith("/v1/"):
                        self.assertEqual(set(error), {"message", "type", "param", "code"})
                        self.assertEqual(error["type"], "invalid_request_error"
                                         if status == 400 else "not_found_error")
                        self.assertIn(names, error["message"])
                    else:
                        self.assertIn(names, error)
                        self.assertEqual(r.json()["error_type"], "Validation")
                self.assert_serving()
        r = self.session.get(self.url + "/v1/embeddings", timeout=10)
        self.assertEqual(r.status_code, 405)
        self.assertEqual(r.headers["Allow"], "POST")
        self.assertEqual(self.session.get(self.url + "/nope", timeout=10).status_code, 404)
        self.assert_serving()

    def test_metrics_count_http_routes(self):
        self.post("/v1/embeddings", {"input": "metrics"})
        port = int(__import__("re").search(r"metrics on \S+ \(port (\d+)\)",
                                           self.server.log()).group(1))
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        self.assertIn('rpc="/v1/embeddings",transport="http"', text)
        self.assertIn('transport="grpc"', text)


class HttpAuthTest(unittest.TestCase):
    """--api_key_file guards every inference route, HTTP and gRPC."""

    def setUp(self):
        require_model()
        self.dir = tempfile.mkdtemp(prefix="attnserve_http_auth_")
        keys = os.path.join(self.dir, "keys")
        with open(keys, "w", encoding="utf-8") as f:
            f.write(f"# rotated monthly\n{API_KEY}\nsecond-key-0123456789abcdef\n")
        self.server = ServerProcess(binary(), ["--api_key_file", keys])
        self.url = self.server.http_url

    def tearDown(self):
        self.server.stop()

    def test_keys_are_required_and_checked(self):
        body = {"input": "hello"}
        r = requests.post(self.url + "/v1/embeddings", json=body, timeout=60)
        self.assertEqual(r.status_code, 401, r.text)
        self.assertEqual(r.json()["error"]["type"], "authentication_error")
        r = requests.post(self.url + "/v1/embeddings", json=body, timeout=60,
                          headers={"Authorization": "Bearer wrong-key-0123456789"})
        self.assertEqual(r.status_code, 403, r.text)
        for key in (API_KEY, "second-key-0123456789abcdef"):
            r = requests.post(self.url + "/v1/embeddings", json=body, timeout=60,
                              headers={"Authorization": f"Bearer {key}"})
            self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(requests.get(self.url + "/info", timeout=10).status_code, 401)
        self.assertEqual(requests.post(self.url + "/tokenize", json={"inputs": "x"},
                                       timeout=10).status_code, 401)
        self.assertEqual(requests.get(self.url + "/health", timeout=10).status_code, 200)

        with Client(self.server.address, timeout=60) as anonymous:
            with self.assertRaises(AttnServeError) as caught:
                anonymous.embed("hello")
            self.assertEqual(caught.exception.code.name, "UNAUTHENTICATED")
        with Client(self.server.address, api_key=API_KEY, timeout=60) as client:
            self.assertEqual(client.embed("hello").embeddings.shape, (1, 512))

    def test_short_key_refuses_to_start(self):
        short = os.path.join(self.dir, "short")
        with open(short, "w", encoding="utf-8") as f:
            f.write("tooshort\n")
        proc = subprocess.run([binary(), "--model", model_dir(), "--grpc_address", "127.0.0.1:0",
                               "--http_address", "127.0.0.1:0", "--metrics_address", "none",
                               "--api_key_file", short], capture_output=True, timeout=60,
                              check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"at least 16 characters", proc.stderr)


class HttpLimitsTest(unittest.TestCase):
    """413 over the body cap, 429 with Retry-After when the queue is full."""

    def setUp(self):
        require_model()
        self.server = ServerProcess(binary(), config_text=(
            "admission { workers: 1 queue_capacity: 0 threads_per_request: 1 }\n"
            "limits { max_http_body_bytes: 65536 }\n"))
        self.url = self.server.http_url

    def tearDown(self):
        self.server.stop()

    def test_body_over_the_cap_is_413(self):
        r = requests.post(self.url + "/v1/embeddings", timeout=60,
                          data=json.dumps({"input": "a" * 70000}),
                          headers={"Content-Type": "application/json"})
        self.assertEqual(r.status_code, 413, r.text)
        self.assertIn("65536", r.json()["error"]["message"])
        self.assertEqual(requests.get(self.url + "/health", timeout=10).status_code, 200)

    def test_full_queue_is_429_with_retry_after(self):
        body = {"input": [long_text(1500)], "max_tokens": 2048}
        for _ in range(5):  # timing: retry until requests overlap
            barrier = threading.Barrier(4)
            answers = []

            def one():
                barrier.wait()
                answers.append(requests.post(self.url + "/v1/embeddings", json=body,
                                             timeout=120))
            threads = [threading.Thread(target=one) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            full = [a for a in answers if a.status_code == 429]
            self.assertTrue(all(a.status_code in (200, 429) for a in answers),
                            [a.text[:200] for a in answers])
            if full:
                self.assertEqual(full[0].headers["Retry-After"], "1")
                self.assertEqual(full[0].json()["error"]["type"], "rate_limit_error")
                self.assertIn("queue is full", full[0].json()["error"]["message"])
                self.assertGreaterEqual(sum(a.status_code == 200 for a in answers), 1)
                return
        self.fail("4 concurrent requests on 1 worker and no queue never met a full queue")


class HttpDrainTest(unittest.TestCase):
    """SIGTERM with HTTP requests in flight: none is lost, new ones get 503."""

    def test_sigterm_drains_http_requests(self):
        require_model()
        server = ServerProcess(binary(), config_text=(
            "admission { workers: 1 queue_capacity: 8 threads_per_request: 1 }\n"))
        url = server.http_url
        body = {"input": [long_text(1500)] * 2, "max_tokens": 2048}
        answers = []

        def one():
            answers.append(requests.post(url + "/v1/embeddings", json=body, timeout=120))
        threads = [threading.Thread(target=one) for _ in range(3)]
        try:
            for t in threads:
                t.start()
            time.sleep(0.3)  # all three are in the queue or running
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(0.1)
            late = None
            try:
                late = requests.post(url + "/v1/embeddings", json={"input": "late"}, timeout=30)
            except requests.ConnectionError:
                pass  # the listener already closed: also a refusal
            for t in threads:
                t.join()
            self.assertEqual([a.status_code for a in answers], [200, 200, 200],
                             [a.text[:200] for a in answers])
            for a in answers:
                self.assertEqual(len(a.json()["data"]), 2)
            if late is not None:
                self.assertEqual(late.status_code, 503, late.text)
                self.assertEqual(late.json()["error"]["type"], "service_unavailable")
            self.assertEqual(server.proc.wait(timeout=60), 0)
            self.assertIn("drained", server.log())
        finally:
            server.stop()


if __name__ == "__main__":
    try:
        unittest.main(verbosity=2)
    except unittest.SkipTest:
        sys.exit(SKIP_EXIT)
