"""glmip against its peers, in one run on one machine: ``python -m bench.run [--quick]``.

Every (peer, volume, image size) runs in a fresh process (``bench.worker``); the runs
alternate between peers (run 1 of every peer, then run 2 ...), so a slow drift of the machine
hits all of them alike. Each process renders a first frame (timed on its own: shader compile,
lazy uploads) and then ``--frames`` frames with the camera turning 3 degrees per frame about +S,
orthographic, trilinear, sample distance = the smallest voxel spacing. The window is the case's:
the full data range for vessels, cta and aorta, the window a reader uses for angiograms for
vessels-read, cta-read and aorta-read (same arrays; see volumes.READ_CASES), so that speed-ups
which skip what lies below the window or stop at its top can show.

Printed per volume and image size: median ms/frame over all timed frames of all runs, the
samples per second that rate means (samples docs/conventions.md puts inside the box, i.e. what a
plain loop takes), first-frame time, process start -> first image, peak RSS of the process,
image quality against tests/reference.py's numpy MIP and the ratio glmip/peer (time) from the
same run. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import geometry, volumes
from bench.peers import ORDER

ROOT = Path(__file__).resolve().parents[1]
QUALITY_VIEW = 7          # 21 degrees off anterior: an oblique view, part of the turning sequence
QUALITY_ROWS = 128        # the reference is computed on this many central rows (it is slow)
PEER_INFO: dict[str, dict] = {}


def peer_info(name: str) -> dict:
    """LABEL/REQUIRES/GEOMETRY of a peer module without importing its heavy dependencies."""
    if name not in PEER_INFO:
        mod = __import__(f"bench.peers.{name}", fromlist=["LABEL"])
        missing = [r for r in mod.REQUIRES if importlib.util.find_spec(r) is None]
        PEER_INFO[name] = {"label": mod.LABEL, "geometry": mod.GEOMETRY, "missing": missing}
    return PEER_INFO[name]


def run_worker(spec: dict, timeout: float, tree: str | None = None) -> dict:
    """One ``bench.worker`` process. ``tree``: a source checkout whose glmip the worker imports
    (put first on PYTHONPATH and, since ``python -m`` puts the current folder first, first on
    the worker's sys.path too); None: the glmip this interpreter imports."""
    spec = dict(spec, spawned=time.time())
    env = dict(os.environ)
    env.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    if tree is not None:
        spec["tree"] = str(Path(tree).resolve())
        env["PYTHONPATH"] = os.pathsep.join(
            [spec["tree"]] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    try:
        proc = subprocess.run([sys.executable, "-m", "bench.worker", json.dumps(spec)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH-RESULT "):
            return json.loads(line[len("BENCH-RESULT "):])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"ok": False, "error": f"exit {proc.returncode}: {tail[:200]}"}


# --- quality ---------------------------------------------------------------------------------
def reference_band(name: str, cols: int, rows: int, k: int, band: int) -> tuple[np.ndarray, float, float]:
    """Numpy reference grey image of case ``name``'s central ``band`` rows of view ``k``, in the
    case's window (the projected values are cached per volume, so a case's read window reuses
    them)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from reference import reference_projection, window_grey

    volume, window = volumes.case(name)
    data, affine = volumes.load(volume)
    lo, hi = window or (float(np.nanmin(data)), float(np.nanmax(data)))
    cache = volumes.CACHE / f"ref-{volume}-{cols}x{rows}-v{k}-b{band}.npy"
    if cache.is_file():
        values = np.load(cache)
    else:
        v = geometry.view(data.shape, affine, k, cols, rows)
        # An explicit width (cols * pixel) keeps the full image's pixel size, so these ``band``
        # rows are exactly the full image's central rows.
        values = reference_projection(data, affine, v.d, v.up, cols, band, v.step,
                                      fit=cols * v.pixel)
        np.save(cache, values)
    window = hi - lo if hi > lo else 1.0
    return window_grey(values, window, (hi + lo) / 2 if hi > lo else lo), lo, hi


def quality(image_path: str, ref: np.ndarray) -> dict:
    img = np.load(image_path).astype(int)
    rows, band = img.shape[0], ref.shape[0]
    top = (rows - band) // 2
    diff = np.abs(img[top:top + band] - ref.astype(int))
    return {"within1": float((diff <= 1).mean()), "max_diff": int(diff.max())}


# --- the comparison ----------------------------------------------------------------------------
def case_nominal(name: str, cols: int, rows: int, frames: int) -> tuple[list[float], float]:
    """Samples a plain loop takes in each timed frame of case ``name``, and a worker's timeout."""
    volume, _ = volumes.case(name)
    data, affine = volumes.load(volume, mmap=True)
    nominal = [geometry.nominal_samples(data.shape, affine,
                                        geometry.view(data.shape, affine, k, cols, rows))
               for k in range(1, frames + 1)]
    timeout = 120 + 10 * frames * (cols * rows / 512**2) * (data.size / 256**3)
    return nominal, timeout


def run_alternating(name: str, cols: int, rows: int, variants: dict[str, dict], runs: int,
                    frames: int, out_dir: str, with_quality: bool, log,
                    timeout: float, swap_order: bool = False) -> dict[str, list[dict]]:
    """``runs`` fresh worker processes per variant of case ``name``, alternating: run 1 of
    every variant, then run 2... ``variants`` maps a key to what its spec adds: ``peer``, and
    optionally ``tree`` (a source checkout, see run_worker). With ``swap_order`` every other
    run goes through the variants backwards (A B, B A, A B...), so a steady drift of the
    machine cancels between two variants. A variant whose packages turn out to be missing is
    not run again."""
    volume, window = volumes.case(name)
    results: dict[str, list[dict]] = {k: [] for k in variants}
    dropped: set[str] = set()
    for run in range(runs):
        keys = list(variants)
        if swap_order and run % 2:
            keys.reverse()
        for key in keys:
            if key in dropped:
                continue
            extra = dict(variants[key])
            tree = extra.pop("tree", None)
            spec = {"volume": volume, "case": name, "window": window,
                    "cols": cols, "rows": rows, "frames": frames,
                    "quality_view": QUALITY_VIEW if (with_quality and run == 0) else None,
                    "out": out_dir, "tag": key, **extra}
            t = time.perf_counter()
            r = run_worker(spec, timeout, tree)
            log(f"  {name} {cols}x{rows} run {run + 1}/{runs} {key:10s} "
                + (f"median {statistics.median(r['times_ms']):7.1f} ms, CPU "
                   f"{statistics.median(r['cpu_ms']):7.1f} ms, others busy "
                   f"{100 * r['others_cpu']:3.0f} %" if r.get("ok")
                   else f"FAILED: {r.get('error')}")
                + f"  ({time.perf_counter() - t:.1f} s)")
            results[key].append(r)
            if not r.get("ok") and r.get("not_installed"):
                dropped.add(key)
    return results


def case_reference(name: str, cols: int, rows: int, log) -> np.ndarray:
    """The numpy reference grey image of the quality view's central rows (see reference_band)."""
    t = time.perf_counter()
    band = min(rows, QUALITY_ROWS)
    ref, _, _ = reference_band(name, cols, rows, QUALITY_VIEW, band)
    log(f"  numpy reference for {name} {cols}x{band} (central rows): "
        f"{time.perf_counter() - t:.1f} s")
    return ref


def summarize(ok: list[dict], nominal: list[float], ref: np.ndarray | None,
              geometry_note: str | None = None) -> dict:
    """Statistics of a variant's successful runs ``ok`` (at least one) of one case."""
    times = [t for r in ok for t in r["times_ms"]]
    row = dict(
        status="ok", runs=len(ok), frames=len(times),
        median_ms=statistics.median(times), min_ms=min(times), max_ms=max(times),
        run_medians_ms=[statistics.median(r["times_ms"]) for r in ok],
        cpu_ms=statistics.median(c for r in ok for c in r.get("cpu_ms", [])),
        others_cpu=max(r.get("others_cpu", 0.0) for r in ok),
        first_ms=statistics.median(r["first_ms"] for r in ok),
        spawn_to_first_s=statistics.median(r["spawn_to_first_s"] for r in ok),
        rss_mb=max(r["rss_mb"] for r in ok),
        rss_after_setup_mb=max(r.get("rss_after_setup_mb", float("nan")) for r in ok),
        stages={k: statistics.median(r["stages"][k] for r in ok) for k in ok[0]["stages"]},
    )
    row["msamples_s"] = statistics.mean(nominal) / (row["median_ms"] / 1000) / 1e6
    taken = [r["samples_taken"] for r in ok if "samples_taken" in r]
    if taken:
        row["samples_taken_per_frame"] = statistics.median(taken)
    qimg = [r["quality_image"] for r in ok if r.get("quality_image")]
    if ref is not None and qimg:
        q = quality(qimg[0], ref)
        row["quality_raw"] = q
        row["quality"] = (f"{100 * q['within1']:.2f} %" if geometry_note is None
                          else "n/a (geometry differs)")
    return row


def bench_case(name: str, cols: int, rows: int, peers: list[str], runs: int, frames: int,
               out_dir: str, with_quality: bool, log) -> dict:
    volume, window = volumes.case(name)
    data, _ = volumes.load(volume, mmap=True)
    nominal, timeout = case_nominal(name, cols, rows, frames)
    runnable = [p for p in peers if not peer_info(p)["missing"]]
    results = run_alternating(name, cols, rows, {p: {"peer": p} for p in runnable}, runs,
                              frames, out_dir, with_quality, log, timeout)
    ref = case_reference(name, cols, rows, log) if with_quality else None
    rows_out = []
    for p in peers:
        info = peer_info(p)
        row = {"peer": p, "label": info["label"]}
        ok = [r for r in results.get(p, []) if r.get("ok")]
        if info["missing"]:
            row["status"] = f"not installed ({', '.join(info['missing'])})"
        elif not ok:
            errs = [r.get("error", "?") for r in results[p]]
            row["status"] = "not installed" if any(r.get("not_installed") for r in results[p]) \
                else f"failed: {errs[0] if errs else 'no run'}"
        else:
            row.update(summarize(ok, nominal, ref, info["geometry"]))
        rows_out.append(row)
    base = next((r for r in rows_out if r["peer"] == "glmip" and r["status"] == "ok"), None)
    for r in rows_out:
        if base and r["status"] == "ok":
            r["ratio"] = base["median_ms"] / r["median_ms"]
            r["cpu_ratio"] = base["cpu_ms"] / r["cpu_ms"]
    return {"volume": name, "window": window, "shape": list(data.shape), "dtype": str(data.dtype),
            "cols": cols, "rows": rows, "nominal_samples": statistics.mean(nominal),
            "peers": rows_out}


def fmt_case(case: dict) -> str:
    label = volumes.LABELS.get(case["volume"], case["volume"])
    if not case.get("window"):  # read-window cases name their window in the label
        label += ", window = full data range"
    head = (f"\n### {label} {tuple(case['shape'])} {case['dtype']} → {case['cols']}×{case['rows']}"
            f"  ({case['nominal_samples'] / 1e6:.1f} M samples/frame on the sample planes of "
            "docs/conventions.md)\n")
    lines = ["| peer | median ms/frame (min–max) | CPU ms/frame | M samples/s | first frame ms "
             "| start → 1st image s | peak RSS MiB | quality (≤1 grey) | glmip/peer | "
             "glmip/peer (CPU) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in case["peers"]:
        if r["status"] != "ok":
            lines.append(f"| {r['label']} | {r['status']} | | | | | | | | |")
            continue
        lines.append(
            f"| {r['label']} | {r['median_ms']:.0f} ({r['min_ms']:.0f}–{r['max_ms']:.0f}) "
            f"| {r['cpu_ms']:.0f} | {r['msamples_s']:.0f} | {r['first_ms']:.0f} "
            f"| {r['spawn_to_first_s']:.2f} | {r['rss_mb']:.0f} | {r.get('quality', '—')} "
            f"| {format(r['ratio'], '.2f') if 'ratio' in r else '—'} "
            f"| {format(r['cpu_ratio'], '.2f') if 'cpu_ratio' in r else '—'} |")
    others = [r["others_cpu"] for r in case["peers"] if r["status"] == "ok"]
    if others:
        lines.append(f"\nCPU used by other processes while frames were timed: up to "
                     f"{100 * max(others):.0f} % of the machine.")
    return head + "\n".join(lines)


def fmt_goals(cases: list) -> str:
    """The speed goals: at least 2x faster than the fastest peer, never slower than the plain
    loop (within 5 %), images within 1 grey level on >= 99.9 % of pixels."""
    lines = ["\n### Speed goals, from this run",
             "| case | glmip ms | fastest peer (ms) | glmip/fastest (goal ≤ 0.50) "
             "| glmip/plain loop (goal ≤ 1.05) | glmip quality (goal ≥ 99.9 %) |",
             "|---|---|---|---|---|---|"]
    for c in cases:
        ok = {r["peer"]: r for r in c["peers"] if r["status"] == "ok"}
        if "glmip" not in ok:
            continue
        g = ok["glmip"]
        others = [r for p, r in ok.items() if p != "glmip"]
        if not others:
            continue
        fast = min(others, key=lambda r: r["median_ms"])
        plain = ok.get("plain")
        q = g.get("quality_raw")
        lines.append(
            f"| {c['volume']} → {c['cols']}² | {g['median_ms']:.0f} "
            f"| {fast['label']} ({fast['median_ms']:.0f}) "
            f"| {g['median_ms'] / fast['median_ms']:.2f} "
            f"{'✔' if g['median_ms'] <= 0.5 * fast['median_ms'] else '✘'} "
            f"(needs ≤ {0.5 * fast['median_ms']:.0f} ms) "
            + (f"| {g['median_ms'] / plain['median_ms']:.2f} "
               f"{'✔' if g['median_ms'] <= 1.05 * plain['median_ms'] else '✘'} "
               if plain else "| — ")
            + (f"| {100 * q['within1']:.2f} % {'✔' if q['within1'] >= 0.999 else '✘'} |"
               if q else "| — |"))
    return "\n".join(lines) if len(lines) > 3 else ""


# --- start-up and scale -------------------------------------------------------------------------
STARTUP_STAGES = r"""
import sys, time
t_spawn = float(sys.argv[1]); t0 = time.time()
def mark(name, t=[t0]):
    now = time.time(); print(f"STAGE {name} {now - t[0]:.4f}"); t[0] = now
import glmip; from glmip.context import headless_context; from glmip.renderer import MipRenderer
from glmip.camera import Camera; from glmip.settings import RenderSettings
from glmip.resources import shader_path
mark("import glmip")
vol = glmip.load(sys.argv[2]); mark("load")
ctx = headless_context(); mark("GL context")
r = MipRenderer(ctx); r.upload(vol); ctx.finish(); mark("upload (+ cell statistics)")
r.program(); r.program(shader_path("display.glsl")); mark("shader compile")
img = r.render(Camera.standard("superior"), RenderSettings(), (512, 512)); mark("first frame")
glmip.save_png(sys.argv[3], img); mark("save PNG")
print(f"STAGE interpreter-start {t0 - t_spawn:.4f}")
"""


def bench_startup(runs: int, log) -> dict:
    sample = ROOT / "samples" / "aorta.mha"
    out: dict = {"cli_s": [], "stages": {}}
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "aorta.png"
        for _ in range(runs):
            png.unlink(missing_ok=True)
            t = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "glmip", "render", str(sample), "-o",
                                   str(png)], cwd=tmp, capture_output=True, text=True)
            dt = time.perf_counter() - t
            if proc.returncode != 0 or not png.is_file():
                out["error"] = proc.stderr.strip()[-300:]
                break
            out["cli_s"].append(dt)
        stage_runs = []
        for _ in range(runs):
            proc = subprocess.run([sys.executable, "-c", STARTUP_STAGES, str(time.time()),
                                   str(sample), str(Path(tmp) / "s.png")],
                                  cwd=ROOT, capture_output=True, text=True)
            st = {}
            for line in proc.stdout.splitlines():
                if line.startswith("STAGE "):
                    _, rest = line.split(" ", 1)
                    name, val = rest.rsplit(" ", 1)
                    st[name] = float(val)
            if st:
                stage_runs.append(st)
        if stage_runs:
            out["stages"] = {k: statistics.median(s[k] for s in stage_runs) for k in stage_runs[0]}
    if out["cli_s"]:
        log(f"  glmip render samples/aorta.mha: median {statistics.median(out['cli_s']):.2f} s")
    return out


def fmt_startup(s: dict) -> str:
    lines = ["\n### Start-up: `glmip render samples/aorta.mha -o X.png` (process start → PNG on disk)"]
    if s.get("cli_s"):
        lines.append(f"median {statistics.median(s['cli_s']):.2f} s over {len(s['cli_s'])} runs "
                     f"(min {min(s['cli_s']):.2f} s)")
    if s.get("error"):
        lines.append(f"failed: {s['error']}")
    if s.get("stages"):
        lines += ["", "| stage (same steps, timed inside one process) | ms |", "|---|---|"]
        order = ["interpreter-start"] + [k for k in s["stages"] if k != "interpreter-start"]
        for k in order:
            if k in s["stages"]:
                lines.append(f"| {k} | {1000 * s['stages'][k]:.0f} |")
    return "\n".join(lines)


def bench_scale(sizes: list[int], images: list[int], big: int | None, frames: int, log) -> list:
    out = []
    cases = [(f"cube{n}", img) for n in sizes for img in images]
    if big:
        cases.append((f"cube{big}", 512))
    for name, img in cases:
        t = time.perf_counter()
        volumes.path(name)
        gen = time.perf_counter() - t
        r = run_worker({"peer": "glmip", "volume": name, "cols": img, "rows": img,
                        "frames": frames, "quality_view": None, "out": ""}, timeout=900)
        data, affine = volumes.load(name, mmap=True)
        v = geometry.view(data.shape, affine, frames // 2 + 1, img, img)
        row = {"volume": name, "n": data.shape[0], "bytes": data.nbytes, "image": img, "ok": r.get("ok")}
        if r.get("ok"):
            row.update(median_ms=statistics.median(r["times_ms"]), first_ms=r["first_ms"],
                       rss_mb=r["rss_mb"], rss_after_setup_mb=r.get("rss_after_setup_mb"),
                       upload_s=r["stages"].get("upload"),
                       nominal=geometry.nominal_samples(data.shape, affine, v),
                       taken=r.get("samples_taken"))
        else:
            row["error"] = r.get("error")
        out.append(row)
        log(f"  scale {name} → {img}²: " + (f"{row['median_ms']:.0f} ms, peak RSS {row['rss_mb']:.0f} MiB"
                                           if row["ok"] else f"FAILED {row['error']}")
            + (f" (volume made in {gen:.1f} s)" if gen > 1 else ""))
    return out


def fmt_scale(rows: list) -> str:
    lines = ["\n### Scale: glmip alone, uint8 vessels-in-noise n³, fresh process per row",
             "| volume | image | median ms/frame | first frame ms | M samples/frame (plain loop) "
             "| M samples/frame taken | upload s | RSS after upload MiB | peak RSS MiB | array MiB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if not r["ok"]:
            lines.append(f"| {r['n']}³ | {r['image']}² | failed: {r['error']} | | | | | | | "
                         f"{r['bytes'] / 2**20:.0f} |")
            continue
        taken = f"{r['taken'] / 1e6:.1f}" if r.get("taken") is not None else "—"
        lines.append(
            f"| {r['n']}³ | {r['image']}² | {r['median_ms']:.0f} | {r['first_ms']:.0f} "
            f"| {r['nominal'] / 1e6:.1f} | {taken} | {r['upload_s']:.2f} "
            f"| {r['rss_after_setup_mb']:.0f} | {r['rss_mb']:.0f} | {r['bytes'] / 2**20:.0f} |")
    return "\n".join(lines)


# --- machine ------------------------------------------------------------------------------------
PEER_PACKAGES = ("moderngl", "vtk", "vispy", "PyOpenGL", "pygfx", "wgpu")


def machine(packages: tuple[str, ...] = PEER_PACKAGES, probe_gl: bool = True) -> dict:
    """The run's header facts: CPU, OpenGL renderer (``probe_gl``: asked of a fresh process),
    the versions of ``packages``, glmip's commit (and whether glmip/ or shaders/ differ)."""
    info = {"python": platform.python_version(), "cpus": os.cpu_count(),
            "load_before": os.getloadavg()[0]}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                info["cpu"] = line.split(":", 1)[1].strip()
    except OSError:
        pass
    if probe_gl:
        probe = ("from glmip.context import headless_context as h; c = h(); "
                 "print(c.info['GL_RENDERER'] + ' | ' + c.info['GL_VERSION'])")
        proc = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                              text=True)
        info["gl"] = proc.stdout.strip() or proc.stderr.strip()[-200:]
    from importlib import metadata

    found = []
    for dist in packages:
        try:
            found.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    info["packages"] = ", ".join(found)
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "glmip", "shaders"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        info["glmip"] = (head or "?") + (" + uncommitted changes in glmip/ or shaders/"
                                         if dirty else "")
    except OSError:
        info["glmip"] = "?"
    return info


def default_cases(quick: bool) -> list[tuple[str, int]]:
    """(case, image size) run without --volumes/--size: full-range cases, then read windows."""
    if quick:
        return [("vessels", 512)]
    full = [("vessels", 512), ("vessels", 1024), ("cta", 512), ("aorta", 512), ("tof", 512)]
    return full + [(c, 512) for c in volumes.READ_CASES]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="one run of 3 frames, 256³ at 512² only, no scale table (< 1 min)")
    ap.add_argument("--peers", help=f"comma-separated subset of {','.join(ORDER)}")
    ap.add_argument("--volumes", "--cases", dest="volumes",
                    help="comma-separated cases: vessels,cta,aorta (full data range), "
                         f"{','.join(volumes.READ_CASES)} (reading window) or cubeN")
    ap.add_argument("--size", type=int, action="append", help="image size (repeatable)")
    ap.add_argument("--runs", type=int, help="fresh processes per peer and case")
    ap.add_argument("--frames", type=int, help="timed frames per process (after the first)")
    ap.add_argument("--no-quality", action="store_true")
    ap.add_argument("--no-startup", action="store_true")
    ap.add_argument("--no-scale", action="store_true")
    ap.add_argument("--big", type=int, default=1024, help="n of the big n³ scale volume (0: none)")
    ap.add_argument("--json", help="also write all results to this JSON file")
    args = ap.parse_args(argv)

    peers = args.peers.split(",") if args.peers else list(ORDER)
    for p in peers:
        if p not in ORDER:
            ap.error(f"unknown peer {p} (known: {', '.join(ORDER)})")
    if args.quick:
        runs, frames = args.runs or 1, args.frames or 3
    else:
        runs, frames = args.runs or 3, args.frames or 8
    if args.volumes or args.size:
        vols = args.volumes.split(",") if args.volumes else ["vessels"]
        cases = [(v, s) for v in vols for s in (args.size or [512])]
    else:
        cases = default_cases(args.quick)
    cases = [(v, s) for v, s in cases if volumes.available(v)]

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    result: dict = {"machine": machine(), "runs": runs, "frames": frames, "cases": []}
    m = result["machine"]
    log(f"machine: {m.get('cpu', '?')}, {m['cpus']} CPUs, {m['gl']}")
    for p in peers:
        info = peer_info(p)
        if info["missing"]:
            log(f"  {p}: not installed ({', '.join(info['missing'])}) — skipped")
    with tempfile.TemporaryDirectory(prefix="glmip-bench-") as out_dir:
        for v, s in cases:
            t = time.perf_counter()
            volumes.path(volumes.case(v)[0])
            if time.perf_counter() - t > 1:
                log(f"  made volume {v} in {time.perf_counter() - t:.1f} s")
            result["cases"].append(bench_case(v, s, s, peers, runs, frames, out_dir,
                                              not args.no_quality and s <= 512, log))
    if not args.no_startup:
        result["startup"] = bench_startup(1 if args.quick else 3, log)
    if not args.quick and not args.no_scale:
        result["scale"] = bench_scale([64, 128, 256, 512], [256, 512, 1024], args.big or None,
                                      3, log)
    result["seconds"] = time.perf_counter() - t0
    m["load_after"] = os.getloadavg()[0]

    print(f"# glmip benchmark — {m.get('cpu', '?')} ({m['cpus']} CPUs), {m['gl']}; "
          f"glmip at {m['glmip']}; {m['packages']}")
    print(f"{runs} fresh process(es) per peer and case, alternating; {frames} timed frames each "
          f"after the first; camera turning 3°/frame; orthographic, trilinear, sample distance "
          f"= smallest spacing; glmip/peer < 1 means glmip is faster. Load average (1 min) "
          f"{m['load_before']:.2f} before, {m['load_after']:.2f} after.")
    for case in result["cases"]:
        print(fmt_case(case))
    notes = sorted({(r["label"], peer_info(r["peer"])["geometry"]) for c in result["cases"]
                    for r in c["peers"] if peer_info(r["peer"])["geometry"]})
    if notes:
        print("\nQuality: % of pixels within 1 grey level of tests/reference.py (numpy) on the "
              f"{QUALITY_ROWS} central rows of view {QUALITY_VIEW} ({3 * QUALITY_VIEW}° off anterior), "
              "each image in its case's window (named in the table's heading). "
              "Geometry differences:")
        for label, why in notes:
            raw = [r["quality_raw"]["within1"] for c in result["cases"] for r in c["peers"]
                   if r["label"] == label and "quality_raw" in r]
            extra = (f" (raw agreement, not comparable: "
                     f"{', '.join(f'{100 * x:.1f} %' for x in raw)})") if raw else ""
            print(f"- {label}: {why}{extra}")
    goals = fmt_goals(result["cases"])
    if goals:
        print(goals)
    glmip_taken = [(c["volume"], c["cols"], r["samples_taken_per_frame"], c["nominal_samples"])
                   for c in result["cases"] for r in c["peers"]
                   if r["peer"] == "glmip" and "samples_taken_per_frame" in r]
    if glmip_taken:
        print("\nglmip samples actually taken per frame (vs a plain loop): " + "; ".join(
            f"{v} {s}²: {t / 1e6:.1f} M of {n / 1e6:.1f} M" for v, s, t, n in glmip_taken))
    if "startup" in result:
        print(fmt_startup(result["startup"]))
    if "scale" in result:
        print(fmt_scale(result["scale"]))
    return finish(result, args.json)


def finish(result: dict, json_path: str | None) -> int:
    """The benchmark's last line (how long it took) and, if asked, every number as JSON."""
    print(f"\n(benchmark took {result['seconds']:.0f} s)")
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
