"""Crash safety of the server's state: kill -9 at random moments while the
policy is being persisted and the model reloaded, then restart.

Each round starts attnserve on the same policy file and model root, then,
once it serves, runs three loops against it until a random moment: SetPolicy
(each version's content is a function of the version), ReloadModel
alternating a good and a corrupt copy of the model (the corrupt one must be
refused and the old model keep serving), and Embed. Then SIGKILL. Some kills
land before the server serves (start-up reads the policy file then).

After every restart: the server starts; the policy it reports is the last one
SetPolicy acknowledged or the one in flight at the kill, with exactly the
content sent for that version (never torn, never an older one); no temporary
policy file is left; Embed works.

CRASH_KILLS (default 40; docs/RELIABILITY.md records a run of 200) sets the
number of kills. Run by ctest from the repository root with ATTNSERVE_BIN and
ATTNSERVE_PY_STUBS set (tests/e2e/CMakeLists.txt). Skips (77) without the
model unless ATTNSERVE_REQUIRE_MODEL=1.
"""

from __future__ import annotations

# pylint: disable=wrong-import-position

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python", "tests"))
from attnserve_client import AttnServeError, Client  # noqa: E402
from attnserve_client import admin_pb2  # noqa: E402
from model_root import make_model_root  # noqa: E402
from server_process import SKIP_EXIT, model_dir, model_present  # noqa: E402

TOKEN = "crash-test-admin-token-0123456789"
KERNELS = ["dense", "flash", "sliding_window", "int8", "block_sparse"]
# What a dead server's calls may fail with.
DEATH_CODES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED,
               grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNKNOWN}


def content_of(version: int) -> tuple:
    """The policy content this test sends as `version`."""
    return (KERNELS[version % len(KERNELS)], 32 + (version % 7) * 16)


def policy_content(policy) -> tuple:
    return (policy.defaults.attention.kernel or "dense", policy.defaults.max_tokens)


