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

Each curve has its own colour (tab10 less its grey); the legend, outside the data on the
right, names each colour once and explains the line styles once. Up to five curves share one
panel; more get one panel per deployment (and, past five policies, more than one), so that no
legend carries more than eight entries.
"""
import argparse
import json
import os
import sys
import textwrap

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
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


MAX_LEGEND = 8
PALETTE = tuple(c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 7)[:MAX_LEGEND]
STYLES = [("TPOT p50", {"marker": "o", "linestyle": "-", "markersize": 4}),
          ("TPOT p99", {"linestyle": "--", "alpha": 0.7}),
          ("lightest load (one user)", {"marker": "o", "linestyle": "none", "markersize": 10,
                                        "markerfacecolor": "none", "markeredgewidth": 2})]


def deployment(doc):
    return f"{doc['model']}, {doc['gpus']} GPUs ({doc['deployment']})"


def panels(docs):
    """[(panel title, [(legend text, doc, points)])]: every curve in one panel where they fit
    beside the styles, else one panel per deployment, split where its policies do not fit."""
    budget = MAX_LEGEND - len(STYLES)
    everything = [(f"{deployment(doc)}, {policy}", doc, pts)
                  for _, doc, by_policy in docs for policy, pts in by_policy.items()]
    if len(everything) <= budget:
        return [("", everything)]
    out = []
    for _, doc, by_policy in docs:
        curves = [(policy, doc, pts) for policy, pts in by_policy.items()]
        parts = [curves[i:i + budget] for i in range(0, len(curves), budget)]
        for j, part in enumerate(parts):
            tag = f" ({j + 1} of {len(parts)})" if len(parts) > 1 else ""
            out.append((deployment(doc) + tag, part))
    return out


def draw(ax, curves):
    """The curves of one panel, one colour each, and its legend outside the axes."""
    for (label, doc, pts), c in zip(curves, PALETTE):
        x = [p[1] for p in pts]
        ax.plot(x, [p[2] * 1e3 for p in pts], "o-", color=c, markersize=4)
        ax.plot(x, [p[3] * 1e3 for p in pts], "--", color=c, alpha=0.7)
        lightest = next((p for p in pts if p[4]), pts[0])
        ax.plot([lightest[1]], [lightest[2] * 1e3], "o", ms=10, mfc="none", mec=c, mew=2)
        ax.annotate("one user" if lightest[4] else f"lightest load ({lightest[0]:g})",
                    (lightest[1], lightest[2] * 1e3), textcoords="offset points",
                    xytext=(8, -14), fontsize=8, color=c)
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_formatter(FuncFormatter(plain))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, pos: ""))
    ax.grid(True, which="both", alpha=0.3)
    handles = ([Patch(facecolor=c, edgecolor=c, label=textwrap.fill(label, 36))
                for (label, _, _), c in zip(curves, PALETTE)] +
               [Line2D([], [], color="0.35", label=label, **kw) for label, kw in STYLES])
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1),
              borderaxespad=0)


def figure(docs):
    """The figure of [(path, doc, curves(doc))]."""
    plan = panels(docs)
    n = len(plan)
    fig, axes = plt.subplots(n, 1, figsize=(10.5, 5.5 if n == 1 else 4.2 * n), squeeze=False)
    title = "Cheap at scale, dear locally: simulated serving (batchcost serve)"
    for i, (ax, (panel, curves)) in enumerate(zip(axes[:, 0], plan)):
        draw(ax, curves)
        ax.set_title(title + (f"\n{panel}" if panel else "") if i == 0 else panel)
        ax.set_ylabel("time per output token, ms (lower is faster)")
        if i == n - 1:
            ax.set_xlabel("output tokens/s per GPU (higher is cheaper)")
    fig.tight_layout()
    return fig


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="batchcost serve --json outputs")
    ap.add_argument("--out", required=True, help="the figure: .png, .svg or .pdf")
    a = ap.parse_args(argv)
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

    fig = figure(docs)
    fig.savefig(a.out, bbox_inches="tight", pad_inches=0.15)
    print(f"serve_plot.py: wrote {a.out}")


if __name__ == "__main__":
    main()
