#!/usr/bin/env python3
"""PyTorch's own GEMM and copy on this GPU, as a results file beside ours.

  python3 tools/torch_reference.py --out DIR/reference.json [--repetitions 5] [--quick]
  python3 tools/torch_reference.py --counterparts      # our benchmarks these are measured against

Times a bf16 torch.matmul of 8192 x 8192 x 8192 and a 1 GiB device-to-device copy
(Tensor.copy_), each on random data and checked once before it is timed, with CUDA events
around a batch of operations after a warm-up. Writes Google Benchmark JSON in the batchcost
contract (model/results.cc reads it): one entry per repetition plus mean / median / stddev / cv
aggregates, real_time per operation, the work counters (flops, bytes, kernels), and the label
`counterpart=NAME[,NAME]` naming our benchmarks of the same work. The family is `reference`,
which the fitter never fits (core/cost_model.h), so `batchcost fit` of a folder holding this
file is the fit without it, and tools/import.sh prints our times as ratios to these.

Exit status: 0 written; 1 a check failed (the file is still written, the entry marked
error_occurred); 2 usage error; 77 no PyTorch or no CUDA GPU (one line on stderr says which).
The JSON-writing part (entries, document, write_atomically) needs no torch and is tested alone.
"""
import argparse
import json
import math
import os
import socket
import statistics
import sys
import tempfile
import time

GIB = 1 << 30

# Our benchmarks of the same work (bench/gemm.cc register_gemm, bench/memory.cc sweeps). The
# copy is compared with cudaMemcpyAsync (what copy_ runs for contiguous tensors) and our kernel.
GEMM_N = 8192
COPY_BYTES = GIB
GEMM_COUNTERPARTS = ["gemm/square/bf16/m:8192/n:8192/k:8192/manual_time"]
COPY_COUNTERPARTS = [
    "memory/memcpy_d2d/bytes:1073741824/manual_time",
    "memory/copy_kernel/bytes:1073741824/manual_time",
]
MATMUL_NAME = "reference/torch_matmul/bf16/m:8192/n:8192/k:8192/manual_time"
COPY_NAME = "reference/torch_copy/bytes:1073741824/manual_time"


def entries(name, label, work, times_s, error=None):
    """Google Benchmark entries of one benchmark: each repetition and the four aggregates.

    work: counters per operation (flops, bytes, kernels, ...); times_s: seconds per operation,
    one per repetition. An error gives the single error entry the harness writes for a failure.
    """
    if error is not None:
        return [{"name": name, "run_name": name, "run_type": "iteration", "repetitions": 1,
                 "repetition_index": 0, "threads": 1, "iterations": 0, "real_time": 0.0,
                 "cpu_time": 0.0, "time_unit": "us", "error_occurred": True,
                 "error_message": error, "label": label}]
    if not times_s or any(not (t > 0 and math.isfinite(t)) for t in times_s):
        raise ValueError(f"{name}: times must be positive and finite, got {times_s}")
    for key, value in work.items():
        if not (value >= 0 and math.isfinite(value)):
            raise ValueError(f"{name}: work counter {key} must be finite and >= 0, got {value}")

    def entry(time_s, **fields):
        e = {"name": name, "run_name": name, "repetitions": len(times_s), "threads": 1,
             "iterations": 1, "real_time": time_s * 1e6, "cpu_time": time_s * 1e6,
             "time_unit": "us", "label": label}
        e.update(work)
        if work.get("flops"):
            e["flops_per_s"] = work["flops"] / time_s
        if work.get("bytes"):
            e["bytes_per_s"] = work["bytes"] / time_s
        e.update(fields)
        return e

    out = [entry(t, run_type="iteration", repetition_index=i) for i, t in enumerate(times_s)]
    mean = statistics.fmean(times_s)
    stddev = statistics.stdev(times_s) if len(times_s) > 1 else 0.0
    for agg, value in (("mean", mean), ("median", statistics.median(times_s))):
        out.append(entry(value, name=f"{name}_{agg}", run_type="aggregate", aggregate_name=agg,
                         aggregate_unit="time"))
    # stddev and cv carry no work (as Google Benchmark writes them: the counters' spread is 0).
    zero = {k: 0.0 for k in work}
    for agg, value, unit in (("stddev", stddev, "time"), ("cv", stddev / mean, "percentage")):
        e = {"name": f"{name}_{agg}", "run_name": name, "run_type": "aggregate",
             "aggregate_name": agg, "aggregate_unit": unit, "repetitions": len(times_s),
             "threads": 1, "iterations": len(times_s),
             "real_time": value * (1e6 if unit == "time" else 1.0),
             "cpu_time": value * (1e6 if unit == "time" else 1.0), "time_unit": "us",
             "label": label}
        e.update(zero)
        out.append(e)
    return out


def matmul_work(n):
    # bf16 inputs read once, the bf16 output written once (core/gemm_shapes.cc gemm_work).
    return {"flops": 2.0 * n ** 3, "bytes": 3.0 * n * n * 2, "kernels": 1.0}


def copy_work(nbytes):
    return {"bytes": 2.0 * nbytes, "kernels": 1.0}  # read n, write n


def labels(counterparts, **pairs):
    items = dict(pairs, counterpart=",".join(counterparts))
    for key, value in items.items():
        if not value or any(c in str(value) for c in " ="):
            raise ValueError(f"label {key}={value!r}: values need no spaces or '='")
    return " ".join(f"{k}={v}" for k, v in sorted(items.items()))


