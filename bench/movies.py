"""Turntable movies and batches, against the common scipy approach, in one run:
``python -m bench.movies [--quick] [--json FILE]``.

**Movies.** For each case (default: ``vessels`` 256³ uint8 and ``cta`` 512×512×300 int16 from
bench/volumes.py), a ``--frames`` (36) frame ``--size``² (512²) GIF of the volume turning about
+S, seen from the front, is made

- by ``glmip turntable IN.nii -o OUT.gif --frames 36 --size 512 --view anterior --axis S``, the
  command line in a fresh process (``glmip.cli.main``, what the ``glmip`` script runs; a few
  wrappers around glmip's own functions note the time when the volume is read, uploaded, each
  frame is ready and the GIF is written). The volume is given as uncompressed NIfTI (``.nii``):
  it carries the spacing, and glmip reads it as fast as the cache's ``.npy`` (a page-cache
  copy; both ~15 ms for the 150 MiB CTA here);
- by glmip's Python API in a fresh process: ``glmip.load``, then
  ``glmip.turntable_frames(volume, camera, settings, size, frames, axis="S")`` consumed in memory
  (no file): the pure render rate;
- by what people commonly write with scipy, in a fresh process: read the same ``.nii`` with
  nibabel, then per frame ``scipy.ndimage.rotate(data, angle, axes=(0, 1), reshape=False,
  order=1)``, ``.max(axis=1)``, window to uint8, resize (Pillow, bilinear, keeping the mm aspect)
  and pad to ``size``², and write the GIF with Pillow exactly as glmip does (grey ``L`` frames,
  70 ms a frame, loop forever, no optimisation); and again with ``order=0`` (nearest), the faster
  variant a user might pick. Geometry differs from glmip's: the array turns about its centre in
  voxel index space (fine here: the in-plane spacing is isotropic), corners that leave the array
  box are cut off (``reshape=False``), each ray takes one sample per voxel along the array axis,
  and the picture is the array's extent resized to the size, not glmip's framing sphere. On
  volumes over 64 M voxels (the CTA) scipy takes seconds a frame, so only ``--peer-sample`` (3)
  evenly spread frames of the 36 are computed and the movie's time is extrapolated (the GIF
  still gets 36 frames, the computed ones repeated, so writing is timed on a full movie).
  nibabel hands the NIfTI data over in Fortran order, which suits a turn in the (i, j) plane:
  the same call on the C-ordered ``.npy`` array is ~2.7× slower on the CTA (6.3 against 2.4 s a
  frame, measured once here), so the peer gets its favourable layout.

Runs alternate (run 1 of every method, then run 2 ...); ``--runs`` (3) per method, 2 for scipy on
the volumes it samples. Each process's wall time is measured from outside (process start →
exit), its CPU time from the parent's ``RUSAGE_CHILDREN``, its peak RSS inside.

**Batch.** ``glmip render SCANS/ -o OUT/`` (one process) over ``--batch`` (8) variants of a
128³ uint8 volume plus the 256³ ``vessels``, one 512² PNG each, against one ``glmip render SCAN
-o OUT.png`` process per scan. The batch's time is split (from wrappers around
``glmip.batch.run_task``) into a fixed part (process start → first scan; the first scan's extra
for the GL context, shader compile and reader imports; exit) and per-scan work (read; upload +
render + PNG write).

Prints markdown tables for docs/performance.md ("Movies and batches").
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import run as bench_run
from bench import volumes

ROOT = Path(__file__).resolve().parents[1]
RESULT = "MOVIES-RESULT "
BIG_VOXELS = 64 * 2**20   # scipy computes only a sample of the frames above this many voxels
GIF_MS = 70               # glmip's GIF delay at its default 15 fps (whole hundredths of a s)

# --- child processes ----------------------------------------------------------------------
# Each prints one line RESULT + JSON; times are time.time() (the parent's clock too).
COMMON = r"""
import json, sys, time
T = {"interpreter": time.time()}
spec = json.loads(sys.argv[1])


def peak_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")
"""

# The glmip command line (glmip.cli.main with spec["argv"]), with marks from wrappers around
# the pipeline's own functions; nothing else changes.
GLMIP_CLI = COMMON + r"""
import glmip.batch as B
import glmip.movie as M
import glmip.pipeline as P

frames = []
tasks = []
_load, _renderer_for, _frames = P.load_volume, P.renderer_for, P.turntable_frames
_write, _run_task = M.write_movie, B.run_task


