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

  roofline          GEMM TFLOP/s against arithmetic intensity, a colour per dtype, with the
                    model's (black crosses) at each GEMM
  gemm_tokens       GEMM TFLOP/s against tokens (M), one panel per layer shape (N, K), a colour
                    per dtype, with the model's: where decode GEMMs sit far below the roof
  memory            memory bandwidth against bytes moved, a colour per kernel, with the model's
  launch            launch, kernel, graph and sync costs against the number of events, a colour
                    per benchmark, with the model's; the fitted λ in the title
  moe               MoE time per token against batch, one panel per MoE model, a colour per
                    strategy, the model's prediction (batchcost validate) drawn over it
  collectives       bus bandwidth against bytes received per GPU, one panel per collective op, a
                    colour per rank count, with the model's (its latency-bandwidth regimes)
  transfers         host-device copies (h2d, d2h): GB/s against bytes, with the model's
  speed_cost        predicted tokens/s per user against GPU-hours per million tokens for
                    DeepSeek-V3 and Llama-3-70B (batchcost predict --json); batches whose weights
                    and KV cache exceed a GPU's memory are marked with a red cross
With OTHER_DIR, the two GPUs side by side:
  compare           the fitted constants' ratios (second / first), each with its interval: the
                    two 95% intervals combined (candidate low / baseline high to candidate high /
                    baseline low); constants a fit did not identify are left out, named below
  hbm_overlay       HBM bandwidth against bytes moved, a colour per GPU
  gemm_overlay      GEMM TFLOP/s against M, one panel per layer shape (N, K), a colour per dtype,
                    the GPUs told apart by marker and line (circles, solid; squares, dashed)
  busbw_overlay     bus bandwidth against bytes received per GPU, one panel per collective op, a
                    colour per rank count, the GPUs told apart by marker and fit line

Measured points are markers, the model a dashed line (or crosses) of the same colour; each
legend, outside the data on the right, names each colour once and explains those styles once
(in grey), so that no legend has more than 8 entries and no colour of tab10 (less its grey)
repeats within an axes; where a figure has more series than that, a panel's series are split
over several panels, each with its own legend. Panels of one figure share their scales.

A figure whose data is absent or too thin (fewer than two sizes) is skipped, saying why. Log axes
carry plain, round tick labels (1, 2, 5, 10; 1 KiB, 1 MiB; 20, 22, 24 GiB within a factor of 2),
never 1.4×10⁰ nor 19.5578 GiB. Needs matplotlib (Debian: python3-matplotlib) and `batchcost`,
taken from --batchcost, else build*/tools/batchcost in this checkout, else PATH.
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
import textwrap

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
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


def priced(r, samples):
    """Whether the model prices any of these samples (a model curve will be drawn)."""
    return any(s["name"] in r.predicted for s in samples)


# --- legends, colours, panels ---

MAX_LEGEND = 8  # entries in one legend, and series in one axes
# One qualitative map, tab10, less its grey (C7: the style entries are grey): 8 distinct colours.
PALETTE = tuple(c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 7)[:MAX_LEGEND]
MEASURED = ("measured", {"marker": "o", "linestyle": "none", "markersize": 4})


def model_style(r, extra="", linestyle="--"):
    """The legend entry that explains the model's curves: a grey line of their style."""
    return (f"model ({r.form()}){extra}", {"linestyle": linestyle})


def wrap(text, width=34):
    return textwrap.fill(text, width) if len(text) > width else text


def legend_outside(ax, handles, title=None):
    """The legend right of the axes box, its top at the box's top: never over the data."""
    if len(handles) > MAX_LEGEND:
        raise ValueError(f"{len(handles)} legend entries (at most {MAX_LEGEND})")
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0,
              fontsize=8, title=title, title_fontsize=8)


def key_handles(series, styles):
    """A colour swatch per series, then the styles (markers, line styles) in grey, explained
    once for all series."""
    return ([Patch(facecolor=c, edgecolor=c, label=wrap(label)) for label, c in series] +
            [Line2D([], [], color="0.35", label=wrap(label), **kw) for label, kw in styles])


