#!/usr/bin/env python3
"""Converts TensorRT-LLM's published offline throughput of Hopper GPUs (its "Performance
Overview") into serving cases that tests/data/predict/published/compare.py prices with
`batchcost serve --offline`.

Source: github.com/NVIDIA/TensorRT-LLM at 00f37686aa854010d68bcbd0f4ab000221541ca6,
docs/source/performance/perf-overview.md, section "Throughput Measurements": the H100 and H200
columns of the tables "Llama 3.1 8B", "Llama 3.3 70B", "Llama 3.1 405B" and "Qwen3-235B-A22B",
as published (an empty cell is a case they did not publish). How they were measured, from the
same file:

  - the GPUs: H100 SXM 80GB (DGX H100) and H200 SXM 141GB (DGX H200);
  - the models: NVIDIA's ModelOpt FP8 checkpoints (nvidia/Llama-3.1-8B-Instruct-FP8,
    nvidia/Llama-3.3-70B-Instruct-FP8, nvidia/Llama-3.1-405B-Instruct-FP8,
    nvidia/Qwen3-235B-A22B-FP8), the tensor parallelism in each column's header;
  - the load: `trtllm-bench ... throughput --backend pytorch`, every request queued at once
    ("an infinite rate ... maximum load"), a synthetic dataset of exactly ISL input and OSL
    output tokens per request (prepare_dataset.py token-norm-dist, stdev 0), $num_requests
    requests per ISL/OSL as the file's table gives them;
  - the metric: "Total Output Throughput (tokens/sec)", the output tokens of all GPUs over the
    run's wall time;
  - the engine: CUDA graphs with padding for batch sizes 1 to 8192; for MoE models attention data
    parallelism (the file's MoE llm_options.yml writes enable_attention_dp: true indented under
    cuda_graph_config; taken as the LLM API option it names) and an expert parallelism the
    tables do not state (batchcost takes ep = the GPUs, attention dp over them); the KV
    cache "--kv_cache_free_gpu_mem_fraction 0.95 in many cases", else the default 0.90; max batch
    size and max tokens per step left to trtllm-bench's own heuristic.

Conversion: one case per published cell; tokens/s as published (the thousands separator
dropped); nothing adjusted. Llama 3.1 8B and 3.3 70B are the shapes of batchcost's llama-3-8b
and llama-3-70b, 3.1 405B of llama-3-405b.

Usage: convert_trtllm_perf_overview.py OUT_DIR   (writes trtllm_perf_overview_hopper.json)
"""

import sys

from contract import cells, main

REPO = "NVIDIA/TensorRT-LLM"
COMMIT = "00f37686aa854010d68bcbd0f4ab000221541ca6"
PATH = "docs/source/performance/perf-overview.md"

# $num_requests per ISL/OSL, the file's table under "Preparing a Dataset", as published.
REQUESTS = """
| 128          | 128           | 256        | 30000              |
| 128          | 2048          | 2176       | 3000               |
| 128          | 4096          | 4224       | 1500               |
| 1000         | 2000          | 3000       | 1500               |
| 2048         | 128           | 2176       | 3000               |
| 2048         | 2048          | 4096       | 1500               |
| 5000         | 500           | 5500       | 1500               |
| 1000         | 1000          | 2000       | 3000               |
| 500          | 2000          | 2500       | 3000               |
| 20000        | 2000          | 22000      | 1000               |
"""

