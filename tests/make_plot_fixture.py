#!/usr/bin/env python3
"""Writes the plot test's fixture: small synthetic results of two GPUs, tests/data/plot/<gpu>/
{gemm,memory,launch,moe,collective}.json, in the Google Benchmark JSON our binaries write.

These are NOT measurements. Each time is the cost model of DESIGN.md evaluated on STATED
constants (below), times a deterministic wiggle of a few percent so that a fit has something to
do; the context says so ("synthetic": true). They exist so that tools/plot.py can be tested
before real results are committed. Regenerate, then fit each GPU's model.json:

  /usr/bin/python3 tests/make_plot_fixture.py
  for g in h100 h200; do build-host/tools/batchcost fit tests/data/plot/$g \
      --out tests/data/plot/$g/model.json; done

`write(root, wide=True)` (tests/plot_test.py, into a temporary folder) adds what a full run has
many of and the committed fixture has few: the six layer shapes of DeepSeek-V3 and Llama-3-70B
in bf16, fp8_e4m3 and fp16 (18 GEMM series), and all_reduce, all_gather, reduce_scatter and
all_to_all on 2, 4 and 8 ranks (12 collective series), the extra entries after the committed
ones, which stay as they are.
"""
import json
import math
import os

# Stated constants per GPU: P[bf16], W, λ[launch] (host, per launch), λ[kernel] (device, per
# kernel), λ[graph_node], λ[sync], and network regimes (latency s, bytes/s) per (op, ranks),
# h2d/d2h (PCIe) on one rank.
GPUS = {
    "h100": dict(gpu_name="H100-like (synthetic)", memory_bytes=80e9, P=7.0e14, W=3.0e12,
                 launch=2.4e-6, kernel=1.5e-6, graph_node=1.0e-6, sync=6.0e-6,
                 net={("all_reduce", 8): [(8e-6, 2.0e10), (2.5e-5, 3.6e11)],
                      ("all_to_all", 8): [(1.5e-5, 2.5e11)],
                      ("h2d", 1): [(9e-6, 5.0e10)], ("d2h", 1): [(9.5e-6, 4.8e10)]}),
    "h200": dict(gpu_name="H200-like (synthetic)", memory_bytes=141e9, P=7.0e14, W=4.3e12,
                 launch=2.3e-6, kernel=1.4e-6, graph_node=1.0e-6, sync=5.5e-6,
                 net={("all_reduce", 8): [(8e-6, 2.0e10), (2.5e-5, 3.7e11)],
                      ("all_to_all", 8): [(1.5e-5, 2.6e11)],
                      ("h2d", 1): [(9e-6, 5.3e10)], ("d2h", 1): [(9.5e-6, 5.1e10)]}),
}


WIDE_DTYPES = {"bf16": 1.0, "fp8_e4m3": 2.0, "fp16": 1.0}  # P relative to bf16's
WIDE_OPS = {"all_reduce": 2.0, "all_gather": 1.0, "reduce_scatter": 1.0, "all_to_all": 1.0}


def network(g, op, ranks):
    """The stated regimes of (op, ranks); those the wide fixture adds derive from all_reduce/8's:
    a latency growing and a rate falling with fewer ranks' share of the links."""
    if (op, ranks) in g["net"]:
        return g["net"][(op, ranks)]
    f = {"all_reduce": 1.0, "all_gather": 1.1, "reduce_scatter": 1.05, "all_to_all": 0.7}[op]
    return [(a * (0.6 + ranks / 20), r * f * (0.5 + ranks / 16))
            for a, r in g["net"][("all_reduce", 8)]]


def model_time(g, w, op=None, ranks=0, dtype="bf16"):
    t = w.get("launches", 0) * g["launch"] + w.get("graph_nodes", 0) * g["graph_node"]
    t += w.get("kernels", 0) * g["kernel"]
    t += w.get("syncs", 0) * g["sync"]
    if w.get("net_bytes", 0) > 0:
        t += min(a + w["net_bytes"] / r for a, r in network(g, op, ranks))
    p = g["P"] * WIDE_DTYPES[dtype]
    return t + max(w.get("flops", 0) / p, w.get("bytes", 0) / g["W"])


def entry(g, i, name, work, label, op=None, ranks=0, dtype="bf16"):
    t = model_time(g, work, op, ranks, dtype) * (1 + 0.03 * math.sin(1.7 * i))
    e = {"name": name, "run_name": name, "run_type": "iteration", "repetitions": 1,
         "iterations": 100, "real_time": t * 1e6, "cpu_time": t * 1e6, "time_unit": "us",
         "label": label}
    e.update(work)
    if ranks:
        e["ranks"] = ranks
    return e


def gemm(m, n, k):
    return {"flops": 2.0 * m * n * k, "bytes": 2.0 * (m * k + k * n + m * n), "kernels": 1}