class Facets:
    """A figure of one or more panels, one per value of a natural key (a layer shape, a
    collective op, a model), over the same log axes. Each series has its own colour of PALETTE;
    the legend, right of the top-right panel, names each colour once and explains the styles
    (measured: markers; model: a line) once, so no legend carries more than MAX_LEGEND entries.
    Where the figure has more series than fit beside the styles, a panel's series are split over
    several panels ("1 of 2"), each with its own legend, colours counted within it."""

    def __init__(self, title, panels, labels, styles, ncols=3):
        """panels: [(panel title, [series key])]; labels: series key -> its legend text;
        styles: [(legend text, Line2D keyword arguments)]."""
        budget = max(1, MAX_LEGEND - len(styles))
        keys = []
        for _, ks in panels:
            keys += [k for k in ks if k not in keys]
        self.shared = len(keys) <= budget
        self.labels, self.styles = labels, styles
        if self.shared:
            colour = {k: PALETTE[i] for i, k in enumerate(keys)}
            plan = [(t, [(k, colour[k]) for k in ks], p) for p, (t, ks) in enumerate(panels)]
        else:
            plan = []
            for p, (t, ks) in enumerate(panels):
                parts = [ks[i:i + budget] for i in range(0, len(ks), budget)]
                for j, part in enumerate(parts):
                    tag = f" ({j + 1} of {len(parts)})" if len(parts) > 1 else ""
                    plan.append(((t + tag).strip(), [(k, PALETTE[i]) for i, k in enumerate(part)],
                                 p))
            ncols = min(ncols, 2)
        self.keys = keys
        n = len(plan)
        self.ncols = ncols = min(ncols, n)
        nrows = math.ceil(n / ncols)
        width, height = (7.5, 5.0) if n == 1 else (4.6, 3.6)
        legend_width = 3.0 if self.shared else 3.0 * ncols
        self.fig, grid = plt.subplots(nrows, ncols, squeeze=False, dpi=100,
                                      figsize=(ncols * width + legend_width,
                                               nrows * height + (0.4 if n == 1 else 0.8)))
        cells = list(grid.ravel())
        for ax in cells[n:]:
            self.fig.delaxes(ax)
        self.axes = cells[:n]
        # (axes, [(series key, colour)], index of its panel in `panels`)
        self.panels = [(ax, series, p) for ax, (_, series, p) in zip(self.axes, plan)]
        for ax, (t, _, _) in zip(self.axes, plan):
            ax.grid(True, which="both", alpha=0.3)
            if t:
                ax.set_title(t, fontsize=9)
        if n == 1:
            self.axes[0].set_title(title + (f"\n{plan[0][0]}" if plan[0][0] else ""))
        else:
            self.fig.suptitle(title)

    def finish(self, out, name, written, xlabel, ylabel, x_kind="number", x_base=10,
               y_kind="number"):
        """Log axes with plain labels, one scale for all panels (so that they compare), the
        axis labels on the outer panels, the legends; then the figure is saved."""
        n = len(self.axes)
        for ax in self.axes:
            ax.set_xscale("log", base=x_base)
            ax.set_yscale("log")
        if n > 1:
            for get, set_ in (("get_xlim", "set_xlim"), ("get_ylim", "set_ylim")):
                lims = [getattr(ax, get)() for ax in self.axes if ax.has_data()]
                if lims:
                    lo, hi = min(min(v) for v in lims), max(max(v) for v in lims)
                    for ax in self.axes:
                        getattr(ax, set_)(lo, hi)
        for i, ax in enumerate(self.axes):
            plain_log_axis(ax, "x", x_kind)
            plain_log_axis(ax, "y", y_kind)
            if i + self.ncols >= n:  # nothing below it
                ax.set_xlabel(xlabel)
            if i % self.ncols == 0:
                ax.set_ylabel(ylabel)
        if self.shared:
            legend_outside(self.axes[self.ncols - 1],
                           key_handles([(self.labels[k], PALETTE[i])
                                        for i, k in enumerate(self.keys)], self.styles))
        else:
            for ax, series, _ in self.panels:
                legend_outside(ax, key_handles([(self.labels[k], c) for k, c in series],
                                               self.styles))
        save(self.fig, out, name, written)


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


