#!/usr/bin/python3
# (Debian's python3, which has python3-matplotlib; elsewhere run it as `python3 tools/plot.py`.)
"""The pictures of a results folder: what the benchmarks measured, with the fitted model over it.

  tools/plot.py RESULTS_DIR [OTHER_DIR] [--out DIR] [--format png|svg|pdf] [--batchcost PATH]

Takes every sample from `batchcost export` (the folder's *.json but model.json, and its *.log:
the project's own readers, one row a sample) and every model curve from `batchcost validate
--model model.json --json` (the cost model in the form model.json holds, named in the legends),
so no reader and no formula of the model lives here; reads model.json itself only for the values
the legends and the ratio chart print. Writes figures into --out (default: RESULTS_DIR itself),
in --format (png):

  roofline          GEMM TFLOP/s against arithmetic intensity, with the model's at each GEMM
  gemm_tokens       GEMM TFLOP/s against tokens (M) for each layer shape (N, K), with the model's
                    per shape: where decode GEMMs sit far below the roof
  memory            memory bandwidth against bytes moved, with the model's
  launch            launch, kernel, graph and sync costs against the number of events, with the
                    model's
  moe               MoE time per token against batch for each strategy, the model's
                    prediction (batchcost validate) drawn over it
  collectives       bus bandwidth against bytes received per GPU, with the model's (its
                    latency-bandwidth regimes)
  transfers         host-device copies (h2d, d2h): GB/s against bytes, with the model's
  speed_cost        predicted tokens/s per user against GPU-hours per million tokens for
                    DeepSeek-V3 and Llama-3-70B (batchcost predict --json); batches whose weights
                    and KV cache exceed a GPU's memory are marked with a red cross
With OTHER_DIR, the two GPUs side by side:
  compare           the fitted constants' ratios
  hbm_overlay       HBM bandwidth against bytes moved, both GPUs
  gemm_overlay      GEMM TFLOP/s against M for each layer shape (N, K), both GPUs
  busbw_overlay     bus bandwidth against bytes received per GPU, per collective, both GPUs

A figure whose data is absent or too thin (fewer than two sizes) is skipped, saying why. Log axes
carry plain tick labels (1, 2, 5, 10; 1 KiB, 1 MiB), never 1.4×10⁰. Needs matplotlib (Debian:
python3-matplotlib) and `batchcost`, taken from --batchcost, else build*/tools/batchcost in this
checkout, else PATH.
"""
import argparse
import csv
import glob
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker
except ImportError:  # pragma: no cover - the test skips instead
    sys.exit("plot.py: needs matplotlib (Debian: apt-get install python3-matplotlib)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COUNTERS = ("flops", "bytes", "net_bytes", "launches", "kernels", "graph_nodes", "syncs",
            "collectives")
EVENTS = ("launches", "kernels", "graph_nodes", "syncs")  # the latency counters
FORMAT = {"ext": "png"}  # --format


class Results:
    """One folder: its samples (batchcost export), the model's time of each (batchcost validate),
    the model.json constants, the GPU's name."""

    def __init__(self, folder, batchcost):
        self.folder = folder
        self.model = None
        model_json = os.path.join(folder, "model.json")
        if os.path.isfile(model_json):
            with open(model_json) as f:
                self.model = json.load(f)
        logs = sorted(glob.glob(os.path.join(folder, "*.log")))
        self.samples = export_samples(batchcost, [folder] + logs)
        gpus = sorted({s["gpu"] for s in self.samples if s["gpu"]})
        self.gpu = gpus[0] if gpus else os.path.basename(os.path.normpath(folder))
        if self.model:
            self.gpu = self.model.get("hardware", {}).get("gpu_name", self.gpu)
        self.predicted = predicted_times(batchcost, folder, logs, self.model)

    def family(self, name):
        return [s for s in self.samples if s["name"].split("/")[0] == name]

    def constants(self):
        return (self.model or {}).get("constants", {})

    def form(self):
        """The form of the cost model model.json holds, for the legends."""
        return (self.model or {}).get("form", "epoch")


