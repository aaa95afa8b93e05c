"""Never slower than the plain loop? ``python -m bench.sweep [--cases tof,vessels,...]``.

glmip chooses its speed-ups (skipping cells, early exit) per frame from the cell statistics
and the window (``glmip.raycast.speedups``). This sweeps cases × windows × views and times, in
one process and by CPU time (which other processes disturb little), three renderers of the
same frame: glmip as it chooses, glmip with both speed-ups off (its plain path), and the
benchmark's plain ray-march shader (``bench/peers/plain.py``). The ratio glmip ÷ plain loop
must stay ≤ 1.05 everywhere; the worst rows are printed last.

Windows: the full data range, the case's reading window (if any), and the lowest 30 %, a
middle 40 % and the upper half of the range. Views: anterior, left, superior, an oblique
direction, each turned 3° per timed frame.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np

from bench import geometry, volumes
from bench.peers import glmip as glmip_peer
from bench.peers import plain as plain_peer

DIRECTIONS = {"anterior": (0.0, -1.0, 0.0), "left": (-1.0, 0.0, 0.0),
              "superior": (0.0, 0.0, -1.0), "oblique": (1.0, -0.6, 0.4)}


def make_view(shape, affine, direction, turn: float, cols: int, rows: int) -> geometry.View:
    """bench.run's framing (the full-voxel box's sphere, orthographic) for any direction,
    turned ``turn`` degrees about S."""
    d = geometry.rotation_z(turn) @ (np.asarray(direction, float) / np.linalg.norm(direction))
    up0 = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([0.0, 1.0, 0.0])
    right = np.cross(d, up0)
    right /= np.linalg.norm(right)
    up = np.cross(right, d)
    corners = geometry.box_corners(shape, affine)
    center = corners.mean(axis=0)
    radius = float(np.linalg.norm(corners - center, axis=1).max())
    step = float(np.min(np.linalg.norm(np.asarray(affine, float)[:3, :3], axis=0)))
    plane0 = float((geometry.box_corners(shape, affine, full=False) @ d).min())
    return geometry.View(d, up, right, center, radius, 2 * radius / min(cols, rows), cols, rows,
                         step, plane0)


def cpu_ms(render, views, ctx) -> float:
    ctx.__enter__()  # two GL contexts in one process: make this renderer's current
    render(views[0])  # compile, warm caches
    times = []
    for v in views[1:]:
        t = time.process_time()
        render(v)
        times.append(time.process_time() - t)
    return 1000 * float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__)
    ap.add_argument("--cases", default="tof,vessels,cta,aorta")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--frames", type=int, default=3, help="timed frames per row")
    args = ap.parse_args(argv)
    size = args.size
    rows = []
    print(f"# glmip speed-up sweep — {platform.processor() or platform.machine()}, "
          f"{size}², CPU ms per frame (median of {args.frames}); ratio = glmip ÷ plain loop")
    print("| case | window | view | glmip (chooses) | glmip, speed-ups off | plain loop "
          "| glmip ÷ plain loop | glmip ÷ its plain path | skipping, early exit |")
    print("|---|---|---|---|---|---|---|---|---|")
    for case in args.cases.split(","):
        if not volumes.available(volumes.case(case)[0]):
            print(f"| {case} | (volume not available) |||||||")
            continue
        volume, reading = volumes.case(case)
        data, affine = volumes.load(volume)
        lo, hi = float(np.nanmin(data)), float(np.nanmax(data))
        windows = {"full": None, "lowest 30 %": (lo, lo + 0.3 * (hi - lo)),
                   "middle 40 %": (lo + 0.2 * (hi - lo), lo + 0.6 * (hi - lo)),
                   "upper half": (lo + 0.5 * (hi - lo), hi)}
        if reading is not None:
            windows["reading"] = reading
        for name, window in windows.items():
            stages: dict = {}
            ours = glmip_peer.Renderer(data, affine, size, size, stages, window=window)
            plain = plain_peer.Renderer(data, affine, size, size, stages, window=window)
            settings = ours._settings

            def off(v, ours=ours):  # glmip with both speed-ups off
                return ours.r.render(ours._camera(v), ours._settings(v).copy(
                    skip_empty=False, early_exit=False), ours.size)
            for view, direction in DIRECTIONS.items():
                views = [make_view(data.shape, affine, direction, 3.0 * k, size, size)
                         for k in range(args.frames + 1)]
                auto, no_speedups, loop = (cpu_ms(ours.render, views, ours.ctx),
                                           cpu_ms(off, views, ours.ctx),
                                           cpu_ms(plain.render, views, plain.ctx))
                chosen = ours.r.speedups(settings(views[0]))
                rows.append((auto / loop, case, name, view))
                print(f"| {case} | {name} | {view} | {auto:.0f} | {no_speedups:.0f} | {loop:.0f} "
                      f"| {auto / loop:.2f} | {auto / no_speedups:.2f} "
                      f"| {'on' if chosen[0] else 'off'}, {'on' if chosen[1] else 'off'} |",
                      flush=True)
            ours.r.release()
            plain.ctx.release()
    rows.sort(reverse=True)
    print("\nWorst glmip ÷ plain loop: " + "; ".join(
        f"{r:.2f} ({c}, {w}, {v})" for r, c, w, v in rows[:3]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