# (model, the section's header row, its rows), as published.
TABLES = [
    ("llama-3-8b", "Llama 3.1 8B",
     "| Sequence Length (ISL/OSL) | H200<br/>TP1 (FP8) | H100<br/>TP1 (FP8) |", """
| 128/128 | 27,911 | 28,312 |
| 128/2048 | 26,221 | 22,714 |
| 128/4096 | 18,027 | 14,325 |
| 500/2000 | 20,770 | 17,660 |
| 1000/1000 | 17,744 | 15,220 |
| 1000/2000 | 16,828 | 13,899 |
| 2048/128 | 3,538 | 3,450 |
| 2048/2048 | 12,194 | 9,305 |
| 5000/500 | 3,902 | 3,459 |
| 20000/2000 | 1,804 | 1,351 |
"""),
    ("llama-3-70b", "Llama 3.3 70B",
     "| Sequence Length (ISL/OSL) | B200<br/>TP1 (FP4) | GB200<br/>TP1 (FP4) | H200<br/>TP1 (FP8) "
     "| H100<br/>TP2 (FP8) |", """
| 128/128 | 11,147 | 12,189 | 3,803 | 6,378 |
| 128/2048 | 9,922 | 11,309 | 4,336 | 6,651 |
| 128/4096 | 6,831 | 7,849 | 2,872 | 4,199 |
| 500/2000 | 7,762 | 9,028 | 3,666 | 5,222 |
| 1000/1000 | 7,007 | 7,326 | 2,909 | 4,205 |
| 1000/2000 | 6,271 | 6,513 | 2,994 | 4,146 |
| 2048/128 | 1,339 | 1,450 | 442 | 762 |
| 2048/2048 | 4,783 | 5,646 | 2,003 | 3,082 |
| 5000/500 | 1,459 | 1,602 | 566 | 898 |
| 20000/2000 | 665 | 755 | 283 | 437 |
"""),
    ("llama-3-405b", "Llama 3.1 405B",
     "| Sequence Length (ISL/OSL) | B200<br/>TP4 (FP4) | GB200<br/>TP4 (FP4) | H200<br/>TP8 (FP8) "
     "| H100<br/>TP8 (FP8) |", """
| 128/128 | 6,281 | 6,740 | 3,814 | 3,627 |
| 128/2048 | 8,020 | 8,151 | 5,348 | 4,340 |
| 128/4096 | 6,345 | 6,608 | 4,741 | 3,116 |
| 500/2000 | 6,244 | 6,540 | 4,724 | 3,994 |
| 1000/1000 | 5,209 | 5,389 | 3,330 | 2,919 |
| 1000/2000 | 4,933 | 5,135 | 3,722 | 2,895 |
| 2048/128 | 749 | 797 | 456 | 453 |
| 2048/2048 | 4,212 | 4,407 | 2,948 | 2,296 |
| 5000/500 | 1,048 | 1,112 | 650 | 610 |
| 20000/2000 | 672 | 739 | 505 | 345 |
"""),
    ("qwen3-235b-a22b", "Qwen3-235B-A22B",
     "| Sequence Length (ISL/OSL) | B200<br/>TP8 (FP4) | H200<br/>TP8 (FP8) | H100<br/>TP8 (FP8) |",
     """
| 128/128 | 63,362 | 30,429 | |
| 128/2048 | 66,057 | 42,821 | 19,658 |
| 128/4096 | 39,496 | 26,852 | 12,447 |
| 500/2000 | 57,117 | 28,026 | 18,351 |
| 1000/1000 | 42,391 | 23,789 | 14,898 |
| 1000/2000 | 34,105 | 22,061 | 15,136 |
| 2048/128 | 7,329 | 3,331 | |
| 2048/2048 | 26,854 | 16,672 | 9,924 |
| 5000/500 | 8,190 | 3,623 | 3,225 |
| 20000/2000 | 4,453 | 1,876 | |
"""),
]

GPUS = {"H100": "H100 SXM 80GB (DGX H100)", "H200": "H200 SXM 141GB (DGX H200)"}


def columns(header):
    """(column index, GPU, tp) of the header's H100 and H200 columns, e.g. 'H200<br/>TP1 (FP8)'."""
    for i, cell in enumerate(next(cells(header))[1:], start=1):
        gpu, rest = cell.split("<br/>")
        if gpu in GPUS:
            tp, dtype = rest.split()
            if dtype != "(FP8)" or not tp.startswith("TP"):
                raise SystemExit(f"unexpected column '{cell}'")
            yield i, gpu, int(tp[2:])


def documents():
    requests = {(int(r[0]), int(r[1])): int(r[3]) for r in cells(REQUESTS)}
    cases = []
    for model, section, header, rows in TABLES:
        for i, gpu, tp in columns(header):
            for row in cells(rows):
                if not row[i]:
                    continue
                isl, osl = (int(x) for x in row[0].split("/"))
                cases.append({
                    "model": model, "section": section, "gpu": GPUS[gpu], "hardware": gpu.lower(),
                    "tp": tp, "weights": "fp8", "input": isl, "output": osl,
                    "requests": requests[(isl, osl)],
                    "output_tokens_per_s": int(row[i].replace(",", ""))})
    doc = {
        "schema": "batchcost.published_serving/1",
        "source": f"github.com/{REPO} at {COMMIT}, {PATH}, 'Throughput Measurements'",
        "engine": "TensorRT-LLM trtllm-bench throughput (PyTorch backend), offline: every "
                  "request queued at once; metric Total Output Throughput (tokens/sec) of all GPUs",
        "results": cases}
    yield "trtllm_perf_overview_hopper.json", doc


if __name__ == "__main__":
    sys.exit(main(sys.argv, "convert_trtllm_perf_overview.py", documents))
