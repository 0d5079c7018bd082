"""A real attnserve process on 127.0.0.1:0 for tests (Python client, attnbench).

The port is read from the server's log line "(port N"; the model is
$ATTNSERVE_MODEL_DIR or models/use-lite (relative to the working directory,
the repository root under ctest).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

TOKEN = "py-test-admin-token-0123456789"
SKIP_EXIT = 77


def model_dir() -> str:
    return os.environ.get("ATTNSERVE_MODEL_DIR") or "models/use-lite"


def model_present() -> bool:
    return os.path.isfile(os.path.join(model_dir(), "model.json"))


class ServerProcess:
    """attnserve on 127.0.0.1:0; the port is read from its log ("(port N")."""

    def __init__(self, binary: str, extra_args=(), config_text: str = ""):
        """Starts `binary`; config_text (attnserve.v1.Config, text format) is
        written to a file and passed with --config."""
        self.dir = tempfile.mkdtemp(prefix="attnserve_pytest_")
        extra_args = list(extra_args)
        if config_text:
            config = os.path.join(self.dir, "config.textproto")
            with open(config, "w", encoding="utf-8") as f:
                f.write(config_text)
            extra_args += ["--config", config]
        self.token_file = os.path.join(self.dir, "token")
        with open(self.token_file, "w", encoding="utf-8") as f:
            f.write(TOKEN + "\n")
        self.log_path = os.path.join(self.dir, "server.log")
        self._log = open(self.log_path, "wb")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [binary, "--model", model_dir(), "--grpc_address", "127.0.0.1:0",
             "--metrics_address", "127.0.0.1:0", "--http_address", "127.0.0.1:0",
             "--admin_token_file", self.token_file,
             "--policy_file", os.path.join(self.dir, "policy.textproto"), *extra_args],
            stdout=self._log, stderr=subprocess.STDOUT)
        self.address = self._wait_for_port(timeout=60)
        match = re.search(r"\(http port ([0-9]+)", self.log())
        self.http_url = f"http://127.0.0.1:{match.group(1)}" if match else ""

    def log(self) -> str:
        with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
            return f.read()

    def _wait_for_port(self, timeout: float) -> str:
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            text = self.log()
            match = re.search(r"\(port ([0-9]+)", text)
            if match and "serving:" in text:
                return f"127.0.0.1:{match.group(1)}"
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"attnserve did not start:\n{self.log()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
