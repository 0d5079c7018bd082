#!/usr/bin/env python3
"""End to end: attnserve + a real Prometheus + the dashboards and alert rules.

1. Static checks: dashboards/*.json are what dashboards/generate.py writes and
   have a valid Grafana structure (uid, title, panels with type, gridPos,
   targets, datasource references, templating); the Kubernetes ConfigMap
   carries deploy/attnserve.textproto verbatim; `promtool check rules` and
   `promtool test rules` pass.
2. Starts the real attnserve binary with deploy/attnserve.textproto (addresses,
   token and policy file moved to loopback / a temp dir, admission shrunk to
   1 worker and a queue of 2 so that an overload burst sheds) and the Debian
   Prometheus server scraping its metrics port every second with
   deploy/prometheus/rules loaded. Everything listens on 127.0.0.1 only.
3. Drives traffic over several kernels (attnbench when built, else attnctl),
   then the events some panels need: a policy change, a model reload, an
   invalid request, an overload burst; then more traffic.
4. Runs through Prometheus's HTTP API every PromQL expression of every
   dashboard panel and annotation (template variables substituted) and every
   loaded alert rule: each must parse; each dashboard expression must return
   data (a non-empty result with a number that is not NaN). The template
   variable queries (label_values) must find this server's instance and model.

Environment: ATTNSERVE_BIN, ATTNCTL_BIN (required), ATTNBENCH_BIN (optional),
ATTNSERVE_MODEL_DIR (default models/use-lite), PROMETHEUS_BIN / PROMTOOL_BIN
(default: from PATH). Without the model or Prometheus the test is skipped
(exit 77) unless ATTNSERVE_REQUIRE_MODEL=1, then it fails. Standard library
only; about 40 s.
"""
import glob
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEADLINE = time.monotonic() + 150  # hard bound for the whole test
KERNELS = ["dense", "flash", "sliding_window", "block_sparse"]
RATE_INTERVAL = "1m"

failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message, flush=True)


def log(message):
    print(message, flush=True)


def remaining(cap):
    return max(1.0, min(cap, DEADLINE - time.monotonic()))


# ---------------------------------------------------------------- static checks

ALLOWED_PANEL_TYPES = {"row", "text", "timeseries", "stat", "bargauge", "gauge", "table",
                       "heatmap", "barchart", "piechart"}
DS_REF = {"type": "prometheus", "uid": "${datasource}"}
BUILTIN_VARS = {"__rate_interval", "__interval", "__range", "__all"}


def all_panels(dashboard):
    for p in dashboard.get("panels", []):
        yield p
        for q in p.get("panels", []):  # panels of a collapsed row
            yield q


def check_dashboard(path):
    name = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{name}: not JSON: {e}")
        return None
    for key in ("uid", "title", "schemaVersion", "panels", "templating", "annotations", "time"):
        if key not in d:
            fail(f"{name}: no '{key}'")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", str(d.get("uid", ""))):
        fail(f"{name}: uid '{d.get('uid')}' is not a valid Grafana uid")
    variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
    for var in ("datasource", "instance", "model"):
        if var not in variables:
            fail(f"{name}: no template variable '{var}'")
    ds = variables.get("datasource", {})
    if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        fail(f"{name}: variable 'datasource' must be a prometheus datasource variable")
    for var in ("instance", "model"):
        v = variables.get(var, {})
        q = v.get("query", {})
        q = q.get("query") if isinstance(q, dict) else q
        if v.get("type") != "query" or not str(q).startswith("label_values("):
            fail(f"{name}: variable '{var}' must be a label_values query")
        if v.get("datasource") != DS_REF:
            fail(f"{name}: variable '{var}' must use ${{datasource}}")
    ids = set()
    occupied = set()
    for p in all_panels(d):
        title = p.get("title", "?")
        where = f"{name}: panel '{title}'"
        if not isinstance(p.get("id"), int) or p["id"] in ids:
            fail(f"{where}: missing or duplicate id")
        ids.add(p.get("id"))
        if p.get("type") not in ALLOWED_PANEL_TYPES:
            fail(f"{where}: unknown type {p.get('type')}")
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in ("h", "w", "x", "y")):
            fail(f"{where}: gridPos needs integer h, w, x, y")
            continue
        if g["x"] < 0 or g["w"] <= 0 or g["x"] + g["w"] > 24 or g["h"] <= 0:
            fail(f"{where}: gridPos {g} outside the 24-column grid")
        cells = {(x, y) for x in range(g["x"], g["x"] + g["w"])
                 for y in range(g["y"], g["y"] + g["h"])}
        if cells & occupied:
            fail(f"{where}: overlaps another panel")
        occupied |= cells
        if p["type"] in ("row", "text"):
            if p["type"] == "text" and not p.get("options", {}).get("content"):
                fail(f"{where}: text panel without content")
            continue
        if p.get("datasource") != DS_REF:
            fail(f"{where}: datasource must be {DS_REF}")
        targets = p.get("targets", [])
        if not targets:
            fail(f"{where}: no targets")
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs) or None in refs:
            fail(f"{where}: refIds missing or not unique")
        for t in targets:
            if t.get("datasource") != DS_REF:
                fail(f"{where}: target {t.get('refId')} datasource must be {DS_REF}")
            if not t.get("expr"):
                fail(f"{where}: target {t.get('refId')} has no expr")
    for a in d.get("annotations", {}).get("list", []):
        if a.get("builtIn"):
            continue
        if a.get("datasource") != DS_REF or not a.get("expr"):
            fail(f"{name}: annotation '{a.get('name')}' needs ${{datasource}} and an expr")
    # Every $variable used must exist.
    text = json.dumps(d)
    for used in set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text)):
        if used not in variables and used not in BUILTIN_VARS:
            fail(f"{name}: uses undefined variable ${used}")
    return d


