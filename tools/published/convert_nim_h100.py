#!/usr/bin/env python3
"""Converts NVIDIA NIM for LLMs' published H100 serving measurements under load (TTFT, ITL and
throughput against the number of concurrent users) into serving cases that
tests/data/predict/published/compare.py prices with `batchcost serve --users N`.

Source: NVIDIA's "NIM for LLMs benchmarking: performance" page, NIM version 1.8.0
(docs.nvidia.com/nim/benchmarking/llm/latest/performance.html), the tables of
Llama-3.1-8B-Instruct on 1 x H100 80G (fp8 TP1) and Llama-3.3-70B-Instruct on 2 x H100 80G
(fp8 TP2), as transcribed by github.com/zivbeker42/llm-guesstimator at
cf11e664a85abf1f5cb811e7c7798581aadb1290 and 9fa7c3b7aa790c7530c1eec64f37bf2a03d7a865,
tested_benchmarks/nim_llama33_70b_v1.8.0_2xH100_fp8TP2.csv and
tested_benchmarks/nim_llama3.1_8b_v1.8.0_1xH100_80GB.csv (its README names the page). Two of its
rows were checked against the page itself (tests/data/predict/published/serving.json: 70B at
concurrency 1, 500/2000 and 5000/500, equal to the last digit). How NIM measured, from the page: GenAI-Perf (AIPerf) against the running NIM (TensorRT-LLM) in
its concurrency mode (`concurrency` requests kept in flight: a client sends its next request when
its last one finished), synthetic prompts of input_tokens tokens and outputs of output_tokens
tokens; TTFT and ITL are the page's per-request statistics (the transcription does not say mean
or median), throughput the output tokens of all clients per second.

Conversion: every row as published (ms to s); ITL is batchcost's TPOT (the mean time between
two output tokens of a request). Nothing adjusted.

Usage: convert_nim_h100.py OUT_DIR   (writes nim_h100_under_load.json)
"""

import csv
import io
import sys

from contract import main

SOURCE = ("NVIDIA NIM for LLMs 1.8.0 performance page "
          "(docs.nvidia.com/nim/benchmarking/llm/latest/performance.html), as transcribed by "
          "github.com/zivbeker42/llm-guesstimator tested_benchmarks/")

