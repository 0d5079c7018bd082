#!/usr/bin/env python3
"""Turns one run of engine_bench (JSON) and tfjs_bench (JSON) into the
Markdown table of docs/PERFORMANCE.md. Ratios are taken within the run.

usage: report.py ENGINE_JSON TFJS_JSON PEAK_RSS_JSON MACHINE_TXT
"""
import json
import sys


def main():
    engine_path, tfjs_path, rss_path, machine_path = sys.argv[1:5]
    engine = json.load(open(engine_path))
    tfjs = {c["name"]: c for c in json.load(open(tfjs_path))["cases"]}
    rss = json.load(open(rss_path))
    machine = open(machine_path).read().strip()

    def real_ms(b):
        scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
        return b["real_time"] * scale

    limit = {}
    rows = []
    for b in engine["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b["run_name"] if "run_name" in b else b["name"]
        if name.startswith("gemm_limit"):
            threads = int(name.split("/")[4])
            limit[threads] = max(limit.get(threads, 0.0), b["GFLOPS"])  # already GFLOP/s
        elif name.startswith("embed/"):
            case = name.split("/")[1]
            threads = int(name.split("threads:")[1].split("/")[0])
            rows.append((case, threads, real_ms(b), b["GFLOPS"], b))

    out = []
    out.append(machine)
    out.append("")
    out.append("f32 GEMM limit measured in this run: " +
               ", ".join(f"{t} thread(s) {g:.1f} GFLOP/s" for t, g in sorted(limit.items())))
    out.append("")
    out.append("| case | tokens | texts | threads | attnserve ms | GFLOP/s | % of GEMM limit "
               "| tfjs-wasm ms (1 thread) | speed-up vs tfjs |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for case, threads, ms, gflops, b in rows:
        ref = tfjs.get(case)
        ref_ms = f"{ref['median_ms']:.2f}" if ref else "n/a"
        speedup = f"{ref['median_ms'] / ms:.1f}x" if ref else "n/a"
        share = 100.0 * gflops / limit[threads] if threads in limit else float("nan")
        out.append(f"| {case} | {int(b['tokens'])} | {int(b['texts'])} | {threads} | {ms:.2f} "
                   f"| {gflops:.1f} | {share:.0f}% | {ref_ms} | {speedup} |")
    out.append("")
    out.append(f"Peak resident memory, {rss['case']} ({rss['tokens']} tokens, dense attention): "
               f"{rss['peak_rss_mib']:.0f} MiB (after loading the model: "
               f"{rss['rss_after_load_mib']:.0f} MiB).")
    print("\n".join(out))


if __name__ == "__main__":
    main()
