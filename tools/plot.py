#!/usr/bin/python3
# (Debian's python3, which has python3-matplotlib; elsewhere run it as `python3 tools/plot.py`.)
"""The pictures of a results folder: what the benchmarks measured, with the fitted model over it.

  tools/plot.py RESULTS_DIR [OTHER_DIR] [--out DIR] [--batchcost PATH]

Reads our Google Benchmark JSON (*.json but model.json; the median aggregate where repetitions
were run) and the folder's model.json (the fitted constants), and writes PNGs into --out
(default: RESULTS_DIR itself, beside the results):

  roofline.png         GEMM TFLOP/s against arithmetic intensity, with the fitted roof min(P, W·I)
  memory.png           memory bandwidth against bytes moved, with the fitted bytes / (λ + bytes/W)
  launch.png           launch, graph and sync costs against the number of events, with the fit
  moe.png              MoE time per token against batch for each strategy, the model's
                       prediction (batchcost validate) drawn over it
  collectives.png      bus bandwidth against bytes received per GPU, with the latency-bandwidth
                       fit (the lower envelope of its regimes)
  compare.png          two GPUs' fitted constants side by side (needs OTHER_DIR)
  speed_cost.png       predicted tokens/s per user against GPU-hours per million tokens for
                       DeepSeek-V3 and Llama-3-70B (batchcost predict --json)

A figure whose data is absent is skipped, saying why. Needs matplotlib (Debian:
python3-matplotlib); `batchcost` (for moe.png's prediction and speed_cost.png) is taken from
--batchcost, else build*/tools/batchcost in this checkout, else PATH.
"""
import argparse
import glob
import json
import math
import os
import shutil
import subprocess
import sys

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # pragma: no cover - the test skips instead
    sys.exit("plot.py: needs matplotlib (Debian: apt-get install python3-matplotlib)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
COUNTERS = ("flops", "bytes", "net_bytes", "launches", "graph_nodes", "syncs", "collectives")


class Results:
    """One folder: samples by family, the model.json constants, the GPU's name."""

    def __init__(self, folder):
        self.folder = folder
        self.samples = []
        self.gpu = os.path.basename(os.path.normpath(folder))
        self.model = None
        for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
            with open(path) as f:
                doc = json.load(f)
            if os.path.basename(path) == "model.json":
                self.model = doc
                continue
            if not isinstance(doc, dict) or "benchmarks" not in doc:
                continue
            self.gpu = doc.get("context", {}).get("gpu_name", self.gpu)
            self.samples += read_samples(doc["benchmarks"])
        if self.model:
            self.gpu = self.model.get("hardware", {}).get("gpu_name", self.gpu)

    def family(self, name):
        return [s for s in self.samples if s["name"].split("/")[0] == name]

    def constants(self):
        return (self.model or {}).get("constants", {})


def read_samples(entries):
    """One sample per run: its median aggregate where there is one, else the iteration."""
    medians, iterations = {}, {}
    for e in entries:
        if e.get("error_occurred"):
            continue
        run = e.get("run_name", e["name"])
        if e.get("run_type") == "aggregate":
            if e.get("aggregate_name") == "median":
                medians[run] = e
        else:
            iterations.setdefault(run, e)
    out = []
    for run, e in sorted({**iterations, **medians}.items()):
        labels = dict(kv.split("=", 1) for kv in e.get("label", "").split() if "=" in kv)
        s = {"name": run, "time_s": e["real_time"] * UNIT[e.get("time_unit", "ns")],
             "labels": labels, "ranks": e.get("ranks", 0)}
        for c in COUNTERS:
            s[c] = float(e.get(c, 0))
        out.append(s)
    return out


def network_time(regimes, x):
    return min(r["latency_s"] + x / r["bytes_per_s"] for r in regimes)


def new_figure(title):
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=100)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    return fig, ax


def save(fig, out, name, written):
    path = os.path.join(out, name)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    written.append(path)


def roofline(r, out, written, skipped):
    gemm = [s for s in r.family("gemm") if s["flops"] > 0 and s["bytes"] > 0]
    if not gemm:
        return skipped.append(("roofline.png", "no gemm results"))
    fig, ax = new_figure(f"GEMM roofline: {r.gpu}")
    by_dtype = {}
    for s in gemm:
        by_dtype.setdefault(s["labels"].get("dtype", "?"), []).append(s)
    for dtype, ss in sorted(by_dtype.items()):
        ax.scatter([s["flops"] / s["bytes"] for s in ss],
                   [s["flops"] / s["time_s"] / 1e12 for s in ss], label=f"measured {dtype}", s=18)
    c = r.constants()
    intensity = [s["flops"] / s["bytes"] for s in gemm]
    lo, hi = min(intensity) / 2, max(intensity) * 2
    xs = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    w = c.get("hbm_bytes_per_s")
    for dtype, p in sorted(c.get("flops_per_s", {}).items()):
        if dtype in by_dtype and w:
            ax.plot(xs, [min(p, w * x) / 1e12 for x in xs], "--",
                    label=f"fitted roof {dtype}: P {p / 1e12:.0f} TFLOP/s, W {w / 1e12:.2f} TB/s")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP / byte of HBM traffic)")
    ax.set_ylabel("throughput (TFLOP/s)")
    ax.legend(fontsize=8)
    save(fig, out, "roofline.png", written)