def round_ticks(lo, hi, unit=1.0):
    """Evenly spaced ticks inside [lo, hi], steps of 1, 2 or 5 times a power of ten of `unit`
    (20, 22, 24 GiB; 0.8, 1, 1.2, 1.4), at least two."""
    best = []
    for nbins in range(4, 11):  # the coarsest step that gives 4 ticks, else the most ticks
        locator = ticker.MaxNLocator(nbins=nbins, steps=[1, 2, 5, 10])
        ticks = [t * unit for t in locator.tick_values(lo / unit, hi / unit)
                 if lo <= t * unit <= hi]
        if len(ticks) >= 4:
            return ticks
        best = max(best, ticks, key=len)
    return best


def plain_log_axis(ax, which, kind="number"):
    """Plain labels on a log axis: powers of 2 in KiB/MiB/GiB for bytes (1-2-5 steps of one
    unit within a factor of 2: 20, 22, 24 GiB, never 19.5578 GiB); 1-2-5 steps (or powers of ten
    over wide ranges) for other numbers. Minor ticks stay unlabelled."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    lo, hi = ax.get_xlim() if which == "x" else ax.get_ylim()
    lo, hi = max(min(lo, hi), 1e-30), max(lo, hi)
    if kind == "bytes":
        first, last = math.ceil(math.log2(lo)), math.floor(math.log2(hi))
        if last - first >= 1:
            step = next(s for s in (1, 2, 4, 10, 20) if (last - first) / s <= 8)
            ticks = [2.0 ** e for e in range(first, last + 1) if e % step == 0]
            ticks = ticks if len(ticks) >= 2 else [2.0 ** e for e in range(first, last + 1)]
        else:  # within a factor of 2: round steps in the unit the labels use
            unit = 1024.0 ** min(4, max(0, math.floor(math.log(lo, 1024))))
            ticks = round_ticks(lo, hi, unit)
        axis.set_major_locator(ticker.FixedLocator(ticks))
        axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: format_bytes(v)))
    else:
        # Over a decade or more: the coarsest 1-2-5 family that puts 3 or more ticks inside the
        # range. Under a decade: evenly spaced round ticks (0.8, 1, 1.2, 1.4), so that no part
        # of the range goes unlabelled.
        ticks = []
        for subs in ((1.0,), (1.0, 2.0, 5.0), tuple(float(i) for i in range(1, 10))):
            if hi / lo < 10:
                break
            ticks = [m * 10.0 ** e for e in range(math.floor(math.log10(lo)) - 1,
                                                    math.ceil(math.log10(hi)) + 1)
                     for m in subs if lo <= m * 10.0 ** e <= hi]
            if len(ticks) >= 3:
                break
        if len(ticks) < 3:
            ticks = round_ticks(lo, hi)
        axis.set_major_locator(ticker.FixedLocator(ticks))
        axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: format_plain(v)))
    axis.set_minor_formatter(ticker.NullFormatter())


def save(fig, out, name, written):
    """Laid out so that the legends outside the axes stay inside the picture, then written."""
    path = os.path.join(out, f"{name}.{FORMAT['ext']}")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    written.append(path)


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
    by_dtype = {}
    for s in gemm:
        by_dtype.setdefault(s["labels"].get("dtype", "?"), []).append(s)
    c = r.constants()
    w = c.get("hbm_bytes_per_s")
    labels = {}
    for dtype in by_dtype:
        p = c.get("flops_per_s", {}).get(dtype)
        labels[dtype] = dtype + (f": P {p / 1e12:.0f} TFLOP/s" if p else "")
    # One point per GEMM: the shapes of one intensity differ in size, so no line joins them.
    styles = [MEASURED] + ([("model " + f"({r.form()})" + (f", W {w / 1e12:.2f} TB/s" if w else ""),
                             {"marker": "x", "linestyle": "none"})] if priced(r, gemm) else [])
    f = Facets(f"GEMM roofline: {r.gpu}", [("", sorted(by_dtype))], labels, styles)
    for ax, series, _ in f.panels:
        for dtype, colour in series:
            ss = by_dtype[dtype]
            ax.scatter([s["flops"] / s["bytes"] for s in ss],
                       [s["flops"] / s["time_s"] / 1e12 for s in ss], s=18, color=colour)
            model_line(ax, r, [(s["flops"] / s["bytes"], s, lambda t, s=s: s["flops"] / t / 1e12)
                               for s in ss], "x", color="black", markersize=5)
    f.finish(out, "roofline", written, "arithmetic intensity (FLOP / byte of HBM traffic)",
             "throughput (TFLOP/s)")


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


def by_layer_shape(keys):
    """One panel per layer shape (N, K), its series the dtypes measured at that shape:
    ([(panel title "N 8192, K 28672", [dtype])], [(N, K) of each panel])."""
    panels = {}
    for dtype, n, k in sorted(keys, key=lambda t: (t[1], t[2], t[0])):
        panels.setdefault((n, k), []).append(dtype)
    return [(f"N {n}, K {k}", ds) for (n, k), ds in panels.items()], list(panels)


def gemm_tokens(r, out, written, skipped):
    shapes = gemm_shapes(r)
    if not shapes:
        return skipped.append(("gemm_tokens", "no GEMM shape (N, K) measured at 2 or more M"))
    samples = [s for group in shapes.values() for _, s in group]
    styles = [MEASURED] + ([model_style(r)] if priced(r, samples) else [])
    panels, nk = by_layer_shape(shapes)
    f = Facets(f"GEMM throughput against tokens (M), one panel per layer shape (N, K): {r.gpu}",
               panels, {key[0]: key[0] for key in shapes}, styles)
    for ax, series, source in f.panels:
        for dtype, colour in series:
            group = shapes[(dtype, *nk[source])]
            ax.plot([m for m, _ in group], [s["flops"] / s["time_s"] / 1e12 for _, s in group],
                    "o", color=colour, markersize=4)
            model_line(ax, r, [(m, s, lambda t, s=s: s["flops"] / t / 1e12) for m, s in group],
                       "--", color=colour)
    f.finish(out, "gemm_tokens", written, "tokens in the batch (GEMM M)", "throughput (TFLOP/s)",
             x_base=2)


def memory_samples(r):
    return [s for s in r.family("memory") if s["bytes"] > 0 and s["labels"].get("cache") != "hot"]


def bandwidth_series(ax, r, samples, colour):
    """Measured HBM bandwidth of `samples` against their bytes (markers), and the model's of the
    same samples (dashed), in one colour."""
    ss = sorted(samples, key=lambda s: s["bytes"])
    ax.plot([s["bytes"] for s in ss], [s["bytes"] / s["time_s"] / 1e9 for s in ss], "o",
            color=colour, markersize=4)
    model_line(ax, r, [(s["bytes"], s, lambda t, s=s: s["bytes"] / t / 1e9) for s in ss], "--",
               color=colour)


def memory(r, out, written, skipped):
    mem = memory_samples(r)
    why = too_thin([s["bytes"] for s in mem], "memory sizes")
    if why:
        return skipped.append(("memory", why))
    kinds = {}
    for s in mem:
        kinds.setdefault(s["name"].split("/")[1], []).append(s)
    w = r.constants().get("hbm_bytes_per_s")
    styles = [MEASURED] + ([model_style(r, f", W {w / 1e12:.2f} TB/s" if w else "")]
                           if priced(r, mem) else [])
    f = Facets(f"HBM bandwidth: {r.gpu}", [("", sorted(kinds))], {k: k for k in kinds}, styles)
    for ax, series, _ in f.panels:
        for kind, colour in series:
            bandwidth_series(ax, r, kinds[kind], colour)
    f.finish(out, "memory", written, "bytes read + written per kernel", "bandwidth (GB/s)",
             x_kind="bytes")


def events(s):
    return sum(s[c] for c in EVENTS)


def launch(r, out, written, skipped):
    ss = [s for s in r.family("launch") if events(s) > 0]
    # Against the events per iteration; where those barely vary (one launch of kernels of
    # growing size, as gpu-benches' small kernels), against the bytes each launch moves.
    counts = [events(s) for s in ss]
    by_bytes = bool(ss) and max(counts) < 2 * min(counts) and len({s["bytes"] for s in ss}) > 1
    x_of = (lambda s: s["bytes"]) if by_bytes else events
    why = too_thin([x_of(s) for s in ss], "launch sizes" if by_bytes else "launch event counts")
    if why:
        return skipped.append(("launch", why))
    lat = r.constants().get("latency_s", {})
    kinds = {}
    for s in ss:
        kinds.setdefault(s["name"].split("/")[1], []).append(s)
    text = ", ".join(f"λ[{k}] {v * 1e6:.2f} µs" for k, v in sorted(lat.items()))
    styles = [MEASURED] + ([model_style(r)] if priced(r, ss) else [])
    f = Facets(f"Launch, kernel and sync costs: {r.gpu}" + (f"\n{text}" if text else ""),
               [("", sorted(kinds))], {k: k for k in kinds}, styles)
    for ax, series, _ in f.panels:
        for kind, colour in series:
            group = sorted(kinds[kind], key=x_of)
            ax.plot([x_of(s) for s in group], [s["time_s"] * 1e6 for s in group], "o",
                    color=colour, markersize=4)
            model_line(ax, r, [(x_of(s), s, lambda t: t * 1e6) for s in group], "--",
                       color=colour)
    if by_bytes:
        f.finish(out, "launch", written, "bytes read + written per launch",
                 "time per launch (µs)", x_kind="bytes")
    else:
        f.finish(out, "launch", written,
                 "events per iteration (launches + kernels + graph nodes + syncs)",
                 "time per iteration (µs)")


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
    groups = {}  # (model, strategy) -> samples
    for s in ss:
        groups.setdefault((s["labels"].get("model", "?"),
                           s["labels"].get("strategy", s["name"].split("/")[2])), []).append(s)
    models = sorted({m for m, _ in groups})
    panels = [(model, sorted(st for m, st in groups if m == model)) for model in models]
    styles = [MEASURED] + ([model_style(r)] if priced(r, ss) else [])
    f = Facets(f"MoE expert FFN (routing {routing}), one panel per model: {r.gpu}", panels,
               {st: st for _, st in groups}, styles)
    for ax, series, source in f.panels:
        model = panels[source][0]
        for strategy, colour in series:
            group = sorted(groups[(model, strategy)], key=lambda s: tokens_of(s["name"]))
            b = [tokens_of(s["name"]) for s in group]
            ax.plot(b, [s["time_s"] / t * 1e6 for s, t in zip(group, b)], "o", color=colour,
                    markersize=4)
            pred = [(t, predicted[s["name"]] / t * 1e6) for s, t in zip(group, b)
                    if s["name"] in predicted]
            if pred:
                ax.plot(*zip(*pred), "--", color=colour)
    if not predicted:
        f.fig.text(0.01, 0.01, "no prediction: no model.json", fontsize=8)
    f.finish(out, "moe", written, "batch (tokens)", "time per token (µs)", x_base=2)


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


def network_curve(ax, r, samples, key, style="--", color=None):
    """The model's GB/s for one (op, ranks), at the sizes measured."""
    points = []
    for s in samples:
        if (s["labels"].get("op", "?"), int(s["ranks"])) != key:
            continue
        c = max(s["collectives"], 1)
        x = s["net_bytes"] / c
        points.append((x, s, lambda t, x=x, c=c: x / (t / c) / 1e9))
    return model_line(ax, r, points, style, color=color)


