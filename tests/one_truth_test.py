#!/usr/bin/python3
"""One truth across the commands: on a published set where the two forms of the cost model
disagree, `fit`, `report`, `compare`, `predict`, `serve` and the model curves the figures draw
(`validate`, which tools/plot.py reads) show the constants of the one form `fit` selects, and
name it. Run by ctest:

  one_truth_test.py --batchcost build-ci/tools/batchcost

The set is reference/h100-azure-ndv5 (Azure's published ND H100 v5 FP8 GEMMs, BabelStream and
all_reduce): its held-out selection keeps the refined form (overlap p ≈ 2.1), and the epoch
form's own fit puts W and λ[kernel] elsewhere, so a command that silently priced with the epoch
form would show other numbers and fail here.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SET = "reference/h100-azure-ndv5"
OTHER = "reference/h200-azure-ndv5"
FAILURES = []


def run(batchcost, *args):
    p = subprocess.run([batchcost, *args], cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"batchcost {' '.join(args)} exited {p.returncode}: {p.stderr}")
    return p.stdout


def check(ok, what):
    if not ok:
        FAILURES.append(what)


def close(a, b, rel):
    return abs(a - b) <= rel * max(abs(a), abs(b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batchcost", required=True)
    args = ap.parse_args()
    bc = os.path.abspath(args.batchcost)

    fitted = json.loads(run(bc, "fit", SET, "--json"))
    epoch = json.loads(run(bc, "fit", SET, "--form", "epoch", "--json"))
    check(fitted["form"] == "refined", f"fit selects {fitted['form']}, not the refined form")
    c = fitted["constants"]
    truth = {
        "W": c["hbm_bytes_per_s"],
        "P[fp8_e4m3]": c["flops_per_s"]["fp8_e4m3"],
        "λ[kernel]": c["latency_s"]["kernel"],
        "overlap p": c["terms"]["overlap_p"],
    }
    # The fixture discriminates: the epoch form's fit differs beyond the printed precision.
    e = epoch["constants"]
    check(not close(e["hbm_bytes_per_s"], truth["W"], 0.005), "the epoch fit's W is the refined one's")
    check(not close(e["latency_s"]["kernel"], truth["λ[kernel]"], 0.005),
          "the epoch fit's λ[kernel] is the refined one's")

    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model.json")
        run(bc, "fit", SET, "--out", model)

        # report: the form named, the table's values (4 significant digits) the fit's.
        page = os.path.join(tmp, "report.md")
        run(bc, "report", SET, "--out", page)
        text = open(page).read()
        check("Form: **refined**" in text, "report does not name the refined form")
        for name, scale in (("W", 1e12), ("λ[kernel]", 1e-6), ("overlap p", 1), ("P[fp8_e4m3]", 1e12)):
            m = re.search(r"^\| " + re.escape(name) + r" \| ([0-9.e+-]+) \|", text, re.M)
            check(m is not None and close(float(m.group(1)) * scale, truth[name], 6e-4),
                  f"report's {name} {m.group(1) if m else 'absent'} is not fit's {truth[name]}")

        # compare: both forms named, the baseline's constants the fit's.
        cmp = json.loads(run(bc, "compare", SET, OTHER, "--json"))
        check(cmp.get("forms", {}).get("baseline") == "refined", "compare --json names no form")
        got = {x["name"]: x["baseline"]["value"] for x in cmp["constants"] if "baseline" in x}
        for name, value in truth.items():
            check(name in got and close(got[name], value, 1e-5),
                  f"compare's {name} {got.get(name)} is not fit's {value}")
        check("forms: baseline refined, candidate refined" in run(bc, "compare", SET, OTHER),
              "compare's table names no form")

        # predict: on the folder (fitted on the fly) and on fit's model.json alike, in that form.
        args_p = ["--model", "llama-3-70b", "--tp", "8", "--batch", "1,64,256", "--json"]
        on_folder = json.loads(run(bc, "predict", "--hardware", SET, *args_p))
        on_model = json.loads(run(bc, "predict", "--hardware", model, *args_p))
        for doc, where in ((on_folder, "the folder"), (on_model, "model.json")):
            form = doc.get("form", {})
            check(form.get("name") == "refined", f"predict on {where} names {form} as its form")
            check(close(form.get("terms", {}).get("overlap p", 0), truth["overlap p"], 1e-5),
                  f"predict on {where} prices with overlap p {form.get('terms')}")
            used = {x["name"]: x.get("value") for x in doc["constants"]}
            for name in ("W", "λ[kernel]"):
                check(close(used.get(name, 0), truth[name], 1e-5),
                      f"predict on {where}: {name} {used.get(name)} is not fit's {truth[name]}")
        # (model.json holds six significant digits; the folder's fit all of them.)
        steps = lambda d: [s["step_s"] for s in d["steps"] if s.get("step_s")]
        check(len(steps(on_folder)) == 3 and len(steps(on_model)) == 3 and
              all(close(x, y, 1e-5) for x, y in zip(steps(on_folder), steps(on_model))),
              "predict differs between the folder and model.json")
        check("pricing: per operation: Σ over ops of the refined form" in
              run(bc, "predict", "--hardware", SET, *args_p[:-1]), "predict's pricing line names no form")

        # serve: the same form.
        srv = json.loads(run(bc, "serve", "--hardware", model, "--model", "llama-3-70b", "--tp", "8",
                             "--rate", "2", "--requests", "100", "--json"))
        check(srv.get("form", {}).get("name") == "refined", "serve names no form")

        # The figures' model curves: validate on the folder (fits first) is validate of model.json.
        def curve(*extra):
            doc = json.loads(run(bc, "validate", SET, *extra, "--json"))
            return {b["name"]: b["predicted_s"] for b in doc["benchmarks"]}
        a, b = curve(), curve("--model", model)
        check(a.keys() == b.keys() and all(close(a[k], b[k], 1e-5) for k in a),
              "validate's model curve differs from that of fit's model.json")
        # ... and it is the refined form's, not the epoch form's.
        eroot = os.path.join(tmp, "epoch.json")
        run(bc, "fit", SET, "--form", "epoch", "--out", eroot)
        ec = curve("--model", eroot)
        check(any(not close(a[k], ec[k], 0.005) for k in a), "the epoch curve is the refined one")

    for f in FAILURES:
        print("FAIL:", f)
    if FAILURES:
        return 1
    print(f"one truth on {SET}: fit, report, compare, predict, serve and validate agree on the "
          f"refined form (W {truth['W'] / 1e12:.4g} TB/s, overlap p {truth['overlap p']:.4g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
