#!/usr/bin/env python3
"""Converts Azure's published ND H100 v5 and ND H200 v5 micro-benchmark results into batchcost
result files (FP8 GEMM, HBM bandwidth, NCCL all_reduce on 8 GPUs).

Source: github.com/Azure/AI-benchmarking-guide, the results pages

  H100: "Azure Results/ND_H100_v5_results.md" at f350e7e65b82cfcb9220b32b582bc34342d9c1a6
  H200: "Azure_Results/ND_H200_v5_results.md" at 7f20e5fa3b2f9a46d8404af1f6fb14b049d6d5cc

The tables below are the pages' rows as published. How they were measured, from the guide's own
code (Benchmarks/NVIDIA/*.py) and the tools it builds:

  - GEMM (GEMMCublasLt.py at cd84f36a30015678be9867da4652b23f7d78b6b3): superbenchmark's
    cublaslt_gemm (the gitaumark/superbenchmark fork the script clones; cublaslt_gemm.cu read at
    0012abc15462f4c17a2559b39b21ed428ae76ef3), `-b 1 -i 1000 -w 10000 -t fp8e4m3`: A and B
    FP8 E4M3 (A transposed, "tn"), D FP16, beta 0; 10,000 warm-up calls, then CUDA events around
    1,000 back-to-back calls on the same operands (timing=device, nothing rotated), and
    TFLOPS = m * n * (2k - 1) / time. So t = m * n * (2k - 1) / TFLOPS here, and the sample
    declares batchcost's count, flops = 2mnk, and bytes = m*k + k*n (FP8) + 2*m*n (FP16 D).
    Cache: the same operands every call; cache=cold where A + B + D exceed 4x the L2 (what
    batchcost's own rotation guarantees: they cannot stay in L2), cache=hot otherwise.
  - HBM (HBMBandwidth.py at 7a4e2c83e80b065dc89a3e9b385af157151d210c): BabelStream (the
    gitaumark/BabelStream fork it clones; src/main.cpp read at
    1a1a729517df6c44bfbfe6d0db36a24fe8dc6726: ARRAY_SIZE 1308622848 doubles, 100 runs of each
    kernel, each timed on the host around the kernel and a device synchronisation), bandwidth =
    bytes / the fastest run (decimal MB/s; bytes 2 arrays for Copy, Mul and Dot, 3 for Add and
    Triad); the page's value is the mean of 5 such runs, in TB/s. So t = bytes / (TB/s * 1e12),
    one launch and one sync each (timing=host), cache=cold (10.5 GB arrays).
  - NCCL (NCCLBandwidth.py at 545c5c6a7e3ed1bab92161cd61fbec5353cc1fa7):
    `NCCL_ALGO=NVLS ./build/all_reduce_perf -b 8 -e 8G -f 2 -g 8 -n 40`, fp32, the in-place bus
    bandwidth column (the 12th field of each row). Sizes double from 8 B, and the script prints
    them with the fixed labels below ("65K" is 2^16 bytes, "132K" 2^17): the page's rows are the
    labels from 1K on, so a row's size is 2^(3 + its position in that list). nccl-tests'
    busbw = algbw * 2(n-1)/n for all_reduce, so t = (2(n-1)/n) * size / busbw, and net_bytes =
    2(n-1)/n * size, as batchcost's collectives declare it.

Every value is rounded as published (TFLOPS to 0.1, TB/s to 0.01, GB/s to 0.01: the smallest
all_reduce sizes carry up to 8% of rounding); nothing is adjusted.

Usage: convert_azure_guide.py OUT_DIR   (writes azure_nd_h100_v5.json and azure_nd_h200_v5.json)
"""

import sys

from contract import cells, main, sample

REPO = "Azure/AI-benchmarking-guide"