def load_volume(*a, **k):
    T.setdefault("load_start", time.time())
    v = _load(*a, **k)
    T.setdefault("load_end", time.time())
    return v


def renderer_for(*a, **k):
    T.setdefault("upload_start", time.time())
    r = _renderer_for(*a, **k)
    T.setdefault("upload_end", time.time())
    return r


def turntable_frames(*a, **k):
    T["render_start"] = time.time()
    for img in _frames(*a, **k):
        frames.append(time.time())
        yield img
    T["shape"] = list(img.shape)


def write_movie(*a, **k):
    path = _write(*a, **k)
    T["written"] = time.time()
    return path


def run_task(task):
    t0 = time.time()
    o = _run_task(task)
    tasks.append({"input": task.input, "start": t0, "end": time.time(), "seconds": o.seconds,
                  "load": o.load_seconds, "error": o.error})
    return o


P.load_volume, P.renderer_for, P.turntable_frames = load_volume, renderer_for, turntable_frames
M.write_movie, B.run_task = write_movie, run_task
from glmip.cli import main

rc = main(spec["argv"])
T["end"] = time.time()
print("MOVIES-RESULT " + json.dumps({"rc": rc, "marks": T, "frames": frames, "tasks": tasks,
                                     "rss_mb": peak_mb()}), flush=True)
sys.exit(rc)
"""

# glmip's Python API: the frames in memory, timed one by one.
GLMIP_API = COMMON + r"""
import glmip
T["imported"] = time.time()
vol = glmip.load(spec["input"])
T["loaded"] = time.time()
camera = glmip.make_camera(spec["view"])
settings = glmip.make_settings(**spec["settings"])
frame_s, frames = [], []
t = time.perf_counter()
for img in glmip.turntable_frames(vol, camera, settings, (spec["size"], spec["size"]),
                                  spec["frames"], axis=spec["axis"]):
    now = time.perf_counter()
    frame_s.append(now - t)
    frames.append(time.time())
    t = now
T["end"] = time.time()
from glmip.context import headless_context

info = headless_context().info
print("MOVIES-RESULT " + json.dumps({
    "marks": T, "frame_s": frame_s, "frames": frames, "shape": list(img.shape),
    "gl": info["GL_RENDERER"] + " | " + info["GL_VERSION"], "rss_mb": peak_mb()}), flush=True)
