#!/usr/bin/python3
"""Reads our Google Benchmark JSON the way google/benchmark's tools/compare.py does and checks
that `batchcost compare --json` agrees with it, benchmark by benchmark; then runs the real
harness (tests/golden_bench.cc, fixed times, no GPU) and checks what a compare.py user sees:
times in ns by default, so a 2.045 µs time prints as 2045 where compare.py prints whole numbers
of the unit; a skipped benchmark that leaves the overall geometric mean in place (it is in the
context's "skipped", not a zero-time entry); --benchmark_time_unit honoured; a --quick and a
default run that compare by name, with "?" where one side ran once.

Where google/benchmark's own compare.py is installed (Debian's libbenchmark-tools puts it in
/usr/share/benchmark; BATCHCOST_COMPARE_PY names another) and its scipy imports, it is run on
the same files and on the harness binary itself (it runs the binary with --benchmark_out); else
that part is skipped, saying why.

Every Google Benchmark JSON the project ships (reference/*/*.json, tests/data/published/*.json)
is read the same way: each entry must carry what compare.py indexes (time_unit, real_time,
cpu_time), and where compare.py runs, it compares each file with itself.

compare.py is vendored nowhere, so its reading is reimplemented here from
google/benchmark tools/gbench/util.py (load_benchmark_results, sort_benchmark_results) and
tools/gbench/report.py (partition_benchmarks, get_difference_report, calc_utest,
calculate_geomean), commit 267a11154f14269384879dc7f6b8d25acb3684db: entries are grouped by
"name" (repetitions share the run's name, aggregates carry a _median/_cv suffix), each needs
time_unit, real_time and cpu_time, the U test runs on every entry of the name when both sides
have at least 2, and the overall geometric mean takes every non-aggregate entry. Where scipy is
installed the U test's p-values are checked too (else that check is skipped, saying so).

  gbench_compat_test.py --batchcost build-ci/tools/batchcost \
      --golden-bench build-ci/tests/golden_bench
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

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
        # Google Benchmark writes skipped and failed runs with a time of 0; compare.py then
        # drops its OVERALL_GEOMEAN. These fixtures hold such entries as other writers (and our
        # failures) write them; the harness puts its skips in the context (check_harness).
        # batchcost's reader leaves them out (they are in no row above).
        notes.append(f"{label}: a zero-time skipped or failed entry removes compare.py's "
                     "OVERALL_GEOMEAN (batchcost ignores such entries)")
    elif g1 is None or g2 is None:
        failures.append(f"{label}: no geometric mean")


# The harness's benchmarks of golden_bench that neither fail nor depend on the run: fixed times
# (4.096 µs, 1048.576 µs, 2.045 µs) and one skip (demo/too_big).
HARNESS_FILTER = "demo/fixed|demo/zero_counter|demo/too_big"


def run_harness(golden_bench, out, *flags):
    cmd = [golden_bench, f"--benchmark_filter={HARNESS_FILTER}", f"--benchmark_out={out}", *flags]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {run.returncode}: {run.stderr}")
    return load(out)


def by_name(j):
    out = {}
    for x in j["benchmarks"]:
        out.setdefault(x["name"], []).append(x)
    return out


def batchcost_json(batchcost, *args):
    run = subprocess.run([batchcost, *args, "--json"], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"batchcost {' '.join(args)}: exit {run.returncode}: {run.stderr}")
    return json.loads(run.stdout)


def check_harness(batchcost, golden_bench, tmp, failures, notes):
    """The real harness's JSON, as compare.py and batchcost read it."""
    default = os.path.join(tmp, "default.json")
    quick = os.path.join(tmp, "quick.json")
    once = os.path.join(tmp, "once.json")
    micro = os.path.join(tmp, "us.json")
    jd = run_harness(golden_bench, default)
    jq = run_harness(golden_bench, quick, "--quick")
    jo = run_harness(golden_bench, once, "--quick", "--benchmark_repetitions=1")
    ju = run_harness(golden_bench, micro, "--benchmark_time_unit=us")

    # Nanoseconds by default, and compare.py's "{:14.0f}" keeps the sub-µs digits.
    units = {x["time_unit"] for x in jd["benchmarks"]}
    if units != {"ns"}:
        failures.append(f"default run: time units {sorted(units)}, expected ns only")
    zero = by_name(jd).get("demo/zero_counter/manual_time", [])
    if not zero:
        failures.append("default run: no demo/zero_counter/manual_time")
    else:
        shown = "{:14.0f}".format(zero[0]["real_time"]).strip()
        if shown != "2045":
            failures.append(f"default run: compare.py would print the 2.045 µs time as {shown!r}, "
                            "not '2045' (ns)")
    if {x["time_unit"] for x in ju["benchmarks"]} != {"us"}:
        failures.append("--benchmark_time_unit=us: not every time is in us")
    else:
        t = by_name(ju)["demo/zero_counter/manual_time"][0]["real_time"]
        if abs(t - 2.045) > 1e-9:
            failures.append(f"--benchmark_time_unit=us: 2.045 µs written as {t}")

    # The skip is in the context, not a zero-time entry, and the geometric mean survives it.
    for label, j in (("default", jd), ("quick", jq), ("once", jo)):
        if any(x["name"].startswith("demo/too_big") for x in j["benchmarks"]):
            failures.append(f"{label} run: the skipped demo/too_big is an entry of 'benchmarks'")
        skipped = j["context"].get("skipped", [])
        if [s.get("name") for s in skipped] != ["demo/too_big/manual_time"] or \
                not skipped[0].get("reason", "").startswith("demo buffer needs 8 GiB"):
            failures.append(f"{label} run: context skipped is {skipped}, expected demo/too_big "
                            "with its reason")
    for a, b in ((jd, jq), (jd, jo)):
        g1, g2 = geomean(a), geomean(b)
        if not g1 or not g2:
            failures.append(f"harness runs with a skip: no overall geometric mean ({g1}, {g2})")
    # batchcost still reports the skip: its census counts what the harness skipped.
    fit = subprocess.run([batchcost, "fit", default, "--out", os.path.join(tmp, "model.json")],
                         capture_output=True, text=True)
    reps = jd["context"]["skipped"][0]["repetitions"] if jd["context"].get("skipped") else 0
    if fit.returncode != 0 or f"{reps} skipped by the harness" not in fit.stdout:
        failures.append(f"batchcost fit {default}: exit {fit.returncode}, no "
                        f"'{reps} skipped by the harness' in: {fit.stdout}{fit.stderr}")

    # Quick and default compare by name; one repetition on a side is "?" (null), not a verdict.
    names = {x["run_name"] for x in jd["benchmarks"]}
    for label, path, j in (("quick", quick, jq), ("once", once, jo)):
        if {x["run_name"] for x in j["benchmarks"]} != names:
            failures.append(f"{label} and default runs name their benchmarks differently")
        rows = batchcost_json(batchcost, "compare", path, default)["benchmarks"]
        if {r["name"] for r in rows} != names:
            failures.append(f"batchcost compare {label} default: rows {[r['name'] for r in rows]}")
        for r in rows:
            # demo/fixed's time does not depend on the sample count; zero_counter's mean does.
            if r["name"].startswith("demo/fixed/") and abs(r["ratio"] - 1) > 1e-9:
                failures.append(f"{label} vs default: {r['name']}: ratio {r['ratio']} of fixed "
                                "times")
            if label == "once" and (r["verdict"] is not None or r["noise"] is not None):
                failures.append(f"once vs default: {r['name']}: verdict {r['verdict']}, noise "
                                f"{r['noise']}: a side measured once has unknown noise ('?')")
    text = subprocess.run([batchcost, "compare", once, default], capture_output=True, text=True)
    if "noise unknown" not in text.stdout:
        failures.append(f"batchcost compare once default: no 'noise unknown' in:\n{text.stdout}")
    # A µs run against a ns run: batchcost converts; compare.py compares only entries of one unit.
    rows = batchcost_json(batchcost, "compare", micro, default)["benchmarks"]
    if {r["name"] for r in rows} != names or any(abs(r["ratio"] - 1) > 1e-9 for r in rows):
        failures.append(f"batchcost compare us default: {rows}")
    if partitions(ju, jd) and all(not p[1] for p in partitions(ju, jd).values()):
        notes.append("a us run against a ns run: compare.py pairs no benchmark (it compares "
                     "entries of one time unit); batchcost compare converts")
    check_pair(batchcost, quick, default, failures, notes)
    check_pair(batchcost, once, default, failures, notes)
    return {"default": default, "quick": quick, "once": once}


