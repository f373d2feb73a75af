#!/usr/bin/python3
"""Writes the synthetic results of tests/data/compare/ (made-up times, not measurements): two
default-profile runs of one GPU (5 repetitions each) and a quick run (3 repetitions), in the
Google Benchmark JSON our binaries write, for the golden tests of `batchcost compare` and
`batchcost export`.

  tests/make_compare_fixture.py   # rewrites tests/data/compare/*.json
"""
import json
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "compare")
CONTEXT = {"gpu_name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0", "sm_count": 132,
           "driver_version": "580.159.03", "cuda_runtime": "13.0", "cublas_version": "13.1.0",
           "sm_clock_mhz_max": 1980, "batchcost_profile": "default"}


def entries(name, label, counters, times_us, aggregates=True, iterations=True):
    """The repetitions of one run and its median and cv aggregates, as Google Benchmark writes."""
    base = {"run_name": name, "threads": 1, "iterations": 100, "time_unit": "us", "label": label,
            **counters}
    n = len(times_us)
    out = []
    if iterations:
        for i, t in enumerate(times_us):
            out.append({"name": name, "run_type": "iteration", "repetitions": n,
                        "repetition_index": i, "real_time": t, "cpu_time": t + 3, **base})
    if aggregates and n > 1:
        s = sorted(times_us)
        median = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
        mean = sum(times_us) / n
        sd = (sum((t - mean) ** 2 for t in times_us) / (n - 1)) ** 0.5
        for agg, value, unit in (("median", median, "time"), ("cv", sd / mean, "percentage")):
            out.append({"name": f"{name}_{agg}", "run_type": "aggregate", "aggregate_name": agg,
                        "aggregate_unit": unit, "repetitions": n, "real_time": round(value, 6),
                        "cpu_time": round(value, 6), **base})
    return out


def memory(nbytes):
    return f"memory/copy_kernel/bytes:{nbytes}/manual_time", "cache=cold timing=device", {
        "bytes": 2 * nbytes, "kernels": 1}


def run(times, context, extra=()):
    bench = []
    for nbytes, ts in times.items():
        bench += entries(*memory(nbytes), ts)
    for e in extra:
        bench += e
    return {"context": context, "benchmarks": bench}


def main():
    os.makedirs(OUT, exist_ok=True)
    # Run a: the baseline. Run b: 1 KiB 5% slower with no overlap (significant), 1 MiB the same
    # within noise (interleaved), 1 GiB 0.3% faster but every repetition below (significant,
    # below a 1% --threshold), 128 B measured once on b (noise unknown).
    a = {128: [2.40, 2.41, 2.39, 2.42, 2.40], 1024: [2.50, 2.51, 2.49, 2.52, 2.50],
         1048576: [3.10, 3.05, 3.12, 3.08, 3.11], 1073741824: [720.0, 720.4, 720.2, 720.6, 720.3]}
    b = {128: [2.45], 1024: [2.63, 2.64, 2.62, 2.65, 2.63],
         1048576: [3.09, 3.11, 3.06, 3.12, 3.07], 1073741824: [718.0, 718.4, 718.2, 718.6, 718.3]}
    skipped = [{"name": "memory/copy_kernel/bytes:137438953472/manual_time", "run_type": "iteration",
                "repetitions": 5, "repetition_index": 0, "threads": 1, "iterations": 0,
                "real_time": 0, "cpu_time": 0, "time_unit": "us", "skipped": True,
                "skip_message": "skipped: needs 256 GiB, 79 GiB free"},
               {"name": "memory/copy_kernel/bytes:2048/manual_time", "run_type": "iteration",
                "repetitions": 5, "repetition_index": 0, "threads": 1, "iterations": 0,
                "real_time": 0, "cpu_time": 0, "time_unit": "us", "error_occurred": True,
                "error_message": "3 of 2048 bytes differ"}]
    # Aggregates only (--benchmark_report_aggregates_only): the cv's noise band decides.
    gemm = entries("gemm/bf16/m:4096/n:4096/k:4096/manual_time", "dtype=bf16 timing=device",
                   {"flops": 2 * 4096 ** 3, "bytes": 3 * 2 * 4096 ** 2, "kernels": 1},
                   [199.0, 199.5, 198.8, 199.2, 199.1], iterations=False)
    gemm_b = entries("gemm/bf16/m:4096/n:4096/k:4096/manual_time", "dtype=bf16 timing=device",
                     {"flops": 2 * 4096 ** 3, "bytes": 3 * 2 * 4096 ** 2, "kernels": 1},
                     [190.0, 190.5, 189.8, 190.2, 190.1], iterations=False)
    quick = {k: v[:3] for k, v in b.items()}
    docs = {"default_a.json": run(a, CONTEXT, [gemm]),
            "default_b.json": run(b, CONTEXT, [gemm_b, skipped]),
            "quick.json": run(quick, {**CONTEXT, "driver_version": "575.57.08",
                                      "batchcost_profile": "quick"})}
    for name, doc in docs.items():
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
