#!/usr/bin/python3
"""Renders every figure of tools/plot.py from the synthetic fixture of two GPUs
(tests/data/plot/, made by tests/make_plot_fixture.py from stated constants) into a temporary
folder and checks each: written, not tiny, of a legible size, every log axis with 2 or more
plain tick labels (no 1.4×10⁰ mathtext), the speed/cost curve marking the batches that do not
fit in a GPU's memory. Then: one folder alone skips the two-GPU figures saying why; a folder with
too little data skips its figures saying why; --format svg and pdf write those formats; a narrow
log range still gets plain labels. Exit 77 (ctest: skipped) without matplotlib.

Readability, checked on every figure as it is saved (after its layout), of the fixture, of a
wide fixture (make_plot_fixture.write(wide=True), fitted here: 18 GEMM and 12 collective series,
as many as a full run has) and of the shipped reference/h100-azure-ndv5 and h200-azure-ndv5:
  - no legend (of an axes or of the figure) has more than 8 entries;
  - no legend's box overlaps the data area (the box) of any axes of its figure;
  - a legend names each colour once (its grey style entries aside);
  - tick labels on a bytes axis are round: at most 3 significant digits (64 KiB, 22 GiB, never
    19.5578 GiB), also on narrow byte ranges;
  - the compare chart's ratio axes carries error bars (the ratios' intervals).
And the compare chart of the two Azure sets, fitted here, has a bar for each refined term (overlap
p) beside P, W and λ, and none for a constant a fit left unidentified (named below the bars).
The same legend checks on tools/serve_plot.py's figure, of the golden serve JSON and of twelve
curves.

  plot_test.py --batchcost build-ci/tools/batchcost
"""
import argparse
import contextlib
import importlib.util
import io
import copy
import json
import os
import re
import subprocess
import sys
import tempfile

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.figure
    import matplotlib.image
    import matplotlib.pyplot as plt
    from matplotlib.collections import Collection, LineCollection
    from matplotlib.colors import to_rgba
    from matplotlib.container import ErrorbarContainer
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
except ImportError:
    print("skipped: this python has no matplotlib (Debian: python3-matplotlib)")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = ["roofline", "gemm_tokens", "memory", "launch", "moe", "collectives", "transfers",
           "speed_cost", "compare", "hbm_overlay", "gemm_overlay", "busbw_overlay"]
TWO_GPU = ["compare", "hbm_overlay", "gemm_overlay", "busbw_overlay"]


MAX_LEGEND = 8
BYTES_LABEL = re.compile(r"^(-?[0-9.]+(?:e[-+]?[0-9]+)?) (B|KiB|MiB|GiB|TiB)$")
UNIT = re.compile(r" (B|KiB|MiB|GiB|TiB)$")


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_plot():
    return load("plot", os.path.join("tools", "plot.py"))


def handle_colour(h):
    """The RGB a legend handle shows (a line's, a patch's, a scatter's), None if grey or none."""
    if isinstance(h, Patch):
        c = h.get_facecolor()
    elif isinstance(h, Line2D):
        c = h.get_color()
    elif isinstance(h, Collection):
        colours = h.get_facecolor()
        if not len(colours):
            return None
        c = colours[0]
    else:
        return None
    try:
        r, g, b, a = to_rgba(c)
    except (ValueError, TypeError):
        return None
    if a == 0 or max(r, g, b) - min(r, g, b) < 0.02:  # grey, black, white: a style, not a series
        return None
    return (round(r, 3), round(g, 3), round(b, 3))


def legend_info(legend):
    handles = getattr(legend, "legend_handles", None) or getattr(legend, "legendHandles", [])
    return {"texts": [t.get_text() for t in legend.get_texts()],
            "box": legend.get_window_extent(),
            "colours": [c for c in map(handle_colour, handles) if c]}