def export_samples(batchcost, paths):
    """Every sample of these folders and files, read by batchcost's own readers (`batchcost
    export`): its median row (the time the fitter uses), with its GPU's name."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "samples.csv")
        done = subprocess.run([batchcost, "export", *paths, "--csv", out, "--medians"],
                              capture_output=True, text=True)
        if done.returncode != 0:
            print(f"plot.py: no samples read from {paths[0]}: {done.stderr.strip()}",
                  file=sys.stderr)
            return []
        with open(out, newline="") as f:
            rows = [row for row in csv.DictReader(f) if row["kind"] == "median"]
    samples = []
    for row in rows:
        labels = {k[len("label_"):]: v for k, v in row.items() if k.startswith("label_") and v}
        s = {"name": row["name"], "time_s": float(row["time_s"]), "labels": labels,
             "ranks": int(row["ranks"] or 0), "gpu": row.get("gpu_name", "")}
        for c in COUNTERS:
            s[c] = float(row.get(c) or 0)
        samples.append(s)
    return samples


def predicted_times(batchcost, folder, logs, model):
    """Benchmark name -> the model's time, from `batchcost validate --model` (the one formula,
    in model.json's form); empty without a model.json."""
    if not model:
        return {}
    run = subprocess.run([batchcost, "validate", folder, *logs, "--model",
                          os.path.join(folder, "model.json"), "--json"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        print(f"plot.py: no model curves for {folder}: {run.stderr.strip()}", file=sys.stderr)
        return {}
    return {b["name"]: b["predicted_s"] for b in json.loads(run.stdout)["benchmarks"]
            if b.get("predicted_s")}


def model_line(ax, r, points, style="--", **kwargs):
    """The model's curve through (x, samples -> y) points of measured samples, where the model
    prices them: `points` is [(x, sample, y_of(time_s))]."""
    drawn = [(x, y(r.predicted[s["name"]])) for x, s, y in sorted(points, key=lambda t: t[0])
             if s["name"] in r.predicted]
    if drawn:
        ax.plot(*zip(*drawn), style, **kwargs)
    return bool(drawn)


def new_figure(title):
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=100)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    return fig, ax


def format_bytes(v):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(v) < 1024 or unit == "TiB":
            return f"{v:g} {unit}"
        v /= 1024


def format_plain(v):
    """A tick label a person reads: 0.5, 2, 100, 20k, 1M; never 1.4×10⁰."""
    if v == 0:
        return "0"
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e4, "k")):
        if abs(v) >= scale:
            return f"{v / (scale if suffix != 'k' else 1e3):g}{suffix}"
    return f"{v:g}"


