#!/usr/bin/env python3
"""Converts DeepGEMM's published H800 FP8 GEMM tables into batchcost result files.

Source: github.com/deepseek-ai/DeepGEMM, README.md, section "Performance", at two commits:

  a6d97a1c1b48a7a9d7994d0e155ee6f11d0a3f07  (2025-02-25, "Initial commit", "on H800 with NVCC 12.8")
  55ab91f72f76e8a6db0e86282c3169a88d93df1b  (2025-03-25, "Update performance", "on H800 SXM5 with
                                             NVCC 12.8")

The tables below are the README's rows as published (only the "Speedup" column, a comparison with
an unpublished baseline, is not used). How DeepGEMM measured them is in tests/test_core.py and
deep_gemm/utils.py at the same commits:
  - time: bench_kineto, the kernel's duration from the CUDA profiler (device timing), L2 flushed by
    an 8 GB memset before every test (cache=cold), fresh tensors per shape;
  - TFLOPS = 2 * groups * m * n * k / t; GB/s = groups * (m*k + k*n + 2*m*n) / t (FP8 E4M3 A and B,
    BF16 D; the FP32 scaling factors are not counted);
  - masked layout: timed with every group at its full m (masked_m = m).
So t = flops / TFLOPS, and bytes are DeepGEMM's own count. The script checks that bytes / t agrees
with the published GB/s column (both columns are rounded to whole units, so within 1%).

Families: gemm (dense, one kernel), moe_contiguous and moe_masked (one grouped kernel each).
Labels carry the shape (m, n, k per group, groups), DeepGEMM's layout, and the output tile the
kernel ran with (tile=BLOCK_MxBLOCK_N): not printed by the README, it is what DeepGEMM's block-size
heuristic at the same commit chooses for the shape, deep_gemm/jit_kernels/gemm.py
get_best_configs (fewest waves over 132 SMs, then the fullest last wave, then the commit's
tie-break; BLOCK_M 64 for m <= 64, else 128; BLOCK_N 16..128 step 8, plus 144 and 160 at
55ab91f), called as m_grouped_gemm.py calls it (contiguous: all groups' rows, one group;
masked: expected_m = m per group, num_groups groups). best_tile() below is that function.

Usage: convert_deepgemm.py OUT_DIR   (writes deepgemm_h800_<date>.json per commit)
"""

import sys

from contract import cells, main, sample

REPO = "deepseek-ai/DeepGEMM"
PATH = "README.md"

# H800 SXM5: 132 SMs, 50 MiB L2, 80 GB HBM3 (NVIDIA H800 datasheet; the SXM5 H800 has the H100
# SXM5's SM and memory configuration).
CONTEXT = {
    "gpu_name": "NVIDIA H800 (SXM5)",
    "compute_capability": "9.0",
    "sm_count": 132,
    "l2_bytes": 52428800,
    "memory_bytes": 85899345920,
}

NUM_SMS = 132