# (model, file, commit, GPUs, tp, the file as published)
FILES = [
    ("llama-3-70b", "nim_llama33_70b_v1.8.0_2xH100_fp8TP2.csv",
     "cf11e664a85abf1f5cb811e7c7798581aadb1290", 2, """\
version,hardware,hardware count,data_type,input_tokens,output_tokens,concurrency,TTFT_ms,ITL_ms,Throughput_tokens_per_s
1.8.0,H100_80G,2,fp8 TP2,5000,500,1,406.77,18.58,51.67
1.8.0,H100_80G,2,fp8 TP2,5000,500,5,546.7,21.83,218.48
1.8.0,H100_80G,2,fp8 TP2,5000,500,25,688.69,38.75,623.4
1.8.0,H100_80G,2,fp8 TP2,5000,500,50,834.51,59.73,814.37
1.8.0,H100_80G,2,fp8 TP2,5000,500,100,7996.25,92.91,917.26
1.8.0,H100_80G,2,fp8 TP2,5000,500,150,34794.22,92.86,920.9
1.8.0,H100_80G,2,fp8 TP2,5000,500,200,61680.22,93.06,920.54
1.8.0,H100_80G,2,fp8 TP2,5000,500,250,88605.32,93.2,920.12
1.8.0,H100_80G,2,fp8 TP2,500,2000,1,47.77,18.91,52.85
1.8.0,H100_80G,2,fp8 TP2,500,2000,5,126.53,19.04,261.83
1.8.0,H100_80G,2,fp8 TP2,500,2000,25,147.63,21.69,1149.05
1.8.0,H100_80G,2,fp8 TP2,500,2000,50,181.64,23.97,2078.43
1.8.0,H100_80G,2,fp8 TP2,500,2000,100,229.77,29.98,3322.87
1.8.0,H100_80G,2,fp8 TP2,500,2000,150,296.74,37.85,3948.26
1.8.0,H100_80G,2,fp8 TP2,500,2000,200,4867.89,40.72,4624.14
1.8.0,H100_80G,2,fp8 TP2,200,200,1,31.22,18.8,53
1.8.0,H100_80G,2,fp8 TP2,200,200,5,88.7,18.83,260.67
1.8.0,H100_80G,2,fp8 TP2,200,200,25,138.98,20.61,1178.68
1.8.0,H100_80G,2,fp8 TP2,200,200,50,156.28,23.33,2081.24
1.8.0,H100_80G,2,fp8 TP2,200,200,100,176.8,29.87,3263.31
1.8.0,H100_80G,2,fp8 TP2,200,200,150,195.51,37.75,3883.1
1.8.0,H100_80G,2,fp8 TP2,200,200,200,253.36,42.95,4534.54
1.8.0,H100_80G,2,fp8 TP2,200,200,250,264.22,48.16,5067.05
1.8.0,H100_80G,2,fp8 TP2,1000,1000,1,82.46,18.67,53.37
1.8.0,H100_80G,2,fp8 TP2,1000,1000,5,145.62,19.07,260.48
1.8.0,H100_80G,2,fp8 TP2,1000,1000,25,250.49,22.45,1102.23
1.8.0,H100_80G,2,fp8 TP2,1000,1000,50,278.62,25.87,1912.93
1.8.0,H100_80G,2,fp8 TP2,1000,1000,100,334.23,34.21,2895.49
1.8.0,H100_80G,2,fp8 TP2,1000,1000,150,428.54,44.44,3342.67
1.8.0,H100_80G,2,fp8 TP2,1000,1000,200,558.23,50.66,3901.74
1.8.0,H100_80G,2,fp8 TP2,1000,1000,250,3499.83,56.3,4167.39
1.8.0,H100_80G,2,fp8 TP2,20000,2000,1,1833.01,19.58,48.8
1.8.0,H100_80G,2,fp8 TP2,20000,2000,5,2910.33,25.24,186.8
1.8.0,H100_80G,2,fp8 TP2,20000,2000,25,18781.26,48.26,415.33
1.8.0,H100_80G,2,fp8 TP2,20000,2000,50,123969.71,49.22,418.65
1.8.0,H100_80G,2,fp8 TP2,20000,2000,100,333564.85,49.81,425.1
1.8.0,H100_80G,2,fp8 TP2,20000,2000,150,543226.4,50.01,423.95
1.8.0,H100_80G,2,fp8 TP2,20000,2000,200,753417.03,50.06,425.74
1.8.0,H100_80G,2,fp8 TP2,20000,2000,250,963222.96,50.13,427.06
"""),
    ("llama-3-8b", "nim_llama3.1_8b_v1.8.0_1xH100_80GB.csv",
     "9fa7c3b7aa790c7530c1eec64f37bf2a03d7a865", 1, """\
version,hardware,hardware_count,data_type,input_tokens,output_tokens,concurrency,TTFT_ms,ITL_ms,Throughput_tokens_per_s
1.8.0,H100_80G,1,fp8 TP1,200,200,1,10.26,4.63,214.56
1.8.0,H100_80G,1,fp8 TP1,200,200,5,16.81,4.58,1076.88
1.8.0,H100_80G,1,fp8 TP1,200,200,25,36.34,5.19,4678.88
1.8.0,H100_80G,1,fp8 TP1,200,200,50,67.41,5.91,8018.23
1.8.0,H100_80G,1,fp8 TP1,200,200,100,119.97,7.57,12214.97
1.8.0,H100_80G,1,fp8 TP1,200,200,150,346.53,9.81,12988.89
1.8.0,H100_80G,1,fp8 TP1,200,200,200,465.18,12.65,13348.4
1.8.0,H100_80G,1,fp8 TP1,200,200,250,605.6,16.14,12964.72
1.8.0,H100_80G,1,fp8 TP1,500,2000,1,13.84,4.56,218.86
1.8.0,H100_80G,1,fp8 TP1,500,2000,5,30.88,4.81,1035.85
1.8.0,H100_80G,1,fp8 TP1,500,2000,25,97.07,5.82,4263.49
1.8.0,H100_80G,1,fp8 TP1,500,2000,50,135.26,7.06,7009.01
1.8.0,H100_80G,1,fp8 TP1,500,2000,100,239.92,9.51,10379.22
1.8.0,H100_80G,1,fp8 TP1,500,2000,150,376.95,13.34,11053.75
1.8.0,H100_80G,1,fp8 TP1,500,2000,200,1664.34,14.96,12549.74
1.8.0,H100_80G,1,fp8 TP1,500,2000,250,6550.46,16.97,12268.82
1.8.0,H100_80G,1,fp8 TP1,1000,1000,1,19.03,4.53,220.1
1.8.0,H100_80G,1,fp8 TP1,1000,1000,5,55.87,4.8,1031.3
1.8.0,H100_80G,1,fp8 TP1,1000,1000,25,268.42,5.84,4098.01
1.8.0,H100_80G,1,fp8 TP1,1000,1000,50,414.87,7.26,6514.66
1.8.0,H100_80G,1,fp8 TP1,1000,1000,100,615.16,10.04,9392.43
1.8.0,H100_80G,1,fp8 TP1,1000,1000,150,885.53,14.14,9982.74
1.8.0,H100_80G,1,fp8 TP1,1000,1000,200,1258.79,16.02,11553.34
1.8.0,H100_80G,1,fp8 TP1,1000,1000,250,1885.04,19.68,11527.61
1.8.0,H100_80G,1,fp8 TP1,5000,500,1,77.45,4.62,209.96
1.8.0,H100_80G,1,fp8 TP1,5000,500,5,279.92,5.42,838.03
1.8.0,H100_80G,1,fp8 TP1,5000,500,25,724.14,9.67,2251.44
1.8.0,H100_80G,1,fp8 TP1,5000,500,50,817.73,16.47,2765.71
1.8.0,H100_80G,1,fp8 TP1,5000,500,100,915.15,29.67,3180.16
1.8.0,H100_80G,1,fp8 TP1,5000,500,150,1080,43.35,3301.68
1.8.0,H100_80G,1,fp8 TP1,5000,500,200,4361.35,50.41,3378.48
1.8.0,H100_80G,1,fp8 TP1,5000,500,250,11717.42,50.53,3372
1.8.0,H100_80G,1,fp8 TP1,20000,2000,1,403.2,5.06,189.96
1.8.0,H100_80G,1,fp8 TP1,20000,2000,5,1141.22,7.39,627.76
1.8.0,H100_80G,1,fp8 TP1,20000,2000,25,2371.46,19.35,1217.04
1.8.0,H100_80G,1,fp8 TP1,20000,2000,50,11071.41,30.73,1330.57
1.8.0,H100_80G,1,fp8 TP1,20000,2000,100,78187.07,31.08,1336.09
1.8.0,H100_80G,1,fp8 TP1,20000,2000,150,145290.54,31.31,1337
1.8.0,H100_80G,1,fp8 TP1,20000,2000,200,211735.71,31.46,1338.24
1.8.0,H100_80G,1,fp8 TP1,20000,2000,250,278580.85,31.62,1337.66
"""),
]