class Round:
    """One server life: start, load, kill."""

    def __init__(self, work: str, root: str):
        self.work, self.root = work, root
        self.log_path = os.path.join(work, "server.log")
        self.failures: list[str] = []
        self.killed = threading.Event()
        self.lock = threading.Lock()
        self.acked = 0  # last version SetPolicy acknowledged
        self.in_flight = 0  # version being set when the kill landed (0 = none)
        self.reload_in_flight = False
        self.counts = {"sets": 0, "reloads_good": 0, "reloads_refused": 0, "embeds": 0}

    def start(self) -> subprocess.Popen:
        with open(self.log_path, "wb") as log:
            return subprocess.Popen(
                [os.environ["ATTNSERVE_BIN"], "--model", os.path.join(self.root, "good"),
                 "--grpc_address", "127.0.0.1:0", "--metrics_address", "none",
                 "--http_address", "", "--admin_token_file", os.path.join(self.work, "token"),
                 "--policy_file", os.path.join(self.work, "state", "policy.textproto")],
                stdout=log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
            return f.read()

    def address_by(self, proc: subprocess.Popen, give_up: float) -> str | None:
        """The port once the server serves, or None at `give_up`."""
        while time.monotonic() < give_up:
            text = self.log()
            match = re.search(r"\(port ([0-9]+)", text)
            if match and "serving:" in text:
                return f"127.0.0.1:{match.group(1)}"
            if proc.poll() is not None:
                raise AssertionError(f"attnserve exited ({proc.returncode}) at start:\n{text}")
            time.sleep(0.01)
        return None

    def failed(self, what: str, error: Exception) -> None:
        if isinstance(error, AttnServeError) and error.code in DEATH_CODES and self.killed.is_set():
            return
        with self.lock:
            self.failures.append(f"{what}: {error}")

    def set_loop(self, client: Client, start_version: int) -> None:
        version = start_version
        while not self.killed.is_set():
            policy = admin_pb2.Policy()
            kernel, max_tokens = content_of(version + 1)
            policy.defaults.attention.kernel = kernel
            policy.defaults.max_tokens = max_tokens
            policy.overridable.extend(["attention", "max_tokens"])
            with self.lock:
                self.in_flight = version + 1
            try:
                installed = client.set_policy(policy=policy, expected_version=version, timeout=5)
            except AttnServeError as e:
                self.failed("SetPolicy", e)
                return
            with self.lock:
                if installed.version != version + 1 or policy_content(installed) != content_of(
                        version + 1):
                    self.failures.append(f"SetPolicy installed {installed} for {version + 1}")
                self.acked = version = installed.version
                self.in_flight = 0
                self.counts["sets"] += 1

    def reload_loop(self, client: Client) -> None:
        for i in range(1_000_000):
            if self.killed.is_set():
                return
            name = "corrupt" if i % 2 == 0 else "good"
            with self.lock:
                self.reload_in_flight = True
            try:
                client.reload_model(name, timeout=30)
                if name == "corrupt":
                    self.failures.append("ReloadModel accepted the corrupt model")
                    return
                self.counts["reloads_good"] += 1
            except AttnServeError as e:
                if name == "corrupt" and "previous model keeps serving" in e.details:
                    self.counts["reloads_refused"] += 1
                else:
                    self.failed(f"ReloadModel({name})", e)
                    return
            finally:
                with self.lock:
                    self.reload_in_flight = False

    def embed_loop(self, client: Client) -> None:
        while not self.killed.is_set():
            try:
                result = client.embed(["crash safety"], timeout=5)
                if len(result) != 1:
                    self.failures.append("Embed returned no embedding")
                self.counts["embeds"] += 1
            except AttnServeError as e:
                self.failed("Embed", e)
                return


def check_restart(client: Client, acked: int, in_flight: int, initial: tuple | None) -> str | None:
    """None if the restarted server's policy is acceptable, else why not."""
    policy = client.get_policy(timeout=10)
    allowed = {acked} | ({in_flight} if in_flight else set())
    if policy.version not in allowed:
        return f"policy version {policy.version} after restart, expected one of {sorted(allowed)}"
    want = initial if policy.version == 1 and initial is not None else content_of(policy.version)
    if policy_content(policy) != want:
        return f"policy version {policy.version} holds {policy_content(policy)}, sent {want}"
    return None


def main() -> int:
    if not model_present():
        if os.environ.get("ATTNSERVE_REQUIRE_MODEL") == "1":
            print(f"model missing: {model_dir()}", file=sys.stderr)
            return 1
        print(f"skip: no model at {model_dir()}")
        return SKIP_EXIT
    kills = int(os.environ.get("CRASH_KILLS", "40"))
    rng = random.Random(int(os.environ.get("CRASH_SEED", "1")))
    work = tempfile.mkdtemp(prefix="attnserve_crash_")
    os.makedirs(os.path.join(work, "state"))
    with open(os.path.join(work, "token"), "w", encoding="utf-8") as f:
        f.write(TOKEN + "\n")
    root = make_model_root(work, model_dir())
    acked, in_flight, initial = 0, 0, None
    totals = {"kills": 0, "before_serving": 0, "set_in_flight": 0, "reload_in_flight": 0,
              "restarts_checked": 0, "sets": 0, "reloads_good": 0, "reloads_refused": 0,
              "embeds": 0}
    failures: list[str] = []
    try:
        for n in range(kills + 1):
            r = Round(work, root)
            proc = r.start()
            started = time.monotonic()
            last = n == kills
            kill_at = started + (60 if last else rng.uniform(0.05, 1.2))
            address = r.address_by(proc, kill_at)
            threads = []
            if address is not None:
                client = Client(address, admin_token=TOKEN)
                if initial is None:
                    first = client.get_policy(timeout=10)
                    acked, initial = first.version, policy_content(first)
                why = check_restart(client, acked, in_flight, initial)
                totals["restarts_checked"] += 1
                leftovers = [f for f in os.listdir(os.path.join(work, "state")) if ".tmp." in f]
                if why is None and leftovers:
                    why = f"temporary policy files left after restart: {leftovers}"
                if why is not None:
                    failures.append(f"kill {n}: {why}\n{r.log()}")
                    proc.kill()
                    break
                acked = client.get_policy(timeout=10).version
                in_flight = 0
                if last:
                    if len(client.embed(["after the last kill"], timeout=30)) != 1:
                        failures.append("no embedding after the last restart")
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=60)
                    break
                threads = [threading.Thread(target=r.set_loop, args=(client, acked)),
                           threading.Thread(target=r.reload_loop, args=(client,)),
                           threading.Thread(target=r.embed_loop, args=(client,))]
                for t in threads:
                    t.start()
                time.sleep(max(0.0, kill_at - time.monotonic()))
            else:
                totals["before_serving"] += 1
            with r.lock:
                r.killed.set()
                proc.send_signal(signal.SIGKILL)
                totals["set_in_flight"] += 1 if r.in_flight else 0
                totals["reload_in_flight"] += 1 if r.reload_in_flight else 0
            proc.wait()
            totals["kills"] += 1
            for t in threads:
                t.join(timeout=30)
            if address is not None:
                client.close()
                acked = max(acked, r.acked)
                in_flight = r.in_flight
            for key in ("sets", "reloads_good", "reloads_refused", "embeds"):
                totals[key] += r.counts[key]
            if r.failures:
                failures.extend(f"kill {n}: {f}" for f in r.failures)
                break
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(totals))
    if failures:
        print("\n".join(failures), file=sys.stderr)
        return 1
    if totals["set_in_flight"] == 0:
        print("no kill landed while a policy was being set; raise CRASH_KILLS", file=sys.stderr)
        return 1
    print(f"crash_safety_test: {totals['kills']} kills, every restart consistent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