SETS = {
    "2025-02": {
        "commit": "a6d97a1c1b48a7a9d7994d0e155ee6f11d0a3f07",
        "block_ns": tuple(range(16, 129, 8)),
        # success = util > best_util or (util == best_util and (bn >= best_bn and bm <= best_bm))
        "tie": lambda bm, bn, best_bm, best_bn: bn >= best_bn and bm <= best_bm,
        "dense": """
|  64  | 2112  | 7168  | 206 TFLOPS  |    1688 GB/s     |  2.7x   |
|  64  | 24576 | 1536  | 289 TFLOPS  |    2455 GB/s     |  1.7x   |
|  64  | 32768 |  512  | 219 TFLOPS  |    2143 GB/s     |  1.8x   |
|  64  | 7168  | 16384 | 336 TFLOPS  |    2668 GB/s     |  1.4x   |
|  64  | 4096  | 7168  | 287 TFLOPS  |    2320 GB/s     |  1.4x   |
|  64  | 7168  | 2048  | 295 TFLOPS  |    2470 GB/s     |  1.7x   |
| 128  | 2112  | 7168  | 352 TFLOPS  |    1509 GB/s     |  2.4x   |
| 128  | 24576 | 1536  | 535 TFLOPS  |    2448 GB/s     |  1.6x   |
| 128  | 32768 |  512  | 358 TFLOPS  |    2103 GB/s     |  1.5x   |
| 128  | 7168  | 16384 | 645 TFLOPS  |    2604 GB/s     |  1.4x   |
| 128  | 4096  | 7168  | 533 TFLOPS  |    2221 GB/s     |  2.0x   |
| 128  | 7168  | 2048  | 510 TFLOPS  |    2277 GB/s     |  1.7x   |
| 4096 | 2112  | 7168  | 1058 TFLOPS |     527 GB/s     |  1.1x   |
| 4096 | 24576 | 1536  | 990 TFLOPS  |     786 GB/s     |  1.0x   |
| 4096 | 32768 |  512  | 590 TFLOPS  |    1232 GB/s     |  1.0x   |
| 4096 | 7168  | 16384 | 1358 TFLOPS |     343 GB/s     |  1.2x   |
| 4096 | 4096  | 7168  | 1304 TFLOPS |     500 GB/s     |  1.1x   |
| 4096 | 7168  | 2048  | 1025 TFLOPS |     697 GB/s     |  1.1x   |
""",
        "contiguous": """
|    4    |    8192     | 4096 | 7168 | 1297 TFLOPS |     418 GB/s     |  1.2x   |
|    4    |    8192     | 7168 | 2048 | 1099 TFLOPS |     681 GB/s     |  1.2x   |
|    8    |    4096     | 4096 | 7168 | 1288 TFLOPS |     494 GB/s     |  1.2x   |
|    8    |    4096     | 7168 | 2048 | 1093 TFLOPS |     743 GB/s     |  1.1x   |
""",
        "masked": """
|    1    |    1024     | 4096 | 7168 | 1233 TFLOPS |     924 GB/s     |  1.2x   |
|    1    |    1024     | 7168 | 2048 | 925 TFLOPS  |     968 GB/s     |  1.2x   |
|    2    |     512     | 4096 | 7168 | 1040 TFLOPS |    1288 GB/s     |  1.2x   |
|    2    |     512     | 7168 | 2048 | 916 TFLOPS  |    1405 GB/s     |  1.2x   |
|    4    |     256     | 4096 | 7168 | 932 TFLOPS  |    2064 GB/s     |  1.1x   |
|    4    |     256     | 7168 | 2048 | 815 TFLOPS  |    2047 GB/s     |  1.2x   |
""",
    },
    "2025-03": {
        "commit": "55ab91f72f76e8a6db0e86282c3169a88d93df1b",
        "block_ns": tuple(range(16, 129, 8)) + (144, 160),
        # success = util > best_util or (util == best_util and (bm > best_bm or (bm == best_bm
        #           and bn < best_bn)))
        "tie": lambda bm, bn, best_bm, best_bn: bm > best_bm or (bm == best_bm and bn < best_bn),
        "dense": """
|  64  | 2112  | 7168  | 206 TFLOPS  |    1688 GB/s     |  2.7x   |
|  64  | 24576 | 1536  | 289 TFLOPS  |    2455 GB/s     |  1.7x   |
|  64  | 32768 |  512  | 219 TFLOPS  |    2143 GB/s     |  1.8x   |
|  64  | 7168  | 16384 | 336 TFLOPS  |    2668 GB/s     |  1.4x   |
|  64  | 4096  | 7168  | 287 TFLOPS  |    2320 GB/s     |  1.4x   |
|  64  | 7168  | 2048  | 295 TFLOPS  |    2470 GB/s     |  1.7x   |
| 128  | 2112  | 7168  | 352 TFLOPS  |    1509 GB/s     |  2.4x   |
| 128  | 24576 | 1536  | 535 TFLOPS  |    2448 GB/s     |  1.6x   |
| 128  | 32768 |  512  | 358 TFLOPS  |    2103 GB/s     |  1.5x   |
| 128  | 7168  | 16384 | 645 TFLOPS  |    2604 GB/s     |  1.4x   |
| 128  | 4096  | 7168  | 533 TFLOPS  |    2221 GB/s     |  2.0x   |
| 128  | 7168  | 2048  | 510 TFLOPS  |    2277 GB/s     |  1.7x   |
| 4096 | 2112  | 7168  | 1009 TFLOPS |     503 GB/s     |  1.1x   |
| 4096 | 24576 | 1536  | 1125 TFLOPS |     893 GB/s     |  1.1x   |
| 4096 | 32768 |  512  | 751 TFLOPS  |    1569 GB/s     |  1.1x   |
| 4096 | 7168  | 16384 | 1426 TFLOPS |     361 GB/s     |  1.3x   |
| 4096 | 4096  | 7168  | 1265 TFLOPS |     485 GB/s     |  1.2x   |
| 4096 | 7168  | 2048  | 1168 TFLOPS |     794 GB/s     |  1.2x   |
""",
        "contiguous": """
|    4    |    8192     | 4096 | 7168 | 1346 TFLOPS |     434 GB/s     |  1.3x   |
|    4    |    8192     | 7168 | 2048 | 1214 TFLOPS |     752 GB/s     |  1.3x   |
|    8    |    4096     | 4096 | 7168 | 1346 TFLOPS |     516 GB/s     |  1.3x   |
|    8    |    4096     | 7168 | 2048 | 1214 TFLOPS |     826 GB/s     |  1.2x   |
""",
        "masked": """
|    1    |    1024     | 4096 | 7168 | 1233 TFLOPS |     924 GB/s     |  1.2x   |
|    1    |    1024     | 7168 | 2048 | 925 TFLOPS  |     968 GB/s     |  1.2x   |
|    2    |     512     | 4096 | 7168 | 1040 TFLOPS |    1288 GB/s     |  1.2x   |
|    2    |     512     | 7168 | 2048 | 916 TFLOPS  |    1405 GB/s     |  1.2x   |
|    4    |     256     | 4096 | 7168 | 932 TFLOPS  |    2064 GB/s     |  1.1x   |
|    4    |     256     | 7168 | 2048 | 815 TFLOPS  |    2047 GB/s     |  1.2x   |
""",
    },
}


