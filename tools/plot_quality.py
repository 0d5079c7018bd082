#!/usr/bin/python3
"""Pareto plot of the quality grid: accuracy retention against mean latency
(relative to dense) per data set, and embedding cosine against speed-up for
the long passages; the Pareto front of each series is joined by a line.
Prints the configurations closest to the targets of docs/QUALITY.md.

  /usr/bin/python3 tools/plot_quality.py QUALITY_JSON LONG_JSON OUT_PNG

Needs Debian's python3-matplotlib (hence /usr/bin/python3)."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def pareto(points):
    """Indices of (cost, quality) points no other point beats, by cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def summarize(rows, long_rows):
    """Prints, per data set, the configurations closest to the targets:
    retention >= 97.3% at >= 2x (classification), cosine >= 0.97 at >= 5x
    (4,096 tokens)."""
    dense_ms = {r["dataset"]: r["latency_mean_ms"] for r in rows if r["config"] == "dense"}
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        sub = [dict(r, speedup=dense_ms[dataset] / r["latency_mean_ms"])
               for r in rows if r["dataset"] == dataset and r["config"] != "dense"]
        keep = [r for r in sub if r["retention"] >= 0.973]
        fast = [r for r in sub if r["speedup"] >= 2]
        both = [r for r in keep if r["speedup"] >= 2]
        print(f"{dataset}: dense {dense_ms[dataset]:.2f} ms")
        for what, pool, key in (("met (fastest)", both, "speedup"),
                                ("fastest at >= 97.3%", keep, "speedup"),
                                ("best retention at >= 2x", fast, "retention")):
            if pool:
                r = max(pool, key=lambda r: r[key])
                print(f"  {what}: {r['config']} retention {r['retention']:.3f} "
                      f"{r['speedup']:.2f}x flops {r['relative_flops']:.2f}")
            else:
                print(f"  {what}: none")
    for tokens in sorted({r["tokens"] for r in long_rows}):
        sub = [r for r in long_rows if r["tokens"] == tokens and r["config"] != "dense"]
        keep = [r for r in sub if r["cosine_mean"] >= 0.97]
        fast = [r for r in sub if r["speedup"] >= 5]
        print(f"long {tokens}:")
        for what, pool, key in (("fastest at cosine >= 0.97", keep, "speedup"),
                                ("best cosine at >= 5x", fast, "cosine_mean")):
            if pool:
                r = max(pool, key=lambda r: r[key])
                print(f"  {what}: {r['config']} cosine {r['cosine_mean']:.4f} "
                      f"{r['speedup']:.2f}x flops {r['relative_flops']:.2f}")
            else:
                print(f"  {what}: none")


def main(quality_path, long_path, out_path):
    with open(quality_path) as f:
        rows = json.load(f)
    try:
        with open(long_path) as f:
            long_rows = json.load(f)
    except FileNotFoundError:
        long_rows = []
    fig, axes = plt.subplots(1, 2 if long_rows else 1, figsize=(14 if long_rows else 8, 6))
    if not long_rows:
        axes = [axes]

    ax = axes[0]
    dense_ms = {r["dataset"]: r["latency_mean_ms"] for r in rows if r["config"] == "dense"}
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        sub = [r for r in rows if r["dataset"] == dataset]
        pts = [(r["latency_mean_ms"] / dense_ms[dataset], r["retention"]) for r in sub]
        sc = ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=14, alpha=0.6, label=dataset)
        front = pareto(pts)
        ax.plot([pts[i][0] for i in front], [pts[i][1] for i in front], color=sc.get_facecolor()[0])
        for i in front:
            ax.annotate(sub[i]["config"], pts[i], fontsize=6, xytext=(3, 2),
                        textcoords="offset points")
    ax.axhline(0.973, color="grey", ls="--", lw=0.8)
    ax.axvline(0.5, color="grey", ls=":", lw=0.8)
    ax.text(0.5, ax.get_ylim()[0], " 2x faster", fontsize=7, va="bottom")
    ax.set_xlabel("mean end-to-end latency / dense (1 thread, batch 1)")
    ax.set_ylabel("accuracy retention (accuracy / dense accuracy)")
    ax.set_title("Classification: retention vs latency (dashed: 97.3%)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)

    if long_rows:
        ax = axes[1]
        for tokens in sorted({r["tokens"] for r in long_rows}):
            sub = [r for r in long_rows if r["tokens"] == tokens]
            pts = [(1 / r["speedup"], r["cosine_mean"]) for r in sub]
            sc = ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=14, alpha=0.6,
                            label=f"{tokens} tokens")
            front = pareto(pts)
            ax.plot([pts[i][0] for i in front], [pts[i][1] for i in front],
                    color=sc.get_facecolor()[0])
            for i in front:
                ax.annotate(sub[i]["config"], pts[i], fontsize=6, xytext=(3, 2),
                            textcoords="offset points")
        ax.axhline(0.97, color="grey", ls="--", lw=0.8)
        ax.axvline(0.2, color="grey", ls=":", lw=0.8)
        ax.set_xscale("log")
        ax.set_ylim(max(0.5, min(r["cosine_mean"] for r in long_rows) - 0.02), 1.005)
        ax.set_xlabel("latency / dense (log; dotted: 5x faster)")
        ax.set_ylabel("embedding cosine to dense")
        ax.set_title("Long prose passages (dashed: cosine 0.97)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)

    summarize(rows, long_rows)
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    print(f"plot_quality: wrote {out_path}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