def plain_log_axis(ax, which, kind="number"):
    """Plain labels on a log axis: powers of 2 in KiB/MiB/GiB for bytes; 1-2-5 steps (or
    powers of ten over wide ranges) for other numbers. Minor ticks stay unlabelled."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    lo, hi = ax.get_xlim() if which == "x" else ax.get_ylim()
    lo, hi = max(min(lo, hi), 1e-30), max(lo, hi)
    if kind == "bytes":
        first, last = math.ceil(math.log2(lo)), math.floor(math.log2(hi))
        if last - first >= 1:
            step = next(s for s in (1, 2, 4, 10, 20) if (last - first) / s <= 8)
            ticks = [2.0 ** e for e in range(first, last + 1) if e % step == 0]
            ticks = ticks if len(ticks) >= 2 else [2.0 ** e for e in range(first, last + 1)]
        else:  # within a factor of 2: evenly spaced
            ticks = [t for t in ticker.MaxNLocator(nbins=4).tick_values(lo, hi) if lo <= t <= hi]
        axis.set_major_locator(ticker.FixedLocator(ticks))
        axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: format_bytes(v)))
    else:
        # The coarsest 1-2-5 family that puts 3 or more ticks inside the range; a range under a
        # factor of 2 or so gets evenly spaced plain ticks instead.
        ticks = []
        for subs in ((1.0,), (1.0, 2.0, 5.0), tuple(float(i) for i in range(1, 10))):
            ticks = [m * 10.0 ** e for e in range(math.floor(math.log10(lo)) - 1,
                                                    math.ceil(math.log10(hi)) + 1)
                     for m in subs if lo <= m * 10.0 ** e <= hi]
            if len(ticks) >= 3:
                break
        if len(ticks) < 3:
            ticks = [t for t in ticker.MaxNLocator(nbins=5).tick_values(lo, hi) if lo <= t <= hi]
        axis.set_major_locator(ticker.FixedLocator(ticks))
        axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: format_plain(v)))
    axis.set_minor_formatter(ticker.NullFormatter())


def save(fig, out, name, written):
    path = os.path.join(out, f"{name}.{FORMAT['ext']}")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    written.append(path)


def finish_log_log(fig, ax, out, name, written, xlabel, ylabel, x_kind="number", x_base=10,
                   legend_size=8, **legend):
    """Both axes logarithmic with plain tick labels (x in bytes where x_kind is "bytes"), the
    axis labels and the legend; then the figure is saved."""
    ax.set_xscale("log", base=x_base)
    ax.set_yscale("log")
    plain_log_axis(ax, "x", x_kind)
    plain_log_axis(ax, "y")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=legend_size, **legend)
    save(fig, out, name, written)


def too_thin(xs, what):
    """Why a curve over `xs` would mislead (fewer than two distinct x values), or None."""
    n = len(set(xs))
    if n >= 2:
        return None
    return f"{n} {what} (a curve needs 2 or more)"


def param(name, key):
    for part in name.split("/"):
        if part.startswith(key + ":"):
            try:
                return int(part.split(":", 1)[1])
            except ValueError:
                return None
    return None


def roofline(r, out, written, skipped):
    gemm = [s for s in r.family("gemm") if s["flops"] > 0 and s["bytes"] > 0]
    why = too_thin([s["flops"] / s["bytes"] for s in gemm], "gemm intensities")
    if why:
        return skipped.append(("roofline", why))
    fig, ax = new_figure(f"GEMM roofline: {r.gpu}")
    by_dtype = {}
    for s in gemm:
        by_dtype.setdefault(s["labels"].get("dtype", "?"), []).append(s)
    for dtype, ss in sorted(by_dtype.items()):
        ax.scatter([s["flops"] / s["bytes"] for s in ss],
                   [s["flops"] / s["time_s"] / 1e12 for s in ss], label=f"measured {dtype}", s=18)
    c = r.constants()
    w = c.get("hbm_bytes_per_s")
    for dtype, ss in sorted(by_dtype.items()):
        p = c.get("flops_per_s", {}).get(dtype)
        values = f": P {p / 1e12:.0f} TFLOP/s, W {w / 1e12:.2f} TB/s" if p and w else ""
        # One point per GEMM: the shapes of one intensity differ in size, so no line joins them.
        model_line(ax, r, [(s["flops"] / s["bytes"], s, lambda t, s=s: s["flops"] / t / 1e12)
                           for s in ss], "x", color="black", markersize=5,
                   label=f"model {dtype} ({r.form()}){values}")
    finish_log_log(fig, ax, out, "roofline", written,
                   "arithmetic intensity (FLOP / byte of HBM traffic)", "throughput (TFLOP/s)")


def gemm_shapes(r):
    """(dtype, N, K) -> samples sorted by M, for layer shapes swept over M (2 or more M)."""
    shapes = {}
    for s in r.family("gemm"):
        m, n, k = (param(s["name"], key) for key in ("m", "n", "k"))
        if None in (m, n, k) or s["flops"] <= 0:
            continue
        shapes.setdefault((s["labels"].get("dtype", "?"), n, k), []).append((m, s))
    return {key: sorted(v, key=lambda t: t[0]) for key, v in shapes.items()
            if len({m for m, _ in v}) >= 2 and not all(m == key[1] == key[2] for m, _ in v)}


def gemm_tokens(r, out, written, skipped):
    shapes = gemm_shapes(r)
    if not shapes:
        return skipped.append(("gemm_tokens", "no GEMM shape (N, K) measured at 2 or more M"))
    fig, ax = new_figure(f"GEMM throughput against tokens (M) per layer shape: {r.gpu}")
    for i, ((dtype, n, k), group) in enumerate(sorted(shapes.items())):
        ms = [m for m, _ in group]
        ax.plot(ms, [s["flops"] / s["time_s"] / 1e12 for _, s in group], "o", color=f"C{i}",
                label=f"measured {dtype} N {n}, K {k}")
        model_line(ax, r, [(m, s, lambda t, s=s: s["flops"] / t / 1e12) for m, s in group], "--",
                   color=f"C{i}", label=f"model ({r.form()}) N {n}, K {k}")
    finish_log_log(fig, ax, out, "gemm_tokens", written, "tokens in the batch (GEMM M)",
                   "throughput (TFLOP/s)", x_base=2, legend_size=7)


def memory_samples(r):
    return [s for s in r.family("memory") if s["bytes"] > 0 and s["labels"].get("cache") != "hot"]


def memory(r, out, written, skipped):
    mem = memory_samples(r)
    why = too_thin([s["bytes"] for s in mem], "memory sizes")
    if why:
        return skipped.append(("memory", why))
    fig, ax = new_figure(f"HBM bandwidth: {r.gpu}")
    kinds = {}
    for s in mem:
        kinds.setdefault(s["name"].split("/")[1], []).append(s)
    for i, (kind, ss) in enumerate(sorted(kinds.items())):
        ss.sort(key=lambda s: s["bytes"])
        ax.plot([s["bytes"] for s in ss], [s["bytes"] / s["time_s"] / 1e9 for s in ss], "o",
                color=f"C{i}", label=f"measured {kind}", markersize=4)
    w = r.constants().get("hbm_bytes_per_s")
    for i, (kind, ss) in enumerate(sorted(kinds.items())):
        model_line(ax, r, [(s["bytes"], s, lambda t, s=s: s["bytes"] / t / 1e9) for s in ss],
                   "--", color=f"C{i}",
                   label=f"model {kind} ({r.form()})" + (f", W {w / 1e12:.2f} TB/s" if w else ""))
    finish_log_log(fig, ax, out, "memory", written, "bytes read + written per kernel",
                   "bandwidth (GB/s)", x_kind="bytes")


def events(s):
    return sum(s[c] for c in EVENTS)


def launch(r, out, written, skipped):
    ss = [s for s in r.family("launch") if events(s) > 0]
    why = too_thin([events(s) for s in ss], "launch event counts")
    if why:
        return skipped.append(("launch", why))
    fig, ax = new_figure(f"Launch, kernel and sync costs: {r.gpu}")
    lat = r.constants().get("latency_s", {})
    kinds = {}
    for s in ss:
        kinds.setdefault(s["name"].split("/")[1], []).append(s)
    for i, (kind, group) in enumerate(sorted(kinds.items())):
        group.sort(key=events)
        xs = [events(s) for s in group]
        color = f"C{i}"
        ax.plot(xs, [s["time_s"] * 1e6 for s in group], "o", color=color,
                label=f"measured {kind}")
        model_line(ax, r, [(events(s), s, lambda t: t * 1e6) for s in group], "--", color=color,
                   label=f"model {kind} ({r.form()})")
    text = ", ".join(f"λ[{k}] {v * 1e6:.2f} µs" for k, v in sorted(lat.items()))
    if text:
        ax.text(0.02, 0.97, text, transform=ax.transAxes, va="top", fontsize=8)
    finish_log_log(fig, ax, out, "launch", written,
                   "events per iteration (launches + kernels + graph nodes + syncs)",
                   "time per iteration (µs)", loc="lower right")


def tokens_of(name):
    return param(name, "tokens")


def moe(r, out, written, skipped, batchcost):
    ss = [s for s in r.family("moe") if tokens_of(s["name"])]
    why = too_thin([tokens_of(s["name"]) for s in ss], "moe batch sizes (tokens:B in names)")
    if why:
        return skipped.append(("moe", why))
    routings = {s["labels"].get("routing", "") for s in ss}
    routing = "uniform" if "uniform" in routings else sorted(routings)[0]
    ss = [s for s in ss if s["labels"].get("routing", "") in (routing, "none")]
    predicted = r.predicted
    models = sorted({s["labels"].get("model", "?") for s in ss})
    fig, axes = plt.subplots(1, len(models), figsize=(8 * len(models), 5.5), dpi=100,
                             squeeze=False)
    for ax, model in zip(axes[0], models):
        strategies = {}
        for s in ss:
            if s["labels"].get("model", "?") == model:
                strategies.setdefault(s["labels"].get("strategy", s["name"].split("/")[2]),
                                      []).append(s)
        for i, (strategy, group) in enumerate(sorted(strategies.items())):
            group.sort(key=lambda s: tokens_of(s["name"]))
            b = [tokens_of(s["name"]) for s in group]
            ax.plot(b, [s["time_s"] / t * 1e6 for s, t in zip(group, b)], "o", color=f"C{i}",
                    label=f"measured {strategy}")
            pred = [(t, predicted[s["name"]] / t * 1e6) for s, t in zip(group, b)
                    if s["name"] in predicted]
            if pred:
                ax.plot(*zip(*pred), "--", color=f"C{i}", label=f"model {strategy} ({r.form()})")
        ax.set_title(f"MoE expert FFN ({model}, routing {routing}): {r.gpu}")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        plain_log_axis(ax, "x")
        plain_log_axis(ax, "y")
        ax.grid(True, which="both", alpha=0.3)
        ax.set_xlabel("batch (tokens)")
        ax.set_ylabel("time per token (µs)")
        ax.legend(fontsize=7)
    if not predicted:
        fig.text(0.01, 0.01, "no prediction: no model.json", fontsize=8)
    save(fig, out, "moe", written)


def per_op(samples):
    """(op, ranks) -> [(bytes per collective, GB/s)] sorted by bytes."""
    groups = {}
    for s in samples:
        c = max(s["collectives"], 1)
        x = s["net_bytes"] / c
        groups.setdefault((s["labels"].get("op", "?"), int(s["ranks"])), []).append(
            (x, x / (s["time_s"] / c) / 1e9))
    return {k: sorted(v) for k, v in groups.items()}


def swept_per_op(samples):
    """per_op's groups that were measured at 2 or more sizes (a curve)."""
    return {k: v for k, v in per_op(samples).items() if len(v) >= 2}


