"""The soak (scripts/soak.sh): attnserve under mixed traffic while its policy
is switched and its model reloaded (good and corrupt copies), sampled every
few seconds; pass rules checked at the end.

Traffic (Python workers, gRPC): Embed of short and long texts over every
registered kernel, f32 / int8 / bf16, with and without pruning and early exit
and "auto"; EmbedStream; Classify; bad requests (unknown kernel, invalid
UTF-8, out-of-range parameter); calls with an already expired deadline and
calls the client cancels; golden checks (dense f32 on a golden text against
the reference runtime's embedding, tests/golden/data). Alongside, attnbench
sends an Embed mix over every kernel. An admin loop switches the policy's
kernel, reloads the good model and tries the corrupt copy (refused, the old
model keeps serving).

Every call's answer is classified: ok, or the error its kind expects (bad
requests: INVALID_ARGUMENT / NOT_FOUND; expired: DEADLINE_EXCEEDED;
cancelled: CANCELLED); anything else is a failure. Samples (RSS, threads,
open fds, queue depth, p99 and error counts per window) go to samples.csv and
a plot to soak.png.

Usage: python3 scripts/soak_driver.py --bin ATTNSERVE --attnbench ATTNBENCH
         --model DIR --seconds N --out DIR
"""

from __future__ import annotations

# pylint: disable=wrong-import-position,too-many-locals,too-many-statements

import argparse
import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import grpc
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from attnserve_client import AttnServeError, Client, inference_pb2, types_pb2  # noqa: E402
from model_root import make_model_root  # noqa: E402

TOKEN = "soak-admin-token-0123456789abcdef"
WORDS = ("the whale ship sea captain harpoon voyage storm deck sailor ocean wind rope "
         "island night morning crew water sun white great long far old").split()
# Pass rules (docs/RELIABILITY.md).
WARMUP_FRACTION = 0.2
RSS_GROWTH_LIMIT = 0.10      # last quarter's mean RSS over the first post-warm-up quarter's
FD_GROWTH_LIMIT = 8          # open fds, same comparison
THREAD_GROWTH_LIMIT = 8
P99_RATIO_LIMIT = 3.0        # last quarter's median window p99 over the first quarter's
GOLDEN_MIN_COSINE = 0.9999


def text_of(tokens: int, rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(tokens))


