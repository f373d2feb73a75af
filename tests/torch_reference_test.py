#!/usr/bin/env python3
"""tools/torch_reference.py: the shape of its JSON, without torch; and, where torch and a GPU
are there, a real run.

  torch_reference_test.py [--batchcost EXE] [--bench-dir BUILD]    the JSON (needs no torch)
  torch_reference_test.py --measure                                a real run (exit 77: no torch
                                                                   or no GPU)

--batchcost: the results file is read by the real fitter, beside the plot fixture, and kept
out of the fit. --bench-dir: the counterparts it names are benchmarks our binaries register.
"""
import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import torch_reference as ref  # noqa: E402

OPTIONS = argparse.Namespace(batchcost=None, bench_dir=None)


def sample_document():
    gemm = ref.labels(ref.GEMM_COUNTERPARTS, api="torch_matmul", dtype="bf16", timing="device",
                      cache="cold")
    copy = ref.labels(ref.COPY_COUNTERPARTS, api="torch_copy", timing="device", cache="cold")
    return ref.document(
        [(ref.MATMUL_NAME, gemm, ref.matmul_work(8192), [1.5e-3, 1.4e-3, 1.6e-3], None),
         (ref.COPY_NAME, copy, ref.copy_work(ref.COPY_BYTES), [5e-4, 5.2e-4], None),
         ("reference/failed", copy, ref.copy_work(1), None, "check failed")],
        {"reference": "pytorch", "torch_version": "test"})