def network_curves(ax, r, samples, keys, style="--", colors=None, suffix=""):
    """The model's GB/s for each (op, ranks) of `keys`, at the sizes measured."""
    by_key = {}
    for s in samples:
        by_key.setdefault((s["labels"].get("op", "?"), int(s["ranks"])), []).append(s)
    for i, key in enumerate(sorted(keys)):
        points = []
        for s in by_key.get(key, []):
            c = max(s["collectives"], 1)
            x = s["net_bytes"] / c
            points.append((x, s, lambda t, x=x, c=c: x / (t / c) / 1e9))
        color = (colors or {}).get(key, f"C{i}")
        model_line(ax, r, points, style, color=color,
                   label=f"model {key[0]}/{key[1]}{suffix} ({r.form()})")


def collective_samples(r):
    return [s for s in r.family("collective") if s["net_bytes"] > 0 and s["ranks"] > 1]


def bandwidth_figure(r, out, written, skipped, name, samples, empty, title, label, xlabel,
                     ylabel):
    """GB/s against bytes per operation for each (op, ranks) measured at 2 or more sizes, with
    the fitted network curves: the collectives and the host-device copies."""
    groups = swept_per_op(samples)
    if not groups:
        return skipped.append((name, empty))
    fig, ax = new_figure(title)
    for i, ((op, ranks), points) in enumerate(sorted(groups.items())):
        ax.plot(*zip(*points), "o", color=f"C{i}", label=label(op, ranks))
    network_curves(ax, r, samples, groups)
    finish_log_log(fig, ax, out, name, written, xlabel, ylabel, x_kind="bytes")