def collective_samples(r):
    return [s for s in r.family("collective") if s["net_bytes"] > 0 and s["ranks"] > 1]


def by_op(keys):
    """One panel per collective op, its series the rank counts measured:
    ([(op, [ranks])], (panel, ranks) -> (op, ranks), ranks -> legend text)."""
    panels = {}
    for op, ranks in sorted(keys):
        panels.setdefault(op, []).append(ranks)
    ops = list(panels)
    return (list(panels.items()), lambda source, ranks: (ops[source], ranks),
            {ranks: f"{ranks} ranks" for _, ranks in keys})


def one_panel(keys):
    """All (op, ranks) in one panel, each its own series named by its op."""
    return [("", sorted(keys))], lambda source, key: key, {key: key[0] for key in keys}


def bandwidth_figure(r, out, written, skipped, name, samples, empty, title, panels_of, xlabel,
                     ylabel):
    """GB/s against bytes per operation for each (op, ranks) measured at 2 or more sizes, with
    the fitted network curves: the collectives and the host-device copies."""
    groups = swept_per_op(samples)
    if not groups:
        return skipped.append((name, empty))
    panels, key_of, labels = panels_of(groups)
    styles = [MEASURED] + ([model_style(r)] if priced(r, samples) else [])
    f = Facets(title, panels, labels, styles)
    for ax, series, source in f.panels:
        for series_key, colour in series:
            key = key_of(source, series_key)
            ax.plot(*zip(*groups[key]), "o", color=colour, markersize=4)
            network_curve(ax, r, samples, key, "--", colour)
    f.finish(out, name, written, xlabel, ylabel, x_kind="bytes")