def memory(r, out, written, skipped):
    mem = [s for s in r.family("memory") if s["bytes"] > 0 and s["labels"].get("cache") != "hot"]
    if not mem:
        return skipped.append(("memory.png", "no memory results"))
    fig, ax = new_figure(f"HBM bandwidth: {r.gpu}")
    kinds = {}
    for s in mem:
        kinds.setdefault(s["name"].split("/")[1], []).append(s)
    for kind, ss in sorted(kinds.items()):
        ss.sort(key=lambda s: s["bytes"])
        ax.plot([s["bytes"] for s in ss], [s["bytes"] / s["time_s"] / 1e9 for s in ss], "o",
                label=f"measured {kind}", markersize=4)
    c = r.constants()
    w, launch = c.get("hbm_bytes_per_s"), c.get("latency_s", {}).get("launch", 0)
    if w:
        lo, hi = min(s["bytes"] for s in mem), max(s["bytes"] for s in mem)
        xs = [lo * (hi / lo) ** (i / 200) for i in range(201)]
        ax.plot(xs, [x / (launch + x / w) / 1e9 for x in xs], "--",
                label=f"fit: bytes / (λ_launch + bytes / W), W {w / 1e12:.2f} TB/s")
    ax.set_xscale("log")
    ax.set_xlabel("bytes read + written per kernel (B)")
    ax.set_ylabel("bandwidth (GB/s)")
    ax.legend(fontsize=8)
    save(fig, out, "memory.png", written)


