"""attnserve_client against the real attnserve binary on a loopback port.

Run by ctest (label integration) as
    python3 clients/python/tests/test_client.py
with ATTNSERVE_BIN (the server binary), ATTNSERVE_PY_STUBS (generated stubs)
and PYTHONPATH=clients/python set by clients/python/CMakeLists.txt, from the
repository root. The model is $ATTNSERVE_MODEL_DIR or models/use-lite; when it
is absent the test is skipped (exit 77), or fails if ATTNSERVE_REQUIRE_MODEL=1.
"""

from __future__ import annotations

# pylint: disable=wrong-import-position

import asyncio
import os
import sys
import unittest

import grpc
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attnserve_client  # noqa: E402
from attnserve_client import AttnServeError, Client  # noqa: E402
from attnserve_client.aio import AsyncClient  # noqa: E402
from server_process import (SKIP_EXIT, ServerProcess, model_dir,  # noqa: E402
                            model_present)


class ClientTest(unittest.TestCase):
    server: ServerProcess
    client: Client
    admin: Client

    @classmethod
    def setUpClass(cls):
        if not model_present():
            if os.environ.get("ATTNSERVE_REQUIRE_MODEL") == "1":
                raise RuntimeError(f"model not found in {model_dir()} (run tools/fetch_model.sh)")
            raise unittest.SkipTest(f"model not found in {model_dir()}")
        binary = os.environ.get("ATTNSERVE_BIN")
        if not binary:
            raise RuntimeError("ATTNSERVE_BIN (the attnserve binary) is not set")
        cls.server = ServerProcess(binary)
        cls.client = Client(cls.server.address, timeout=60)
        cls.admin = Client(cls.server.address, admin_token_file=cls.server.token_file, timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.admin.close()
        cls.server.stop()

    def test_health_serving(self):
        self.assertEqual(self.client.health(), "SERVING")

    def test_embed_hello_matches_reference(self):
        result = self.client.embed("hello", return_token_ids=True)
        self.assertEqual(result.embeddings.shape, (1, 512))
        self.assertEqual(result.embeddings.dtype, np.float32)
        np.testing.assert_allclose(result.embeddings[0, :3], [0.041678, -0.022363, -0.047608],
                                   rtol=0, atol=2e-6)
        self.assertAlmostEqual(float(np.linalg.norm(result.embeddings[0])), 1.0, places=4)
        self.assertEqual(result.token_ids, [[2002, 102]])
        self.assertEqual(len(result.stats.texts), 1)
        self.assertEqual(result.stats.texts[0].tokens_used, 2)
        self.assertTrue(result.stats.attention_kernel)
        self.assertTrue(result.model)

    def test_embed_batch_str_and_bytes_agree(self):
        result = self.client.embed(["hello", "caf\u00e9 au lait".encode("utf-8"), "café au lait"])
        self.assertEqual(result.embeddings.shape, (3, 512))
        np.testing.assert_allclose(result.embeddings[1], result.embeddings[2], atol=1e-7)
        similar = attnserve_client.cosine_similarity(result.embeddings[1], result.embeddings[2])
        self.assertAlmostEqual(similar, 1.0, places=6)

    def test_tokenize(self):
        tokens = self.client.tokenize(["hello"])
        self.assertEqual(len(tokens), 1)
        self.assertEqual(tokens[0].ids, [2002, 102])
        self.assertEqual(len(tokens[0].pieces), 2)
        self.assertEqual(tokens[0].offsets, [(0, 4), (4, 5)])
        self.assertEqual(tokens[0].special, [False, False])
        # Offsets are UTF-8 bytes of the text as sent.
        text = "caf\u00e9 au lait"
        (accented,) = self.client.tokenize([text], add_special_tokens=True)
        raw = text.encode("utf-8")
        self.assertEqual(b"".join(raw[a:b] for a, b in accented.offsets), raw)

    def test_invalid_utf8_is_invalid_argument_naming_the_text(self):
        with self.assertRaises(AttnServeError) as caught:
            self.client.embed([b"caf\xc3(", "fine"])
        self.assertEqual(caught.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(caught.exception.code_name, "INVALID_ARGUMENT")
        self.assertIn("texts[0]", caught.exception.details)
        self.assertIn("INVALID_ARGUMENT", str(caught.exception))

    def test_unknown_kernel_is_invalid_argument(self):
        with self.assertRaises(AttnServeError) as caught:
            self.client.embed(["hello"], attention="no_such_kernel")
        self.assertEqual(caught.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("no_such_kernel", caught.exception.details)

    def test_named_kernel_is_used(self):
        result = self.client.embed(["hello"], attention="dense")
        self.assertEqual(result.stats.attention_kernel, "dense")

    def test_linear_precision_is_sent_and_reported(self):
        f32 = self.client.embed(["hello world"])
        int8 = self.client.embed(["hello world"], linear_precision="int8")
        self.assertEqual(f32.stats.linear_precision, "f32")
        self.assertEqual(int8.stats.linear_precision, "int8")
        cosine = float(f32.embeddings[0] @ int8.embeddings[0])  # both L2-normalised
        self.assertGreater(cosine, 0.998)
        self.assertLess(cosine, 1.0 - 1e-9)
        with self.assertRaises(AttnServeError) as caught:
            self.client.embed(["hello"], linear_precision="fp16")
        self.assertEqual(caught.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("linear_precision", caught.exception.details)

    def test_list_models(self):
        models = self.client.list_models()
        self.assertGreaterEqual(len(models), 1)
        self.assertEqual(models[0].embedding_dim, 512)

    def test_admin_calls_need_the_token(self):
        for call in (self.client.get_policy, self.client.list_attention_kernels,
                     lambda: self.client.set_policy(policy=attnserve_client.admin_pb2.Policy()),
                     self.client.reload_model):
            with self.subTest(call=call):
                with self.assertRaises(AttnServeError) as caught:
                    call()
                self.assertEqual(caught.exception.code, grpc.StatusCode.UNAUTHENTICATED)
        wrong = Client(self.server.address, admin_token="not-the-token")
        try:
            with self.assertRaises(AttnServeError) as caught:
                wrong.get_policy()
            self.assertIn(caught.exception.code, (grpc.StatusCode.UNAUTHENTICATED,
                                                  grpc.StatusCode.PERMISSION_DENIED))
        finally:
            wrong.close()

    def test_admin_calls_with_the_token(self):
        kernels = self.admin.list_attention_kernels()
        names = [k.name for k in kernels]
        self.assertIn("dense", names)
        before = self.admin.get_policy()
        changed = self.admin.set_policy(max_tokens=64)
        self.assertEqual(changed.version, before.version + 1)
        self.assertEqual(changed.defaults.max_tokens, 64)
        self.assertEqual(self.admin.get_policy().version, changed.version)
        # A stale expected_version is refused.
        with self.assertRaises(AttnServeError) as caught:
            self.admin.set_policy(max_tokens=32, expected_version=before.version)
        self.assertEqual(caught.exception.code, grpc.StatusCode.ABORTED)
        restored = self.admin.set_policy(max_tokens=before.defaults.max_tokens)
        self.assertEqual(restored.defaults.max_tokens, before.defaults.max_tokens)
        info = self.admin.reload_model()
        self.assertEqual(info.embedding_dim, 512)

    def test_embed_stream_keeps_order(self):
        batches = [["hello"], ["the quick brown fox", "jumps"], ["over the lazy dog"],
                   ["a", "b", "c"]]
        results = list(self.client.embed_stream(iter(batches)))
        self.assertEqual([len(r) for r in results], [1, 2, 1, 3])
        for batch, result in zip(batches, results):
            expected = self.client.embed(batch).embeddings
            np.testing.assert_allclose(result.embeddings, expected, atol=1e-6)

    def test_embed_stream_error_raises(self):
        with self.assertRaises(AttnServeError) as caught:
            list(self.client.embed_stream([["fine"], [b"\xff"]]))
        self.assertEqual(caught.exception.code, grpc.StatusCode.INVALID_ARGUMENT)

    def test_async_client_equals_the_blocking_one(self):
        texts = ["hello", "How old are you?", "caf\u00e9 au lait"]

        async def run():
            async with AsyncClient(self.server.address, timeout=60) as client:
                health = await client.health()
                # Concurrent calls on one channel, answered in any order.
                singles = await asyncio.gather(*(client.embed(t) for t in texts))
                tokens = await client.tokenize(texts)
                streamed = [r async for r in client.embed_stream([texts[:1], texts[1:]])]
                with self.assertRaises(AttnServeError) as caught:
                    await client.embed([b"caf\xc3("])
                models = await client.list_models()
                return health, singles, tokens, streamed, caught.exception, models

        health, singles, tokens, streamed, error, models = asyncio.run(run())
        self.assertEqual(health, "SERVING")
        for text, result in zip(texts, singles):
            # Concurrent calls may run on fewer threads than a lone one (the
            # workers share the CPUs), which reorders float sums: equal to
            # rounding, not bit for bit.
            np.testing.assert_allclose(result.embeddings, self.client.embed(text).embeddings,
                                       atol=1e-6)
        self.assertEqual(tokens, self.client.tokenize(texts))
        self.assertEqual([len(r) for r in streamed], [1, 2])
        np.testing.assert_allclose(streamed[1].embeddings,
                                   self.client.embed(texts[1:]).embeddings, atol=1e-6)
        self.assertEqual(error.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("texts[0]", error.details)
        self.assertEqual(models[0].name, "use-lite")


if __name__ == "__main__":
    if not model_present() and os.environ.get("ATTNSERVE_REQUIRE_MODEL") != "1":
        print(f"SKIP: model not found in {model_dir()}", file=sys.stderr)
        sys.exit(SKIP_EXIT)
    unittest.main(verbosity=2)
