"""glmip from two (or more) source trees, in one run: ``python -m bench.ab --tree before=PATH
--tree after=PATH [--runs 3] [--frames 8] [--cases ...]``.

For showing that a change leaves the renderer's speed alone: each (tree, case) runs in a fresh
``bench.worker`` process whose glmip is imported from that tree (first on PYTHONPATH and on
sys.path; the worker checks that ``glmip.__file__`` lies under it). The benchmark itself
(volumes, cameras, the glmip peer, the numpy reference) is this checkout's, the same for every
tree. Runs alternate between trees, in turn forwards and backwards (A B, B A, A B...), so a
steady drift of the machine cancels. Cases, frames, camera and quality check are bench.run's
(the glmip peer; default: the seven cases of ``python -m bench.run``).

Printed per case and tree: median ms/frame over all timed frames of all runs, the spread of the
per-run medians, CPU ms/frame, quality (% of pixels within 1 grey level of tests/reference.py),
and each tree's ratio to the first tree (wall and CPU time).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import run, volumes


def parse_tree(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z0-9_-]+", name) or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH (NAME: letters, digits, - or _), "
                                         f"got {text!r}")
    tree = Path(path).expanduser().resolve()
    if not (tree / "glmip" / "__init__.py").is_file():
        raise argparse.ArgumentTypeError(f"{tree} has no glmip/__init__.py: not a glmip "
                                         "source checkout")
    return name, tree


def describe(tree: Path) -> str:
    """Commit of a tree, and whether glmip/ or shaders/ have uncommitted changes."""
    try:
        head = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "glmip",
                                "shaders"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"
    return (head or "not a git checkout") + (" + uncommitted changes in glmip/ or shaders/"
                                             if dirty else "")


def bench_case(name: str, cols: int, trees: dict[str, Path], runs: int, frames: int,
               out_dir: str, with_quality: bool, log) -> dict:
    rows = cols
    volume, window = volumes.case(name)
    data, _ = volumes.load(volume, mmap=True)
    nominal, timeout = run.case_nominal(name, cols, rows, frames)
    variants = {k: {"peer": "glmip", "tree": str(p)} for k, p in trees.items()}
    results = run.run_alternating(name, cols, rows, variants, runs, frames, out_dir,
                                  with_quality, log, timeout, swap_order=True)
    ref = run.case_reference(name, cols, rows, log) if with_quality else None
    out = []
    for key in trees:
        ok = [r for r in results[key] if r.get("ok")]
        row = {"tree": key, "glmip_file": next((r["glmip_file"] for r in ok), None)}
        if ok:
            row.update(run.summarize(ok, nominal, ref))
        else:
            errs = [r.get("error", "?") for r in results[key]]
            row["status"] = f"failed: {errs[0] if errs else 'no run'}"
        out.append(row)
    base = out[0]
    for r in out:
        if r["status"] == "ok" and base["status"] == "ok":
            r["ratio"] = r["median_ms"] / base["median_ms"]
            r["cpu_ratio"] = r["cpu_ms"] / base["cpu_ms"]
    return {"volume": name, "window": window, "shape": list(data.shape),
            "dtype": str(data.dtype), "cols": cols, "rows": rows,
            "nominal_samples": statistics.mean(nominal), "trees": out}


def fmt_cases(cases: list[dict], names: list[str]) -> str:
    first = names[0]
    lines = [f"| case | tree | median ms/frame (min–max) | per-run medians ms (spread) "
             f"| CPU ms/frame | first frame ms | quality (≤1 grey) | ÷ {first} | "
             f"÷ {first} (CPU) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for c in cases:
        label = f"{c['volume']} → {c['cols']}²"
        for r in c["trees"]:
            if r["status"] != "ok":
                lines.append(f"| {label} | {r['tree']} | {r['status']} | | | | | | |")
                continue
            med = r["run_medians_ms"]
            spread = (max(med) - min(med)) / statistics.median(med)
            lines.append(
                f"| {label} | {r['tree']} | {r['median_ms']:.1f} ({r['min_ms']:.0f}–"
                f"{r['max_ms']:.0f}) | {' '.join(f'{m:.1f}' for m in med)} "
                f"({100 * spread:.0f} %) | {r['cpu_ms']:.1f} | {r['first_ms']:.0f} "
                f"| {r.get('quality', '—')} "
                f"| {format(r['ratio'], '.3f') if 'ratio' in r else '—'} "
                f"| {format(r['cpu_ratio'], '.3f') if 'cpu_ratio' in r else '—'} |")
    for key in names[1:]:
        ratios = [r for c in cases for r in c["trees"] if r["tree"] == key and "ratio" in r]
        if ratios:
            geo = math.exp(statistics.mean(math.log(r["ratio"]) for r in ratios))
            cpu = math.exp(statistics.mean(math.log(r["cpu_ratio"]) for r in ratios))
            lines.append(f"\n{key} ÷ {first} over {len(ratios)} case(s), geometric mean: "
                         f"{geo:.3f} by wall time, {cpu:.3f} by CPU time (below 1: {key} is "
                         "faster).")
    others = [r["others_cpu"] for c in cases for r in c["trees"] if r["status"] == "ok"]
    if others:
        lines.append(f"CPU used by other processes while frames were timed: up to "
                     f"{100 * max(others):.0f} % of the machine.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree", type=parse_tree, action="append", required=True,
                    metavar="NAME=PATH", help="a glmip source checkout (repeatable; the first "
                    "is the one the others are divided by)")
    ap.add_argument("--cases", "--volumes", dest="cases",
                    help="comma-separated cases (default: bench.run's seven); see bench.run")
    ap.add_argument("--size", type=int, action="append",
                    help="image size for --cases (repeatable; default 512)")
    ap.add_argument("--runs", type=int, default=3, help="fresh processes per tree and case")
    ap.add_argument("--frames", type=int, default=8,
                    help="timed frames per process (after the first)")
    ap.add_argument("--no-quality", action="store_true")
    ap.add_argument("--json", help="also write all results to this JSON file")
    args = ap.parse_args(argv)

    trees: dict[str, Path] = {}
    for name, path in args.tree:
        if name in trees:
            ap.error(f"tree name {name} given twice")
        trees[name] = path
    if args.cases:
        cases = [(v, s) for v in args.cases.split(",") for s in (args.size or [512])]
    else:
        cases = run.default_cases(False)
    for v, _ in cases:
        if not volumes.available(v):
            ap.error(f"case {v} is not available (unknown, or its data is missing)")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    m = run.machine()
    log(f"machine: {m.get('cpu', '?')}, {m['cpus']} CPUs, {m['gl']}")
    result: dict = {"machine": m, "runs": args.runs, "frames": args.frames,
                    "trees": {k: {"path": str(p), "commit": describe(p)}
                              for k, p in trees.items()},
                    "cases": []}
    for k, t in result["trees"].items():
        log(f"tree {k}: {t['path']} at {t['commit']}")
    with tempfile.TemporaryDirectory(prefix="glmip-ab-") as out_dir:
        for v, s in cases:
            t = time.perf_counter()
            volumes.path(volumes.case(v)[0])
            if time.perf_counter() - t > 1:
                log(f"  made volume {v} in {time.perf_counter() - t:.1f} s")
            result["cases"].append(bench_case(v, s, trees, args.runs, args.frames, out_dir,
                                              not args.no_quality and s <= 512, log))
    result["seconds"] = time.perf_counter() - t0
    m["load_after"] = os.getloadavg()[0]

    print(f"# glmip A/B — {m.get('cpu', '?')} ({m['cpus']} CPUs), {m['gl']}; {m['packages']}")
    for k, t in result["trees"].items():
        files = {r.get("glmip_file") for c in result["cases"] for r in c["trees"]
                 if r.get("glmip_file")}
        files = sorted(f for f in files if Path(t["path"]) in Path(f).parents)
        print(f"- {k}: {t['path']} at {t['commit']}; glmip imported from "
              f"{', '.join(files) or '(no successful run)'}")
    print(f"{args.runs} fresh process(es) per tree and case, alternating (order reversed every "
          f"other run); {args.frames} timed frames each after the first; bench.run's cameras, "
          f"volumes and glmip peer (this checkout's bench/); quality: % of pixels within 1 grey "
          f"level of tests/reference.py on the {run.QUALITY_ROWS} central rows of view "
          f"{run.QUALITY_VIEW}. Spread: (max − min) / median of the per-run medians. Load "
          f"average (1 min) {m['load_before']:.2f} before, {m['load_after']:.2f} after.\n")
    print(fmt_cases(result["cases"], list(trees)))
    print(f"\n(A/B benchmark took {result['seconds']:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=float))
    failed = any(r["status"] != "ok" for c in result["cases"] for r in c["trees"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