def launch(r, out, written, skipped):
    ss = [s for s in r.family("launch") if s["launches"] + s["graph_nodes"] + s["syncs"] > 0]
    if not ss:
        return skipped.append(("launch.png", "no launch results"))
    fig, ax = new_figure(f"Launch and sync costs: {r.gpu}")
    lat = r.constants().get("latency_s", {})
    kinds = {}
    for s in ss:
        kinds.setdefault(s["name"].split("/")[1], []).append(s)
    for i, (kind, group) in enumerate(sorted(kinds.items())):
        group.sort(key=lambda s: s["launches"] + s["graph_nodes"] + s["syncs"])
        xs = [s["launches"] + s["graph_nodes"] + s["syncs"] for s in group]
        color = f"C{i}"
        ax.plot(xs, [s["time_s"] * 1e6 for s in group], "o", color=color,
                label=f"measured {kind}")
        if all(k in lat for k, c in (("launch", "launches"), ("graph_node", "graph_nodes"),
                                     ("sync", "syncs")) if any(s[c] for s in group)):
            pred = [(s["launches"] * lat.get("launch", 0) + s["graph_nodes"] *
                     lat.get("graph_node", 0) + s["syncs"] * lat.get("sync", 0)) * 1e6
                    for s in group]
            ax.plot(xs, pred, "--", color=color, label=f"fit {kind}")
    text = ", ".join(f"λ[{k}] {v * 1e6:.2f} µs" for k, v in sorted(lat.items()))
    if text:
        ax.text(0.02, 0.97, text, transform=ax.transAxes, va="top", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("events per iteration (launches + graph nodes + syncs)")
    ax.set_ylabel("time per iteration (µs)")
    ax.legend(fontsize=8, loc="lower right")
    save(fig, out, "launch.png", written)


def tokens_of(name):
    for part in name.split("/"):
        if part.startswith("tokens:"):
            return int(part.split(":")[1])
    return None


def predicted_times(r, batchcost):
    """Benchmark name -> the model's time, from `batchcost validate --model` (one formula)."""
    if not batchcost or not r.model:
        return {}
    run = subprocess.run([batchcost, "validate", r.folder, "--model",
                          os.path.join(r.folder, "model.json"), "--json"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        return {}
    return {b["name"]: b["predicted_s"] for b in json.loads(run.stdout)["benchmarks"]
            if b.get("predicted_s")}


def moe(r, out, written, skipped, batchcost):
    ss = [s for s in r.family("moe") if tokens_of(s["name"])]
    if not ss:
        return skipped.append(("moe.png", "no moe results with tokens:B in their names"))
    routings = {s["labels"].get("routing", "") for s in ss}
    routing = "uniform" if "uniform" in routings else sorted(routings)[0]
    ss = [s for s in ss if s["labels"].get("routing", "") in (routing, "none")]
    predicted = predicted_times(r, batchcost)
    models = sorted({s["labels"].get("model", "?") for s in ss})
    fig, axes = plt.subplots(1, len(models), figsize=(8 * len(models), 5.5), dpi=100,
                             squeeze=False)
    for ax, model in zip(axes[0], models):
        strategies = {}
        for s in ss:
            if s["labels"].get("model", "?") == model:
                strategies.setdefault(s["labels"].get("strategy", s["name"].split("/")[2]),
                                      []).append(s)
        for i, (strategy, group) in enumerate(sorted(strategies.items())):
            group.sort(key=lambda s: tokens_of(s["name"]))
            b = [tokens_of(s["name"]) for s in group]
            ax.plot(b, [s["time_s"] / t * 1e6 for s, t in zip(group, b)], "o", color=f"C{i}",
                    label=f"measured {strategy}")
            pred = [(t, predicted[s["name"]] / t * 1e6) for s, t in zip(group, b)
                    if s["name"] in predicted]
            if pred:
                ax.plot(*zip(*pred), "--", color=f"C{i}", label=f"model {strategy}")
        ax.set_title(f"MoE expert FFN ({model}, routing {routing}): {r.gpu}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.set_xlabel("batch (tokens)")
        ax.set_ylabel("time per token (µs)")
        ax.legend(fontsize=7)
    if not predicted:
        fig.text(0.01, 0.01, "no prediction: model.json or batchcost not found", fontsize=8)
    save(fig, out, "moe.png", written)


def collectives(r, out, written, skipped):
    ss = [s for s in r.family("collective") if s["net_bytes"] > 0 and s["ranks"] > 1]
    if not ss:
        return skipped.append(("collectives.png", "no multi-GPU collective results"))
    fig, ax = new_figure(f"Collectives: {r.gpu}")
    network = r.constants().get("network", {})
    groups = {}
    for s in ss:
        groups.setdefault((s["labels"].get("op", "?"), int(s["ranks"])), []).append(s)
    for i, ((op, ranks), group) in enumerate(sorted(groups.items())):
        group.sort(key=lambda s: s["net_bytes"])
        xs = [s["net_bytes"] / max(s["collectives"], 1) for s in group]
        ax.plot(xs, [x / (s["time_s"] / max(s["collectives"], 1)) / 1e9 for x, s in
                     zip(xs, group)], "o", color=f"C{i}", label=f"measured {op}/{ranks}")
        regimes = network.get(op, {}).get(str(ranks))
        if regimes:
            lo, hi = min(xs), max(xs)
            fit = [lo * (hi / lo) ** (j / 200) for j in range(201)]
            ax.plot(fit, [x / network_time(regimes, x) / 1e9 for x in fit], "--",
                    color=f"C{i}", label=f"fit {op}/{ranks}: {len(regimes)} regime(s)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("bytes received per GPU per operation (B)")
    ax.set_ylabel("bus bandwidth (GB/s)")
    ax.legend(fontsize=8)
    save(fig, out, "collectives.png", written)


def named_constants(model):
    c = model.get("constants", {})
    out = {}
    for dtype, p in c.get("flops_per_s", {}).items():
        out[f"P[{dtype}]\n(TFLOP/s)"] = p / 1e12
    if "hbm_bytes_per_s" in c:
        out["W\n(TB/s)"] = c["hbm_bytes_per_s"] / 1e12
    for kind, v in c.get("latency_s", {}).items():
        out[f"λ[{kind}]\n(µs)"] = v * 1e6
    for op, by_ranks in c.get("network", {}).items():
        for ranks, regimes in by_ranks.items():
            out[f"{op}/{ranks}\npeak (GB/s)"] = max(x["bytes_per_s"] for x in regimes) / 1e9
    return out


def compare(r, other, out, written, skipped):
    if other is None:
        return skipped.append(("compare.png", "one results folder given (pass a second one)"))
    if not r.model or not other.model:
        return skipped.append(("compare.png", "a folder lacks model.json (batchcost fit --out)"))
    a, b = named_constants(r.model), named_constants(other.model)
    keys = [k for k in a if k in b]
    if not keys:
        return skipped.append(("compare.png", "the two models share no constant"))
    fig, ax = new_figure(f"{other.gpu} against {r.gpu} (fitted constants)")
    ratios = [b[k] / a[k] for k in keys]
    # Green where the second GPU is better: higher rates, lower latencies.
    better = [(x >= 1) != k.startswith("λ") or x == 1 for k, x in zip(keys, ratios)]
    bars = ax.bar(range(len(keys)), ratios, color=["C2" if b else "C3" for b in better])
    for bar, k in zip(bars, keys):
        ax.annotate(f"{a[k]:.3g} → {b[k]:.3g}", (bar.get_x() + bar.get_width() / 2,
                    bar.get_height()), ha="center", va="bottom", fontsize=7)
    ax.axhline(1, color="black", linewidth=0.8)
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(keys, fontsize=7)
    ax.set_ylabel(f"ratio {other.gpu} / {r.gpu} (green: better)")
    ax.set_yscale("log")
    save(fig, out, "compare.png", written)


def predict_curve(batchcost, model_json, name, deployment):
    batches = ",".join(str(2 ** i) for i in range(13))
    for weights in ([], ["--weights", "bf16"]):
        run = subprocess.run([batchcost, "predict", "--hardware", model_json, "--model", name,
                              "--batch", batches, "--json"] + deployment + weights,
                             capture_output=True, text=True)
        if run.returncode == 0:
            return json.loads(run.stdout), weights
    return None, None


def speed_cost(r, out, written, skipped, batchcost):
    if not r.model:
        return skipped.append(("speed_cost.png", "no model.json (batchcost fit --out)"))
    if not batchcost:
        return skipped.append(("speed_cost.png", "batchcost not found (--batchcost PATH)"))
    model_json = os.path.join(r.folder, "model.json")
    fig, ax = new_figure(f"Predicted speed against cost: {r.gpu}")
    drawn = 0
    for i, (name, multi) in enumerate((("deepseek-v3", ["--gpus", "8", "--ep", "8"]),
                                       ("llama-3-70b", ["--tp", "8"]))):
        doc, weights = None, None
        for deployment in (multi, []):
            doc, weights = predict_curve(batchcost, model_json, name, deployment)
            if doc:
                break
        if not doc:
            continue
        d = doc["deployment"]
        label = (f"{doc['model']['display_name']}: {d['gpus']} GPU(s), tp {d['tp']}, ep {d['ep']}"
                 + (", bf16 weights" if weights else ""))
        steps = [s for s in doc["steps"] if s.get("fits", True)]  # impossible batches: off
        if not steps:
            continue
        xs = [s["tokens_per_s_per_user"] for s in steps]
        ys = [s["gpu_hours_per_million_tokens"] for s in steps]
        ax.plot(xs, ys, "o-", color=f"C{i}", label=label, markersize=4)
        for s, x, y in zip(steps, xs, ys):
            if s["batch"] in (1, 64, 4096):
                ax.annotate(f"B={int(s['batch'])}", (x, y), fontsize=7, xytext=(4, 4),
                            textcoords="offset points")
        drawn += 1
    if not drawn:
        plt.close(fig)
        return skipped.append(("speed_cost.png", "batchcost predict failed on model.json"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("speed: tokens/s per user")
    ax.set_ylabel("cost: GPU-hours per million output tokens")
    ax.legend(fontsize=8)
    save(fig, out, "speed_cost.png", written)


def find_batchcost(given):
    if given:
        return given
    for path in sorted(glob.glob(os.path.join(ROOT, "build*", "tools", "batchcost"))):
        if os.access(path, os.X_OK):
            return path
    return shutil.which("batchcost")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", help="a results folder (results/<gpu>)")
    ap.add_argument("other", nargs="?", help="a second results folder, to compare with")
    ap.add_argument("--out", help="where the PNGs go (default: the results folder)")
    ap.add_argument("--batchcost", help="the batchcost binary (default: build*/tools, PATH)")
    args = ap.parse_args(argv)
    for folder in filter(None, (args.results, args.other)):
        if not os.path.isdir(folder):
            ap.error(f"{folder}: not a folder")
    out = args.out or args.results
    os.makedirs(out, exist_ok=True)
    r = Results(args.results)
    other = Results(args.other) if args.other else None
    batchcost = find_batchcost(args.batchcost)
    written, skipped = [], []
    roofline(r, out, written, skipped)
    memory(r, out, written, skipped)
    launch(r, out, written, skipped)
    moe(r, out, written, skipped, batchcost)
    collectives(r, out, written, skipped)
    compare(r, other, out, written, skipped)
    speed_cost(r, out, written, skipped, batchcost)
    for path in written:
        print(f"wrote {path}")
    for name, why in skipped:
        print(f"skipped {name}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