def families(g, wide=False):
    out = {"gemm": [], "memory": [], "launch": [], "moe": [], "collective": []}
    i = 0
    for s in [128, 256, 512, 1024, 2048, 4096, 8192, 16384]:
        out["gemm"].append(entry(g, i, f"gemm/bf16/m:{s}/n:{s}/k:{s}/manual_time", gemm(s, s, s),
                                 "cache=cold dtype=bf16 timing=device")); i += 1
    # Llama-3-70B's layer shapes (N, K: o_proj, gate/up, down) at decode and prefill token counts.
    for n, k in [(8192, 8192), (28672, 8192), (8192, 28672)]:
        for m in [1, 16, 64, 256, 1024, 4096]:
            out["gemm"].append(entry(g, i, f"gemm/bf16/m:{m}/n:{n}/k:{k}/manual_time",
                                     gemm(m, n, k), "cache=cold dtype=bf16 timing=device")); i += 1
    if wide:  # DeepSeek-V3's shapes too, and two more dtypes
        for dtype in WIDE_DTYPES:
            for n, k in [(8192, 8192), (28672, 8192), (8192, 28672), (4096, 7168), (7168, 2048),
                         (18432, 7168)]:
                if dtype == "bf16" and n in (8192, 28672) and k in (8192, 28672):
                    continue  # the committed ones, above
                for m in [1, 16, 64, 256, 1024, 4096]:
                    out["gemm"].append(entry(
                        g, i, f"gemm/{dtype}/m:{m}/n:{n}/k:{k}/manual_time", gemm(m, n, k),
                        f"cache=cold dtype={dtype} timing=device", dtype=dtype)); i += 1
    for p in range(12, 31, 2):
        b = 2 ** p
        out["memory"].append(entry(g, i, f"memory/copy_kernel/bytes:{b}/manual_time",
                                   {"bytes": 2.0 * b, "kernels": 1},
                                   "cache=cold timing=device")); i += 1
    for n in [1, 4, 16, 64]:
        out["launch"].append(entry(g, i, f"launch/null_kernel/kernels:{n}/manual_time",
                                   {"kernels": n}, "timing=device")); i += 1
        out["launch"].append(entry(g, i, f"launch/host_launch/kernels:{n}/manual_time",
                                   {"launches": n}, "timing=host")); i += 1
        out["launch"].append(entry(g, i, f"launch/sync/kernels:{n}/manual_time",
                                   {"launches": n, "syncs": n}, "timing=host")); i += 1
        out["launch"].append(entry(g, i, f"launch/graph/nodes:{n}/manual_time",
                                   {"graph_nodes": n}, "timing=device")); i += 1
    # Qwen3-30B-A3B's expert FFN (E 128, k 8, H 2048, I 768), uniform routing, expected counts.
    E, k, H, I = 128, 8, 2048, 768
    for b in [1, 4, 16, 64, 256, 1024, 4096]:
        active = E * (1 - (1 - k / E) ** b)
        c = b * k
        weights = active * 3 * H * I * 2
        acts = c * (H + 2 * I + I + H) * 2
        flops = 2.0 * c * 3 * H * I
        strategies = {
            "dense_equivalent": {"flops": flops, "bytes": 3 * H * k * I * 2 + b * (2 * H + 3 * k * I) * 2,
                                 "kernels": 2},
            "per_expert_loop": {"flops": flops, "bytes": weights + acts, "kernels": 2 * active},
            "per_expert_graph": {"flops": flops, "bytes": weights + acts,
                                 "graph_nodes": 2 * active},
            "grouped": {"flops": flops, "bytes": weights + acts, "kernels": 2},
        }
        for s, w in strategies.items():
            routing = "none" if s == "dense_equivalent" else "uniform"
            name = (f"moe/qwen3_30b_a3b/{s}/tokens:{b}/manual_time" if s == "dense_equivalent"
                    else f"moe/qwen3_30b_a3b/{s}/uniform/tokens:{b}/manual_time")
            label = f"cache=cold dtype=bf16 model=qwen3_30b_a3b routing={routing} strategy={s}"
            out["moe"].append(entry(g, i, name, w, label)); i += 1
    for p in range(10, 31, 2):
        size = 2 ** p
        out["collective"].append(entry(g, i, f"collective/all_reduce/ranks:8/bytes:{size}/manual_time",
                                       {"net_bytes": 2 * 7 / 8 * size, "collectives": 1},
                                       "dtype=bf16 op=all_reduce", "all_reduce", 8)); i += 1
        out["collective"].append(entry(g, i, f"collective/all_to_all/ranks:8/bytes:{size}/manual_time",
                                       {"net_bytes": 7 / 8 * size, "collectives": 1},
                                       "dtype=bf16 op=all_to_all", "all_to_all", 8)); i += 1
    if wide:
        for op, factor in WIDE_OPS.items():
            for ranks in (2, 4, 8):
                if ranks == 8 and op in ("all_reduce", "all_to_all"):
                    continue  # the committed ones, above
                for p in range(10, 31, 2):
                    size = 2 ** p
                    out["collective"].append(entry(
                        g, i, f"collective/{op}/ranks:{ranks}/bytes:{size}/manual_time",
                        {"net_bytes": factor * (ranks - 1) / ranks * size, "collectives": 1},
                        f"dtype=bf16 op={op}", op, ranks)); i += 1
    for p in range(12, 31, 3):
        size = 2 ** p
        for op in ("h2d", "d2h"):
            out["collective"].append(entry(g, i, f"collective/{op}/bytes:{size}/manual_time",
                                           {"net_bytes": size, "collectives": 1},
                                           f"op={op} timing=device", op, 1)); i += 1
    return out


def write(root, wide=False):
    """root/<gpu>/<family>.json for each GPU (no model.json: batchcost fit writes that)."""
    for slug, g in GPUS.items():
        os.makedirs(os.path.join(root, slug), exist_ok=True)
        for family, entries in families(g, wide).items():
            doc = {"context": {"synthetic": True, "note": "stated constants, not measured",
                               "gpu_name": g["gpu_name"], "gpu_slug": slug,
                               "memory_bytes": g["memory_bytes"], "executable": "bench/" + family},
                   "benchmarks": entries}
            with open(os.path.join(root, slug, family + ".json"), "w") as f:
                json.dump(doc, f, indent=1, sort_keys=True)
                f.write("\n")


def main():
    write(os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "plot"))


if __name__ == "__main__":
    main()