class Tally:
    """Answers by (kind, outcome) and latencies per sampling window."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.failures: list[str] = []
        self.window_latencies: list[float] = []

    def record(self, kind: str, outcome: str, seconds: float | None = None,
               failure: str | None = None) -> None:
        with self.lock:
            key = f"{kind}:{outcome}"
            self.counts[key] = self.counts.get(key, 0) + 1
            if seconds is not None:
                self.window_latencies.append(seconds)
            if failure is not None and len(self.failures) < 50:
                self.failures.append(f"{kind}: {failure}")

    def take_window(self) -> list[float]:
        with self.lock:
            out, self.window_latencies = self.window_latencies, []
        return out


class Soak:
    def __init__(self, args):
        self.args = args
        self.stop = threading.Event()
        self.tally = Tally()
        self.kernels: list[str] = []
        self.golden: list[tuple[str, np.ndarray]] = []
        self.has_calibration = os.path.isfile(os.path.join(args.model, "calibration.json"))
        heads_dir = os.path.join(args.model, "heads")
        self.heads = []
        if os.path.isdir(heads_dir):
            for name in sorted(os.listdir(heads_dir)):
                if name.endswith(".json"):
                    with open(os.path.join(heads_dir, name), encoding="utf-8") as f:
                        self.heads.append(json.load(f)["name"])
        self.proc: subprocess.Popen | None = None
        self.address = ""
        self.metrics = ""

    # -- setup -----------------------------------------------------------

    def load_golden(self) -> None:
        """Reference embeddings of USE-lite (the model's own runtime)."""
        path = os.path.join(ROOT, "tests", "golden", "data", "use_lite_golden.jsonl")
        with open(path, encoding="utf-8") as f:
            for line in f:
                case = json.loads(line)
                if case.get("embeddings") and len(case["texts"]) == 1 and case["max_tokens"] == 128:
                    self.golden.append((case["texts"][0], np.array(case["embeddings"][0])))
                if len(self.golden) >= 8:
                    break

    def write_synthetic_head(self, root: str, info) -> None:
        """A random two-label head (seeded) when the model has none: the soak
        checks Classify's path, not its accuracy."""
        rng = np.random.default_rng(7)
        layers = [{"layer": l, "weights": rng.normal(0, 0.05, (2, info.embedding_dim)).tolist(),
                   "bias": [0.0, 0.0]} for l in range(info.num_layers)]
        head = {"name": "soak", "labels": ["a", "b"], "dim": info.embedding_dim, "layers": layers}
        for name in ("good", "corrupt"):
            heads = os.path.join(root, name, "heads")
            if os.path.islink(heads):
                continue
            os.makedirs(heads, exist_ok=True)
            with open(os.path.join(heads, "soak.json"), "w", encoding="utf-8") as f:
                json.dump(head, f)

    def start_server(self, root: str, work: str) -> None:
        config = os.path.join(work, "config.textproto")
        with open(config, "w", encoding="utf-8") as f:
            f.write("admission { workers: 2 threads_per_request: 1 queue_capacity: 16 }\n"
                    "limits { max_tokens: 1024 }\n")
        log = open(os.path.join(self.args.out, "server.log"), "wb")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(
            [self.args.bin, "--model", os.path.join(root, "good"), "--config", config,
             "--grpc_address", "127.0.0.1:0", "--metrics_address", "127.0.0.1:0",
             "--http_address", "", "--admin_token_file", os.path.join(work, "token"),
             "--policy_file", os.path.join(work, "policy.textproto")],
            stdout=log, stderr=subprocess.STDOUT)
        give_up = time.monotonic() + 60
        while time.monotonic() < give_up:
            with open(os.path.join(self.args.out, "server.log"), encoding="utf-8",
                      errors="replace") as f:
                text = f.read()
            port = re.search(r"listening on .*\(port ([0-9]+)", text)
            metrics = re.search(r"metrics on .*\(port ([0-9]+)", text)
            if port and metrics and "serving:" in text:
                self.address = f"127.0.0.1:{port.group(1)}"
                self.metrics = f"http://127.0.0.1:{metrics.group(1)}/metrics"
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"attnserve did not start:\n{text}")

    # -- traffic ---------------------------------------------------------

    def call(self, kind: str, expect: set, fn) -> None:
        """Runs fn and records its answer; fn may return a string saying why
        an answer that arrived is wrong."""
        start = time.monotonic()
        try:
            wrong = fn()
            if isinstance(wrong, str):
                self.tally.record(kind, "WRONG", failure=wrong)
            elif "OK" in expect:
                self.tally.record(kind, "OK", time.monotonic() - start)
            else:
                self.tally.record(kind, "OK", failure=f"succeeded, expected {sorted(expect)}")
        except AttnServeError as e:
            code = e.code.name
            if code in expect:
                self.tally.record(kind, code)
            else:
                self.tally.record(kind, code, failure=f"{code}: {e.details}")

    def embed_random(self, client: Client, rng: random.Random) -> None:
        tokens = rng.choice([8, 16, 32, 128, 400])
        kernel = rng.choice(self.kernels)
        precision = rng.choice(["f32", "int8", "bf16"])
        options = types_pb2.ExecutionOptions(max_tokens=512 if tokens > 128 else 0,
                                             linear_precision=precision)
        options.attention.kernel = kernel
        auto = rng.random() < 0.1
        if auto:
            options.attention.kernel = "auto"
            options.pruning.mode = "auto"
        elif rng.random() < 0.3:
            options.pruning.keep_ratio.extend([0.7, 0.5])
        if not auto and rng.random() < 0.3:
            options.early_exit.embed_cosine = 0.99
        texts = [text_of(tokens, rng) for _ in range(rng.choice([1, 1, 2, 4]))]
        request = inference_pb2.EmbedRequest(texts=[t.encode() for t in texts], options=options)
        expect = {"OK"} if (self.has_calibration or not auto) else {"FAILED_PRECONDITION"}
        self.call(f"embed{'_auto' if auto else ''}", expect,
                  lambda: client._call("Embed", client._inference.Embed, request, timeout=60))  # pylint: disable=protected-access

    def golden_check(self, client: Client, rng: random.Random) -> None:
        text, reference = rng.choice(self.golden)

        def run():
            got = client.embed([text], attention="dense", linear_precision="f32",
                               max_tokens=128, timeout=60).embeddings[0]
            cosine = float(np.dot(got, reference) / (np.linalg.norm(got) * np.linalg.norm(reference)))
            if cosine < GOLDEN_MIN_COSINE:
                return f"cosine {cosine:.6f} on {text!r}"
            return None
        self.call("golden", {"OK"}, run)

    def worker(self, seed: int) -> None:
        try:
            self.traffic(seed)
        except Exception as e:  # pylint: disable=broad-except
            # A driver bug must fail the soak, not thin its traffic silently.
            self.tally.record("driver", "EXCEPTION", failure=repr(e))

    def traffic(self, seed: int) -> None:
        rng = random.Random(seed)
        client = Client(self.address, timeout=60)
        while not self.stop.is_set():
            r = rng.random()
            if r < 0.45:
                self.embed_random(client, rng)
            elif r < 0.55:
                batches = [[text_of(rng.choice([8, 64]), rng)] for _ in range(3)]
                self.call("stream", {"OK"},
                          lambda: [len(x) for x in client.embed_stream(batches, timeout=60)])
            elif r < 0.65:
                head = rng.choice(self.heads)
                self.call("classify", {"OK"},
                          lambda: client.classify([text_of(16, rng)], head=head, timeout=60))
            elif r < 0.75 and self.golden:
                self.golden_check(client, rng)
            elif r < 0.85:
                bad = rng.choice([
                    lambda: client.embed(["x"], attention="no_such_kernel", timeout=30),
                    lambda: client.embed([b"\xff\xfe invalid"], timeout=30),
                    lambda: client.embed(["x"], attention="sliding_window",
                                         attention_params={"window": -3}, timeout=30),
                    lambda: client.embed(["x"], max_tokens=100000, timeout=30),
                ])
                self.call("bad", {"INVALID_ARGUMENT", "NOT_FOUND"}, bad)
            elif r < 0.93:
                self.call("expired", {"DEADLINE_EXCEEDED"},
                          lambda: client.embed([text_of(128, rng)], timeout=0.0005))
            else:
                self.cancelled_call(client, rng)
        client.close()

    def cancelled_call(self, client: Client, rng: random.Random) -> None:
        request = inference_pb2.EmbedRequest(texts=[text_of(400, rng).encode()])
        request.options.max_tokens = 512
        future = client._inference.Embed.future(request, timeout=60)  # pylint: disable=protected-access
        time.sleep(rng.uniform(0, 0.02))
        future.cancel()
        try:
            future.result()
            self.tally.record("cancel", "OK")  # finished before the cancel landed
        except grpc.FutureCancelledError:
            self.tally.record("cancel", "CANCELLED")
        except grpc.RpcError as e:
            code = e.code().name
            self.tally.record("cancel", code,
                              failure=None if code == "CANCELLED" else f"{code}: {e.details()}")

    def admin(self) -> None:
        try:
            self.admin_loop()
        except Exception as e:  # pylint: disable=broad-except
            self.tally.record("driver", "EXCEPTION", failure=repr(e))

    def admin_loop(self) -> None:
        client = Client(self.address, admin_token=TOKEN, timeout=60)
        rng = random.Random(99)
        step = 0
        while not self.stop.wait(self.args.admin_period):
            step += 1
            action = step % 3
            if action == 0:
                kernel = rng.choice(self.kernels)
                self.call("admin_policy", {"OK"}, lambda: client.set_policy(attention=kernel))
            elif action == 1:
                self.call("admin_reload", {"OK"}, lambda: client.reload_model("good"))
            else:
                # Refused with the reason; the old model serves on.
                self.call("admin_reload_corrupt", {"INVALID_ARGUMENT", "DATA_LOSS",
                                                   "FAILED_PRECONDITION", "NOT_FOUND",
                                                   "OUT_OF_RANGE"},
                          lambda: client.reload_model("corrupt"))
        client.close()

    # -- sampling --------------------------------------------------------

    def metric(self, text: str, name: str) -> float:
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.split()[-1])
        return float("nan")

    def sample(self, started: float, writer) -> dict:
        pid = self.proc.pid
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
        rss = int(status["VmRSS"].split()[0]) * 1024
        threads = int(status["Threads"])
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        try:
            text = urllib.request.urlopen(self.metrics, timeout=5).read().decode()  # pylint: disable=consider-using-with
            depth = self.metric(text, "attnserve_queue_depth")
        except OSError:
            depth = float("nan")
        window = self.tally.take_window()
        p99 = float(np.percentile(window, 99)) * 1000 if window else float("nan")
        row = {"t_s": round(time.monotonic() - started, 1), "rss_mb": round(rss / 2**20, 2),
               "threads": threads, "fds": fds, "queue_depth": depth,
               "p99_ms": round(p99, 2), "answers": len(window),
               "failures": len(self.tally.failures),
               "load1": float(open("/proc/loadavg", encoding="ascii").read().split()[0])}
        writer.writerow(row)
        return row

    # -- run -------------------------------------------------------------

    def run(self) -> int:
        os.makedirs(self.args.out, exist_ok=True)
        work = tempfile.mkdtemp(prefix="attnserve_soak_")
        with open(os.path.join(work, "token"), "w", encoding="utf-8") as f:
            f.write(TOKEN + "\n")
        root = make_model_root(work, self.args.model)
        # Start once to learn the model's shape for a synthetic head.
        if not self.heads:
            self.start_server(root, work)
            with Client(self.address) as c:
                info = c.get_model_info()
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
            self.write_synthetic_head(root, info)
            self.heads = ["soak"]
        self.start_server(root, work)
        with Client(self.address, admin_token=TOKEN) as c:
            self.kernels = [k.name for k in c.list_attention_kernels()]
            if c.get_model_info().name == "use-lite":
                self.load_golden()
        bench_out = open(os.path.join(self.args.out, "attnbench.json"), "w", encoding="utf-8")  # pylint: disable=consider-using-with
        bench = subprocess.Popen(  # pylint: disable=consider-using-with
            [self.args.attnbench, "--address", self.address, "--admin-free", "--quiet",
             "--attention", ",".join(self.kernels), "--lengths", "16,128,400",
             "--max-tokens", "512", "--rate", str(self.args.bench_rate),
             "--duration", str(self.args.seconds), "--timeout", "60"],
            stdout=bench_out, stderr=subprocess.STDOUT)
        threads = [threading.Thread(target=self.worker, args=(i,)) for i in range(self.args.workers)]
        threads.append(threading.Thread(target=self.admin))
        started = time.monotonic()
        for t in threads:
            t.start()
        rows = []
        crashed = None
        with open(os.path.join(self.args.out, "samples.csv"), "w", newline="",
                  encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=["t_s", "rss_mb", "threads", "fds",
                                                   "queue_depth", "p99_ms", "answers",
                                                   "failures", "load1"])
            writer.writeheader()
            while time.monotonic() - started < self.args.seconds:
                time.sleep(self.args.sample_period)
                if self.proc.poll() is not None:
                    crashed = self.proc.returncode
                    break
                rows.append(self.sample(started, writer))
                f.flush()
        self.stop.set()
        for t in threads:
            t.join(timeout=120)
        bench.wait(timeout=120)
        bench_out.close()
        exit_code = crashed
        if crashed is None:
            self.proc.send_signal(signal.SIGTERM)
            exit_code = self.proc.wait(timeout=120)
        return self.judge(rows, crashed, exit_code)

    def judge(self, rows: list[dict], crashed, exit_code) -> int:
        with open(os.path.join(self.args.out, "attnbench.json"), encoding="utf-8") as f:
            bench_text = f.read()
        try:
            bench = json.loads(bench_text)
        except json.JSONDecodeError:
            bench = {"unparsed": bench_text[-2000:]}
        steady = rows[int(len(rows) * WARMUP_FRACTION):]
        quarter = max(1, len(steady) // 4)
        first, last = steady[:quarter], steady[-quarter:]

        def mean(rs, key):
            vals = [r[key] for r in rs if r[key] == r[key]]
            return float(np.mean(vals)) if vals else float("nan")

        def median(rs, key):
            vals = [r[key] for r in rs if r[key] == r[key]]
            return float(np.median(vals)) if vals else float("nan")

        bench_errors = bench.get("errors_by_code", {}) if isinstance(bench, dict) else {}
        checks = {
            "server ran to the end and exited 0 on SIGTERM": crashed is None and exit_code == 0,
            "no request lost or answered wrongly (driver)": not self.tally.failures,
            "attnbench: every request answered OK": bool(bench.get("ok")) and not bench_errors,
            f"RSS flat: last quarter <= {1 + RSS_GROWTH_LIMIT:.2f}x first": bool(steady) and
                mean(last, "rss_mb") <= (1 + RSS_GROWTH_LIMIT) * mean(first, "rss_mb"),
            f"open fds flat: +{FD_GROWTH_LIMIT} at most": bool(steady) and
                mean(last, "fds") <= mean(first, "fds") + FD_GROWTH_LIMIT,
            f"threads flat: +{THREAD_GROWTH_LIMIT} at most": bool(steady) and
                mean(last, "threads") <= mean(first, "threads") + THREAD_GROWTH_LIMIT,
            f"p99 steady: last quarter <= {P99_RATIO_LIMIT}x first (median of windows)":
                bool(steady) and median(last, "p99_ms") <= P99_RATIO_LIMIT * median(first, "p99_ms"),
        }
        summary = {
            "seconds": self.args.seconds, "samples": len(rows),
            "answers_by_kind_and_code": dict(sorted(self.tally.counts.items())),
            "attnbench": {k: bench.get(k) for k in ("sent", "ok", "errors_by_code", "latency_ms")}
            if isinstance(bench, dict) else bench,
            "rss_mb_first_last": [mean(first, "rss_mb"), mean(last, "rss_mb")],
            "fds_first_last": [mean(first, "fds"), mean(last, "fds")],
            "threads_first_last": [mean(first, "threads"), mean(last, "threads")],
            "p99_ms_first_last": [median(first, "p99_ms"), median(last, "p99_ms")],
            "load1_mean": mean(rows, "load1"),
            "failures": self.tally.failures,
            "checks": checks,
        }
        with open(os.path.join(self.args.out, "summary.json"), "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2)
        self.plot(rows)
        print(json.dumps(summary, indent=2))
        return 0 if all(checks.values()) else 1

    def plot(self, rows: list[dict]) -> None:
        if not rows:
            return
        import matplotlib  # pylint: disable=import-outside-toplevel
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
        t = [r["t_s"] / 60 for r in rows]
        fig, axes = plt.subplots(4, 1, figsize=(9, 10), sharex=True)
        for ax, key, label in zip(axes, ["rss_mb", "fds", "p99_ms", "queue_depth"],
                                  ["resident memory (MiB)", "open fds / threads",
                                   "p99 per window (ms)", "queue depth"]):
            ax.plot(t, [r[key] for r in rows], label=key)
            if key == "fds":
                ax.plot(t, [r["threads"] for r in rows], label="threads")
                ax.legend()
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
        axes[-1].set_xlabel("minutes")
        fig.suptitle(f"attnserve soak, {self.args.seconds / 60:.0f} min "
                     "(scripts/soak.sh; docs/RELIABILITY.md)")
        fig.tight_layout()
        fig.savefig(os.path.join(self.args.out, "soak.png"), dpi=80)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--attnbench", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--seconds", type=float, default=180)
    p.add_argument("--out", required=True)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--bench_rate", type=float, default=4)
    p.add_argument("--admin_period", type=float, default=4)
    p.add_argument("--sample_period", type=float, default=5)
    return Soak(p.parse_args()).run()


if __name__ == "__main__":
    sys.exit(main())