# NCCLBandwidth.py's size labels, one per size of `-b 8 -e 8G -f 2` (2^3 ... 2^33 bytes).
NCCL_LABELS = ["8 ", "16 ", "32 ", "64 ", "128 ", "256 ", "512 ", "1K", "2K", "4K", "8K", "16K",
               "32K", "65K", "132K", "256K", "524K", "1M", "2M", "4M", "8M", "16M", "33M", "67M",
               "134M", "268M", "536M", "1G", "2G", "4G", "8G"]
NCCL_RANKS = 8
BABELSTREAM_ELEMENTS = 1308622848
BABELSTREAM_ARRAYS = {"Copy": 2, "Mul": 2, "Add": 3, "Triad": 3, "Dot": 2}

# Both GPUs: 132 SMs, 50 MiB of L2, compute capability 9.0 (NVIDIA H100 / H200 data sheets);
# memory as the pages name it (80 GB, 141 GB).
L2_BYTES = 52428800

SETS = {
    "h100": {
        "commit": "f350e7e65b82cfcb9220b32b582bc34342d9c1a6",
        "path": "Azure Results/ND_H100_v5_results.md",
        "context": {"gpu_name": "NVIDIA H100 80GB HBM3", "gpu_slug": "h100-sxm",
                    "memory_bytes": 80e9, "driver_version": "560.35.03", "cuda_runtime": "12.6",
                    "nccl_version": "2.18.5", "host_name": "Azure ND H100 v5"},
        "gemm": """
| 1024        | 1024      | 1024     | 274.1                   |
| 2048        | 2048      | 2048     | 1011.3                |
| 4096        | 4096      | 4096     | 1216.9                 |
| 8192        | 8192      | 8192     | 1290.1                 |
| 16384       | 16384     | 16384    | 1377.3                |
| 32768       | 32768     | 32768    | 1382.2                 |
| 1024        | 2145      | 1024     | 410.7                   |
| 6144        | 12288     | 12288    | 1351.4                 |
| 802816      | 192       | 768      | 663.8                  |
""",
        "hbm": """
| Copy  | 2.90              |
| Mul   | 2.90              |
| Add   | 2.97              |
| Triad | 2.97              |
| Dot   | 3.18              |
""",
        "nccl": """
| 1K                   | 0.07              |
| 2K                   | 0.14              |
| 4K                   | 0.27              |
| 8K                   | 0.53              |
| 16K                  | 0.95              |
| 32K                  | 1.71             |
| 65K                  | 2.72              |
| 132K                 | 5.40              |
| 256K                 | 10.86             |
| 524K                 | 21.35             |
| 1M                   | 43.70             |
| 2M                   | 81.93             |
| 4M                   | 128.73            |
| 8M                   | 172.13            |
| 16M                  | 234.45            |
| 33M                  | 295.53            |
| 67M                  | 361.78            |
| 134M                 | 400.61            |
| 268M                 | 423.38            |
| 536M                 | 438.46            |
| 1G                   | 466.35           |
| 2G                   | 472.36            |
| 4G                   | 475.54            |
| 8G                   | 478.87            |
""",
    },
    "h200": {
        "commit": "7f20e5fa3b2f9a46d8404af1f6fb14b049d6d5cc",
        "path": "Azure_Results/ND_H200_v5_results.md",
        "context": {"gpu_name": "NVIDIA H200 141GB", "gpu_slug": "h200",
                    "memory_bytes": 141e9, "driver_version": "560.28.03", "cuda_runtime": "12.6",
                    "nccl_version": "2.20.5", "host_name": "Azure ND H200 v5"},
        "gemm": """
| 1024        | 1024      | 1024     | 290.8                  |
| 2048        | 2048      | 2048     | 1013.4                 |
| 4096        | 4096      | 4096     | 1249.1                 |
| 8192        | 8192      | 8192     | 1300.6                 |
| 16384       | 16384     | 16384    | 1366.3                 |
| 32768       | 32768     | 32768    | 1349.5                 |
| 1024        | 2145      | 1024     | 407.9                  |
| 6144        | 12288     | 12288    | 1318.0                 |
| 802816      | 192       | 768      | 717.5                  |
""",
        "hbm": """
| Copy  | 4.01              |
| Mul   | 4.00              |
| Add   | 4.15              |
| Triad | 4.15              |
| Dot   | 4.48              |
""",
        "nccl": """
| 1K                   | 0.06              |
| 2K                   | 0.12              |
| 4K                   | 0.23              |
| 8K                   | 0.47              |
| 16K                  | 0.93              |
| 32K                  | 1.84              |
| 65K                  | 3.72              |
| 132K                 | 7.39              |
| 256K                 | 14.75             |
| 524K                 | 29.38             |
| 1M                   | 52.96             |
| 2M                   | 88.78             |
| 4M                   | 138.44            |
| 8M                   | 181.94            |
| 16M                  | 240.41            |
| 33M                  | 300.91            |
| 67M                  | 368.11            |
| 134M                 | 412.45            |
| 268M                 | 432.24            |
| 536M                 | 442.72            |
| 1G                   | 467.58            |
| 2G                   | 472.57            |
| 4G                   | 477.41            |
| 8G                   | 479.98            |
""",
    },
}