def find_compare_py():
    """google/benchmark's tools/compare.py and a Python that has its scipy and numpy (this one,
    or Debian's, where python3-scipy installs), or (None, why not)."""
    path = os.environ.get("BATCHCOST_COMPARE_PY", "/usr/share/benchmark/compare.py")
    if not os.path.isfile(path):
        return None, (f"{path} not found (Debian: apt-get install libbenchmark-tools; or set "
                      "BATCHCOST_COMPARE_PY)")
    for python in dict.fromkeys([sys.executable, "/usr/bin/python3"]):
        if not os.path.isfile(python):
            continue
        probe = subprocess.run([python, "-c", "import scipy.stats, numpy"], capture_output=True,
                               text=True)
        if probe.returncode == 0:
            return (python, path), None
    return None, (f"{path} needs scipy and numpy, which neither {sys.executable} nor "
                  "/usr/bin/python3 imports (Debian: apt-get install python3-scipy)")


def run_compare_py(compare_py, tmp, base, cand, *extra):
    python, script = compare_py
    dump = os.path.join(tmp, "compare_py.json")
    if os.path.exists(dump):
        os.remove(dump)
    run = subprocess.run([python, script, "--no-color", "--dump_to_json", dump,
                          "benchmarks", base, cand, *extra], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"compare.py {base} {cand}: exit {run.returncode}: "
                           f"{run.stdout[-2000:]}{run.stderr[-2000:]}")
    with open(dump) as f:
        return run.stdout, json.load(f)


