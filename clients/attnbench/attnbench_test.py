"""attnbench against the real attnserve binary (ctest, label integration).

    ATTNSERVE_BIN=... ATTNBENCH_BIN=... python3 clients/attnbench/attnbench_test.py

Run from the repository root. Skipped (exit 77) without the model unless
ATTNSERVE_REQUIRE_MODEL=1.
"""

from __future__ import annotations

# pylint: disable=wrong-import-position

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python",
                                "tests"))
from server_process import (SKIP_EXIT, ServerProcess, model_dir,  # noqa: E402
                            model_present)


def run_attnbench(*args: str, timeout: float = 120) -> dict:
    result = subprocess.run([os.environ["ATTNBENCH_BIN"], "--quiet", *args], capture_output=True,
                            text=True, timeout=timeout, check=False)
    if result.returncode not in (0, 1):
        raise AssertionError(f"attnbench exited {result.returncode}: {result.stderr}")
    return json.loads(result.stdout)


class AttnbenchTest(unittest.TestCase):

    def setUp(self):
        if not model_present():
            if os.environ.get("ATTNSERVE_REQUIRE_MODEL") == "1":
                self.fail(f"model not found in {model_dir()}")
            self.skipTest(f"model not found in {model_dir()}")
        self.binary = os.environ["ATTNSERVE_BIN"]

    def test_closed_loop_summary(self):
        server = ServerProcess(self.binary)
        try:
            summary = run_attnbench("--address", server.address, "--concurrency", "2",
                                    "--duration", "2", "--attention", "dense,default",
                                    "--lengths", "16,32", "--admin_token_file",
                                    server.token_file)
        finally:
            server.stop()
        self.assertEqual(summary["settings"]["mode"], "closed")
        self.assertEqual(summary["settings"]["concurrency"], 2)
        self.assertGreater(summary["ok"], 0)
        self.assertEqual(summary["errors"], 0, summary["errors_by_code"])
        self.assertEqual(summary["errors_by_code"], {})
        self.assertEqual(summary["sent"], summary["ok"])
        self.assertGreater(summary["throughput"]["requests_per_s"], 0)
        latency = summary["latency_ms"]
        self.assertLessEqual(latency["p50"], latency["p95"])
        self.assertLessEqual(latency["p95"], latency["p99"])
        self.assertLessEqual(latency["p99"], latency["max"])
        self.assertEqual(set(summary["per_kernel"]), {"dense", "(policy default)"})
        self.assertEqual(set(summary["per_length"]), {"16", "32"})
        lengths = {entry["label"]: entry for entry in summary["settings"]["lengths"]}
        self.assertLessEqual(abs(lengths["16"]["tokens"] - 16), 2)
        self.assertIsInstance(summary["policy"], dict)  # read with the token

    def test_overload_gives_resource_exhausted(self):
        config = "admission { workers: 1 queue_capacity: 1 threads_per_request: 1 }\n"
        server = ServerProcess(self.binary, config_text=config)
        try:
            summary = run_attnbench("--address", server.address, "--concurrency", "8",
                                    "--duration", "2", "--lengths", "128", "--admin-free")
        finally:
            server.stop()
        self.assertNotIn("policy", summary)
        self.assertGreater(summary["ok"], 0)
        self.assertGreater(summary["errors_by_code"].get("RESOURCE_EXHAUSTED", 0), 0, summary)
        self.assertEqual(set(summary["errors_by_code"]), {"RESOURCE_EXHAUSTED"})


if __name__ == "__main__":
    if not model_present() and os.environ.get("ATTNSERVE_REQUIRE_MODEL") != "1":
        print(f"SKIP: model not found in {model_dir()}", file=sys.stderr)
        sys.exit(SKIP_EXIT)
    unittest.main(verbosity=2)