def gemms(spec):
    for row in cells(spec["gemm"]):
        m, n, k, tflops = int(row[0]), int(row[1]), int(row[2]), float(row[3])
        seconds = m * n * (2 * k - 1) / (tflops * 1e12)
        nbytes = m * k + k * n + 2 * m * n
        cache = "cold" if nbytes > 4 * L2_BYTES else "hot"
        yield sample(f"gemm/fp8_e4m3/m:{m}/n:{n}/k:{k}/cublaslt", seconds,
                     f"cache={cache} dtype=fp8_e4m3 layout=tn out=fp16 timing=device",
                     flops=2.0 * m * n * k, bytes=float(nbytes), kernels=1)


def streams(spec):
    for row in cells(spec["hbm"]):
        op, tbs = row[0], float(row[1])
        nbytes = BABELSTREAM_ARRAYS[op] * 8 * BABELSTREAM_ELEMENTS
        yield sample(f"memory/babelstream_{op.lower()}/bytes:{nbytes}/fp64", nbytes / (tbs * 1e12),
                     "cache=cold timing=host", bytes=float(nbytes), launches=1, syncs=1)


def all_reduces(spec):
    factor = 2.0 * (NCCL_RANKS - 1) / NCCL_RANKS
    for row in cells(spec["nccl"]):
        size = 2 ** (3 + NCCL_LABELS.index(row[0]))
        busbw = float(row[1]) * 1e9
        net = factor * size
        yield sample(f"collective/all_reduce/ranks:{NCCL_RANKS}/dtype:fp32/bytes:{size}/inplace:1",
                     net / busbw, "algo=NVLS dtype=fp32 inplace=1 op=all_reduce source=nccl-tests",
                     net_bytes=net, collectives=1, ranks=NCCL_RANKS)


def convert(spec):
    out = list(gemms(spec)) + list(streams(spec)) + list(all_reduces(spec))
    out.sort(key=lambda e: e["name"])
    context = {"compute_capability": "9.0", "sm_count": 132, "l2_bytes": L2_BYTES}
    context.update(spec["context"])
    context["executable"] = ("Azure AI-benchmarking-guide: superbenchmark cublaslt_gemm, "
                             "BabelStream, nccl-tests all_reduce_perf (published tables)")
    context["source"] = f"https://github.com/{REPO}/blob/{spec['commit']}/{spec['path']}"
    return {"context": context, "benchmarks": out}


def documents():
    for gpu, spec in SETS.items():
        yield f"azure_nd_{gpu}_v5.json", convert(spec)


if __name__ == "__main__":
    sys.exit(main(sys.argv, "convert_azure_guide.py", documents))
