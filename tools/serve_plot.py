#!/usr/bin/python3
# (Debian's python3, which has python3-matplotlib; elsewhere run it as `python3 tools/serve_plot.py`.)
"""The picture of "cheap at scale, dear locally": latency against throughput per GPU.

  tools/serve_plot.py SERVE.json [SERVE.json ...] --out FILE.png|.svg|.pdf

Each SERVE.json is the output of `batchcost serve --json` for one deployment (one model on one
set of GPUs) over a sweep of loads (--rate or --users). For each deployment and policy the figure
draws the time per output token (TPOT) at the median (solid) and at p99 (dashed) against the
output tokens per second per GPU, one point per load; the lightest load (one user, where the
sweep has --users 1) is ringed: the slowest throughput per GPU at the best latency, what a
deployment costs when it serves one user.
"""
import argparse
import json
import os
import sys

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter
except ImportError:  # pragma: no cover - the test skips instead
    sys.exit("serve_plot.py: needs matplotlib (Debian: apt-get install python3-matplotlib)")


def plain(value, _pos=None):
    """Tick labels as plain numbers (1, 10, 0.1), not 10^k."""
    return f"{value:g}"


def curves(doc):
    """{policy: [(load, tokens/s/GPU, tpot p50, tpot p99, is_one_user)]} sorted by load."""
    out = {}
    for p in doc["points"]:
        load = p.get("users", p.get("rate"))
        one = p.get("users") == 1
        out.setdefault(p["policy"], []).append(
            (load, p["tokens_per_s_per_gpu"], p["tpot_s"]["p50"], p["tpot_s"]["p99"], one))
    return {k: sorted(v) for k, v in out.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="batchcost serve --json outputs")
    ap.add_argument("--out", required=True, help="the figure: .png, .svg or .pdf")
    a = ap.parse_args()
    if os.path.splitext(a.out)[1] not in (".png", ".svg", ".pdf"):
        sys.exit(f"serve_plot.py: --out {a.out}: the name must end in .png, .svg or .pdf")
    docs = []
    for path in a.inputs:
        try:
            with open(path) as f:
                doc = json.load(f)
            docs.append((path, doc, curves(doc)))
        except (OSError, ValueError, KeyError, TypeError) as e:
            sys.exit(f"serve_plot.py: {path}: not a batchcost serve --json output ({e})")
    points = sum(len(v) for _, _, c in docs for v in c.values())
    if points < 2:
        sys.exit("serve_plot.py: fewer than two load points: nothing to draw a curve through")

    fig, ax = plt.subplots(figsize=(8, 5.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    i = 0
    for path, doc, by_policy in docs:
        for policy, pts in by_policy.items():
            c = colours[i % len(colours)]
            i += 1
            label = f"{doc['model']}, {doc['gpus']} GPUs ({doc['deployment']}), {policy}"
            x = [p[1] for p in pts]
            ax.plot(x, [p[2] * 1e3 for p in pts], "o-", color=c, label=label + ": TPOT p50")
            ax.plot(x, [p[3] * 1e3 for p in pts], "--", color=c, alpha=0.7, label="  p99")
            lightest = next((p for p in pts if p[4]), pts[0])
            ax.plot([lightest[1]], [lightest[2] * 1e3], "o", ms=14, mfc="none", mec=c, mew=2)
            ax.annotate("one user" if lightest[4] else f"lightest load ({lightest[0]:g})",
                        (lightest[1], lightest[2] * 1e3), textcoords="offset points",
                        xytext=(8, -14), fontsize=8, color=c)
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_formatter(FuncFormatter(plain))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, pos: ""))
    ax.set_xlabel("output tokens/s per GPU (higher is cheaper)")
    ax.set_ylabel("time per output token, ms (lower is faster)")
    ax.set_title("Cheap at scale, dear locally: simulated serving (batchcost serve)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(a.out)
    print(f"serve_plot.py: wrote {a.out}")


if __name__ == "__main__":
    main()
