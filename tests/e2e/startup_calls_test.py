"""Calls that arrive while attnserve starts: every one is answered, none crashes it.

attnserve binds its gRPC port first (NOT_SERVING) and loads the model and
opens the policy afterwards, so clients can reach it before it has a policy.
Each round starts the real binary, and as soon as its log shows the port
(before the model is loaded) one thread per RPC (Embed, Tokenize, ListModels,
GetModelInfo, GetPolicy, SetPolicy, ReloadModel, ListAttentionKernels,
health) calls it in a loop until the server has served for a moment.

Pass: the process stays up; every call before start-up ends is OK or
UNAVAILABLE naming the start-up; after it every call is OK. Until
2026-12-05 an admin GetPolicy during the model load dereferenced the policy
before it existed: SIGSEGV in 5 rounds of 5 (docs/RELIABILITY.md).

STARTUP_ROUNDS (default 5) sets the rounds. Run by ctest from the repository
root with ATTNSERVE_BIN and ATTNSERVE_PY_STUBS set (tests/e2e/CMakeLists.txt).
Skips (77) without the model unless ATTNSERVE_REQUIRE_MODEL=1.
"""

from __future__ import annotations

# pylint: disable=wrong-import-position

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python", "tests"))
from attnserve_client import AttnServeError, Client  # noqa: E402
from attnserve_client import admin_pb2  # noqa: E402
from server_process import SKIP_EXIT, model_dir, model_present  # noqa: E402

TOKEN = "startup-test-admin-token-0123456789"
SERVED_FOR = 0.3  # seconds of calls after "serving:" each round


def calls(client: Client) -> dict:
    """One callable per RPC; each raises AttnServeError when the call fails."""
    policy = admin_pb2.Policy()
    policy.defaults.attention.kernel = "flash"
    policy.overridable.extend(["attention", "max_tokens"])
    return {
        "Embed": lambda: client.embed(["a call during start-up"]),
        "Tokenize": lambda: client.tokenize(["a call during start-up"]),
        "ListModels": client.list_models,
        "GetModelInfo": client.get_model_info,
        "GetPolicy": client.get_policy,
        "SetPolicy": lambda: client.set_policy(policy=policy),
        "ReloadModel": client.reload_model,
        "ListAttentionKernels": client.list_attention_kernels,
        "Health": client.health,
    }


def one_round(work: str, failures: list) -> dict:
    """Starts attnserve, calls it through start-up; returns counts per outcome."""
    log_path = os.path.join(work, "server.log")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [os.environ["ATTNSERVE_BIN"], "--model", model_dir(),
             "--grpc_address", "127.0.0.1:0", "--metrics_address", "none",
             "--http_address", "", "--admin_token_file", os.path.join(work, "token")],
            stdout=log, stderr=subprocess.STDOUT)

    def log_text() -> str:
        with open(log_path, "r", encoding="utf-8", errors="replace") as f:
            return f.read()

    give_up = time.monotonic() + 60
    match = None
    while match is None and time.monotonic() < give_up and proc.poll() is None:
        match = re.search(r"\(port ([0-9]+)", log_text())
        time.sleep(0.002)
    if match is None:
        proc.kill()
        raise AssertionError(f"attnserve did not bind:\n{log_text()}")
    counts: dict = {}
    lock = threading.Lock()
    stop = threading.Event()
    client = Client(f"127.0.0.1:{match.group(1)}", admin_token=TOKEN, timeout=10)

    def loop(name: str, call) -> None:
        while not stop.is_set():
            started = "serving:" in log_text()
            try:
                call()
                outcome = "OK"
            except AttnServeError as e:
                outcome = e.code_name
                starting = e.code == grpc.StatusCode.UNAVAILABLE and re.search(
                    r"start|load|NOT_SERVING|connect", e.details or "", re.IGNORECASE)
                if started or not starting:
                    with lock:
                        failures.append(f"{name} ({'after' if started else 'during'} start-up): "
                                        f"{e.code_name}: {e.details}")
            except Exception as e:  # pylint: disable=broad-except
                outcome = type(e).__name__
                with lock:
                    failures.append(f"{name}: {e!r}")
            with lock:
                key = f"{name} {'after' if started else 'during'}: {outcome}"
                counts[key] = counts.get(key, 0) + 1

    threads = [threading.Thread(target=loop, args=item) for item in calls(client).items()]
    for t in threads:
        t.start()
    while "serving:" not in log_text() and proc.poll() is None and time.monotonic() < give_up:
        time.sleep(0.005)
    time.sleep(SERVED_FOR)
    stop.set()
    for t in threads:
        t.join()
    client.close()
    alive = proc.poll() is None
    if alive:
        proc.terminate()
        proc.wait(timeout=30)
    else:
        failures.append(f"attnserve exited with {proc.returncode} during start-up:\n"
                        + "\n".join(log_text().splitlines()[-15:]))
    return counts


def main() -> int:
    if not model_present():
        if os.environ.get("ATTNSERVE_REQUIRE_MODEL") == "1":
            print(f"the model is absent ({model_dir()})", file=sys.stderr)
            return 1
        print(f"skipped: the model is absent ({model_dir()})")
        return SKIP_EXIT
    rounds = int(os.environ.get("STARTUP_ROUNDS", "5"))
    work = tempfile.mkdtemp(prefix="attnserve_startup_")
    try:
        with open(os.path.join(work, "token"), "w", encoding="utf-8") as f:
            f.write(TOKEN + "\n")
        os.chmod(os.path.join(work, "token"), 0o600)
        failures: list = []
        during = 0
        for r in range(rounds):
            counts = one_round(work, failures)
            n = sum(v for k, v in counts.items() if " during: " in k)
            during += n
            print(f"round {r + 1}: {n} calls during start-up, "
                  f"{sum(counts.values()) - n} after; outcomes: "
                  + ", ".join(f"{k} x{v}" for k, v in sorted(counts.items())))
            if failures:
                break
        if failures:
            print("FAILED:\n  " + "\n  ".join(failures[:20]), file=sys.stderr)
            return 1
        if during == 0:
            print("FAILED: no call reached the server before it served "
                  "(the test did not test start-up)", file=sys.stderr)
            return 1
        print(f"startup_calls_test: {rounds} rounds, {during} calls during start-up, all answered")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