def collectives(r, out, written, skipped):
    bandwidth_figure(r, out, written, skipped, "collectives", collective_samples(r),
                     "no multi-GPU collective measured at 2 or more sizes",
                     f"Collectives: {r.gpu}", lambda op, ranks: f"measured {op}/{ranks}",
                     "bytes received per GPU per operation", "bus bandwidth (GB/s)")


def transfers(r, out, written, skipped):
    ss = [s for s in r.family("collective") if s["net_bytes"] > 0 and
          s["labels"].get("op") in ("h2d", "d2h")]
    bandwidth_figure(r, out, written, skipped, "transfers", ss,
                     "no h2d or d2h copy measured at 2 or more sizes",
                     f"Host-device copies (PCIe): {r.gpu}", lambda op, ranks: f"measured {op}",
                     "bytes copied per operation", "bandwidth (GB/s)")


def named_constants(model):
    c = model.get("constants", {})
    out = {}
    for dtype, p in c.get("flops_per_s", {}).items():
        out[f"P[{dtype}]\n(TFLOP/s)"] = p / 1e12
    if "hbm_bytes_per_s" in c:
        out["W\n(TB/s)"] = c["hbm_bytes_per_s"] / 1e12
    for kind, v in c.get("latency_s", {}).items():
        out[f"λ[{kind}]\n(µs)"] = v * 1e6
    for op, by_ranks in c.get("network", {}).items():
        for ranks, regimes in by_ranks.items():
            out[f"{op}/{ranks}\npeak (GB/s)"] = max(x["bytes_per_s"] for x in regimes) / 1e9
    return out


