"""What every converter under tools/published/ shares: one sample in the benchmark/fitter
contract (docs/DESIGN.md: a Google Benchmark JSON entry whose time is per operation and whose
counters declare the work), the rows of a Markdown table, and writing the result files (each
through a temporary file renamed into place, so a failed run leaves no partial file)."""

import json
import os
import sys


def sample(name, seconds, label, **work):
    """One published measurement: one run, one iteration, its time per operation in us, the
    labels (sorted key=value pairs) and the work counters that are not zero, in the order given."""
    entry = {"name": name, "run_name": name, "run_type": "iteration", "repetitions": 1,
             "repetition_index": 0, "threads": 1, "iterations": 1, "real_time": seconds * 1e6,
             "cpu_time": seconds * 1e6, "time_unit": "us", "label": label}
    entry.update({k: v for k, v in work.items() if v})
    return entry


def cells(table):
    """The rows of a Markdown table fragment, as lists of stripped cell strings."""
    for line in table.strip().splitlines():
        yield [c.strip() for c in line.strip().strip("|").split("|")]


def main(argv, program, documents):
    """`program OUT_DIR`: writes each (file name, document) of documents() into OUT_DIR."""
    if len(argv) != 2:
        sys.stderr.write(f"usage: {program} OUT_DIR\n")
        return 2
    for name, doc in documents():
        path = os.path.join(argv[1], name)
        with open(path + ".partial", "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        os.replace(path + ".partial", path)
        print(f"{path}: {len(doc.get('benchmarks', doc.get('results', [])))} samples")
    return 0