def check_real_compare_py(compare_py, batchcost, golden_bench, tmp, files, failures):
    """What google/benchmark's compare.py itself prints and dumps."""
    out, report = run_compare_py(compare_py, tmp, files["quick"], files["default"])
    rows = {r["name"]: r for r in report}
    if "OVERALL_GEOMEAN" not in rows:
        failures.append("compare.py quick default: no OVERALL_GEOMEAN with a skip in both runs")
    lines = [ln for ln in out.splitlines() if ln.startswith("demo/zero_counter/manual_time ")]
    with open(files["quick"]) as f:
        old = by_name(json.load(f))["demo/zero_counter/manual_time"][0]["real_time"]
    if not lines or lines[0].split()[3:5] != [f"{old:.0f}", "2045"]:
        failures.append(f"compare.py quick default: the 2.045 µs row reads {lines[:1]}, "
                        f"expected Time Old {old:.0f} and New 2045 (ns)")
    if any(name.startswith("demo/too_big") for name in rows):
        failures.append("compare.py quick default: a row for the skipped demo/too_big")
    # Every row batchcost compares, compare.py compares too, with the same change.
    ours = batchcost_json(batchcost, "compare", files["quick"], files["default"])["benchmarks"]
    for b in ours:
        r = rows.get(b["name"] + "_median") or rows.get(b["name"])
        if r is None:
            failures.append(f"compare.py quick default: no row for {b['name']}")
        elif abs(r["measurements"][0]["time"] - (b["ratio"] - 1)) > 2e-5:
            failures.append(f"compare.py quick default: {b['name']}: change "
                            f"{r['measurements'][0]['time']}, batchcost ratio {b['ratio']}")
    # The fixtures' distinct times: compare.py's change and U-test p-value against batchcost's.
    data = os.path.join(ROOT, "tests", "data", "compare")
    base, cand = os.path.join(data, "default_a.json"), os.path.join(data, "default_b.json")
    _, report = run_compare_py(compare_py, tmp, base, cand)
    rows = {r["name"]: r for r in report}
    checked = 0
    for b in batchcost_json(batchcost, "compare", base, cand)["benchmarks"]:
        r = rows.get(b["name"])
        if r is None or not r.get("utest"):
            continue
        p = r["utest"]["time_pvalue"]
        if b["p_value"] is None or abs(p - b["p_value"]) > 1e-3 * max(p, 1e-3):
            failures.append(f"compare.py default_a default_b: {b['name']}: U-test p {p}, "
                            f"batchcost {b['p_value']}")
        checked += 1
    if checked == 0:
        failures.append("compare.py default_a default_b: no U test to cross-check")
    # The fixtures (another writer's skips: zero-time entries, so no geomean there).
    _, report = run_compare_py(compare_py, tmp, os.path.join(data, "default_a.json"),
                               os.path.join(data, "quick.json"))
    if "OVERALL_GEOMEAN" not in {r["name"] for r in report}:
        failures.append("compare.py default_a quick: no OVERALL_GEOMEAN (no skip in either)")
    # compare.py runs the binary itself, with --benchmark_out in a temporary file.
    _, report = run_compare_py(compare_py, tmp, golden_bench, golden_bench,
                               f"--benchmark_filter={HARNESS_FILTER}", "--benchmark_repetitions=3")
    names = {r["name"] for r in report}
    if "OVERALL_GEOMEAN" not in names or "demo/fixed/bytes:4096/manual_time" not in names:
        failures.append(f"compare.py golden_bench golden_bench: rows {sorted(names)}")