def unit_number(cell, unit):
    value, got = cell.split()
    if got != unit:
        raise ValueError(f"expected a value in {unit}, got {cell!r}")
    return float(value)


def ceil_div(a, b):
    return (a + b - 1) // b


def best_tile(spec, m, n, num_groups, contiguous):
    """DeepGEMM's get_best_configs block sizes (see the header) for one call."""
    block_ms = (128,) if contiguous else ((64 if m <= 64 else 128),)
    tiles = lambda bm, bn: ceil_div(m, bm) * ceil_div(n, bn) * num_groups
    waves = lambda bm, bn: ceil_div(tiles(bm, bn), NUM_SMS)
    last_util = lambda bm, bn: tiles(bm, bn) % NUM_SMS or NUM_SMS
    best = None
    for bm in block_ms:
        for bn in spec["block_ns"]:
            if best is None or waves(bm, bn) < waves(*best):
                best = (bm, bn)
            elif waves(bm, bn) == waves(*best):
                util, best_util = last_util(bm, bn), last_util(*best)
                if util > best_util or (util == best_util and spec["tie"](bm, bn, *best)):
                    best = (bm, bn)
    return best


def entry(family, layout, groups, m, n, k, tflops, gbs, commit, tile):
    flops = 2.0 * groups * m * n * k
    nbytes = float(groups * (m * k + k * n + 2 * m * n))
    seconds = flops / (tflops * 1e12)
    check = nbytes / seconds / 1e9
    if abs(check / gbs - 1) > 0.01:
        raise ValueError(f"{commit[:7]} {family} m={m} n={n} k={k}: bytes/t = {check:.0f} GB/s "
                         f"but the table says {gbs:.0f} GB/s")
    name = f"{family}/fp8_e4m3/groups:{groups}/m:{m}/n:{n}/k:{k}/manual_time"
    label = (f"cache=cold dtype=fp8_e4m3 groups={groups} k={k} layout={layout} m={m} n={n} "
             f"tile={tile[0]}x{tile[1]} timing=device")
    return sample(name, seconds, label, flops=flops, bytes=nbytes, kernels=1)


def convert(tag, spec):
    commit = spec["commit"]
    out = []
    for row in cells(spec["dense"]):
        m, n, k = int(row[0]), int(row[1]), int(row[2])
        out.append(entry("gemm", "dense", 1, m, n, k, unit_number(row[3], "TFLOPS"),
                         unit_number(row[4], "GB/s"), commit, best_tile(spec, m, n, 1, False)))
    for family, layout in (("moe_contiguous", "contiguous"), ("moe_masked", "masked")):
        for row in cells(spec[layout]):
            g, m, n, k = int(row[0]), int(row[1]), int(row[2]), int(row[3])
            tile = (best_tile(spec, g * m, n, 1, True) if layout == "contiguous" else
                    best_tile(spec, m, n, g, False))
            out.append(entry(family, layout, g, m, n, k, unit_number(row[4], "TFLOPS"),
                             unit_number(row[5], "GB/s"), commit, tile))
    out.sort(key=lambda e: e["name"])
    context = dict(CONTEXT)
    context["executable"] = "DeepGEMM tests/test_core.py (published table)"
    context["source"] = f"https://github.com/{REPO}/blob/{commit}/{PATH}"
    context["date"] = {"2025-02": "2025-02-25", "2025-03": "2025-03-25"}[tag]
    return {"context": context, "benchmarks": out}


def documents():
    for tag, spec in SETS.items():
        yield f"deepgemm_h800_{tag}.json", convert(tag, spec)


if __name__ == "__main__":
    sys.exit(main(sys.argv, "convert_deepgemm.py", documents))
