#!/usr/bin/python3
"""`batchcost export` output loads with Python's csv module: for every run of the input JSON
(read here directly, the way a user's script would), by default one "repetition" row per
repetition (a single run: one, index 0), and with --medians one "median" row with its time, so
that a plain groupby counts each measurement once; parameters from the names and labels as
columns; skipped and failed entries absent. Run by ctest:

  export_test.py --batchcost build-ci/tools/batchcost
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def expected_runs(path):
    """run_name -> (repetition times in s, median time in s or None, label, counters)."""
    with open(path) as f:
        doc = json.load(f)
    runs = {}
    for e in doc["benchmarks"]:
        if e.get("error_occurred") or e.get("skipped"):
            continue
        run = runs.setdefault(e.get("run_name", e["name"]), {"reps": [], "median": None, "e": e})
        t = e["real_time"] * UNIT[e["time_unit"]]
        if e.get("run_type") == "aggregate":
            if e.get("aggregate_name") == "median":
                run["median"] = t
        else:
            run["reps"].append(t)
    return runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batchcost", required=True)
    batchcost = ap.parse_args().batchcost
    inputs = [os.path.join(ROOT, "tests", "data", "compare", n)
              for n in ("default_a.json", "default_b.json", "quick.json")]
    inputs.append(os.path.join(ROOT, "tests", "data", "fit", "h100", "results.json"))
    failures = []

    def export(*extra):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "results.csv")
            run = subprocess.run([batchcost, "export", *inputs, "--csv", out, *extra],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                sys.exit(f"{run.stdout}{run.stderr}")
            with open(out, newline="") as f:
                return list(csv.DictReader(f))

    rows = export("--medians")
    repetition_rows = export()
    by_key, reps_by_key = {}, {}
    for r in rows:
        by_key.setdefault((r["source"], r["name"]), []).append(r)
    for r in repetition_rows:
        reps_by_key.setdefault((r["source"], r["name"]), []).append(r)
    if any(r["kind"] != "median" for r in rows):
        failures.append("--medians wrote a row that is not a median")
    for path in inputs:
        for name, want in expected_runs(path).items():
            got = by_key.pop((path, name), [])
            medians = [r for r in got if r["kind"] == "median"]
            reps = reps_by_key.pop((path, name), [])
            if len(medians) != 1:
                failures.append(f"{path}: {name}: {len(medians)} median rows")
                continue
            m = medians[0]
            median = want["median"] if want["median"] is not None else sorted(want["reps"])[
                len(want["reps"]) // 2]
            if abs(float(m["time_s"]) - median) > 1e-12 * median:
                failures.append(f"{name}: time_s {m['time_s']} != {median}")
            if not want["reps"]:
                # The file kept only the median aggregate: its one row is that median.
                if ([r["kind"] for r in reps] != ["median"] or
                        abs(float(reps[0]["time_s"]) - median) > 1e-12 * median):
                    failures.append(f"{name}: aggregates only, but not one median row")
                continue
            if any(r["kind"] != "repetition" for r in reps):
                failures.append(f"{name}: a default row is not a repetition")
            if [float(r["time_s"]) for r in reps] != [float(f"{t:.15g}") for t in want["reps"]]:
                failures.append(f"{name}: repetition times differ")
            if [r["repetition"] for r in reps] != [str(i) for i in range(len(reps))]:
                failures.append(f"{name}: repetition indices")
            e = want["e"]
            for c in ("flops", "bytes", "net_bytes", "kernels", "collectives"):
                if float(m[c]) != float(e.get(c, 0)):
                    failures.append(f"{name}: counter {c} {m[c]} != {e.get(c, 0)}")
            labels = dict(kv.split("=", 1) for kv in e.get("label", "").split())
            for k, v in labels.items():
                if m.get(f"label_{k}") != v:
                    failures.append(f"{name}: label_{k} {m.get(f'label_{k}')!r} != {v!r}")
            for seg in name.split("/"):
                if ":" in seg:
                    k, v = seg.split(":", 1)
                    if m.get(f"param_{k}") != v:
                        failures.append(f"{name}: param_{k} {m.get(f'param_{k}')!r} != {v!r}")
            # A parameter column is a number pandas can read, not a "bytes:1024" string.
            if m.get("param_bytes"):
                int(m["param_bytes"])
    for key in reps_by_key:
        failures.append(f"unexpected repetition rows for {key}")
    for key in by_key:
        failures.append(f"unexpected rows for {key}")
    if any(r["name"].startswith("memory/copy_kernel/bytes:137438953472") for r in rows):
        failures.append("a skipped run was exported")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        failures.append(f"rows of different widths: {widths}")
    print(f"{len(rows)} rows from {len(inputs)} files")
    for f in failures:
        print("FAILED:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
