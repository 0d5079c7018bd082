"""The attnserve-client wheel as a user installs it, against the real server.

Run by ctest (label integration) with ATTNSERVE_WHEEL (the wheel the build
made), ATTNSERVE_PROJECT_VERSION and ATTNSERVE_BIN. Installs the wheel with
pip (offline, --no-deps: the dependencies are Debian's) into a scratch
directory and runs a client program there in a fresh interpreter whose path
holds only that directory and the system's packages: no repository, no
$ATTNSERVE_PY_STUBS, and a proto directory and stub cache that do not exist,
so the stubs can only come from the wheel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_process import SKIP_EXIT, ServerProcess, model_dir, model_present  # noqa: E402

PROGRAM = r'''
import asyncio, json, sys
import attnserve_client
from attnserve_client import Client, _stubs
from attnserve_client.aio import AsyncClient

address = sys.argv[1]
with Client(address) as client:
    health = client.health()
    blocking = client.embed(["hello world"]).embeddings[0].tolist()

async def run():
    async with AsyncClient(address) as client:
        return (await client.embed(["hello world"])).embeddings[0].tolist()

print(json.dumps({"package": attnserve_client.__file__, "stubs": _stubs.stub_dir(),
                  "version": attnserve_client.__version__, "health": health,
                  "blocking": blocking, "async": asyncio.run(run())}))
'''


class PackageTest(unittest.TestCase):
    def test_installed_wheel_serves_blocking_and_async_calls(self):
        wheel = os.environ["ATTNSERVE_WHEEL"]
        self.assertTrue(os.path.isfile(wheel), f"{wheel} was not built")
        server = ServerProcess(os.environ["ATTNSERVE_BIN"])
        try:
            with tempfile.TemporaryDirectory(prefix="attnserve_wheel_test_") as scratch:
                site = os.path.join(scratch, "site")
                subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                                "--no-index", "--target", site, wheel], check=True)
                env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": site,
                       "ATTNSERVE_PROTO_DIR": os.path.join(scratch, "no-proto"),
                       "ATTNSERVE_STUB_CACHE": os.path.join(scratch, "no-cache"),
                       "HOME": scratch}
                done = subprocess.run([sys.executable, "-c", PROGRAM, server.address], env=env,
                                      cwd=scratch, capture_output=True, text=True, timeout=120,
                                      check=False)
                self.assertEqual(done.returncode, 0, done.stderr)
                out = json.loads(done.stdout)
                self.assertTrue(out["package"].startswith(site), out["package"])
                self.assertTrue(out["stubs"].startswith(site), out["stubs"])
                self.assertFalse(os.path.exists(os.path.join(scratch, "no-cache")))
                self.assertEqual(out["version"], os.environ["ATTNSERVE_PROJECT_VERSION"])
                self.assertEqual(out["health"], "SERVING")
                self.assertEqual(len(out["blocking"]), 512)
                self.assertEqual(out["blocking"], out["async"])
        finally:
            server.stop()


if __name__ == "__main__":
    if not model_present():
        if os.environ.get("ATTNSERVE_REQUIRE_MODEL") == "1":
            raise SystemExit(f"model not found in {model_dir()} (run tools/fetch_model.sh)")
        print(f"SKIP: model not found in {model_dir()}", file=sys.stderr)
        sys.exit(SKIP_EXIT)
    unittest.main(verbosity=2)