def document(measurements, context):
    """The results file: measurements is a list of (name, label, work, times_s, error)."""
    benchmarks = []
    for name, label, work, times_s, error in measurements:
        benchmarks.extend(entries(name, label, work, times_s, error))
    return {"context": dict(context), "benchmarks": benchmarks}


def write_atomically(path, doc):
    """Writes JSON next to path and renames it into place: no partial file on failure."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".torch_reference.", suffix=".partial")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=2, allow_nan=False)
            f.write("\n")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the results from others
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def timed(torch, op, repetitions, ops_per_sample, warmup):
    """Seconds per operation, one per repetition: CUDA events around ops_per_sample ops."""
    for _ in range(warmup):
        op(0)
    torch.cuda.synchronize()
    times = []
    for rep in range(repetitions):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for i in range(ops_per_sample):
            op(i)
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) * 1e-3 / ops_per_sample)
    return times


def measure(torch, repetitions, quick):
    dev = torch.device("cuda")
    gen = torch.Generator(device=dev)
    gen.manual_seed(20261201)
    results = []

    # GEMM: two input sets (3 x 128 MiB each, beyond any L2) alternate between operations.
    n = GEMM_N
    sets = [(torch.randn(n, n, device=dev, dtype=torch.bfloat16, generator=gen),
             torch.randn(n, n, device=dev, dtype=torch.bfloat16, generator=gen),
             torch.empty(n, n, device=dev, dtype=torch.bfloat16)) for _ in range(2)]
    a, b, c = sets[0]
    torch.matmul(a, b, out=c)
    rows = slice(0, 4)  # a float64 reference of a few rows: bf16 products land near 1e-3
    ref = a[rows].double() @ b.double()
    err = (torch.linalg.norm(c[rows].double() - ref) / torch.linalg.norm(ref)).item()
    label = labels(GEMM_COUNTERPARTS, api="torch_matmul", dtype="bf16", timing="device",
                   cache="cold", shape="square")
    if not (err < 1e-2):
        results.append((MATMUL_NAME, label, matmul_work(n), None,
                        f"torch.matmul differs from a float64 reference: relative error {err:.3g}"))
    else:
        def gemm(i):
            x, y, z = sets[i % 2]
            torch.matmul(x, y, out=z)
        times = timed(torch, gemm, repetitions, 3 if quick else 10, 3)
        results.append((MATMUL_NAME, label, matmul_work(n), times, None))
    del sets, a, b, c, ref
    torch.cuda.empty_cache()

    # Copy: 1 GiB of random bytes, far beyond the L2; the check compares every byte once.
    src = torch.randint(0, 256, (COPY_BYTES,), device=dev, dtype=torch.uint8, generator=gen)
    dst = torch.empty_like(src)
    dst.fill_(0)
    dst.copy_(src)
    label = labels(COPY_COUNTERPARTS, api="torch_copy", timing="device", cache="cold")
    if not torch.equal(dst, src):
        results.append((COPY_NAME, label, copy_work(COPY_BYTES), None,
                        "Tensor.copy_: the copy differs from its source"))
    else:
        times = timed(torch, lambda i: dst.copy_(src), repetitions, 3 if quick else 10, 3)
        results.append((COPY_NAME, label, copy_work(COPY_BYTES), times, None))
    return results


def context_of(torch):
    props = torch.cuda.get_device_properties(0)
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host_name": socket.gethostname(),
        "executable": "tools/torch_reference.py",
        "reference": "pytorch",
        "torch_version": torch.__version__,
        "torch_cuda_version": str(torch.version.cuda),
        "torch_cudnn_version": str(torch.backends.cudnn.version()),
        "gpu_name": props.name,
        "gpu_sm_count": props.multi_processor_count,
        "gpu_memory_bytes": props.total_memory,
        "compute_capability": f"{props.major}.{props.minor}",
        "library_build_type": "release",
    }


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="the results file to write")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 operations per sample, not 10")
    parser.add_argument("--counterparts", action="store_true",
                        help="print our benchmarks these are compared with, one a line, and exit")
    args = parser.parse_args(argv)
    if args.counterparts:
        print("\n".join(GEMM_COUNTERPARTS + COPY_COUNTERPARTS))
        return 0
    if not args.out:
        parser.error("--out FILE is required")
    if args.repetitions < 2:
        parser.error(f"--repetitions {args.repetitions}: need at least 2 (for the cv aggregate)")
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        parser.error(f"--out {args.out}: the folder {folder} does not exist")
    try:
        import torch
    except ImportError as e:
        print(f"torch_reference.py: no PyTorch in {sys.executable} ({e}): skipped", file=sys.stderr)
        return 77
    if not torch.cuda.is_available():
        print(f"torch_reference.py: PyTorch {torch.__version__} sees no CUDA GPU: skipped",
              file=sys.stderr)
        return 77
    results = measure(torch, args.repetitions, args.quick)
    write_atomically(args.out, document(results, context_of(torch)))
    failed = False
    for name, _, work, times, error in results:
        if error:
            print(f"{name}: FAILED: {error}", file=sys.stderr)
            failed = True
            continue
        t = statistics.median(times)
        rate = (f"{work['flops'] / t / 1e12:.1f} TFLOP/s" if work.get("flops")
                else f"{work['bytes'] / t / 1e12:.2f} TB/s")
        print(f"{name}: {t * 1e3:.3f} ms, {rate}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