def shipped_json():
    """The Google Benchmark JSON files the project ships: the reference sets and the published
    sets they are copied from."""
    out = []
    for folder in sorted(os.listdir(os.path.join(ROOT, "reference"))):
        d = os.path.join(ROOT, "reference", folder)
        if os.path.isdir(d):
            out += [os.path.join(d, n) for n in sorted(os.listdir(d)) if n.endswith(".json")]
    d = os.path.join(ROOT, "tests", "data", "published")
    out += [os.path.join(d, n) for n in sorted(os.listdir(d)) if n.endswith(".json")]
    return out


def check_shipped(compare_py, tmp, failures):
    """Every shipped result file reads as compare.py reads it (and, where it runs, compares
    with itself)."""
    files = shipped_json()
    for path in files:
        rel = os.path.relpath(path, ROOT)
        entries = load(path)["benchmarks"]
        missing = [e.get("name", "?") for e in entries if not comparable(e)]
        if not entries or missing:
            failures.append(f"{rel}: {len(missing)} of {len(entries)} entries lack time_unit, "
                            f"real_time or cpu_time (compare.py's KeyError): {missing[:3]}")
        if compare_py:
            try:
                _, report = run_compare_py(compare_py, tmp, path, path)
            except RuntimeError as e:
                failures.append(f"{rel}: {e}")
                continue
            if len([r for r in report if r["name"] != "OVERALL_GEOMEAN"]) != len(
                    {e["name"] for e in entries}):
                failures.append(f"{rel}: compare.py reports {len(report)} rows for "
                                f"{len(entries)} entries")
    return len(files)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batchcost", required=True)
    ap.add_argument("--golden-bench", help="tests/golden_bench: the real harness, fixed times")
    args = ap.parse_args()
    batchcost = args.batchcost
    data = os.path.join(ROOT, "tests", "data")
    pairs = [("compare/default_a.json", "compare/default_b.json"),
             ("compare/quick.json", "compare/default_b.json"),
             ("compare/default_a.json", "compare/quick.json"),
             ("fit/h100/results.json", "fit/h200/results.json")]
    failures, notes = [], []
    for base, cand in pairs:
        check_pair(batchcost, os.path.join(data, base), os.path.join(data, cand), failures, notes)
    compare_py, why_not = find_compare_py()
    with tempfile.TemporaryDirectory(prefix="gbench_compat_") as tmp:
        if args.golden_bench:
            files = check_harness(batchcost, args.golden_bench, tmp, failures, notes)
            if compare_py:
                check_real_compare_py(compare_py, batchcost, args.golden_bench, tmp, files,
                                      failures)
        else:
            print("note: no --golden-bench: the harness's own JSON is not checked")
        shipped = check_shipped(compare_py, tmp, failures)
    print(f"{shipped} shipped result files read as compare.py reads them")
    if compare_py is None:
        print(f"note: google/benchmark's compare.py not run: {why_not}")
    elif args.golden_bench:
        print(f"ran google/benchmark's compare.py ({compare_py[1]}, with {compare_py[0]}) on the "
              "harness's JSON and binary")
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