def compare(r, other, out, written, skipped):
    if other is None:
        return skipped.append(("compare", "one results folder given (pass a second one)"))
    if not r.model or not other.model:
        return skipped.append(("compare", "a folder lacks model.json (batchcost fit --out)"))
    a, b = named_constants(r.model), named_constants(other.model)
    # A constant either fit did not identify gets no ratio (as in batchcost compare).
    weak = set()
    for m in (r.model, other.model):
        for name, e in (m.get("identification") or {}).items():
            if isinstance(e, dict) and e.get("status", "identified") != "identified":
                weak.add(name)
    left_out = [k.split("\n")[0] for k in a if k in b and k.split("\n")[0] in weak]
    keys = [k for k in a if k in b and k.split("\n")[0] not in weak]
    if not keys:
        return skipped.append(("compare", "the two models share no constant"))
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(keys)), 5.5), dpi=100)
    ax.set_title(f"{other.gpu} against {r.gpu} (fitted constants)")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ratios = [b[k] / a[k] for k in keys]
    # Green where the second GPU is better: higher rates, lower latencies.
    better = [(x >= 1) != k.startswith("λ") or x == 1 for k, x in zip(keys, ratios)]
    bars = ax.bar(range(len(keys)), ratios, color=["C2" if b else "C3" for b in better])
    for bar, k in zip(bars, keys):
        ax.annotate(f"{a[k]:.3g} → {b[k]:.3g}", (bar.get_x() + bar.get_width() / 2,
                    bar.get_height()), ha="center", va="bottom", fontsize=7)
    ax.axhline(1, color="black", linewidth=0.8)
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(keys, fontsize=7)
    ax.set_ylabel(f"ratio {other.gpu} / {r.gpu} (green: better)")
    ax.set_yscale("log")
    ax.set_ylim(min(ratios + [1]) / 1.25, max(ratios + [1]) * 1.25)
    plain_log_axis(ax, "y")
    if left_out:
        fig.text(0.01, 0.01, "not drawn, not identified by a fit: " + ", ".join(left_out),
                 fontsize=7)
    save(fig, out, "compare", written)


def overlay_needs(name, other, skipped):
    if other is None:
        skipped.append((name, "one results folder given (pass a second one)"))
        return False
    return True


def shared_keys(name, a, b, what, skipped):
    """The keys of both sides' groups, sorted; None (the figure skipped, saying why) if none."""
    shared = sorted(set(a) & set(b))
    if not shared:
        skipped.append((name, f"the two folders share no {what}"))
        return None
    return shared


def hbm_overlay(r, other, out, written, skipped):
    if not overlay_needs("hbm_overlay", other, skipped):
        return
    sides = [(g, memory_samples(g)) for g in (r, other)]
    for g, mem in sides:
        why = too_thin([s["bytes"] for s in mem], f"memory sizes in {g.folder}")
        if why:
            return skipped.append(("hbm_overlay", why))
    fig, ax = new_figure(f"HBM bandwidth: {r.gpu} and {other.gpu}")
    for i, (g, mem) in enumerate(sides):
        mem = sorted(mem, key=lambda s: s["bytes"])
        xs = [s["bytes"] for s in mem]
        ax.plot(xs, [s["bytes"] / s["time_s"] / 1e9 for s in mem], "o", color=f"C{i}",
                markersize=4, label=f"measured {g.gpu}")
        w = g.constants().get("hbm_bytes_per_s")
        model_line(ax, g, [(s["bytes"], s, lambda t, s=s: s["bytes"] / t / 1e9) for s in mem],
                   "--", color=f"C{i}",
                   label=f"model {g.gpu} ({g.form()})" + (f": W {w / 1e12:.2f} TB/s" if w else ""))
    finish_log_log(fig, ax, out, "hbm_overlay", written, "bytes read + written per kernel",
                   "bandwidth (GB/s)", x_kind="bytes")


