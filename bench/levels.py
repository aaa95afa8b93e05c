"""The viewer refining a pyramid: ``python -m bench.levels [--shape 2048x2048x1024]
[--memory 1G] [--until 1] [--drag]``.

Opens the sparse OME-Zarr of ``python -m bench.sparse`` (made once, cached) in a headless viewer
window (1024x768, superior view) and turns its loop (``MipViewer.step``, what ``run`` calls;
each turn handles the window's events) until level ``--until`` is shown and drawn. Prints when
each level appeared, the longest gap between two turns of the loop and between two drawn frames,
the longest turn while each level loaded in the background and while a full-resolution frame of
a streamed level was drawn in the background, and the peak RSS (in all, and while each level
loaded). ``--drag`` keeps a mouse drag going (a small rotation back and forth, one motion a
turn, no pause between turns) while a level is read in the background, so every turn draws a
frame; it is released when the level is ready (then the level is shown). ``--foreground-frames``
draws a streamed level's full frames on the window's thread (as before they went to a worker).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def _rss() -> float:
    """This process's resident memory now, MiB."""
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.levels", description=__doc__)
    ap.add_argument("--shape", default="2048x2048x1024", help="NXxNYxNZ voxels of level 0")
    ap.add_argument("--memory", default="1G")
    ap.add_argument("--size", default="1024x768", help="window COLSxROWS")
    ap.add_argument("--until", type=int, default=1, help="stop once this level is drawn")
    ap.add_argument("--drag", action="store_true",
                    help="drag the mouse while a level loads in the background")
    ap.add_argument("--foreground-frames", action="store_true",
                    help="draw a streamed level's full frames on the window's thread")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--json", help="write the turns (time, level, frames drawn) here")
    ap.add_argument("--cache", default=os.environ.get("GLMIP_BENCH_CACHE",
                                                      "/tmp/glmip-bench-cache"))
    args = ap.parse_args(argv)

    from bench.sparse import make
    from glmip.app import MipViewer, ViewerOptions, make_window
    from glmip.camera import Camera
    from glmip.io import load
    from glmip.options import parse_bytes
    from glmip.settings import RenderSettings

    shape = tuple(int(v) for v in args.shape.lower().split("x"))
    path = Path(args.cache) / f"sparse-{args.shape}.ome.zarr"
    info_path = path.with_suffix(".json")
    if not info_path.is_file():
        info_path.write_text(json.dumps(make(path, shape)))
    cols, rows = (int(v) for v in args.size.lower().split("x"))

    t0 = time.perf_counter()
    wnd = make_window("headless", (cols, rows), backend="egl")
    opts = ViewerOptions(input_path=str(path), memory=parse_bytes(args.memory),
                         echo=lambda line: None)
    viewer = MipViewer(wnd.ctx, wnd, volume=load(path), camera=Camera.standard("superior"),
                       settings=RenderSettings(window=3000.0, level=1500.0), options=opts)
    if args.foreground_frames:
        viewer.background_frames = False
    # (seconds since start, level shown, frames drawn, level loading, full frame under way, RSS)
    turns: list[tuple[float, int, int, int | None, bool, float]] = []
    shapes: dict[int, str] = {}
    dragging, sign = False, 1
    last_job = None
    try:
        while time.perf_counter() - t0 < args.timeout:
            load = getattr(viewer, "_loading", None)  # a level read in the background
            loading = load is not None and not load.future.done()
            job = getattr(viewer, "_full_frame", None)  # a full frame drawn in the background
            last_job = job or last_job
            if args.drag and loading and not dragging:
                viewer.on_mouse_press_event(cols // 2, rows // 2, 1)
                dragging = True
            if dragging:
                sign = -sign
                viewer.on_mouse_drag_event(cols // 2 + 4 * sign, rows // 2, 4 * sign, 0)
                if not loading:
                    viewer.on_mouse_release_event(cols // 2, rows // 2, 1)
                    dragging = False
            busy = viewer.step()
            if not busy and not dragging:
                time.sleep(1 / 60)  # as MipViewer.run does when nothing changes
            level = int(viewer.volume.meta.get("level", 0))
            load = getattr(viewer, "_loading", None) or load  # started, going on or finished
            turns.append((time.perf_counter() - t0, level, viewer.frames_drawn,
                          None if load is None else load.level,
                          job is not None and not job.done.is_set(), _rss()))
            shapes.setdefault(level, "x".join(str(n) for n in viewer.volume.shape))
            if level <= args.until and viewer.levels is not None and viewer.levels.drawn:
                break
    finally:
        viewer.release()
    hwm = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024

    print(f"# viewer on sparse {args.shape}, {cols}x{rows}, --memory {args.memory}"
          f"{', dragging while levels load' if args.drag else ''}")
    print("| level | voxels | load (start to shown) | the turn that uploaded and drew it "
          "| shown since start |")
    print("|---|---|---|---|---|")
    loads = dict(viewer.level_seconds)
    shown: dict[int, float] = {}
    for (t_prev, level_prev, *_), (t, level, *_) in zip([(0.0, -1)] + turns, turns):
        if level != level_prev:
            shown[level] = t
            load = f"{loads[level]:.2f} s" if level in loads else "—"
            print(f"| {level} | {shapes[level]} | {load} | {t - t_prev:.2f} s | {t:.2f} s |")
    starts = [0.0] + [t for t, *_ in turns]
    gaps = [t - t_prev for t_prev, (t, *_) in zip(starts, turns)]  # each turn's duration
    drawn = [(t, f) for t, _, f, *_ in turns]
    frame_times = [t for (t, f), (_, f0) in zip(drawn[1:], drawn) if f > f0]
    frame_gaps = [b - a for a, b in zip(frame_times, frame_times[1:])]
    print(f"- turns of the loop: {len(turns)}; longest gap between turns {max(gaps[1:]):.2f} s")
    if frame_gaps:
        print(f"- frames drawn: {len(frame_times)}; longest gap between drawn frames "
              f"{max(frame_gaps):.2f} s")
    for level in sorted({lv for *_, lv, _, _ in turns if lv is not None}, reverse=True):
        # the turns that started, went on with and finished the load (and drew it)
        span = [k for k, turn in enumerate(turns) if turn[3] == level]
        print(f"- while level {level} loaded ({len(span)} turns): longest turn "
              f"{max(gaps[k] for k in span):.3f} s (the one that started it "
              f"{gaps[span[0]]:.3f} s, the one that showed it {gaps[span[-1]]:.3f} s), "
              f"RSS up to {max(turns[k][5] for k in span):.0f} MiB")
    background = [k for k, turn in enumerate(turns) if turn[4]]
    if background:
        print(f"- while full-resolution frames were drawn in the background ({len(background)} "
              f"turns): longest turn {max(gaps[k] for k in background):.3f} s")
    if last_job is not None and last_job.image is not None:
        print(f"- the last full-resolution frame drawn in the background took "
              f"{last_job.seconds:.2f} s; the loop ended {turns[-1][0]:.2f} s after start, "
              f"when it was shown")
    print(f"- peak RSS {hwm:.0f} MiB")
    if args.json:
        Path(args.json).write_text(json.dumps(turns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