class Shape(unittest.TestCase):
    def test_repetitions_and_aggregates(self):
        doc = sample_document()
        self.assertEqual(doc["context"]["reference"], "pytorch")
        mm = [e for e in doc["benchmarks"] if e["run_name"] == ref.MATMUL_NAME]
        self.assertEqual([e["run_type"] for e in mm], ["iteration"] * 3 + ["aggregate"] * 4)
        self.assertEqual([e.get("repetition_index") for e in mm[:3]], [0, 1, 2])
        self.assertEqual([e["aggregate_name"] for e in mm[3:]], ["mean", "median", "stddev", "cv"])
        self.assertEqual(mm[4]["name"], ref.MATMUL_NAME + "_median")
        self.assertAlmostEqual(mm[4]["real_time"], 1500.0)  # microseconds
        self.assertTrue(all(e["time_unit"] == "us" and e["repetitions"] == 3 for e in mm))
        self.assertAlmostEqual(mm[6]["real_time"], 0.1 / 1.5, places=6)  # cv: stddev / mean

    def test_work_counters_and_rates(self):
        first = sample_document()["benchmarks"][0]
        self.assertEqual(first["flops"], 2.0 * 8192 ** 3)
        self.assertEqual(first["bytes"], 3.0 * 8192 * 8192 * 2)
        self.assertEqual(first["kernels"], 1.0)
        self.assertAlmostEqual(first["flops_per_s"] / (first["flops"] / 1.5e-3), 1.0)
        copy = [e for e in sample_document()["benchmarks"] if e["name"] == ref.COPY_NAME][0]
        self.assertEqual(copy["bytes"], 2.0 * (1 << 30))
        self.assertNotIn("flops", copy)

    def test_label_names_the_counterparts(self):
        first = sample_document()["benchmarks"][0]
        pairs = dict(p.split("=") for p in first["label"].split(" "))
        self.assertEqual(pairs["counterpart"].split(","), ref.GEMM_COUNTERPARTS)
        self.assertEqual(pairs["dtype"], "bf16")
        self.assertEqual(pairs["timing"], "device")

    def test_family_is_reference(self):
        for e in sample_document()["benchmarks"]:
            self.assertEqual(e["name"].split("/")[0], "reference")

    def test_a_failed_check_is_an_error_entry(self):
        bad = [e for e in sample_document()["benchmarks"] if e["name"] == "reference/failed"]
        self.assertEqual(len(bad), 1)
        self.assertIs(bad[0]["error_occurred"], True)
        self.assertEqual(bad[0]["error_message"], "check failed")

    def test_bad_inputs_are_refused(self):
        work = ref.copy_work(8)
        for times in ([], [0.0, 1.0], [float("nan")], [-1.0]):
            with self.assertRaises(ValueError):
                ref.entries("reference/x", "a=b", work, times)
        with self.assertRaises(ValueError):
            ref.entries("reference/x", "a=b", {"bytes": -1.0}, [1.0])
        with self.assertRaises(ValueError):
            ref.labels(["a b"], api="x")

    def test_write_is_atomic(self):
        folder = tempfile.mkdtemp()
        try:
            path = os.path.join(folder, "reference.json")
            ref.write_atomically(path, sample_document())
            with open(path) as f:
                self.assertEqual(json.load(f), sample_document())
            with self.assertRaises(ValueError):  # NaN is not JSON: nothing replaces the file
                ref.write_atomically(path, {"benchmarks": [{"real_time": math.nan}]})
            self.assertEqual(sorted(os.listdir(folder)), ["reference.json"])
        finally:
            shutil.rmtree(folder)

    def test_the_fitter_reads_it_and_never_fits_it(self):
        if not OPTIONS.batchcost:
            self.skipTest("no --batchcost")
        folder = tempfile.mkdtemp()
        try:
            fixture = os.path.join(ROOT, "tests", "data", "plot", "h100")
            for name in os.listdir(fixture):
                if name != "model.json":
                    shutil.copy(os.path.join(fixture, name), folder)
            before = subprocess.run([OPTIONS.batchcost, "fit", folder], capture_output=True,
                                    text=True, check=True).stdout
            ref.write_atomically(os.path.join(folder, "reference.json"), sample_document())
            out = subprocess.run([OPTIONS.batchcost, "fit", folder], capture_output=True,
                                 text=True)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertRegex(out.stdout, r"\nreference +validate")
            # The constants do not move: the reference is predicted, not fitted.
            constants = lambda text: text.split("constants")[1].split("quality")[0]
            self.assertEqual(constants(out.stdout), constants(before))
            validation = lambda text: int(re.search(r"(\d+) validation", text).group(1))
            self.assertEqual(validation(out.stdout), validation(before) + 2)
        finally:
            shutil.rmtree(folder)

    def test_counterparts_are_our_benchmarks(self):
        if not OPTIONS.bench_dir:
            self.skipTest("no --bench-dir")
        listed = set()
        for binary in ("bench/batchcost-gemm", "bench/batchcost-memory"):
            path = os.path.join(OPTIONS.bench_dir, binary)
            out = subprocess.run([path, "--benchmark_list_tests"], capture_output=True,
                                 text=True, check=True)
            listed.update(out.stdout.split())
        # As tools/import.sh matches them: with or without Google Benchmark's /manual_time.
        base = lambda name: name[: -len("/manual_time")] if name.endswith("/manual_time") else name
        listed = {base(n) for n in listed}
        for name in ref.GEMM_COUNTERPARTS + ref.COPY_COUNTERPARTS:
            self.assertIn(base(name), listed)


def measure():
    folder = tempfile.mkdtemp()
    try:
        path = os.path.join(folder, "reference.json")
        rc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "torch_reference.py"),
                             "--out", path, "--quick", "--repetitions", "2"]).returncode
        if rc != 0:
            return rc
        with open(path) as f:
            doc = json.load(f)
        names = {e["run_name"] for e in doc["benchmarks"] if not e.get("error_occurred")}
        assert names == {ref.MATMUL_NAME, ref.COPY_NAME}, names
        print("ok: a real run wrote", sorted(names))
        return 0
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--batchcost")
    ap.add_argument("--bench-dir")
    ap.add_argument("--measure", action="store_true")
    args, rest = ap.parse_known_args()
    OPTIONS.batchcost, OPTIONS.bench_dir = args.batchcost, args.bench_dir
    if args.measure:
        sys.exit(measure())
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
