#!/usr/bin/python3
"""Reads our Google Benchmark JSON the way google/benchmark's tools/compare.py does and checks
that `batchcost compare --json` agrees with it, benchmark by benchmark.

compare.py is vendored nowhere, so its reading is reimplemented here from
google/benchmark tools/gbench/util.py (load_benchmark_results, sort_benchmark_results) and
tools/gbench/report.py (partition_benchmarks, get_difference_report, calc_utest,
calculate_geomean), commit 267a11154f14269384879dc7f6b8d25acb3684db: entries are grouped by
"name" (repetitions share the run's name, aggregates carry a _median/_cv suffix), each needs
time_unit, real_time and cpu_time, the U test runs on every entry of the name when both sides
have at least 2, and the overall geometric mean takes every non-aggregate entry. Where scipy is
installed the U test's p-values are checked too (else that check is skipped, saying so).

  gbench_compat_test.py --batchcost build-ci/tools/batchcost
"""
import argparse
import json
import math
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
try:
    from scipy.stats import mannwhitneyu
except ImportError:
    mannwhitneyu = None


def load(path):
    """util.load_benchmark_results + sort_benchmark_results (no filter)."""
    with open(path) as f:
        results = json.load(f)
    version = results.get("context", {}).get("json_schema_version", 1)
    assert version == 1, f"{path}: json_schema_version {version}: compare.py exits"
    b = results["benchmarks"]
    b = sorted(b, key=lambda x: x.get("repetition_index", -1))
    b = sorted(b, key=lambda x: 1 if x.get("run_type") == "aggregate" else 0)
    b = sorted(b, key=lambda x: x.get("per_family_instance_index", -1))
    b = sorted(b, key=lambda x: x.get("family_index", -1))
    results["benchmarks"] = b
    return results


def comparable(x):
    return "time_unit" in x and "real_time" in x and "cpu_time" in x


def partitions(json1, json2):
    """report.partition_benchmarks: name -> (lhs entries, rhs entries)."""
    def names(j):
        seen, out = set(), []
        for x in j["benchmarks"]:
            if x["name"] not in seen:
                seen.add(x["name"])
                out.append(x["name"])
        return out
    rhs_names = set(names(json2))
    out = {}
    for name in names(json1):
        if name not in rhs_names:
            continue
        unit = next((x["time_unit"] for x in json1["benchmarks"]
                     if x["name"] == name and comparable(x)), None)
        if unit is None:
            continue
        out[name] = ([x for x in json1["benchmarks"] if x["name"] == name and
                      x["time_unit"] == unit],
                     [x for x in json2["benchmarks"] if x["name"] == name and
                      x["time_unit"] == unit])
    return out


def change(old, new):
    """report.calculate_change."""
    if old == 0 and new == 0:
        return 0.0
    if old == 0:
        return float(new - old) / (float(old + new) / 2)
    return float(new - old) / abs(old)


def geomean(j):
    """report.calculate_geomean of real_time, in seconds; 0 where a time is 0."""
    times = [x["real_time"] * UNIT[x.get("time_unit", "s")] for x in j["benchmarks"]
             if x.get("run_type") != "aggregate"]
    if not times:
        return None
    if any(t <= 0 for t in times):
        return 0.0
    return math.exp(sum(math.log(t) for t in times) / len(times))


def check_pair(batchcost, base, cand, failures, notes):
    j1, j2 = load(base), load(cand)
    for path, j in ((base, j1), (cand, j2)):
        for x in j["benchmarks"]:
            if not comparable(x):
                failures.append(f"{path}: {x['name']}: compare.py cannot compare it "
                                "(time_unit, real_time, cpu_time)")
    parts = partitions(j1, j2)
    run = subprocess.run([batchcost, "compare", base, cand, "--json"], capture_output=True,
                         text=True)
    if run.returncode != 0:
        failures.append(f"batchcost compare {base} {cand}: exit {run.returncode}: {run.stderr}")
        return
    ours = json.loads(run.stdout)["benchmarks"]
    label = f"{os.path.basename(base)} vs {os.path.basename(cand)}"
    for b in ours:
        name = b["name"]
        reps = parts.get(name)
        median = parts.get(name + "_median")
        if reps is None and median is None:
            failures.append(f"{label}: {name}: compare.py finds neither its repetitions nor its "
                            "median")
            continue
        # The ratio: compare.py's change of the median aggregate (or of the single run).
        ref = median or reps
        lhs, rhs = ref[0][0], ref[1][0]
        if abs(change(lhs["real_time"], rhs["real_time"]) - (b["ratio"] - 1)) > 2e-5:
            failures.append(f"{label}: {name}: ratio {b['ratio']} but compare.py's change is "
                            f"{change(lhs['real_time'], rhs['real_time'])}")
        # The U test: compare.py runs it where both sides have 2 or more entries of the name.
        if reps is not None:
            n1, n2 = len(reps[0]), len(reps[1])
            if b["repetitions"] != [n1, n2]:
                failures.append(f"{label}: {name}: repetitions {b['repetitions']}, compare.py "
                                f"sees {n1} vs {n2}")
            has_u = min(n1, n2) >= 2
            if has_u != (b["p_value"] is not None):
                failures.append(f"{label}: {name}: p_value {b['p_value']} but compare.py "
                                f"{'runs' if has_u else 'does not run'} the U test")
            if has_u and mannwhitneyu is not None:
                p = mannwhitneyu([x["real_time"] for x in reps[0]],
                                 [x["real_time"] for x in reps[1]],
                                 alternative="two-sided").pvalue
                if abs(p - b["p_value"]) > 1e-3 * max(p, 1e-3):
                    failures.append(f"{label}: {name}: p {b['p_value']}, scipy {p}")
        elif b["p_value"] is not None:
            failures.append(f"{label}: {name}: a p-value without repetitions")
    g1, g2 = geomean(j1), geomean(j2)
    if g1 == 0 or g2 == 0:
        # Google Benchmark writes skipped runs with a time of 0; compare.py then drops its
        # OVERALL_GEOMEAN. batchcost's reader skips them (they are in no row above).
        notes.append(f"{label}: a zero-time skipped or failed entry removes compare.py's "
                     "OVERALL_GEOMEAN (the writer's matter: batchcost ignores such entries)")
    elif g1 is None or g2 is None:
        failures.append(f"{label}: no geometric mean")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batchcost", required=True)
    batchcost = ap.parse_args().batchcost
    data = os.path.join(ROOT, "tests", "data")
    pairs = [("compare/default_a.json", "compare/default_b.json"),
             ("compare/quick.json", "compare/default_b.json"),
             ("compare/default_a.json", "compare/quick.json"),
             ("fit/h100/results.json", "fit/h200/results.json")]
    failures, notes = [], []
    for base, cand in pairs:
        check_pair(batchcost, os.path.join(data, base), os.path.join(data, cand), failures, notes)
    if mannwhitneyu is None:
        print("note: scipy not installed: U-test p-values not cross-checked against scipy")
    for n in notes:
        print("note:", n)
    for f in failures:
        print("FAILED:", f)
    print(f"{len(pairs)} pairs read as compare.py reads them; {len(failures)} disagreements")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