def gemm_overlay(r, other, out, written, skipped):
    if not overlay_needs("gemm_overlay", other, skipped):
        return
    a, b = gemm_shapes(r), gemm_shapes(other)
    shared = shared_keys("gemm_overlay", a, b, "GEMM shape (N, K) measured at 2 or more M",
                         skipped)
    if shared is None:
        return
    fig, ax = new_figure(f"GEMM throughput against M per layer shape (N, K)\n"
                         f"{r.gpu}: circles, solid; {other.gpu}: squares, dashed")
    for i, key in enumerate(shared):
        dtype, n, k = key
        for g, shapes, style in ((r, a, "o-"), (other, b, "s--")):
            group = shapes[key]
            ax.plot([m for m, _ in group], [s["flops"] / s["time_s"] / 1e12 for _, s in group],
                    style, color=f"C{i}", markersize=4, label=f"{g.gpu}: {dtype} N {n}, K {k}")
    finish_log_log(fig, ax, out, "gemm_overlay", written, "tokens in the batch (GEMM M)",
                   "throughput (TFLOP/s)", x_base=2, legend_size=7)


def busbw_overlay(r, other, out, written, skipped):
    if not overlay_needs("busbw_overlay", other, skipped):
        return
    ga, gb = swept_per_op(collective_samples(r)), swept_per_op(collective_samples(other))
    shared = shared_keys("busbw_overlay", ga, gb,
                         "multi-GPU collective measured at 2 or more sizes", skipped)
    if shared is None:
        return
    fig, ax = new_figure(f"Bus bandwidth per collective\n{r.gpu}: circles, solid fit; "
                         f"{other.gpu}: squares, dotted fit")
    colors = {key: f"C{i}" for i, key in enumerate(shared)}
    for g, groups, marker, style in ((r, ga, "o", "-"), (other, gb, "s", ":")):
        for key in shared:
            ax.plot(*zip(*groups[key]), marker, color=colors[key], markersize=4,
                    linestyle="none", label=f"{g.gpu}: {key[0]}/{key[1]}")
        network_curves(ax, g, collective_samples(g), shared, style, colors, f" {g.gpu}")
    finish_log_log(fig, ax, out, "busbw_overlay", written, "bytes received per GPU per operation",
                   "bus bandwidth (GB/s)", x_kind="bytes", legend_size=7, ncol=2, loc="lower right")


def predict_curve(batchcost, model_json, name, deployment):
    """(prediction, weights override, error text) of `batchcost predict --json`."""
    batches = ",".join(str(2 ** i) for i in range(13))
    error = ""
    for weights in ([], ["--weights", "bf16"]):
        run = subprocess.run([batchcost, "predict", "--hardware", model_json, "--model", name,
                              "--batch", batches, "--json"] + deployment + weights,
                             capture_output=True, text=True)
        if run.returncode == 0:
            return json.loads(run.stdout), weights, ""
        error = error or (run.stderr.strip().splitlines() or ["failed"])[0]
    return None, None, error


