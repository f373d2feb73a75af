#!/usr/bin/env python3
"""Published measured serving results (serving.json, each with its source) against batchcost
predict, twice: on the stated constants of tests/data/predict/h100_stated.json (data-sheet
peaks), and on the shipped calibration of the GPU type (`--hardware h100` or `h200`:
tools/calibrated/, fitted from published measurements of other machines; what no source
measures stays stated).

    compare.py --batchcost build/tools/batchcost [--check expected.md]

Prints a Markdown table: GPU, engine, configuration, the published number, ours on each, and
ours/theirs, then the median and worst ratio of each. With --check, exits 1 when the table
differs from the expected file (the golden test)."""
import statistics
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
METRICS = (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("e2e_s", "E2E latency"))


def predict(batchcost, hardware, model, args, row):
    command = [batchcost, "predict", "--hardware", hardware, "--model", model,
               "--batch", str(row["concurrency"]), "--input-len", str(row["input"]),
               "--output-len", str(row["output"]), "--concurrency", str(row["concurrency"]),
               "--json"] + args
    run = subprocess.run(command, cwd=os.path.dirname(HERE), capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"compare.py: {' '.join(command)} failed: {run.stderr.strip()}")
    shape = json.loads(run.stdout)["requests"]["by_concurrency"][0]["shapes"][0]
    return shape


def ms(seconds):
    return f"{seconds * 1e3:.4g} ms"


def table(batchcost):
    with open(os.path.join(HERE, "serving.json")) as f:
        doc = json.load(f)
    lines = ["| GPU | engine | configuration | input / output | metric | theirs | stated "
             "| stated / theirs | calibrated | calibrated / theirs | source |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    ratios = {"stated": [], "calibrated": []}
    for result in doc["results"]:
        shipped = "h200" if "H200" in result["gpu"] else "h100"
        for row in result["rows"]:
            model = row.get("model", result.get("model"))
            args = row.get("args", result.get("args", []))
            stated = predict(batchcost, "h100_stated.json", model, args, row)
            calibrated = predict(batchcost, shipped, model, args, row)
            for key, name in METRICS:
                if key not in row:
                    continue
                ratios["stated"].append(stated[key] / row[key])
                ratios["calibrated"].append(calibrated[key] / row[key])
                lines.append(
                    f"| {result['gpu']} | {result['engine']} | {model} {' '.join(args)}, "
                    f"concurrency {row['concurrency']} | {row['input']} / {row['output']} "
                    f"| {name} | {ms(row[key])} | {ms(stated[key])} "
                    f"| {stated[key] / row[key]:.2f} | {ms(calibrated[key])} ({shipped}) "
                    f"| {calibrated[key] / row[key]:.2f} | [{result['url']}]({result['url']}) |")
    lines.append("")
    for side, r in ratios.items():
        worst = max(r, key=lambda x: max(x, 1 / x))
        lines.append(f"{side}: ours / theirs median {statistics.median(r):.2f}, "
                     f"worst {worst:.2f} ({len(r)} numbers)")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batchcost", required=True)
    parser.add_argument("--check", help="expected table; exit 1 when it differs")
    a = parser.parse_args()
    out = table(os.path.abspath(a.batchcost))
    if a.check:
        with open(a.check) as f:
            expected = f.read()
        if out != expected:
            sys.stdout.write(out)
            sys.exit(f"compare.py: the table differs from {a.check}")
        return
    sys.stdout.write(out)


if __name__ == "__main__":
    main()