def static_checks():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "dashboards", "generate.py"),
                        "--check"], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail("dashboards/*.json differ from dashboards/generate.py: " + r.stdout + r.stderr)
    dashboards = {}
    paths = sorted(glob.glob(os.path.join(ROOT, "dashboards", "*.json")))
    if len(paths) < 3:
        fail(f"expected 3 dashboards, found {len(paths)}")
    uids = set()
    for path in paths:
        d = check_dashboard(path)
        if d is not None:
            if d.get("uid") in uids:
                fail(f"{path}: duplicate uid {d.get('uid')}")
            uids.add(d.get("uid"))
            dashboards[os.path.basename(path)] = d
    # Grafana provisioning: the datasource uid and the dashboards path.
    with open(os.path.join(ROOT, "deploy", "grafana", "provisioning", "datasources",
                           "prometheus.yml"), encoding="utf-8") as f:
        ds = f.read()
    for needle in ("type: prometheus", "url: http://prometheus:9090"):
        if needle not in ds:
            fail(f"grafana datasource provisioning lacks '{needle}'")
    with open(os.path.join(ROOT, "deploy", "grafana", "provisioning", "dashboards",
                           "attnserve.yml"), encoding="utf-8") as f:
        prov = f.read()
    with open(os.path.join(ROOT, "deploy", "docker-compose.yml"), encoding="utf-8") as f:
        compose = f.read()
    m = re.search(r"path:\s*(\S+)", prov)
    if not m or f"../dashboards:{m.group(1)}" not in compose:
        fail("the dashboards provisioning path is not where docker-compose.yml mounts dashboards/")
    # The ConfigMap carries deploy/attnserve.textproto verbatim.
    with open(os.path.join(ROOT, "deploy", "attnserve.textproto"), encoding="utf-8") as f:
        conf = f.read()
    with open(os.path.join(ROOT, "deploy", "k8s", "configmap.yaml"), encoding="utf-8") as f:
        cm = f.read()
    body = cm.split("attnserve.textproto: |\n", 1)[-1]
    unindented = "".join(l[4:] if l.startswith("    ") else l for l in body.splitlines(True))
    if unindented != conf:
        fail("deploy/k8s/configmap.yaml does not carry deploy/attnserve.textproto verbatim")
    return dashboards