"""

# The common scipy recipe: rotate the array, take the maximum along an axis, window, resize and
# pad, write the GIF with Pillow as glmip does. Frame k turns by -360 k / n degrees in the
# (i, j) plane: the same direction as glmip's turn about +S (checked on an off-centre blob).
SCIPY_PEER = COMMON + r"""
import nibabel as nib
import numpy as np
import scipy
from PIL import Image
from scipy import ndimage
T["imported"] = time.time()
img = nib.load(spec["input"])
data = np.asanyarray(img.dataobj)
sx, sy, sz = (float(v) for v in img.header.get_zooms()[:3])
T["loaded"] = time.time()
lo, hi = spec["window"] or (float(data.min()), float(data.max()))
hi = hi if hi > lo else lo + 1.0
air = float(data.min())  # what the corners turned in from outside are filled with
T["prepared"] = time.time()
size, n, order = spec["size"], spec["frames"], spec["order"]
ni, nj, nk = data.shape
scale = size / max(ni * sx, nk * sz)           # the picture is i across, k up, in mm
w, h = max(1, round(ni * sx * scale)), max(1, round(nk * sz * scale))
pictures, frame_s = [], []
for k in spec["timed"]:
    t = time.perf_counter()
    turned = ndimage.rotate(data, -360.0 * k / n, axes=(0, 1), reshape=False, order=order,
                            mode="constant", cval=air)
    mip = turned.max(axis=1)                   # seen from the front: along j (posterior-anterior)
    grey = np.clip((mip.astype(np.float32) - lo) * (255.0 / (hi - lo)) + 0.5, 0, 255)
    grey = np.ascontiguousarray(grey.astype(np.uint8).T[::-1, ::-1])  # S up, patient's R left
    frame = Image.new("L", (size, size))
    frame.paste(Image.fromarray(grey).resize((w, h), Image.BILINEAR),
                ((size - w) // 2, (size - h) // 2))
    pictures.append(frame)
    frame_s.append(time.perf_counter() - t)
    T.setdefault("first_frame", time.time())
T["frames_done"] = time.time()
movie = [pictures[i % len(pictures)] for i in range(n)]
movie[0].save(spec["output"], format="GIF", save_all=True, append_images=movie[1:],
              duration=spec["gif_ms"], loop=0, optimize=False)
T["written"] = time.time()
print("MOVIES-RESULT " + json.dumps({"marks": T, "frame_s": frame_s, "rss_mb": peak_mb(),
                                     "scipy": scipy.__version__}), flush=True)
"""


def _busy_seconds() -> float:
    """CPU seconds every process on the machine has used (/proc/stat)."""
    try:
        with open("/proc/stat") as f:
            parts = [int(x) for x in f.readline().split()[1:9]]
        user, nice, system, _, _, irq, softirq, steal = parts
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return float("nan")


def _env() -> dict:
    env = dict(os.environ)
    env.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def child(args: list[str], timeout: float) -> dict:
    """Run ``python ARGS`` in a fresh process: its result line (if any), wall time (process
    start -> exit), CPU seconds and the share of the machine other processes used meanwhile."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy = _busy_seconds()
    spawned = time.time()
    t = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=_env(),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    others = max(0.0, (_busy_seconds() - busy - cpu) / (wall * (os.cpu_count() or 1)))
    out = {"ok": proc.returncode == 0, "spawned": spawned, "wall_s": wall, "cpu_s": cpu,
           "others_cpu": others}
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT):
            out.update(json.loads(line[len(RESULT):]))
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        out["error"] = f"exit {proc.returncode}: {tail[:300]}"
    return out


def script(text: str, spec: dict, timeout: float) -> dict:
    return child(["-c", text, json.dumps(spec)], timeout)


# --- inputs ---------------------------------------------------------------------------------
def save_nifti(data: np.ndarray, affine: np.ndarray, path: Path) -> Path:
    import nibabel as nib

    nib.save(nib.Nifti1Image(np.ascontiguousarray(data), np.asarray(affine, float)), str(path))
    return path


def timed_frames(n_voxels: int, frames: int, sample: int) -> list[int]:
    """Frames scipy computes: all of them, or ``sample`` evenly spread ones on big volumes."""
    if sample <= 0 or n_voxels <= BIG_VOXELS or sample >= frames:
        return list(range(frames))
    return sorted({int((i + 0.5) * frames / sample) for i in range(sample)})


# --- movies -----------------------------------------------------------------------------------
def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def cli_numbers(r: dict, n: int) -> dict:
    """Derived numbers of one ``glmip turntable`` run."""
    m, f = r["marks"], r["frames"]
    end = r["spawned"] + r["wall_s"]
    return {
        "wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "rss_mb": r.get("rss_mb"),
        "first_frame_s": f[0] - r["spawned"],
        "fps_render_write": n / (m["written"] - m["render_start"]),
        "fps_render": n / (f[-1] - m["render_start"]),
        "stages": {
            "start": m["load_start"] - r["spawned"],
            "read": m["load_end"] - m["load_start"],
            "prepare": m["upload_end"] - m["upload_start"],
            "first": f[0] - m["render_start"],
            "each": statistics.median(np.diff(f).tolist()) if n > 1 else None,
            "write": m["written"] - f[-1],
            "exit": end - m["written"],
        },
        "others_cpu": r["others_cpu"],
    }


def api_numbers(r: dict, n: int) -> dict:
    fs = r["frame_s"]
    return {
        "wall_s": None, "process_s": r["wall_s"], "cpu_s": r["cpu_s"], "rss_mb": r.get("rss_mb"),
        "first_frame_s": r["frames"][0] - r["spawned"],
        "first_frame_only_s": fs[0],
        "fps_render_write": None,
        "fps_render": (n - 1) / sum(fs[1:]) if n > 1 else 1 / fs[0],
        "stages": {"start": r["marks"]["imported"] - r["spawned"],
                   "read": r["marks"]["loaded"] - r["marks"]["imported"],
                   "first": fs[0], "each": statistics.median(fs[1:]) if n > 1 else None},
        "others_cpu": r["others_cpu"],
    }


def scipy_numbers(r: dict, n: int, timed: list[int]) -> dict:
    """Derived numbers of one scipy run; with a sample of the frames, the movie's time is
    extrapolated: the computed frames' mean stands for each of the n frames."""
    m, fs = r["marks"], r["frame_s"]
    mean = statistics.mean(fs)
    full = n * mean
    write = m["written"] - m["frames_done"]
    wall = r["wall_s"] - sum(fs) + full
    return {
        "wall_s": wall, "measured_wall_s": r["wall_s"], "extrapolated": len(timed) < n,
        "cpu_s": r["cpu_s"] - sum(fs) + full,  # rotate is single-threaded: CPU ~ wall per frame
        "rss_mb": r.get("rss_mb"),
        "first_frame_s": m["first_frame"] - r["spawned"],
        "fps_render_write": n / (full + write),
        "fps_render": 1 / mean,
        "stages": {"start": m["imported"] - r["spawned"], "read": m["loaded"] - m["imported"],
                   "prepare": m["prepared"] - m["loaded"], "first": fs[0],
                   "each": statistics.median(fs[1:]) if len(fs) > 1 else fs[0],
                   "write": write,
                   "exit": r["spawned"] + r["wall_s"] - m["written"]},
        "others_cpu": r["others_cpu"],
    }


def bench_movie(name: str, work: Path, out: Path, args, log) -> dict:
    volume, window = volumes.case(name)
    data, affine = volumes.load(volume, mmap=True)
    nii = save_nifti(data, affine, work / f"{name}.nii")
    n, size = args.frames, args.size
    timed = timed_frames(int(data.size), n, args.peer_sample)
    runs = args.runs
    peer_runs = args.peer_runs or (runs if len(timed) == n else min(runs, 2))
    win_args, settings = [], {}
    if window is not None:
        lo, hi = window
        settings = {"window": hi - lo, "level": (hi + lo) / 2}
        win_args = ["--window", repr(hi - lo), "--level", repr((hi + lo) / 2)]
    timeout = 120 + 30 * n * (data.size / 256**3) * (len(timed) / n)
    methods = {
        "glmip-cli": lambda r: script(GLMIP_CLI, {"argv": [
            "turntable", str(nii), "-o", str(out / f"glmip-{name}-run{r}.gif"), "--frames",
            str(n), "--size", str(size), "--view", "anterior", "--axis", "S", "--quiet",
            *win_args]}, timeout),
        "glmip-api": lambda r: script(GLMIP_API, {
            "input": str(nii), "view": "anterior", "axis": "S", "size": size, "frames": n,
            "settings": settings}, timeout),
    }
    for order in (1, 0):
        methods[f"scipy-order{order}"] = (lambda r, order=order: script(SCIPY_PEER, {
            "input": str(nii), "window": list(window) if window else None, "size": size,
            "frames": n, "order": order, "timed": timed, "gif_ms": GIF_MS,
            "output": str(out / f"scipy-order{order}-{name}-run{r}.gif")}, 10 * timeout))
    missing = [m for m in ("scipy", "nibabel") if importlib.util.find_spec(m) is None]
    if missing:  # the peer is left out, not failed
        methods = {k: v for k, v in methods.items() if not k.startswith("scipy")}
    raw: dict[str, list[dict]] = {k: [] for k in methods}
    for r in range(1, max(runs, peer_runs) + 1):
        for key, go in methods.items():
            if r > (peer_runs if key.startswith("scipy") else runs):
                continue
            res = go(r)
            if res.get("ok"):
                res["numbers"] = (cli_numbers(res, n) if key == "glmip-cli"
                                  else api_numbers(res, n) if key == "glmip-api"
                                  else scipy_numbers(res, n, timed))
                x = res["numbers"]
                log(f"  {name} run {r} {key:13s} process {res['wall_s']:6.2f} s"
                    + (f" (movie ≈ {x['wall_s']:.1f} s extrapolated)"
                       if x.get("extrapolated") else "")
                    + f", render {x['fps_render']:5.2f} frames/s, CPU {res['cpu_s']:6.2f} s, "
                      f"others busy {100 * res['others_cpu']:3.0f} %")
            else:
                log(f"  {name} run {r} {key:13s} FAILED: {res.get('error')}")
            raw[key].append(res)
    gif = out / f"glmip-{name}-run1.gif"
    rows = {key: summarize_movie(key, [r for r in raw[key] if r.get("ok")], raw[key])
            for key in methods}
    base = rows["glmip-cli"].get("wall_s")
    for row in rows.values():
        if base and row.get("wall_s"):
            row["glmip_ratio"] = base / row["wall_s"]
    for order in (1, 0) if missing else ():
        rows[f"scipy-order{order}"] = {"status": f"not installed ({', '.join(missing)})"}
    api = next((r for r in raw["glmip-api"] if r.get("ok")), {})
    return {"case": name, "volume": volume, "window": window, "shape": list(data.shape),
            "dtype": str(data.dtype), "spacing": [float(abs(affine[i, i])) for i in range(3)],
            "input": f"{nii.name} (uncompressed NIfTI)", "frames": n, "size": size,
            "scipy_timed_frames": timed, "gif_frames": gif_frames(gif),
            "gif_bytes": gif.stat().st_size if gif.is_file() else None,
            "gl": api.get("gl"), "methods": rows, "raw": raw}


def gif_frames(path: Path) -> int | None:
    if not path.is_file():
        return None
    from PIL import Image

    with Image.open(path) as im:
        return int(getattr(im, "n_frames", 1))


def summarize_movie(key: str, ok: list[dict], everything: list[dict]) -> dict:
    if not ok:
        errs = [r.get("error", "?") for r in everything]
        return {"status": f"failed: {errs[0] if errs else 'no run'}"}
    nums = [r["numbers"] for r in ok]
    row = {"status": "ok", "runs": len(ok)}
    for k in ("wall_s", "cpu_s", "rss_mb", "first_frame_s", "fps_render_write", "fps_render",
              "first_frame_only_s"):
        vals = [x.get(k) for x in nums if x.get(k) is not None]
        if vals:
            row[k] = statistics.median(vals)
            row[k + "_runs"] = vals
    row["extrapolated"] = any(x.get("extrapolated") for x in nums)
    row["stages"] = {s: _median(x["stages"].get(s) for x in nums) for s in nums[0]["stages"]}
    row["others_cpu"] = max(x["others_cpu"] for x in nums)
    return row


LABELS = {
    "glmip-cli": "`glmip turntable` (command line, fresh process)",
    "glmip-api": "glmip API `turntable_frames` (fresh process, frames in memory, no file)",
    "scipy-order1": "scipy `rotate(order=1)` + `max`, Pillow GIF",
    "scipy-order0": "scipy `rotate(order=0)` (nearest) + `max`, Pillow GIF",
}


def _f(x, fmt=".2f") -> str:
    return "—" if x is None else format(x, fmt)


def fmt_movie(c: dict) -> str:
    label = volumes.LABELS.get(c["case"], c["case"])
    if not c.get("window"):
        label += ", window = full data range"
    k = len(c["scipy_timed_frames"])
    head = (f"\n### Turntable: {label} {tuple(c['shape'])} {c['dtype']} → {c['size']}², "
            f"{c['frames']} frames, GIF\n")
    lines = ["| method | runs | wall s, process start → GIF on disk (per run) "
             "| start → 1st frame s | frames/s, render + write | frames/s, render only "
             "| CPU s | peak RSS MiB | glmip CLI ÷ this (wall) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for key, row in c["methods"].items():
        if row["status"] != "ok":
            lines.append(f"| {LABELS[key]} | {row['status']} | | | | | | | |")
            continue
        if row.get("wall_s") is not None:
            per = ", ".join(f"{x:.2f}" for x in row["wall_s_runs"])
            wall = f"{row['wall_s']:.2f} ({per})"
            if row["extrapolated"]:
                wall = f"≈ {wall}, from {k} of {c['frames']} frames"
        else:
            wall = f"— (frame 1 with context, upload, compile: {row['first_frame_only_s']:.2f} s)"
        render = _f(row.get("fps_render"), ".1f") + (
            f" (frames 2–{c['frames']})" if key == "glmip-api" else "")
        lines.append(
            f"| {LABELS[key]} | {row['runs']} | {wall} | {_f(row.get('first_frame_s'))} "
            f"| {_f(row.get('fps_render_write'), '.1f')} | {render} "
            f"| {_f(row.get('cpu_s'), '.1f')} | {_f(row.get('rss_mb'), '.0f')} "
            f"| {_f(row.get('glmip_ratio'))} |")
    stage_names = [
        ("start", "process start → reading starts (interpreter, imports)"),
        ("read", "read the volume (glmip: with its reader's imports)"),
        ("prepare", "prepare (glmip: GL context + upload; scipy: data min/max)"),
        ("first", "first frame (glmip: with shader compile)"),
        ("each", "each further frame (median)"),
        ("write", "GIF encode + write (after the last frame)"),
        ("exit", "exit"),
    ]
    keys = [k for k in c["methods"] if c["methods"][k]["status"] == "ok"]
    lines += ["", "| where the time goes, s (median) | " + " | ".join(
        LABELS[k].split(" (")[0].split(",")[0] for k in keys) + " |",
        "|---" * (len(keys) + 1) + "|"]
    for s, text in stage_names:
        vals = [c["methods"][k]["stages"].get(s) for k in keys]
        if any(v is not None for v in vals):
            lines.append(f"| {text} | " + " | ".join(_f(v, ".3f") for v in vals) + " |")
    others = [row["others_cpu"] for row in c["methods"].values() if row["status"] == "ok"]
    notes = [f"Input {c['input']}; glmip's GIF has {c['gif_frames']} frames"
             + (f" ({c['gif_bytes'] / 2**20:.1f} MiB)" if c.get("gif_bytes") else "") + "."]
    if k < c["frames"]:
        notes.append(f"scipy computed frames {', '.join(map(str, c['scipy_timed_frames']))} of "
                     f"{c['frames']}; its movie time is extrapolated (their mean × "
                     f"{c['frames']}) and its GIF holds them repeated.")
    if others:
        notes.append(f"Other processes used up to {100 * max(others):.0f} % of the machine "
                     "during these runs.")
    return head + "\n".join(lines) + "\n\n" + " ".join(notes)


# --- batches ----------------------------------------------------------------------------------
def batch_inputs(work: Path, small: str, count: int, big: str | None) -> list[Path]:
    """``count`` variants of the small volume (rolled copies: different data, same size) and
    the big one, as .nii files in work/scans (names sort small first)."""
    scans = work / "scans"
    scans.mkdir()
    data, affine = volumes.load(small)
    paths = [save_nifti(np.roll(data, 7 * (i + 1), axis=i % 3), affine, scans / f"a{i + 1:02d}.nii")
             for i in range(count)]
    if big:
        data, affine = volumes.load(big)
        paths.append(save_nifti(data, affine, scans / f"b-{big}.nii"))
    return paths


def bench_batch(work: Path, out: Path, args, log) -> dict:
    small, big = args.batch_volume, (None if args.batch_big == "none" else args.batch_big)
    paths = batch_inputs(work, small, args.batch, big)
    n = len(paths)
    opts = ["--view", "anterior", "--size", str(args.size)]
    batch_runs, separate_runs = [], []
    for r in range(1, args.runs + 1):
        res = script(GLMIP_CLI, {"argv": ["render", str(paths[0].parent), "-o",
                                          str(out / f"batch-run{r}") + os.sep, "--quiet", *opts]},
                     600)
        if res.get("ok") and len(res.get("tasks", [])) == n and not any(
                t["error"] for t in res["tasks"]):
            batch_runs.append(res)
            log(f"  batch run {r}: {n} scans in one process {res['wall_s']:.2f} s, "
                f"CPU {res['cpu_s']:.2f} s, others busy {100 * res['others_cpu']:3.0f} %")
        else:
            log(f"  batch run {r}: FAILED {res.get('error') or res.get('tasks')}")
        sep = out / f"separate-run{r}"
        sep.mkdir()
        walls, cpu, fails = [], 0.0, 0
        for p in paths:
            one = child(["-m", "glmip", "render", str(p), "-o", str(sep / f"{p.stem}.png"),
                         *opts], 600)
            walls.append(one["wall_s"] if one.get("ok") else None)
            cpu += one.get("cpu_s", 0.0)
            fails += not one.get("ok")
        if not fails:
            separate_runs.append({"walls": walls, "cpu_s": cpu})
            log(f"  batch run {r}: {n} separate processes {sum(walls):.2f} s, CPU {cpu:.2f} s")
        else:
            log(f"  batch run {r}: {fails} separate process(es) FAILED")
    d_small, _ = volumes.load(small, mmap=True)
    result = {"scans": n, "small": small, "small_shape": list(d_small.shape),
              "small_count": args.batch, "big": big, "size": args.size,
              "batch_runs": batch_runs, "separate_runs": separate_runs}
    if big:
        result["big_shape"] = list(volumes.load(big, mmap=True)[0].shape)
    if batch_runs:
        result["batch"] = split_batch(batch_runs, args.batch, big is not None)
    if separate_runs:
        walls = [w for s in separate_runs for w in s["walls"][:args.batch]]
        result["separate"] = {
            "wall_s": statistics.median(sum(s["walls"]) for s in separate_runs),
            "wall_s_runs": [sum(s["walls"]) for s in separate_runs],
            "cpu_s": statistics.median(s["cpu_s"] for s in separate_runs),
            "small_s": statistics.median(walls),
            "big_s": (statistics.median(s["walls"][-1] for s in separate_runs) if big else None),
        }
    return result


def split_batch(runs: list[dict], small_count: int, has_big: bool) -> dict:
    """Fixed start-up and per-scan work of the one-process batch (medians over runs)."""
    per = []
    for r in runs:
        t = r["tasks"]
        smalls = t[:small_count]
        rest = [x["end"] - x["start"] for x in smalls[1:]] or [smalls[0]["end"] - smalls[0]["start"]]
        first = smalls[0]["end"] - smalls[0]["start"]
        per.append({
            "wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "rss_mb": r.get("rss_mb"),
            "start_s": t[0]["start"] - r["spawned"],
            "first_extra_s": first - statistics.median(rest),
            "exit_s": r["spawned"] + r["wall_s"] - t[-1]["end"],
            "small_read_s": statistics.median(x["load"] for x in smalls[1:] or smalls),
            "small_work_s": statistics.median(x["seconds"] - x["load"] for x in smalls[1:] or smalls),
            "small_s": statistics.median(rest),
            "big_read_s": t[-1]["load"] if has_big else None,
            "big_work_s": t[-1]["seconds"] - t[-1]["load"] if has_big else None,
            "big_s": t[-1]["end"] - t[-1]["start"] if has_big else None,
        })
    out = {k: _median(p[k] for p in per) for k in per[0]}
    out["wall_s_runs"] = [p["wall_s"] for p in per]
    out["fixed_s"] = out["start_s"] + out["first_extra_s"] + out["exit_s"]
    return out


def fmt_batch(b: dict) -> str:
    small = "×".join(map(str, b["small_shape"]))
    what = f"{b['small_count']} × {small} uint8 (rolled variants)"
    if b.get("big"):
        what += f" + 1 × {'×'.join(map(str, b['big_shape']))} ({b['big']})"
    head = (f"\n### Batch: {b['scans']} scans ({what}, uncompressed NIfTI) → one "
            f"{b['size']}² PNG each (`--view anterior`)\n")
    lines = ["| way | runs | wall s (per run) | s per scan | CPU s | batch ÷ this (wall) |",
             "|---|---|---|---|---|---|"]
    bt, sp = b.get("batch"), b.get("separate")
    if bt:
        per = ", ".join(f"{x:.2f}" for x in bt["wall_s_runs"])
        lines.append(f"| `glmip render SCANS/ -o OUT/` (one process) | {len(b['batch_runs'])} "
                     f"| {bt['wall_s']:.2f} ({per}) | {bt['wall_s'] / b['scans']:.3f} "
                     f"| {bt['cpu_s']:.1f} | 1.00 |")
    if sp:
        per = ", ".join(f"{x:.2f}" for x in sp["wall_s_runs"])
        ratio = f"{bt['wall_s'] / sp['wall_s']:.2f}" if bt else "—"
        lines.append(f"| {b['scans']} × `glmip render SCAN -o OUT.png` (a process per scan) "
                     f"| {len(b['separate_runs'])} | {sp['wall_s']:.2f} ({per}) "
                     f"| {sp['wall_s'] / b['scans']:.3f} | {sp['cpu_s']:.1f} | {ratio} |")
    if bt:
        lines += ["", "| the one-process batch, split (median over runs) | s |", "|---|---|",
                  f"| fixed: process start → first scan (interpreter, imports, arguments, "
                  f"input listing) | {bt['start_s']:.3f} |",
                  f"| fixed: first scan's extra (GL context, shader compile, reader imports; "
                  f"first − median other small scan) | {bt['first_extra_s']:.3f} |",
                  f"| fixed: exit after the last scan | {bt['exit_s']:.3f} |",
                  f"| **fixed, total** | **{bt['fixed_s']:.3f}** |",
                  f"| per {small} scan: read (the NIfTI is memory-mapped: its data pages "
                  f"in during the upload) | {bt['small_read_s']:.3f} |",
                  f"| per {small} scan: upload + render + PNG write | {bt['small_work_s']:.3f} |",
                  f"| **per {small} scan** | **{bt['small_s']:.3f}** |"]
        if bt.get("big_s") is not None:
            big = "×".join(map(str, b["big_shape"]))
            lines += [f"| the {big} scan: read | {bt['big_read_s']:.3f} |",
                      f"| the {big} scan: upload + render + PNG write | {bt['big_work_s']:.3f} |",
                      f"| **the {big} scan** | **{bt['big_s']:.3f}** |"]
    if sp:
        lines.append(f"| a process per scan: one {small} scan (process wall, median) "
                     f"| {sp['small_s']:.3f} |")
        if sp.get("big_s") is not None:
            lines.append(f"| a process per scan: the big scan | {sp['big_s']:.3f} |")
        if bt:
            lines.append(f"| → start-up a separate process pays per scan (one {small} scan: "
                         f"process − batch) | {sp['small_s'] - bt['small_s']:.3f} |")
    return head + "\n".join(lines)


# --- machine and main -------------------------------------------------------------------------
def machine() -> dict:
    """bench.run's header facts, with this benchmark's packages (the GL renderer comes from the
    glmip runs themselves)."""
    return bench_run.machine(("numpy", "scipy", "Pillow", "nibabel", "moderngl"), probe_gl=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.movies",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="one run of a 64³ volume, 12 frames at 256², batch of 3 × 32³ (~15 s)")
    ap.add_argument("--cases", help="comma-separated bench cases (default vessels,cta; "
                                    "also cubeN, tof, aorta, vessels-read, cta-read ...)")
    ap.add_argument("--frames", type=int, help="frames per movie (default 36)")
    ap.add_argument("--size", type=int, help="image size N (N×N, default 512)")
    ap.add_argument("--runs", type=int, help="fresh processes per method (default 3)")
    ap.add_argument("--peer-runs", type=int,
                    help="scipy processes per method (default: --runs, at most 2 on volumes "
                         "where scipy computes a sample of the frames)")
    ap.add_argument("--peer-sample", type=int, default=3,
                    help="frames scipy computes on volumes over 64 M voxels (0: all)")
    ap.add_argument("--batch", type=int, help="small scans in the batch (default 8; 0: none)")
    ap.add_argument("--batch-volume", help="small scan volume (default cube128)")
    ap.add_argument("--batch-big", help="one big scan added to the batch (default vessels; "
                                        "none)")
    ap.add_argument("--out", help="keep the movies and PNGs in this directory")
    ap.add_argument("--json", help="also write every number to this JSON file")
    args = ap.parse_args(argv)
    q = args.quick
    cases = (args.cases.split(",") if args.cases else ["cube64"] if q else ["vessels", "cta"])
    cases = [c for c in cases if volumes.available(c)]
    args.frames = args.frames or (12 if q else 36)
    args.size = args.size or (256 if q else 512)
    args.runs = args.runs or (1 if q else 3)
    args.batch = (3 if q else 8) if args.batch is None else args.batch
    args.batch_volume = args.batch_volume or ("cube32" if q else "cube128")
    args.batch_big = args.batch_big or ("none" if q else "vessels")
    if args.frames < 1 or args.size < 1 or args.runs < 1 or args.batch < 0:
        ap.error("--frames, --size and --runs must be at least 1, --batch at least 0")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    result: dict = {"machine": machine(), "cases": []}
    m = result["machine"]
    with tempfile.TemporaryDirectory(prefix="glmip-movies-") as tmp:
        work = Path(tmp)
        out = Path(args.out) if args.out else work / "out"
        out.mkdir(parents=True, exist_ok=True)
        for name in cases:
            t = time.perf_counter()
            volumes.path(volumes.case(name)[0])
            if time.perf_counter() - t > 1:
                log(f"  made volume {name} in {time.perf_counter() - t:.1f} s")
            result["cases"].append(bench_movie(name, work, out, args, log))
        if args.batch:
            result["batch"] = bench_batch(work, out, args, log)
    result["seconds"] = time.perf_counter() - t0
    m["load_after"] = os.getloadavg()[0]
    m["gl"] = next((c["gl"] for c in result["cases"] if c.get("gl")), "?")

    print(f"# glmip movies and batches — {m.get('cpu', '?')} ({m['cpus']} CPUs), {m['gl']}; "
          f"glmip at {m['glmip']}; {m['packages']}")
    print("Each number is from fresh processes, the methods alternating run by run; wall = "
          "process start → exit, seen from outside. glmip CLI ÷ this < 1: glmip is faster. "
          f"Load average (1 min) {m['load_before']:.2f} before, {m['load_after']:.2f} after.")
    for c in result["cases"]:
        print(fmt_movie(c))
    if result["cases"]:
        print("\nscipy's geometry differs from glmip's: the array turns about its centre in "
              "voxel index space, corners leaving the array box are cut off (reshape=False), "
              "one sample per voxel along the array axis, picture = the array's extent resized "
              "(glmip: the framing sphere, sample distance = smallest spacing, trilinear). scipy "
              "runs on one core; glmip's llvmpipe uses them all. scipy gets the NIfTI data in "
              "Fortran order from nibabel, its fast layout for this turn (on a C-ordered array "
              "rotate is ~2.7× slower on the CTA).")
    if "batch" in result:
        print(fmt_batch(result["batch"]))
    return bench_run.finish(result, args.json)


if __name__ == "__main__":
    sys.exit(main())
