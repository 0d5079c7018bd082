#!/usr/bin/env python3
"""Writes the Grafana dashboards of attnserve (dashboards/*.json).

The JSON files are generated, then committed: edit this script, run
`python3 dashboards/generate.py`, commit both. `--check` exits 1 when a
committed file differs from what the script writes (the e2e test runs it).

Every query uses only metrics that server/telemetry/server_metrics.cc exports,
filtered by the template variables `instance` and (where the metric has a
`model` label) `model`. Panels reference the datasource variable
`${datasource}`; deploy/grafana/provisioning provisions one with uid
`attnserve-prometheus`.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${datasource}"}
I = 'instance=~"$instance"'
IM = 'instance=~"$instance", model=~"$model"'
RI = "$__rate_interval"


def rate(metric, sel, by=None, fn="rate"):
    inner = f"{fn}({metric}{{{sel}}}[{RI}])"
    return f"sum by ({by}) ({inner})" if by else f"sum({inner})"


def quantile(q, metric, sel, by="kernel"):
    return (f"histogram_quantile({q}, sum by (le, {by}) "
            f"(rate({metric}_bucket{{{sel}}}[{RI}])))")


def target(expr, legend="", ref="A", **extra):
    t = {"datasource": DS, "expr": expr, "legendFormat": legend or "__auto", "refId": ref,
         "range": True, "instant": False}
    t.update(extra)
    return t


class Board:
    def __init__(self):
        self.panels = []
        self.x = 0
        self.y = 0
        self.row_h = 0

    def _place(self, w, h):
        if self.x + w > 24:
            self.x = 0
            self.y += self.row_h
            self.row_h = 0
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def row(self, title):
        if self.x:
            self.x = 0
            self.y += self.row_h
            self.row_h = 0
        self.panels.append({"id": len(self.panels) + 1, "type": "row", "title": title,
                            "collapsed": False, "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
                            "panels": []})
        self.y += 1

    def panel(self, kind, title, targets, unit="short", w=12, h=8, description="", **options):
        refs = "ABCDEFGH"
        ts = []
        for i, t in enumerate(targets):
            expr, legend = t if isinstance(t, tuple) else (t, "")
            ts.append(target(expr, legend, refs[i]))
        p = {"id": len(self.panels) + 1, "type": kind, "title": title, "description": description,
             "datasource": DS, "gridPos": self._place(w, h), "targets": ts,
             "fieldConfig": {"defaults": {"unit": unit}, "overrides": []}, "options": {}}
        if kind == "timeseries":
            p["fieldConfig"]["defaults"]["custom"] = {"drawStyle": "line", "lineWidth": 1,
                                                      "fillOpacity": 10, "showPoints": "never"}
            p["options"] = {"legend": {"displayMode": "table", "placement": "bottom",
                                       "calcs": ["mean", "max", "lastNotNull"]},
                            "tooltip": {"mode": "multi", "sort": "desc"}}
        elif kind == "stat":
            p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                              "values": False},
                            "colorMode": "value", "graphMode": "area", "textMode": "auto"}
        elif kind == "bargauge":
            p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                              "values": False},
                            "orientation": "horizontal", "displayMode": "gradient"}
        p["fieldConfig"]["defaults"].update(options.pop("defaults", {}))
        p["options"].update(options)
        self.panels.append(p)
        return p

    def text(self, title, content, w=24, h=6):
        self.panels.append({"id": len(self.panels) + 1, "type": "text", "title": title,
                            "gridPos": self._place(w, h),
                            "options": {"mode": "markdown", "content": content}})


def variables():
    def query_var(name, label, query, refresh=2):
        return {"name": name, "label": label, "type": "query", "datasource": DS,
                "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
                "definition": query, "refresh": refresh, "multi": True, "includeAll": True,
                "allValue": ".*", "current": {"selected": True, "text": ["All"],
                                                 "value": ["$__all"]},
                "sort": 1, "hide": 0, "options": [], "regex": ""}
    return {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource",
         "query": "prometheus", "current": {}, "hide": 0, "refresh": 1, "regex": "",
         "options": []},
        query_var("instance", "Instance", "label_values(attnserve_build_info, instance)"),
        query_var("model", "Model", f"label_values(attnserve_model_info{{{I}}}, model)"),
    ]}


# Policy changes and model reloads, drawn on the time axis.
EVENT_ANNOTATIONS = [
    {"name": "Policy changes", "datasource": DS, "enable": True, "iconColor": "orange",
     "expr": f"sum by (instance) (increase(attnserve_policy_changes_total{{{I}}}[2m])) > 0",
     "step": "15s", "titleFormat": "Policy changed", "textFormat": "{{instance}}",
     "useValueForTime": False},
    {"name": "Model reloads", "datasource": DS, "enable": True, "iconColor": "purple",
     "expr": f"sum by (instance, result) (increase(attnserve_model_reloads_total{{{I}}}[2m])) > 0",
     "step": "15s", "titleFormat": "Model reload ({{result}})", "textFormat": "{{instance}}",
     "useValueForTime": False},
]


def dashboard(uid, title, description, board, tags, annotations=()):
    builtin = {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
               "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
               "name": "Annotations & Alerts", "type": "dashboard"}
    return {
        "uid": uid, "title": title, "description": description, "tags": ["attnserve"] + tags,
        "timezone": "browser", "editable": True, "graphTooltip": 1, "schemaVersion": 38,
        "version": 1, "refresh": "10s", "time": {"from": "now-1h", "to": "now"},
        "timepicker": {}, "fiscalYearStartMonth": 0, "liveNow": False,
        "links": [{"title": "attnserve", "type": "dashboards", "tags": ["attnserve"],
                   "asDropdown": True, "includeVars": True, "keepTime": True}],
        "annotations": {"list": [builtin] + list(annotations)},
        "templating": variables(), "panels": board.panels,
    }


def overview():
    b = Board()
    b.row("Traffic")
    b.panel("stat", "Requests / s", [rate("attnserve_requests_total", IM)], "reqps", w=6, h=4)
    b.panel("stat", "Error ratio (non-OK)", [
        f"(sum(rate(attnserve_requests_total{{{IM}, code!=\"OK\"}}[{RI}])) or vector(0)) / "
        f"clamp_min(sum(rate(attnserve_requests_total{{{IM}}}[{RI}])), 1e-9)"],
        "percentunit", w=6, h=4)
    b.panel("stat", "Model loaded", [(f"min by (instance) (attnserve_model_loaded{{{I}}})",
                                      "{{instance}}")], w=4, h=4,
            defaults={"mappings": [{"type": "value", "options": {
                "0": {"text": "NOT LOADED", "color": "red"},
                "1": {"text": "loaded", "color": "green"}}}]})
    b.panel("stat", "Default kernel (policy)", [(f"max by (kernel) (attnserve_policy_info{{{I}}})",
                                                 "{{kernel}}")], w=4, h=4, textMode="name")
    b.panel("stat", "Draining", [(f"max(attnserve_draining{{{I}}})", "")], w=4, h=4)
    b.panel("timeseries", "Request rate by kernel",
            [(rate("attnserve_requests_total", IM, "kernel"), "{{kernel}}")], "reqps")
    b.panel("timeseries", "Errors by code",
            [(rate("attnserve_requests_total", IM + ', code!="OK"', "code"), "{{code}}")],
            "reqps", description="Non-OK replies per second by gRPC code "
            "(RESOURCE_EXHAUSTED = shed by admission control).")
    b.panel("timeseries", "Admission rejections by reason",
            [(rate("attnserve_admission_rejections_total", I, "rpc, reason"),
              "{{rpc}} {{reason}}")], "reqps")
    b.panel("timeseries", "Texts / s",
            [(rate("attnserve_texts_total", IM, "rpc"), "{{rpc}}")], "short")
    b.row("Latency")
    b.panel("timeseries", "Request latency by kernel (p50 / p95 / p99)", [
        (quantile(0.5, "attnserve_request_duration_seconds", IM), "p50 {{kernel}}"),
        (quantile(0.95, "attnserve_request_duration_seconds", IM), "p95 {{kernel}}"),
        (quantile(0.99, "attnserve_request_duration_seconds", IM), "p99 {{kernel}}")],
        "s", w=24, h=9,
        description="Arrival to reply, from attnserve_request_duration_seconds.")
    b.panel("timeseries", "Queue wait by kernel (p50 / p99)", [
        (quantile(0.5, "attnserve_queue_duration_seconds", IM), "p50 {{kernel}}"),
        (quantile(0.99, "attnserve_queue_duration_seconds", IM), "p99 {{kernel}}")], "s")
    b.panel("timeseries", "Compute time by kernel (p50 / p99)", [
        (quantile(0.5, "attnserve_compute_duration_seconds", IM), "p50 {{kernel}}"),
        (quantile(0.99, "attnserve_compute_duration_seconds", IM), "p99 {{kernel}}")], "s")
    b.row("Admission")
    b.panel("timeseries", "Queue depth and in-flight", [
        (f"sum by (instance) (attnserve_queue_depth{{{I}}})", "queued {{instance}}"),
        (f"sum by (instance) (attnserve_queue_capacity{{{I}}})", "capacity {{instance}}"),
        (f"sum by (instance) (attnserve_in_flight_requests{{{I}}})", "in flight {{instance}}"),
        (f"sum by (instance) (attnserve_workers{{{I}}})", "workers {{instance}}"),
        (f"sum by (instance) (attnserve_cpus_in_use{{{I}}})", "CPUs in use {{instance}}"),
        (f"sum by (instance) (attnserve_cpu_budget{{{I}}})", "CPU budget {{instance}}")], "short")
    b.panel("timeseries", "Texts per request (mean)", [
        (f"sum by (rpc) (rate(attnserve_batch_size_sum{{{I}}}[{RI}])) / "
         f"sum by (rpc) (rate(attnserve_batch_size_count{{{I}}}[{RI}]))", "{{rpc}}")], "short")
    return dashboard("attnserve-overview", "attnserve / Overview",
                     "Request rate, errors, latency by attention kernel, admission queue.",
                     b, ["overview"], EVENT_ANNOTATIONS)


def efficiency():
    b = Board()
    b.row("Power and energy")
    b.panel("timeseries", "Power by source", [
        (f"sum by (instance, source) (attnserve_power_watts{{{I}}})", "{{instance}} {{source}}")],
        "watt", description="source=estimate is a load model, not a reading (docs/POWER.md).")
    b.panel("timeseries", "Energy rate by source", [
        (rate("attnserve_energy_joules_total", I, "instance, source"),
         "{{instance}} {{source}}")], "watt",
        description="rate(attnserve_energy_joules_total): average power over the interval.")
    b.panel("timeseries", "Energy per request by kernel", [
        (f"sum by (kernel) (rate(attnserve_request_energy_joules_sum{{{IM}}}[{RI}])) / "
         f"sum by (kernel) (rate(attnserve_request_energy_joules_count{{{IM}}}[{RI}]))",
         "{{kernel}}")], "joule",
        description="Mean energy attributed to a request (by its CPU share), per kernel.")
    b.panel("timeseries", "Energy per request p90 by kernel", [
        (quantile(0.9, "attnserve_request_energy_joules", IM), "p90 {{kernel}}")], "joule")
    b.panel("timeseries", "Energy per 1000 tokens", [
        (f"1000 * sum(rate(attnserve_request_energy_joules_sum{{{IM}}}[{RI}])) / "
         f"sum(rate(attnserve_tokens_used_total{{{IM}}}[{RI}]))", "J / 1k tokens")], "joule")
    b.row("Work avoided")
    b.panel("timeseries", "Tokens pruned ratio", [
        (f"1 - sum by (model) (rate(attnserve_tokens_kept_total{{{IM}}}[{RI}])) / "
         f"sum by (model) (rate(attnserve_tokens_used_total{{{IM}}}[{RI}]))", "pruned {{model}}"),
        (f"1 - sum by (model) (rate(attnserve_tokens_used_total{{{IM}}}[{RI}])) / "
         f"sum by (model) (rate(attnserve_tokens_in_total{{{IM}}}[{RI}]))", "clipped {{model}}")],
        "percentunit", description="pruned: tokens dropped between the first and the last "
        "layer run (kept vs used); clipped: tokens cut by max_tokens (used vs in).")
    b.panel("timeseries", "Tokens / s", [
        (rate("attnserve_tokens_in_total", IM, "model"), "in {{model}}"),
        (rate("attnserve_tokens_used_total", IM, "model"), "used {{model}}"),
        (rate("attnserve_tokens_kept_total", IM, "model"), "kept {{model}}")], "short")
    b.panel("timeseries", "Layers run per request (mean, early exit)", [
        (f"sum by (model) (rate(attnserve_exit_layer_sum{{{IM}}}[{RI}])) / "
         f"sum by (model) (rate(attnserve_exit_layer_count{{{IM}}}[{RI}]))", "{{model}}")],
        "short")
    p = b.panel("bargauge", "Exit layer distribution (requests per bucket)", [
        (f"sum by (le) (increase(attnserve_exit_layer_bucket{{{IM}}}[{RI}]))", "<= {{le}}")],
        "short")
    p["targets"][0]["format"] = "heatmap"
    b.panel("timeseries", "Attention pairs scored fraction by kernel", [
        (f"sum by (kernel) (rate(attnserve_attention_pairs_scored_total{{{IM}}}[{RI}])) / "
         f"sum by (kernel) (rate(attnserve_attention_pairs_dense_total{{{IM}}}[{RI}]))",
         "{{kernel}}")], "percentunit",
        description="Query-key pairs scored / pairs dense attention would score.")
    b.panel("timeseries", "Requests by dense-layer precision", [
        (rate("attnserve_linear_precision_requests_total", IM, "precision"), "{{precision}}")],
        "reqps", description="f32, or the int8 / bf16 dense layers a request or the policy "
        "asked for (docs/QUANTIZATION.md).")
    b.row("Compute")
    b.panel("timeseries", "FLOP/s by kernel", [
        (rate("attnserve_flops_total", IM, "kernel"), "{{kernel}}")], "short")
    b.panel("timeseries", "Attention share of compute time by kernel", [
        (f"sum by (kernel) (rate(attnserve_attention_seconds_total{{{IM}}}[{RI}])) / "
         f"sum by (kernel) (rate(attnserve_compute_duration_seconds_sum{{{IM}}}[{RI}]))",
         "{{kernel}}")], "percentunit")
    b.panel("timeseries", "Engine CPU seconds per request by kernel", [
        (f"sum by (kernel) (rate(attnserve_engine_cpu_seconds_total{{{IM}}}[{RI}])) / "
         f"sum by (kernel) (rate(attnserve_compute_duration_seconds_count{{{IM}}}[{RI}]))",
         "{{kernel}}")], "s")
    b.text("Quality-cost trade-off",
           "The quality of each attention kernel against dense attention (cosine similarity of "
           "the embeddings, per kernel and length) is measured offline, not by the server: see "
           "`docs/ATTENTION_QUALITY.md` and `bench/kernel_quality.cc`. When the evaluation "
           "exports `docs/results/quality.json`, read it beside the *Energy per request by "
           "kernel* and *Attention pairs scored fraction* panels above to place each kernel on "
           "the quality / energy curve.", w=24, h=5)
    return dashboard("attnserve-efficiency", "attnserve / Efficiency",
                     "Power, energy per request, tokens pruned, early exit, attention work.",
                     b, ["efficiency", "energy"])


def runtime():
    b = Board()
    b.row("Process")
    b.panel("timeseries", "Process CPU (cores)", [
        (f"sum by (instance) (rate(attnserve_process_cpu_seconds_total{{{I}}}[{RI}]))",
         "{{instance}}")], "short")
    b.panel("timeseries", "Engine CPU by kernel (cores)", [
        (rate("attnserve_engine_cpu_seconds_total", IM, "kernel"), "{{kernel}}")], "short")
    b.panel("timeseries", "Memory", [
        (f"sum by (instance) (attnserve_process_resident_memory_bytes{{{I}}})",
         "resident {{instance}}"),
        (f"sum by (instance) (attnserve_process_virtual_memory_bytes{{{I}}})",
         "virtual {{instance}}")], "bytes")
    b.panel("timeseries", "Threads", [
        (f"sum by (instance) (attnserve_process_threads{{{I}}})", "{{instance}}")], "short")
    b.panel("stat", "Uptime", [
        (f"time() - max by (instance) (attnserve_process_start_time_seconds{{{I}}})",
         "{{instance}}")], "s", w=6, h=4)
    b.panel("stat", "Scrape up", [(f"min by (instance) (up{{{I}}})", "{{instance}}")],
            w=6, h=4)
    b.panel("stat", "Build", [
        (f"max by (version, gemm_backend) (attnserve_build_info{{{I}}})",
         "{{version}} ({{gemm_backend}})")],
        w=6, h=4, textMode="name")
    b.panel("stat", "Served model", [
        (f"max by (model, family) (attnserve_model_info{{{IM}}})", "{{model}} ({{family}})")],
        w=6, h=4, textMode="name")
    b.row("Policy and model")
    b.panel("timeseries", "Policy version and model generation", [
        (f"max by (instance) (attnserve_policy_version{{{I}}})", "policy {{instance}}"),
        (f"max by (instance) (attnserve_model_generation{{{I}}})", "model {{instance}}")],
        "short")
    b.panel("timeseries", "Policy changes and model reloads", [
        (rate("attnserve_policy_changes_total", I, "instance", fn="increase"),
         "policy changes {{instance}}"),
        (rate("attnserve_model_reloads_total", I, "instance, result", fn="increase"),
         "reloads {{result}} {{instance}}")], "short",
        description="Also drawn as annotations on every time series.")
    return dashboard("attnserve-runtime", "attnserve / Runtime",
                     "Process CPU, memory, threads; policy changes and model reloads.",
                     b, ["runtime"], EVENT_ANNOTATIONS)


BOARDS = {"attnserve-overview.json": overview, "attnserve-efficiency.json": efficiency,
          "attnserve-runtime.json": runtime}


def render(fn):
    return json.dumps(fn(), indent=2, sort_keys=False) + "\n"


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for name, fn in BOARDS.items():
        path = os.path.join(HERE, name)
        text = render(fn)
        if check:
            try:
                with open(path, encoding="utf-8") as f:
                    if f.read() != text:
                        stale.append(name)
            except FileNotFoundError:
                stale.append(name)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    if stale:
        print("stale (run python3 dashboards/generate.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
