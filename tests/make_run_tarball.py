#!/usr/bin/env python3
"""A small synthetic calibration tarball, laid out as the bundle's run.sh writes one.

  tests/make_run_tarball.py --results DIR --gpu NAME --out TARBALL [--date TAG]

Copies DIR/*.json (not model.json) to the tarball's top level, adds reference.json written by
tools/torch_reference.py's own writer (its counterparts: the fixture's bf16 8192 GEMM and 1 GiB
copy, at times chosen so that the ratios are 1.25 and 0.8), a step log, and run/manifest.json
(schema batchcost.run/1, every file with its size and SHA-256). tests/import_test.sh uses it.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import torch_reference as ref  # noqa: E402  (its JSON writer needs no torch)

UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def median_time(folder, name):
    """The median aggregate of that benchmark, else the median of its repetitions."""
    times = []
    for path in sorted(os.listdir(folder)):
        if not path.endswith(".json") or path == "model.json":
            continue
        with open(os.path.join(folder, path)) as f:
            for e in json.load(f)["benchmarks"]:
                if e["name"] == name + "_median":
                    return e["real_time"] * UNIT[e["time_unit"]]
                if e["name"] == name and e.get("run_type", "iteration") == "iteration":
                    times.append(e["real_time"] * UNIT[e["time_unit"]])
    if not times:
        raise SystemExit(f"make_run_tarball.py: {folder} has no {name}")
    return sorted(times)[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--gpu", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--date", default="20261201T120000Z")
    args = ap.parse_args()

    gemm = "gemm/bf16/m:8192/n:8192/k:8192/manual_time"
    copy = "memory/copy_kernel/bytes:1073741824/manual_time"
    t_gemm, t_copy = median_time(args.results, gemm), median_time(args.results, copy)
    measurements = [
        (ref.MATMUL_NAME, ref.labels([gemm], api="torch_matmul", dtype="bf16", timing="device",
                                     cache="cold"), ref.matmul_work(8192),
         [t_gemm / 1.25 * f for f in (0.99, 1.0, 1.01)], None),
        (ref.COPY_NAME, ref.labels([copy], api="torch_copy", timing="device", cache="cold"),
         ref.copy_work(ref.COPY_BYTES), [t_copy / 0.8 * f for f in (0.98, 1.0, 1.02)], None),
    ]
    run = tempfile.mkdtemp()
    try:
        for name in sorted(os.listdir(args.results)):
            if name.endswith(".json") and name != "model.json":
                shutil.copy(os.path.join(args.results, name), run)
        ref.write_atomically(os.path.join(run, "reference.json"),
                             ref.document(measurements, {"reference": "pytorch"}))
        os.makedirs(os.path.join(run, "run", "logs"))
        with open(os.path.join(run, "run", "logs", "bench-gemm.log"), "w") as f:
            f.write("synthetic\n")
        files = []
        for folder, _, names in os.walk(run):
            for name in names:
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    data = f.read()
                files.append({"path": os.path.relpath(path, run), "bytes": len(data),
                              "sha256": hashlib.sha256(data).hexdigest()})
        files.sort(key=lambda e: e["path"])
        manifest = {
            "schema": "batchcost.run/1", "gpu": args.gpu, "gpu_name": "synthetic",
            "gpu_reason": "", "date": args.date, "command": "run.sh --out DIR --budget 480",
            "profile": "default", "budget_s": 480, "complete": True, "exit_status": 0,
            "steps": [{"name": "bench-gemm", "kind": "benchmark", "status": "ok", "exit": 0,
                       "wall_s": 1.0, "estimate_s": 1, "log": "run/logs/bench-gemm.log"}],
            "skipped": [], "files": files,
        }
        with open(os.path.join(run, "run", "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
        with tarfile.open(args.out, "w:gz") as tar:
            for entry in files + [{"path": "run/manifest.json"}]:
                tar.add(os.path.join(run, entry["path"]), arcname=entry["path"])
    finally:
        shutil.rmtree(run)


if __name__ == "__main__":
    main()
