"""One peer, one volume, one image size, in a fresh process: ``python -m bench.worker SPEC``.

SPEC is JSON: peer, volume, cols, rows, frames, quality_view, quality_rows, out (a directory
for the quality image), spawned (the parent's time.time() just before it started us), and
optionally case (names the quality image; default the volume), tag (too; default the peer),
window ([lo, hi] in real units mapped to grey 0..255; missing or null: full data range) and
tree (a source checkout whose glmip to import: it goes first on sys.path, and the worker stops
unless ``glmip.__file__`` lies under it). Prints one JSON line with the timings, peak RSS,
where the quality image is and, with a tree, which glmip ran.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time
import traceback

T_START = time.perf_counter()


def _status_mb(key: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process from /proc/self/status, in MiB.

    Not getrusage's ru_maxrss: Linux carries that over exec from the forking parent, so a
    child of a big parent would report the parent's peak.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    if key == "VmHWM":
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return float("nan")


def _busy_seconds() -> float:
    """CPU seconds all processes have used (from /proc/stat), to see who else was busy."""
    try:
        with open("/proc/stat") as f:
            parts = f.readline().split()[1:]
        import os

        user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in parts[:8])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return float("nan")


class WrongTree(RuntimeError):
    pass


def import_glmip_from(tree: str) -> str:
    """Import glmip from the checkout ``tree`` (first on sys.path: ``python -m`` put the current
    folder, the benchmark's own checkout, before PYTHONPATH); its ``__file__``."""
    from pathlib import Path

    root = Path(tree).resolve()
    if "glmip" in sys.modules:
        raise WrongTree(f"glmip was imported before the tree {root} was put on sys.path")
    sys.path.insert(0, str(root))
    try:
        import glmip
    except ImportError as exc:  # not "not installed": the tree's glmip is broken
        raise WrongTree(f"cannot import glmip from the tree {root}: {exc}") from None

    where = Path(glmip.__file__).resolve()
    if root not in where.parents:
        raise WrongTree(f"glmip imported from {where}, not from the tree {root}")
    print(f"glmip from {where}", file=sys.stderr, flush=True)
    return str(where)


def main() -> None:
    spec = json.loads(sys.argv[1])
    out: dict = {"peer": spec["peer"], "volume": spec["volume"], "cols": spec["cols"],
                 "rows": spec["rows"], "ok": False}
    try:
        stages = {}
        if spec.get("tree"):
            t = time.perf_counter()
            out["glmip_file"] = import_glmip_from(spec["tree"])
            stages["import glmip (tree)"] = time.perf_counter() - t
        t = time.perf_counter()
        mod = importlib.import_module(f"bench.peers.{spec['peer']}")
        mod.setup_env()
        stages["import"] = time.perf_counter() - t

        import numpy as np

        from bench import geometry, volumes

        t = time.perf_counter()
        data, affine = volumes.load(spec["volume"])
        stages["load"] = time.perf_counter() - t
        cols, rows = spec["cols"], spec["rows"]

        t = time.perf_counter()
        window = tuple(spec["window"]) if spec.get("window") else None
        renderer = mod.Renderer(data, affine, cols, rows, stages, window)
        stages["setup+upload"] = time.perf_counter() - t
        out["rss_after_setup_mb"] = _status_mb("VmRSS")

        views = [geometry.view(data.shape, affine, k, cols, rows)
                 for k in range(spec["frames"] + 1)]
        t = time.perf_counter()
        img = renderer.render(views[0])
        first = time.perf_counter() - t
        since_spawn = time.time() - spec["spawned"]
        assert img.shape == (rows, cols) and img.dtype == np.uint8, (img.shape, img.dtype)
        times, cpu = [], []
        busy0, own0, wall0 = _busy_seconds(), time.process_time(), time.perf_counter()
        for v in views[1:]:
            t, c = time.perf_counter(), time.process_time()
            renderer.render(v)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)  # all threads: llvmpipe/lavapipe/VTK's own
        import os

        others = (_busy_seconds() - busy0) - (time.process_time() - own0)
        out["others_cpu"] = max(0.0, others) / ((time.perf_counter() - wall0) * os.cpu_count())
        out.update(times_ms=[1000 * x for x in times], cpu_ms=[1000 * x for x in cpu],
                   first_ms=1000 * first,
                   spawn_to_first_s=since_spawn, stages=stages)
        if spec.get("quality_view") is not None:
            qv = geometry.view(data.shape, affine, spec["quality_view"], cols, rows)
            q = renderer.render(qv)
            case = spec.get("case", spec["volume"])
            path = f"{spec['out']}/{spec.get('tag', spec['peer'])}-{case}-{cols}x{rows}.npy"
            np.save(path, q)
            out["quality_image"] = path
        # Peak memory of the rendering, before glmip's own diagnostic below (which reads back
        # a float projection that no peer makes).
        out["rss_mb"] = _status_mb("VmHWM")
        if hasattr(renderer, "samples_taken"):
            out["samples_taken"] = renderer.samples_taken(views[len(views) // 2])
        out["ok"] = True
    except ImportError as exc:
        out["error"] = f"not installed ({exc})"
        out["not_installed"] = True
    except Exception as exc:  # report, do not crash the whole benchmark
        out["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        out["traceback"] = traceback.format_exc()[-2000:]
    out.setdefault("rss_mb", _status_mb("VmHWM"))
    out["process_s"] = time.perf_counter() - T_START
    sys.stdout.write("BENCH-RESULT " + json.dumps(out) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