def collectives(r, out, written, skipped):
    bandwidth_figure(r, out, written, skipped, "collectives", collective_samples(r),
                     "no multi-GPU collective measured at 2 or more sizes",
                     f"Collectives, one panel per op: {r.gpu}",
                     by_op,
                     "bytes received per GPU per operation", "bus bandwidth (GB/s)")


def transfers(r, out, written, skipped):
    ss = [s for s in r.family("collective") if s["net_bytes"] > 0 and
          s["labels"].get("op") in ("h2d", "d2h")]
    bandwidth_figure(r, out, written, skipped, "transfers", ss,
                     "no h2d or d2h copy measured at 2 or more sizes",
                     f"Host-device copies (PCIe): {r.gpu}",
                     one_panel,
                     "bytes copied per operation", "bandwidth (GB/s)")


def named_constants(model):
    """Label -> (value, low, high, identification name): each fitted constant in the unit its
    label names, with its 95% interval (the value itself where model.json gives none)."""
    c, iv = model.get("constants", {}), model.get("intervals") or {}
    out = {}

    def add(label, ident, value, interval, scale):
        ok = isinstance(interval, list) and len(interval) == 2 and all(
            isinstance(x, (int, float)) and x > 0 for x in interval)
        lo, hi = interval if ok else (value, value)
        out[label] = (value * scale, lo * scale, hi * scale, ident)

    for dtype, p in c.get("flops_per_s", {}).items():
        add(f"P[{dtype}]\n(TFLOP/s)", f"P[{dtype}]", p,
            (iv.get("flops_per_s") or {}).get(dtype), 1e-12)
    if "hbm_bytes_per_s" in c:
        add("W\n(TB/s)", "W", c["hbm_bytes_per_s"], iv.get("hbm_bytes_per_s"), 1e-12)
    for kind, v in c.get("latency_s", {}).items():
        add(f"λ[{kind}]\n(µs)", f"λ[{kind}]", v, (iv.get("latency_s") or {}).get(kind), 1e6)
    # The refined form's terms, where model.json holds that form (batchcost compare lists them).
    terms = c.get("terms") or {}
    for key, label, scale in (("overlap_p", "overlap p", 1), ("k_half", "k_half", 1),
                              ("grouped_bandwidth_ratio", "W grouped / W", 1),
                              ("saturating_sms", "SM share\nsaturating W", 1),
                              ("l2_bytes_per_s", "L2 operand\n(TB/s)", 1e-12)):
        if isinstance(terms.get(key), (int, float)):
            add(label, label.split("\n")[0], terms[key], (iv.get("terms") or {}).get(key), scale)
    for op, by_ranks in c.get("network", {}).items():
        for ranks, regimes in by_ranks.items():
            i = max(range(len(regimes)), key=lambda j: regimes[j]["bytes_per_s"])
            try:
                interval = iv["network"][op][ranks][i]["bytes_per_s"]
            except (KeyError, IndexError, TypeError):
                interval = None
            # fit.cc names the regime's rate "network op/ranks #i R" in "identification"
            add(f"{op}/{ranks}\npeak (GB/s)", f"network {op}/{ranks} #{i + 1} R",
                regimes[i]["bytes_per_s"], interval, 1e-9)
    return out


