#!/usr/bin/env python3
"""Turns one run of attention_bench (JSON) into the kernel-level Markdown
tables of docs/ATTENTION.md and a log-log plot of time vs n. Speed-ups are
taken against dense at the same n and thread count in the same run.

usage: attention_report.py BENCH_JSON MACHINE_TXT PLOT_PNG
"""
import json
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

NAME = re.compile(r"attention/([^/]+)/n:(\d+)/threads:(\d+)")
TARGET_N = 4096


def load(path):
    data = json.load(open(path))
    info = {}
    for key, value in data["context"].items():
        if key.startswith("kernel:"):
            exact, time_c, mem_c = value.split("|")
            info[key[len("kernel:"):]] = {"exact": exact, "time": time_c, "memory": mem_c}
    runs = {}
    order = []
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        m = NAME.match(b.get("run_name", b["name"]))
        if not m or b.get("error_occurred"):
            continue
        kernel, n, threads = m.group(1), int(m.group(2)), int(m.group(3))
        scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
        runs[(kernel, n, threads)] = {
            "ms": b["real_time"] * scale,
            "mib": b.get("peak_extra_MiB", float("nan")),
            "pairs": b.get("pairs_fraction", float("nan")),
        }
        if kernel not in order:
            order.append(kernel)
    return data["context"], info, runs, order


def subquadratic(info, kernel):
    return "n^2" not in info.get(kernel, {}).get("time", "n^2")


def main():
    bench_path, machine_path, plot_path = sys.argv[1:4]
    context, info, runs, kernels = load(bench_path)
    sizes = sorted({n for (_, n, _) in runs})
    threads_list = sorted({t for (_, _, t) in runs})

    def speedup(kernel, n, t):
        base, own = runs.get(("dense", n, t)), runs.get((kernel, n, t))
        return base["ms"] / own["ms"] if base and own else float("nan")

    out = [open(machine_path).read().strip(), ""]
    out.append(f"Load average reported by Google Benchmark at its start: "
               f"{', '.join(f'{x:.2f}' for x in context.get('load_avg', []))}. "
               "Times are wall-clock per call (median where repeated).")
    out.append("")
    for t in threads_list:
        out.append(f"### {t} thread(s): ms per call (speed-up over dense)")
        out.append("")
        out.append("| kernel | " + " | ".join(f"n={n}" for n in sizes) + " |")
        out.append("|---|" + "---:|" * len(sizes))
        for k in kernels:
            cells = []
            for n in sizes:
                r = runs.get((k, n, t))
                cells.append(f"{r['ms']:.2f} ({speedup(k, n, t):.1f}x)" if r else "n/a")
            out.append(f"| {k} | " + " | ".join(cells) + " |")
        out.append("")
    out.append("### Peak extra memory of one call, MiB (1 thread; 2 threads in brackets), "
               "and fraction of pairs scored at the largest n")
    out.append("")
    out.append("| kernel | " + " | ".join(f"n={n}" for n in sizes) + " | pairs scored |")
    out.append("|---|" + "---:|" * (len(sizes) + 1))
    for k in kernels:
        cells = []
        for n in sizes:
            one, two = runs.get((k, n, 1)), runs.get((k, n, 2))
            def mib(r):
                return f"{r['mib']:.1f}" if r and r["mib"] >= 0 else "n/a"
            cell = mib(one) + (f" ({mib(two)})" if two else "")
            cells.append(cell)
        last = runs.get((k, sizes[-1], threads_list[0]))
        cells.append(f"{100 * last['pairs']:.1f}%" if last else "n/a")
        out.append(f"| {k} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("### Targets (kernel-level)")
    out.append("")
    for k in kernels:
        if k == "dense":
            continue
        if k == "flash":
            worst = min((speedup(k, n, t), n, t) for n in sizes if n >= 1024 for t in threads_list)
            ok = worst[0] >= 1.0
            out.append(f"- flash no slower than dense from n=1024: {'met' if ok else 'MISSED'} "
                       f"(lowest speed-up {worst[0]:.2f}x at n={worst[1]}, {worst[2]} thread(s))")
        elif subquadratic(info, k) and TARGET_N in sizes:
            s = [speedup(k, TARGET_N, t) for t in threads_list]
            ok = all(x >= 8.0 for x in s)
            out.append(f"- {k} >= 8x dense at n={TARGET_N}: {'met' if ok else 'MISSED'} ("
                       + ", ".join(f"{x:.1f}x at {t} thread(s)" for x, t in zip(s, threads_list))
                       + ")")
    print("\n".join(out))

    fig, axes = plt.subplots(1, len(threads_list), figsize=(7 * len(threads_list), 6),
                             sharey=True, squeeze=False)
    for ax, t in zip(axes[0], threads_list):
        for i, k in enumerate(kernels):
            xs = [n for n in sizes if (k, n, t) in runs]
            ys = [runs[(k, n, t)]["ms"] for n in xs]
            style = "-" if info.get(k, {}).get("exact") == "exact" else "--"
            ax.plot(xs, ys, style, marker="o", markersize=3, label=k,
                    linewidth=2.5 if k in ("dense", "flash") else 1.2,
                    color=plt.cm.tab20(i % 20))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length n")
        ax.set_title(f"{t} thread(s), 4 heads x 64, kernel-level")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("ms per call")
    axes[0][-1].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(plot_path, dpi=110)


if __name__ == "__main__":
    main()