def describe(fig):
    """What a laid-out figure shows: per axes its tick labels, legend, box and error bars."""
    fig.canvas.draw()
    axes = []
    for ax in fig.axes:
        labels = {}
        for which, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            texts = [t.get_text() for t in axis.get_ticklabels() if t.get_text()]
            labels[which] = (axis.get_scale(), texts)
        legend = ax.get_legend()
        info = legend_info(legend) if legend else None
        axes.append({"labels": labels, "xlabel": ax.get_xlabel(),
                     "legend": info["texts"] if info else [],
                     "legend_info": info, "box": ax.get_window_extent(),
                     "errorbars": any(isinstance(c, ErrorbarContainer) for c in ax.containers)
                     or any(isinstance(c, LineCollection) for c in ax.collections)})
    return {"axes": axes, "figure_legends": [legend_info(lg) for lg in fig.legends]}


def hooked(call):
    """call() with every Figure.savefig first describing its figure (laid out as saved);
    returns call's stdout and {figure name (its file's): description}."""
    seen = {}
    original = matplotlib.figure.Figure.savefig

    def savefig(fig, fname, *args, **kwargs):
        name = os.path.splitext(os.path.basename(str(fname)))[0]
        seen[name] = describe(fig)
        return original(fig, fname, *args, **kwargs)

    matplotlib.figure.Figure.savefig = savefig
    text = io.StringIO()
    try:
        with contextlib.redirect_stdout(text):
            call()
    finally:
        matplotlib.figure.Figure.savefig = original
    return text.getvalue(), seen


def run(plot, args):
    """plot.main(args) in this process; returns its stdout and what each figure showed
    (describe's, by figure name)."""
    return hooked(lambda: plot.main(args))


def overlap(a, b):
    """Pixels² two window extents share."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0


def significant_digits(number):
    """"19.5578" 6, "0.25" 2, "512" 3, "2960" 3, "500" 1, "3e-06" 1."""
    mantissa = number.lower().split("e")[0].lstrip("-")
    digits = mantissa.replace(".", "").lstrip("0")
    return len(digits if "." in mantissa else digits.rstrip("0"))


def check_round_bytes(name, which, texts, failures):
    """A bytes axis (any label in B, KiB, MiB, GiB, TiB) labelled with round numbers: each
    label a number of at most 3 significant digits and a unit."""
    if not any(UNIT.search(t) for t in texts):
        return
    bad = [t for t in texts if not BYTES_LABEL.match(t) or
           significant_digits(BYTES_LABEL.match(t).group(1)) > 3]
    if bad:
        failures.append(f"{name}: {which} bytes tick labels not round (> 3 significant digits "
                        f"or no unit): {bad}")


def check_legend(name, where, info, boxes, failures):
    n = len(info["texts"])
    if n > MAX_LEGEND:
        failures.append(f"{name}: {where} legend has {n} entries (at most {MAX_LEGEND})")
    for i, box in enumerate(boxes):
        shared = overlap(info["box"], box)
        if shared > 1:
            failures.append(f"{name}: {where} legend overlaps the data area of axes {i} "
                            f"({shared:.0f} px²): it covers the points")
            break
    repeated = sorted({c for c in info["colours"] if info["colours"].count(c) > 1})
    if repeated:
        failures.append(f"{name}: {where} legend shows a colour in more than one entry "
                        f"({len(info['colours'])} coloured entries, {len(set(info['colours']))} "
                        "colours)")


def check_readable(name, described, failures, errorbars=False):
    """The readability checks of one figure (see the docstring)."""
    boxes = [ax["box"] for ax in described["axes"]]
    for i, ax in enumerate(described["axes"]):
        if ax["legend_info"]:
            check_legend(name, f"axes {i}", ax["legend_info"], boxes, failures)
        for which, (_, texts) in ax["labels"].items():
            check_round_bytes(name, which, texts, failures)
    for info in described["figure_legends"]:
        check_legend(name, "figure", info, boxes, failures)
    if errorbars and not any(ax["errorbars"] for ax in described["axes"]):
        failures.append(f"{name}: the ratios have no error bars (no ErrorbarContainer or "
                        "LineCollection): their intervals are not drawn")


def wide_fixture(tmp, batchcost, failures):
    """make_plot_fixture.write(wide=True) into tmp, each GPU fitted: the two folders."""
    fixture = load("make_plot_fixture", os.path.join("tests", "make_plot_fixture.py"))
    try:
        fixture.write(tmp, wide=True)
    except TypeError:  # a make_plot_fixture.py without the wide fixture
        failures.append("make_plot_fixture.write(root, wide=True) missing")
        return None
    folders = []
    for slug in sorted(fixture.GPUS):
        folder = os.path.join(tmp, slug)
        done = subprocess.run([batchcost, "fit", folder, "--out",
                               os.path.join(folder, "model.json")], capture_output=True,
                              text=True)
        if done.returncode != 0:
            failures.append(f"wide fixture: batchcost fit {slug} failed: {done.stderr[-300:]}")
        folders.append(folder)
    return folders


def serve_docs(tmp):
    """The golden serve JSON alone, and twelve curves (six deployments, two policies each)."""
    golden = os.path.join(ROOT, "tests", "data", "predict", "serve_deepseek_v3_ep16.json")
    with open(golden) as f:
        doc = json.load(f)
    many = []
    for i in range(6):
        d = copy.deepcopy(doc)
        d["deployment"] = f"tp {2 ** (i % 4)}, ep {16 >> (i % 3)}, variant {i}"
        d["points"] = [dict(p, policy=policy, tokens_per_s_per_gpu=p["tokens_per_s_per_gpu"] *
                            (1 + 0.1 * i + 0.05 * j))
                       for j, policy in enumerate(("continuous", "static")) for p in doc["points"]]
        path = os.path.join(tmp, f"serve{i}.json")
        with open(path, "w") as f:
            json.dump(d, f)
        many.append(path)
    return [("serve_one", [golden]), ("serve_many", many)]


def check_serve_plot(tmp, failures):
    """tools/serve_plot.py's figure, of one deployment and of twelve curves: readable."""
    serve_plot = load("serve_plot", os.path.join("tools", "serve_plot.py"))
    for name, inputs in serve_docs(tmp):
        argv = inputs + ["--out", os.path.join(tmp, name + ".png")]
        saved = sys.argv
        sys.argv = ["serve_plot.py"] + argv
        try:
            _, seen = hooked(serve_plot.main)
        finally:
            sys.argv = saved
        if name not in seen:
            failures.append(f"serve_plot {name}: no figure saved")
            continue
        check_readable(f"serve_plot {name}", seen[name], failures)