def three_digits(v):
    """3 significant digits, never in e-notation above 1: 0.977, 48.1, 1400."""
    return f"{v:.3g}" if v < 1000 else f"{float(f'{v:.3g}'):.0f}"


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
    left_out = [k.split("\n")[0] for k in a if k in b and a[k][3] in weak]
    keys = [k for k in a if k in b and a[k][3] not in weak]
    if not keys:
        return skipped.append(("compare", "the two models share no constant"))
    fig, ax = plt.subplots(figsize=(max(8, 1.05 * len(keys)), 5.5), dpi=100)
    ax.set_title(f"{other.gpu} against {r.gpu} (fitted constants)\n"
                 "bar: the ratio; interval: the two 95% intervals combined", fontsize=10)
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ratios = [b[k][0] / a[k][0] for k in keys]
    # The ratio's interval: candidate low / baseline high to candidate high / baseline low.
    lows = [b[k][1] / a[k][2] for k in keys]
    highs = [b[k][2] / a[k][1] for k in keys]
    # Green where the second GPU is better: higher rates, lower latencies.
    better = [(x >= 1) != k.startswith("λ") or x == 1 for k, x in zip(keys, ratios)]
    ax.bar(range(len(keys)), ratios, color=["C2" if g else "C3" for g in better])
    ax.errorbar(range(len(keys)), ratios,
                yerr=[[x - lo for x, lo in zip(ratios, lows)],
                      [hi - x for x, hi in zip(ratios, highs)]],
                fmt="none", ecolor="black", elinewidth=1, capsize=4)
    for i, k in enumerate(keys):
        ax.annotate(f"{three_digits(a[k][0])} → {three_digits(b[k][0])}",
                    (i, max(highs[i], ratios[i])),
                    ha="center", va="bottom", fontsize=7, xytext=(0, 2),
                    textcoords="offset points")
    ax.axhline(1, color="black", linewidth=0.8)
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(keys, fontsize=7)
    ax.set_ylabel(f"ratio {other.gpu} / {r.gpu} (green: better)\n"
                  "interval: the two 95% intervals combined")
    ax.set_yscale("log")
    ax.set_ylim(min(lows + ratios + [1]) / 1.25, max(highs + ratios + [1]) * 1.3)
    plain_log_axis(ax, "y")
    if left_out:
        ax.set_xlabel("not drawn, not identified by a fit: " + ", ".join(left_out), fontsize=7)
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
    labels = {}
    for i, (g, _) in enumerate(sides):
        w = g.constants().get("hbm_bytes_per_s")
        labels[i] = g.gpu + (f": W {w / 1e12:.2f} TB/s" if w else "")
    forms = sorted({g.form() for g, mem in sides if priced(g, mem)})
    styles = [MEASURED] + ([(f"model ({', '.join(forms)})", {"linestyle": "--"})] if forms else [])
    f = Facets(f"HBM bandwidth: {r.gpu} and {other.gpu}", [("", [0, 1])], labels, styles)
    for ax, series, _ in f.panels:
        for i, colour in series:
            g, mem = sides[i]
            bandwidth_series(ax, g, mem, colour)
    f.finish(out, "hbm_overlay", written, "bytes read + written per kernel", "bandwidth (GB/s)",
             x_kind="bytes")


