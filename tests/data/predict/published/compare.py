#!/usr/bin/env python3
"""Published measured serving results (serving.json, each with its source) against batchcost
predict on the stated constants of tests/data/predict/h100_stated.json.

    compare.py --batchcost build/tools/batchcost [--check expected.md]

Prints a Markdown table: GPU, engine, configuration, the published number, ours, ours/theirs.
With --check, exits 1 when the table differs from the expected file (the golden test)."""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
METRICS = (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("e2e_s", "E2E latency"))


def predict(batchcost, model, args, row):
    command = [batchcost, "predict", "--hardware", "h100_stated.json", "--model", model,
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
    lines = ["| GPU | engine | configuration | input / output | metric | theirs | ours "
             "| ours / theirs | source |",
             "|---|---|---|---|---|---|---|---|---|"]
    for result in doc["results"]:
        for row in result["rows"]:
            model = row.get("model", result.get("model"))
            args = row.get("args", result.get("args", []))
            ours = predict(batchcost, model, args, row)
            for key, name in METRICS:
                if key not in row:
                    continue
                lines.append(
                    f"| {result['gpu']} | {result['engine']} | {model} {' '.join(args)}, "
                    f"concurrency {row['concurrency']} | {row['input']} / {row['output']} "
                    f"| {name} | {ms(row[key])} | {ms(ours[key])} "
                    f"| {ours[key] / row[key]:.2f} | [{result['url']}]({result['url']}) |")
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