def speed_cost(r, out, written, skipped, batchcost):
    if not r.model:
        return skipped.append(("speed_cost", "no model.json (batchcost fit --out)"))
    if not batchcost:
        return skipped.append(("speed_cost", "batchcost not found (--batchcost PATH)"))
    model_json = os.path.join(r.folder, "model.json")
    memory_bytes = r.model.get("hardware", {}).get("memory_bytes")
    fig, ax = new_figure(f"Predicted speed against cost: {r.gpu}")
    drawn, marked = 0, False
    for i, (name, multi) in enumerate((("deepseek-v3", ["--gpus", "8", "--ep", "8"]),
                                       ("llama-3-70b", ["--tp", "8"]))):
        doc, weights, error = predict_curve(batchcost, model_json, name, multi)
        fallback = ""
        if not doc:
            doc, weights, _ = predict_curve(batchcost, model_json, name, [])
            fallback = f" (fallback: {' '.join(multi)} not predictable: {error[:60]})"
        if not doc:
            continue
        d = doc["deployment"]
        label = (f"{doc['model']['display_name']}: {d['gpus']} GPU(s), tp {d['tp']}, ep {d['ep']}"
                 + (", bf16 weights" if weights else "") + fallback)
        steps = doc["steps"]
        # predict says whether a batch fits (predict/2); older output is judged here
        fits = [s["fits"] if "fits" in s else
                not memory_bytes or
                s["weight_bytes_per_gpu"] + s["kv_cache_bytes_per_gpu"] <= memory_bytes
                for s in steps]
        xs = [s["tokens_per_s_per_user"] for s in steps]
        ys = [s["gpu_hours_per_million_tokens"] for s in steps]
        ok = [(x, y) for x, y, f in zip(xs, ys, fits) if f]
        bad = [(x, y) for x, y, f in zip(xs, ys, fits) if not f]
        ax.plot(xs, ys, "-", color=f"C{i}", alpha=0.35 if bad else 1, linewidth=1)
        if ok:
            ax.plot(*zip(*ok), "o", color=f"C{i}", label=label, markersize=4)
        if bad:
            ax.plot(*zip(*bad), "x", color="red", markersize=7, markeredgewidth=1.5,
                    label=None if marked else "does not fit: weights + KV cache > GPU memory")
            marked = True
            if not ok:  # the label must still name the curve
                ax.plot([], [], "o", color=f"C{i}", label=label + ": never fits")
        for s, x, y in zip(steps, xs, ys):
            if s["batch"] in (1, 64, 4096):
                ax.annotate(f"B={int(s['batch'])}", (x, y), fontsize=7, xytext=(4, 4),
                            textcoords="offset points")
        drawn += 1
    if not drawn:
        plt.close(fig)
        return skipped.append(("speed_cost", "batchcost predict failed on model.json"))
    finish_log_log(fig, ax, out, "speed_cost", written, "speed: tokens/s per user",
                   "cost: GPU-hours per million output tokens", legend_size=7)


def find_batchcost(given):
    if given:
        return given
    for path in sorted(glob.glob(os.path.join(ROOT, "build*", "tools", "batchcost"))):
        if os.access(path, os.X_OK):
            return path
    return shutil.which("batchcost")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", help="a results folder (results/<gpu>)")
    ap.add_argument("other", nargs="?", help="a second results folder, to compare with")
    ap.add_argument("--out", help="where the figures go (default: the results folder)")
    ap.add_argument("--format", choices=("png", "svg", "pdf"), default="png",
                    help="file format of the figures (default png)")
    ap.add_argument("--batchcost", help="the batchcost binary (default: build*/tools, PATH)")
    args = ap.parse_args(argv)
    for folder in filter(None, (args.results, args.other)):
        if not os.path.isdir(folder):
            ap.error(f"{folder}: not a folder")
    FORMAT["ext"] = args.format
    out = args.out or args.results
    os.makedirs(out, exist_ok=True)
    batchcost = find_batchcost(args.batchcost)
    if not batchcost:
        ap.error("batchcost not found (build it, or --batchcost PATH): plot.py reads samples "
                 "and the model through it")
    r = Results(args.results, batchcost)
    other = Results(args.other, batchcost) if args.other else None
    written, skipped = [], []
    roofline(r, out, written, skipped)
    gemm_tokens(r, out, written, skipped)
    memory(r, out, written, skipped)
    launch(r, out, written, skipped)
    moe(r, out, written, skipped, batchcost)
    collectives(r, out, written, skipped)
    transfers(r, out, written, skipped)
    speed_cost(r, out, written, skipped, batchcost)
    compare(r, other, out, written, skipped)
    hbm_overlay(r, other, out, written, skipped)
    gemm_overlay(r, other, out, written, skipped)
    busbw_overlay(r, other, out, written, skipped)
    for path in written:
        print(f"wrote {path}")
    for name, why in skipped:
        print(f"skipped {name}.{args.format}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