def gemm_overlay(r, other, out, written, skipped):
    if not overlay_needs("gemm_overlay", other, skipped):
        return
    a, b = gemm_shapes(r), gemm_shapes(other)
    shared = shared_keys("gemm_overlay", a, b, "GEMM shape (N, K) measured at 2 or more M",
                         skipped)
    if shared is None:
        return
    sides = ((r, a, "o", "-"), (other, b, "s", "--"))
    styles = [(f"{g.gpu}: measured", {"marker": m, "linestyle": ls, "markersize": 4})
              for g, _, m, ls in sides]
    panels, nk = by_layer_shape(shared)
    f = Facets(f"GEMM throughput against M, one panel per layer shape (N, K): "
               f"{r.gpu} and {other.gpu}", panels, {k[0]: k[0] for k in shared}, styles)
    for ax, series, source in f.panels:
        for dtype, colour in series:
            for g, shapes, marker, ls in sides:
                group = shapes[(dtype, *nk[source])]
                ax.plot([m for m, _ in group], [s["flops"] / s["time_s"] / 1e12 for _, s in group],
                        marker=marker, linestyle=ls, color=colour, markersize=4)
    f.finish(out, "gemm_overlay", written, "tokens in the batch (GEMM M)", "throughput (TFLOP/s)",
             x_base=2)


