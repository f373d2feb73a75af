#!/usr/bin/python3
"""Renders every figure of tools/plot.py from the synthetic fixture of two GPUs
(tests/data/plot/, made by tests/make_plot_fixture.py from stated constants) into a temporary
folder and checks each PNG: present, not tiny, of a legible size. Then one folder alone: the
comparison is skipped, saying why. Exit 77 (ctest: skipped) without matplotlib.

  plot_test.py --batchcost build-host/tools/batchcost
"""
import argparse
import os
import subprocess
import sys
import tempfile

try:
    import matplotlib.image
except ImportError:
    print("skipped: this python has no matplotlib (Debian: python3-matplotlib)")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = ["roofline.png", "memory.png", "launch.png", "moe.png", "collectives.png",
           "compare.png", "speed_cost.png"]


def plot(args, batchcost):
    return subprocess.run([sys.executable, os.path.join(ROOT, "tools", "plot.py")] + args +
                          ["--batchcost", batchcost], capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batchcost", required=True)
    batchcost = ap.parse_args().batchcost
    data = os.path.join(ROOT, "tests", "data", "plot")
    failures = []
    with tempfile.TemporaryDirectory() as out:
        run = plot([os.path.join(data, "h100"), os.path.join(data, "h200"), "--out", out],
                   batchcost)
        print(run.stdout, run.stderr)
        if run.returncode != 0:
            failures.append(f"plot.py exited {run.returncode}")
        for name in FIGURES:
            path = os.path.join(out, name)
            if not os.path.exists(path):
                failures.append(f"{name}: not written")
                continue
            size = os.path.getsize(path)
            height, width = matplotlib.image.imread(path).shape[:2]
            if size < 10_000 or width < 600 or height < 400:
                failures.append(f"{name}: {size} bytes, {width}×{height} pixels: too small")
        if "skipped" in run.stdout:
            failures.append("a figure was skipped although the fixture has its data")
    with tempfile.TemporaryDirectory() as out:
        run = plot([os.path.join(data, "h100"), "--out", out], batchcost)
        if "skipped compare.png: one results folder given" not in run.stdout:
            failures.append("one folder: compare.png not skipped with its reason")
        if os.path.exists(os.path.join(out, "compare.png")):
            failures.append("one folder: compare.png written")
    for f in failures:
        print("FAILED:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
