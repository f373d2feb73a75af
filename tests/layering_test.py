#!/usr/bin/env python3
"""The floors of the source tree (docs/DESIGN.md, "Floors"): every #include "folder/file" of a
source in one floor names a file of the same folder or of a floor below it, and no host folder
includes a GPU folder. Also: no folder holds more than a quarter of the code (every source and script outside tests/).

    layering_test.py SOURCE_DIR
    layering_test.py --self-test     the checks against small trees made for it

Exit 0 when the tree keeps its floors; 1 with one line per include that runs back up (the
including file and line, the included file, both floors)."""
import pathlib
import re
import sys

# Bottom up. A folder may include its own files and those of folders of a strictly lower rank.
RANK = {
    "core": 0,                                   # host C++: contract, cost model, vocabulary
    "model": 1, "kernels": 1,                    # readers and fit | CUDA kernels, check macros
    "predict": 2, "harness": 2,                  # predict and serve | the benchmark harness
    "cli": 3, "bench": 3, "moe": 3, "collectives": 3,  # the command line | the benchmarks
}
HOST = {"core", "model", "predict", "cli"}  # never include CUDA code
SUFFIXES = {".h", ".cc", ".cu", ".cuh"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)/[^"]+"')
MAX_SHARE = 0.25


def main(root: pathlib.Path) -> int:
    errors, lines_per_folder = [], {}
    for folder in RANK:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in SUFFIXES or not path.is_file():
                continue
            text = path.read_text(encoding="utf-8").splitlines()
            lines_per_folder[folder] = lines_per_folder.get(folder, 0) + len(text)
            for number, line in enumerate(text, 1):
                m = INCLUDE.match(line)
                if not m or m.group(1) not in RANK or m.group(1) == folder:
                    continue
                to = m.group(1)
                included = line.split('"')[1]
                where = f"{path.relative_to(root)}:{number}: includes {included}"
                if folder in HOST and to not in HOST:
                    errors.append(f"{where}: host folder {folder}/ includes GPU folder {to}/")
                elif RANK[to] >= RANK[folder]:
                    errors.append(f"{where}: {folder}/ (floor {RANK[folder]}) includes "
                                  f"{to}/ (floor {RANK[to]}), which is not below it")
    # The code outside the floors (scripts, CMake) counts in the whole, as a folder of its own.
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if (rel.parts[0] in RANK or rel.parts[0] in ("tests", ".git") or
                rel.parts[0].startswith(("build", ".")) or not path.is_file()):
            continue
        if path.suffix in SUFFIXES | {".py", ".sh", ".cmake"} or path.name == "CMakeLists.txt":
            key = rel.parts[0] if len(rel.parts) > 1 else "."
            lines_per_folder[key] = (lines_per_folder.get(key, 0) +
                                     len(path.read_text(encoding="utf-8").splitlines()))
    total = sum(lines_per_folder.values())
    for folder, n in sorted(lines_per_folder.items()):
        if total and n / total > MAX_SHARE:
            errors.append(f"{folder}/ holds {n} of {total} lines ({100 * n / total:.0f}%), "
                          f"more than {100 * MAX_SHARE:.0f}% of the code")
    for e in errors:
        print(e)
    shares = ", ".join(f"{f} {100 * n / total:.0f}%" for f, n in
                       sorted(lines_per_folder.items(), key=lambda kv: -kv[1]))
    print(f"layering: {len(errors)} violation(s); lines per floor folder: {shares}")
    return 1 if errors else 0


def self_test() -> int:
    """Each case: (file, its include, whether the tree keeps its floors)."""
    import tempfile
    cases = [
        ("core/a.h", "model/b.h", False),        # back up a floor
        ("model/a.cc", "harness/b.h", False),    # a host folder includes a GPU folder
        ("bench/a.cc", "moe/b.h", False),        # sideways on one floor: a loop in waiting
        ("predict/a.cc", "harness/b.h", False),  # sideways, and host to GPU
        ("moe/a.cc", "core/b.h", True),
        ("cli/a.cc", "predict/b.h", True),
        ("harness/a.cc", "model/b.h", True),
        ("core/a.h", "core/b.h", True),
    ]
    bad = 0
    for source, include, keeps in cases:
        with tempfile.TemporaryDirectory() as d:
            root = pathlib.Path(d)
            for f in (source, include):
                (root / f).parent.mkdir(parents=True, exist_ok=True)
                (root / f).touch()
            (root / source).write_text(f'#include "{include}"\n', encoding="utf-8")
            for folder in RANK:  # spread the lines, so that no folder holds a quarter alone
                (root / folder).mkdir(exist_ok=True)
                (root / folder / "pad.h").write_text("\n" * 100, encoding="utf-8")
            ok = main(root) == 0
        if ok != keeps:
            print(f"SELF-TEST FAILED: {source} including {include}: "
                  f"{'accepted' if ok else 'refused'}, expected {'accepted' if keeps else 'refused'}")
            bad += 1
    print(f"layering self-test: {len(cases) - bad} of {len(cases)} cases as expected")
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    if len(sys.argv) != 2:
        print("usage: layering_test.py SOURCE_DIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(pathlib.Path(sys.argv[1])))