def documents():
    cases = []
    for model, name, commit, gpus, text in FILES:
        for row in csv.DictReader(io.StringIO(text)):
            if row["version"] != "1.8.0" or row["hardware"] != "H100_80G":
                raise SystemExit(f"{name}: unexpected row {row}")
            if row["data_type"] != f"fp8 TP{gpus}":
                raise SystemExit(f"{name}: unexpected data_type '{row['data_type']}'")
            cases.append({
                "model": model, "gpu": f"{gpus} x H100 SXM 80GB", "hardware": "h100", "tp": gpus,
                "weights": "fp8", "input": int(row["input_tokens"]),
                "output": int(row["output_tokens"]), "concurrency": int(row["concurrency"]),
                "ttft_s": float(row["TTFT_ms"]) / 1e3, "tpot_s": float(row["ITL_ms"]) / 1e3,
                "output_tokens_per_s": float(row["Throughput_tokens_per_s"]),
                "file": f"{name} at {commit}"})
    doc = {"schema": "batchcost.published_serving/1", "source": SOURCE,
           "engine": "NVIDIA NIM 1.8.0 (TensorRT-LLM), GenAI-Perf closed loop of N clients",
           "results": cases}
    yield "nim_h100_under_load.json", doc


if __name__ == "__main__":
    sys.exit(main(sys.argv, "convert_nim_h100.py", documents))
