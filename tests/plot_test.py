#!/usr/bin/python3
"""Renders every figure of tools/plot.py from the synthetic fixture of two GPUs
(tests/data/plot/, made by tests/make_plot_fixture.py from stated constants) into a temporary
folder and checks each: written, not tiny, of a legible size, every log axis with 2 or more
plain tick labels (no 1.4×10⁰ mathtext), the speed/cost curve marking the batches that do not
fit in a GPU's memory. Then: one folder alone skips the two-GPU figures saying why; a folder with
too little data skips its figures saying why; --format svg and pdf write those formats; a narrow
log range still gets plain labels. Exit 77 (ctest: skipped) without matplotlib.

  plot_test.py --batchcost build-ci/tools/batchcost
"""
import argparse
import contextlib
import importlib.util
import io
import json
import os
import sys
import tempfile

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image
    import matplotlib.pyplot as plt
except ImportError:
    print("skipped: this python has no matplotlib (Debian: python3-matplotlib)")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = ["roofline", "gemm_tokens", "memory", "launch", "moe", "collectives", "transfers",
           "speed_cost", "compare", "hbm_overlay", "gemm_overlay", "busbw_overlay"]
TWO_GPU = ["compare", "hbm_overlay", "gemm_overlay", "busbw_overlay"]


def load_plot():
    spec = importlib.util.spec_from_file_location("plot", os.path.join(ROOT, "tools", "plot.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(plot, args):
    """plot.main(args) in this process; returns its stdout and what each figure showed."""
    seen = {}
    original = plot.save

    def inspect(fig, out, name, written):
        fig.canvas.draw()
        axes = []
        for ax in fig.axes:
            labels = {}
            for which, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
                texts = [t.get_text() for t in axis.get_ticklabels() if t.get_text()]
                labels[which] = (axis.get_scale(), texts)
            legend = ax.get_legend()
            axes.append({"labels": labels, "legend": [t.get_text() for t in legend.get_texts()]
                         if legend else []})
        seen[name] = axes
        original(fig, out, name, written)

    plot.save = inspect
    text = io.StringIO()
    try:
        with contextlib.redirect_stdout(text):
            plot.main(args)
    finally:
        plot.save = original
    return text.getvalue(), seen


def check_ticks(name, axes, failures):
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
            check_ticks(name, seen.get(name, []), failures)
        if "skipped" in stdout:
            failures.append("a figure was skipped although the fixture has its data")
        legend = [t for ax in seen.get("speed_cost", []) for t in ax["legend"]]
        if not any("does not fit" in t for t in legend):
            failures.append(f"speed_cost: impossible deployments not marked: {legend}")

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

    # A log axis over less than a factor of 2 (where matplotlib labels minor ticks 1.4×10⁰).
    for lo, hi in ((1.2, 1.9), (0.9, 1.6), (3e-6, 7e-6), (2.0, 2000.0)):
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