def promtool_checks(promtool):
    rules_dir = os.path.join(ROOT, "deploy", "prometheus", "rules")
    for args in (["check", "rules", "attnserve.rules.yml"],
                 ["test", "rules", "attnserve.rules.test.yml"]):
        r = subprocess.run([promtool] + args, cwd=rules_dir, capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            fail(f"promtool {' '.join(args)}: {r.stdout}{r.stderr}")
        else:
            log(f"promtool {' '.join(args)}: ok")
    r = subprocess.run([promtool, "check", "config", "--syntax-only",
                        os.path.join(ROOT, "deploy", "prometheus", "prometheus.yml")],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail(f"promtool check config deploy/prometheus/prometheus.yml: {r.stdout}{r.stderr}")


# ---------------------------------------------------------------- processes

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc, name):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        log(f"{name} did not stop on SIGTERM; killing it")
        proc.kill()
        proc.wait(timeout=10)


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode("utf-8")


class Prom:
    def __init__(self, base):
        self.base = base

    def query(self, expr):
        url = self.base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            return json.loads(http_get(url, timeout=10))
        except urllib.error.HTTPError as e:  # 400 on a parse error, with a JSON body
            try:
                return json.loads(e.read().decode("utf-8"))
            except ValueError:
                return {"status": "error", "error": str(e)}

    def api(self, path):
        return json.loads(http_get(self.base + path, timeout=10))


def wait_for_log(path, pattern, proc, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if re.search(pattern, text):
            return text
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    with open(path, encoding="utf-8", errors="replace") as f:
        raise RuntimeError(f"no /{pattern}/ in the log:\n{f.read()}")


def run(cmd, timeout=30, stdin=None, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True, input=stdin,
                       timeout=remaining(timeout))
    if check and r.returncode != 0:
        fail(f"{' '.join(cmd[:6])}... exited {r.returncode}: {r.stderr.strip()[-400:]}")
    return r


# ---------------------------------------------------------------- traffic

WORDS = ("the tide rolls over grey stones while gulls argue about bread and a small boat "
         "waits for the evening wind to carry it home across the bay").split()


def text_of(n):
    return " ".join(WORDS[i % len(WORDS)] for i in range(n))


def drive_traffic(attnctl, attnbench, address, tmp, seconds):
    kernels = ",".join(KERNELS)
    if attnbench:
        r = run([attnbench, "--address", address, "--concurrency", "2", "--duration",
                 str(seconds), "--attention", kernels, "--lengths", "16,128", "--admin-free",
                 "--quiet"], timeout=seconds + 40)
        if r.returncode == 0:
            summary = json.loads(r.stdout)
            log(f"attnbench: {summary.get('ok')} ok, {summary.get('errors')} errors")
            return
        log("attnbench failed; falling back to attnctl")
    lines = "".join(json.dumps({"text": text_of(n)}) + "\n" for n in (4, 20, 60, 110))
    end = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < end:
        for k in KERNELS:
            run([attnctl, "--server", address, "embed", "--batch-size", "1", "--attention", k],
                stdin=lines)
            sent += 4
    log(f"attnctl: {sent} texts sent")


def overload_burst(attnctl, address, tmp):
    """More long requests at once than 1 worker + a queue of 2 can hold."""
    path = os.path.join(tmp, "long.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps({"text": text_of(1500)}) + "\n")
    procs = [subprocess.Popen([attnctl, "--server", address, "embed", "--max-tokens", "2048",
                               "--input", path], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(10)]
    shed = 0
    for p in procs:
        out, _ = p.communicate(timeout=remaining(60))
        shed += "queue is full" in out
    log(f"overload burst: {shed} of {len(procs)} shed")
    if shed == 0:
        fail("the overload burst shed nothing: no admission rejections to show")


# ---------------------------------------------------------------- queries

def substitute(expr, values):
    out = expr.replace("$__rate_interval", RATE_INTERVAL).replace("$__interval", "15s")
    out = out.replace("$__range", "5m")
    for name, value in values.items():
        out = out.replace("${" + name + "}", value).replace("$" + name, value)
    if "$" in out:
        fail(f"unsubstituted variable in {out}")
    return out


def has_number(result):
    for series in result:
        values = [series["value"]] if "value" in series else series.get("values", [])
        for _, v in values:
            if not math.isnan(float(v)):
                return True
    return False


def check_queries(prom, dashboards, values):
    checked = 0
    for name, d in dashboards.items():
        exprs = []
        for p in all_panels(d):
            for t in p.get("targets", []):
                exprs.append((f"panel '{p.get('title')}' {t.get('refId')}", t.get("expr", "")))
        for a in d.get("annotations", {}).get("list", []):
            if a.get("expr"):
                exprs.append((f"annotation '{a.get('name')}'", a["expr"]))
        for where, expr in exprs:
            q = substitute(expr, values)
            r = prom.query(q)
            checked += 1
            if r.get("status") != "success":
                fail(f"{name} {where}: does not parse: {r.get('error')}\n    {q}")
            elif not r["data"]["result"]:
                fail(f"{name} {where}: no data\n    {q}")
            elif not has_number(r["data"]["result"]):
                fail(f"{name} {where}: only NaN\n    {q}")
        # Template variables: label_values(metric{selector}, label).
        for v in d["templating"]["list"]:
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", str(q))
            if not m:
                continue
            expr = substitute(f"count by ({m.group(2)}) ({m.group(1)})", values)
            r = prom.query(expr)
            checked += 1
            found = [s["metric"].get(m.group(2)) for s in r.get("data", {}).get("result", [])]
            if r.get("status") != "success" or values[v["name"]] not in found:
                fail(f"{name} variable '{v['name']}': {expr} found {found}, "
                     f"expected {values[v['name']]}")
    return checked


def check_rules(prom):
    with open(os.path.join(ROOT, "deploy", "prometheus", "rules", "attnserve.rules.yml"),
              encoding="utf-8") as f:
        expected = len(re.findall(r"^\s*- alert:", f.read(), re.M))
    groups = prom.api("/api/v1/rules")["data"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    if len(rules) != expected or expected == 0:
        fail(f"Prometheus loaded {len(rules)} rules, the file has {expected} alerts")
    checked = 0
    for rule in rules:
        if rule.get("health") != "ok":
            fail(f"rule {rule.get('name')}: health {rule.get('health')}: {rule.get('lastError')}")
        r = prom.query(rule["query"])
        checked += 1
        if r.get("status") != "success":
            fail(f"rule {rule.get('name')}: does not parse: {r.get('error')}")
        firing = [a for a in rule.get("alerts", []) if a.get("state") == "firing"]
        log(f"rule {rule['name']}: ok ({len(r['data']['result'])} series now, "
            f"{len(firing)} firing)")
    return checked


# ---------------------------------------------------------------- main

def main():
    require = os.environ.get("ATTNSERVE_REQUIRE_MODEL") == "1"

    def skip(why):
        if require:
            fail(why + " (ATTNSERVE_REQUIRE_MODEL=1)")
            return 1
        log("SKIP: " + why)
        return 77

    dashboards = static_checks()
    promtool = os.environ.get("PROMTOOL_BIN") or shutil.which("promtool")
    if promtool:
        promtool_checks(promtool)
    attnserve = os.environ.get("ATTNSERVE_BIN", "")
    attnctl = os.environ.get("ATTNCTL_BIN", "")
    attnbench = os.environ.get("ATTNBENCH_BIN", "")
    if not (attnbench and os.access(attnbench, os.X_OK)):
        attnbench = ""
    model = os.environ.get("ATTNSERVE_MODEL_DIR") or os.path.join(ROOT, "models", "use-lite")
    prometheus = os.environ.get("PROMETHEUS_BIN") or shutil.which("prometheus")
    if not (os.access(attnserve, os.X_OK) and os.access(attnctl, os.X_OK)):
        fail("ATTNSERVE_BIN and ATTNCTL_BIN must name the built binaries")
        return 1
    if not os.path.exists(os.path.join(model, "model.json")):
        return 1 if failures else skip(f"no model in {model} (tools/fetch_model.sh)")
    if not prometheus or not promtool:
        return 1 if failures else skip("prometheus/promtool not installed (Debian 'prometheus')")

    tmp = tempfile.mkdtemp(prefix="attnserve_e2e_")
    server = prom_proc = None
    try:
        token = os.path.join(tmp, "admin_token")
        with open(token, "w", encoding="utf-8") as f:
            f.write("e2e-" + os.urandom(16).hex() + "\n")
        os.chmod(token, 0o600)
        # The deploy config, with 1 worker and a queue of 2 so a burst sheds.
        with open(os.path.join(ROOT, "deploy", "attnserve.textproto"), encoding="utf-8") as f:
            conf = f.read()
        for old, new in ((r"^(\s*)workers: \d+", r"\1workers: 1"),
                         (r"^(\s*)queue_capacity: \d+", r"\1queue_capacity: 2")):
            conf, n = re.subn(old, new, conf, flags=re.M)
            if n != 1:
                fail(f"deploy/attnserve.textproto: expected one '{old}'")
        config = os.path.join(tmp, "attnserve.textproto")
        with open(config, "w", encoding="utf-8") as f:
            f.write(conf)
        server_log = os.path.join(tmp, "attnserve.log")
        with open(server_log, "w") as logf:
            server = subprocess.Popen(
                [attnserve, "--config", config, "--model", model,
                 "--grpc_address", "127.0.0.1:0", "--metrics_address", "127.0.0.1:0",
                 "--http_address", "127.0.0.1:0",
                 "--admin_token_file", token,
                 "--policy_file", os.path.join(tmp, "policy.textproto")],
                stdout=logf, stderr=subprocess.STDOUT)
        text = wait_for_log(server_log, r"serving:", server, remaining(60))
        grpc_port = re.search(r"listening on \S+ \(port (\d+)", text).group(1)
        metrics_port = re.search(r"metrics on \S+ \(port (\d+)\)", text).group(1)
        address = f"127.0.0.1:{grpc_port}"
        instance = f"127.0.0.1:{metrics_port}"
        log(f"attnserve: gRPC {address}, metrics {instance}")

        prom_port = free_port()
        prom_config = os.path.join(tmp, "prometheus.yml")
        rules = os.path.join(ROOT, "deploy", "prometheus", "rules", "attnserve.rules.yml")
        with open(prom_config, "w", encoding="utf-8") as f:
            f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - {json.dumps(rules)}
scrape_configs:
  - job_name: attnserve
    static_configs:
      - targets: ["{instance}"]
""")
        prom_log = os.path.join(tmp, "prometheus.log")
        with open(prom_log, "w") as logf:
            prom_proc = subprocess.Popen(
                [prometheus, f"--config.file={prom_config}",
                 f"--storage.tsdb.path={os.path.join(tmp, 'tsdb')}",
                 f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn",
                 "--storage.tsdb.retention.time=1h"],
                stdout=logf, stderr=subprocess.STDOUT)
        prom = Prom(f"http://127.0.0.1:{prom_port}")
        end = time.monotonic() + remaining(30)
        while True:
            try:
                http_get(prom.base + "/-/ready", timeout=1)
                r = prom.query(f'up{{instance="{instance}"}} == 1')
                if r.get("data", {}).get("result"):
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if prom_proc.poll() is not None or time.monotonic() > end:
                with open(prom_log, encoding="utf-8", errors="replace") as f:
                    raise RuntimeError("Prometheus did not scrape attnserve:\n" + f.read())
            time.sleep(0.2)
        log(f"prometheus: 127.0.0.1:{prom_port} scrapes {instance}")

        admin = [attnctl, "--server", address, "--admin_token_file", token]
        drive_traffic(attnctl, attnbench, address, tmp, 6)
        # Events: policy changes, a model reload, an invalid request, an overload burst.
        run(admin + ["policy", "set", "--attention", "flash"])
        run(admin + ["reload"])
        run(admin + ["policy", "set", "--attention", "dense"])
        bad = run([attnctl, "--server", address, "embed", "--attention", "no_such_kernel"],
                  stdin='{"text": "hello"}\n', check=False)
        if bad.returncode == 0:
            fail("an unknown kernel was accepted")
        overload_burst(attnctl, address, tmp)
        drive_traffic(attnctl, attnbench, address, tmp, 5)
        time.sleep(3)  # a few more scrapes after the last request

        values = {"instance": instance, "model": "use-lite", "datasource": "prometheus"}
        n_dash = check_queries(prom, dashboards, values)
        n_rules = check_rules(prom)
        log(f"checked {n_dash} dashboard expressions (panels, annotations, variables) and "
            f"{n_rules} alert rule expressions")
    except (RuntimeError, subprocess.TimeoutExpired, AttributeError) as e:
        fail(str(e))
    finally:
        stop(prom_proc, "prometheus")
        stop(server, "attnserve")
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        log(f"{len(failures)} failure(s)")
        return 1
    log("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