def busbw_overlay(r, other, out, written, skipped):
    if not overlay_needs("busbw_overlay", other, skipped):
        return
    ga, gb = swept_per_op(collective_samples(r)), swept_per_op(collective_samples(other))
    shared = shared_keys("busbw_overlay", ga, gb,
                         "multi-GPU collective measured at 2 or more sizes", skipped)
    if shared is None:
        return
    sides = ((r, ga, "o", "-"), (other, gb, "s", ":"))
    styles = []
    for g, _, marker, ls in sides:
        styles.append((f"{g.gpu}: measured", {"marker": marker, "linestyle": "none",
                                              "markersize": 4}))
        if priced(g, collective_samples(g)):
            styles.append((f"{g.gpu}: model ({g.form()})", {"linestyle": ls}))
    panels, key_of, labels = by_op(shared)
    f = Facets(f"Bus bandwidth, one panel per collective op: {r.gpu} and {other.gpu}", panels,
               labels, styles)
    for ax, series, source in f.panels:
        for ranks, colour in series:
            key = key_of(source, ranks)
            for g, groups, marker, ls in sides:
                ax.plot(*zip(*groups[key]), marker, color=colour, markersize=4, linestyle="none")
                network_curve(ax, g, collective_samples(g), key, ls, colour)
    f.finish(out, "busbw_overlay", written, "bytes received per GPU per operation",
             "bus bandwidth (GB/s)", x_kind="bytes")


def new_figure(title):
    """One axes, room on its right for the legend."""
    fig, ax = plt.subplots(figsize=(10.5, 5.5), dpi=100)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    return fig, ax


def finish_log_log(fig, ax, out, name, written, xlabel, ylabel, x_kind="number", x_base=10):
    """Both axes logarithmic with plain tick labels (x in bytes where x_kind is "bytes"), the
    axis labels and the axes' own legend outside it; then the figure is saved."""
    ax.set_xscale("log", base=x_base)
    ax.set_yscale("log")
    plain_log_axis(ax, "x", x_kind)
    plain_log_axis(ax, "y")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    handles, labels = ax.get_legend_handles_labels()
    for h, label in zip(handles, labels):
        h.set_label(wrap(label, 40))
    legend_outside(ax, handles)
    save(fig, out, name, written)


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
                   "cost: GPU-hours per million output tokens")


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