def check_ticks(name, axes, failures):
    """axes: describe()'s "axes" list."""
    for ax in axes:
        for which, (scale, texts) in ax["labels"].items():
            bad = [t for t in texts if "$" in t or "times" in t or "×" in t]
            if bad:
                failures.append(f"{name}: {which} tick labels not plain: {bad}")
            if scale == "log" and len(texts) < 2:
                failures.append(f"{name}: log {which} axis with {len(texts)} labels: {texts}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batchcost", required=True)
    batchcost = ap.parse_args().batchcost
    data = os.path.join(ROOT, "tests", "data", "plot")
    plot = load_plot()
    failures = []
    with tempfile.TemporaryDirectory() as out:
        stdout, seen = run(plot, [os.path.join(data, "h100"), os.path.join(data, "h200"),
                                  "--out", out, "--batchcost", batchcost])
        print(stdout)
        for name in FIGURES:
            path = os.path.join(out, name + ".png")
            if not os.path.exists(path):
                failures.append(f"{name}.png: not written")
                continue
            size = os.path.getsize(path)
            height, width = matplotlib.image.imread(path).shape[:2]
            if size < 10_000 or width < 600 or height < 400:
                failures.append(f"{name}.png: {size} bytes, {width}×{height} pixels: too small")
            check_ticks(name, seen.get(name, {}).get("axes", []), failures)
        if "skipped" in stdout:
            failures.append("a figure was skipped although the fixture has its data")
        for name in FIGURES:
            if name in seen:
                check_readable(name, seen[name], failures, errorbars=name == "compare")
        legend = [t for ax in seen.get("speed_cost", {}).get("axes", []) for t in ax["legend"]]
        if not any("does not fit" in t for t in legend):
            failures.append(f"speed_cost: impossible deployments not marked: {legend}")

    # As many series as a full run has: every figure readable all the same.
    with tempfile.TemporaryDirectory() as tmp:
        folders = wide_fixture(os.path.join(tmp, "data"), batchcost, failures)
        if folders:
            out = os.path.join(tmp, "out")
            stdout, seen = run(plot, folders + ["--out", out, "--batchcost", batchcost])
            if "skipped" in stdout:
                failures.append(f"wide fixture: a figure was skipped: {stdout}")
            for name in FIGURES:
                if name not in seen:
                    failures.append(f"wide fixture: {name} not drawn")
                    continue
                check_ticks(f"wide {name}", seen[name]["axes"], failures)
                check_readable(f"wide {name}", seen[name], failures,
                               errorbars=name == "compare")

    # The compare chart shows the constants batchcost compare shows: each fit's refined terms
    # beside P, W and λ, and no ratio for a constant either fit did not identify (the Azure
    # sets leave λ[launch] and λ[sync] bounded), named below the bars instead.
    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        for d in ("h100-azure-ndv5", "h200-azure-ndv5"):
            src, dst = os.path.join(ROOT, "reference", d), os.path.join(tmp, d)
            os.makedirs(dst)
            for f in os.listdir(src):
                if f.endswith(".json"):
                    with open(os.path.join(src, f)) as a, open(os.path.join(dst, f), "w") as b:
                        b.write(a.read())
            subprocess.run([batchcost, "fit", src, "--out", os.path.join(dst, "model.json")],
                           check=True, capture_output=True)
            folders.append(dst)
        _, seen = run(plot, folders + ["--out", os.path.join(tmp, "out"), "--batchcost",
                                       batchcost])
        axes = seen.get("compare", {}).get("axes", [])
        ticks = [t.split("\n")[0] for ax in axes for t in ax["labels"]["x"][1]]
        below = " ".join(ax["xlabel"] for ax in axes)
        for want in ("P[fp8_e4m3]", "W", "λ[kernel]", "overlap p"):
            if want not in ticks:
                failures.append(f"compare on the Azure fits: no bar for {want}: {ticks}")
        for weak in ("λ[launch]", "λ[sync]"):
            if weak in ticks or weak not in below:
                failures.append(f"compare on the Azure fits: {weak}, not identified, drawn as a "
                                f"ratio or not named: bars {ticks}, below: {below!r}")

    # The shipped Azure sets (measured, no model.json): HBM sizes within a factor of 2 there.
    reference = [os.path.join(ROOT, "reference", d) for d in ("h100-azure-ndv5",
                                                              "h200-azure-ndv5")]
    if all(os.path.isdir(d) for d in reference):
        with tempfile.TemporaryDirectory() as out:
            _, seen = run(plot, reference + ["--out", out, "--batchcost", batchcost])
            if not seen:
                failures.append("reference: no figure drawn")
            for name, described in seen.items():
                check_ticks(f"reference {name}", described["axes"], failures)
                check_readable(f"reference {name}", described, failures)

    with tempfile.TemporaryDirectory() as tmp:
        check_serve_plot(tmp, failures)

    with tempfile.TemporaryDirectory() as out:
        stdout, _ = run(plot, [os.path.join(data, "h100"), "--out", out,
                               "--batchcost", batchcost])
        for name in TWO_GPU:
            if f"skipped {name}.png: one results folder given" not in stdout:
                failures.append(f"one folder: {name}.png not skipped with its reason")
            if os.path.exists(os.path.join(out, name + ".png")):
                failures.append(f"one folder: {name}.png written")

    # Too little data: one memory size, one GEMM, one launch count: skipped, saying why.
    with tempfile.TemporaryDirectory() as tmp:
        thin = os.path.join(tmp, "thin")
        os.makedirs(thin)
        entries = [{"name": "memory/copy_kernel/bytes:4096/manual_time", "run_type": "iteration",
                    "real_time": 2.5, "cpu_time": 2.5, "time_unit": "us", "bytes": 8192,
                    "kernels": 1, "label": "cache=cold timing=device"},
                   {"name": "gemm/bf16/m:1/n:8192/k:8192/manual_time", "run_type": "iteration",
                    "real_time": 50, "cpu_time": 50, "time_unit": "us", "flops": 1.3e8,
                    "bytes": 1.3e8, "kernels": 1, "label": "dtype=bf16 timing=device"},
                   {"name": "memory/copy_kernel/bytes:0/manual_time", "run_type": "iteration",
                    "real_time": 0, "cpu_time": 0, "time_unit": "us", "skipped": True}]
        with open(os.path.join(thin, "r.json"), "w") as f:
            json.dump({"context": {}, "benchmarks": entries}, f)
        stdout, _ = run(plot, [thin, "--out", tmp, "--batchcost", batchcost])
        for name, why in (("memory", "1 memory sizes (a curve needs 2 or more)"),
                          ("roofline", "1 gemm intensities"),
                          ("gemm_tokens", "no GEMM shape (N, K) measured at 2 or more M"),
                          ("launch", "0 launch event counts")):
            if f"skipped {name}.png: {why}" not in stdout:
                failures.append(f"thin data: {name}.png not skipped with '{why}': {stdout}")
            if os.path.exists(os.path.join(tmp, name + ".png")):
                failures.append(f"thin data: {name}.png written")

    for fmt, magic in (("svg", b"<?xml"), ("pdf", b"%PDF")):
        with tempfile.TemporaryDirectory() as out:
            run(plot, [os.path.join(data, "h100"), "--out", out, "--format", fmt,
                       "--batchcost", batchcost])
            path = os.path.join(out, f"memory.{fmt}")
            if not os.path.exists(path):
                failures.append(f"--format {fmt}: memory.{fmt} not written")
                continue
            with open(path, "rb") as f:
                if not f.read(16).startswith(magic):
                    failures.append(f"--format {fmt}: memory.{fmt} is not {fmt}")
            if any(n.endswith(".png") for n in os.listdir(out)):
                failures.append(f"--format {fmt}: a PNG written")

    # A log axis over less than a factor of 2 (where matplotlib labels minor ticks 1.4×10⁰),
    # of bytes too (where 2.1e10 to 3e10 got 19.5578 GiB).
    for lo, hi in ((1.2, 1.9), (0.9, 1.6), (3e-6, 7e-6), (2.0, 2000.0), (2.1e10, 3.0e10),
                   (5e5, 9e5), (1.5 * 2 ** 30, 2.5 * 2 ** 30), (3000.0, 5000.0)):
        fig, ax = plt.subplots()
        ax.plot([lo, hi], [lo, hi])
        ax.set_xscale("log")
        ax.set_yscale("log")
        plot.plain_log_axis(ax, "x")
        plot.plain_log_axis(ax, "y", "bytes")
        fig.canvas.draw()
        check_ticks(f"narrow range {lo}..{hi}",
                    [{"labels": {"x": ("log", [t.get_text() for t in ax.get_xticklabels()
                                                if t.get_text()]),
                                 "y": ("log", [t.get_text() for t in ax.get_yticklabels()
                                               if t.get_text()])}}], failures)
        y = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        check_round_bytes(f"narrow range {lo}..{hi}", "y", y, failures)
        if not any(UNIT.search(t) for t in y):
            failures.append(f"narrow range {lo}..{hi}: bytes labels without a unit: {y}")
        plt.close(fig)
    if plot.format_plain(1.4) != "1.4" or plot.format_plain(20000) != "20k":
        failures.append(f"format_plain: {plot.format_plain(1.4)}, {plot.format_plain(20000)}")
    if plot.format_bytes(65536) != "64 KiB" or plot.format_bytes(2 ** 30) != "1 GiB":
        failures.append(f"format_bytes: {plot.format_bytes(65536)}, {plot.format_bytes(2 ** 30)}")

    for f in failures:
        print("FAILED:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
