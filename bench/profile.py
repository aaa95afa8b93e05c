"""Where a glmip frame's time goes: ``python -m bench.profile [--volume CASE] [--size 512]``.

CASE is any benchmark case (``vessels``, ``cta``, ``aorta`` in the full data range, or the
reading-window cases ``vessels-read``, ``cta-read``, ``aorta-read``).

Uses only glmip's public API, in one process, camera turning 3°/frame as in bench.run:

- fixed cost per frame: a 1×1 image (Python, uniforms, two passes, read-back, no real work);
- cost per sample: frames at 1×, 2× and 4× the sample distance; a straight line
  ``ms = a + b · samples`` through them gives ns per sample (b) and per-frame work that does
  not depend on the number of samples (a: ray set-up, box clipping, display pass, read-back);
- read-back and display: ``render`` (two passes + uint8 read) against ``project`` (one pass +
  float32 read of 4 channels);
- skipping: the same frame with skipping and early exit off (the plain loop), and with the
  window above every value (every cell passed over: the cost of walking the cells alone);
- dragging: ``draw`` with ``reduction`` 2 and 4 (the window's path while the mouse moves);
- threads: llvmpipe spreads fragments over LP_NUM_THREADS threads; the same frame with 1 thread
  shows how much the second core gives.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from bench import geometry, volumes


def measure(case: str, size: int, frames: int) -> dict:
    from glmip.camera import Camera
    from glmip.context import headless_context
    from glmip.renderer import MipRenderer
    from glmip.settings import RenderSettings
    from glmip.volume import Volume

    volume, window = volumes.case(case)
    data, affine = volumes.load(volume)
    shown = {} if window is None else {"window": window[1] - window[0],
                                       "level": (window[1] + window[0]) / 2}

    def settings(**kw) -> RenderSettings:
        return RenderSettings(**{**shown, **kw})

    ctx = headless_context()
    r = MipRenderer(ctx)
    r.upload(Volume(data, affine))
    step = geometry.view(data.shape, affine, 0, size, size).step
    out: dict = {"volume": case, "size": size, "renderer": ctx.info["GL_RENDERER"],
                 "threads": os.environ.get("LP_NUM_THREADS", "default")}

    def timed(fn, n=frames):
        fn(0)
        ts = []
        for k in range(1, n + 1):
            t = time.perf_counter()
            fn(k)
            ts.append(1000 * (time.perf_counter() - t))
        return statistics.median(ts)

    def cam(k):
        return Camera.standard("anterior").rotated([0, 0, 1], 3 * k)

    out["render_1x1_ms"] = timed(lambda k: r.render(cam(k), settings(sample_distance=step),
                                                   (1, 1)))
    pts = []
    for mult in (1, 2, 4):
        s = settings(sample_distance=step * mult)
        ms = timed(lambda k, s=s: r.render(cam(k), s, (size, size)))
        taken = int(r.project(cam(frames // 2), s, (size, size), exact_values=False).samples.sum())
        pts.append((mult, ms, taken))
    out["by_step"] = pts
    x = np.array([p[2] for p in pts], float)
    y = np.array([p[1] for p in pts], float)
    b, a = np.polyfit(x, y, 1)
    out["ns_per_sample"] = b * 1e6
    out["ms_not_per_sample"] = a
    s1 = settings(sample_distance=step)
    out["skip"] = list(r.speedups(s1))
    plain = settings(sample_distance=step, skip_empty=False, early_exit=False)
    out["plain_ms"] = timed(lambda k: r.render(cam(k), plain, (size, size)))
    top = float(data.max()) * r.volume.slope + r.volume.inter
    above = RenderSettings(sample_distance=step, skip_empty=True, early_exit=False,
                           window=1.0, level=abs(top) * 2 + 10)
    out["walk_only_ms"] = timed(lambda k: r.render(cam(k), above, (size, size)))
    out["project_ms"] = timed(lambda k: r.project(cam(k), s1, (size, size), exact_values=False))
    out["render_ms"] = pts[0][1]
    fbo = ctx.simple_framebuffer((size, size), components=4)
    for red in (2, 4):
        def drag(k, red=red):
            r.draw(cam(k), s1, fbo, (size, size), reduction=red)
            fbo.read(components=3)  # wait for the frame
        out[f"draw_reduction_{red}_ms"] = timed(drag)
    hit = np.isfinite(r.project(cam(1), s1, (size, size)).value)
    out["rays_hit"] = float(hit.mean())
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.profile")
    ap.add_argument("--volume", "--case", default="vessels",
                    help="a benchmark case: vessels, cta, aorta, vessels-read, cta-read, aorta-read")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print("PROFILE " + json.dumps(measure(args.volume, args.size, args.frames)))
        return 0
    results = []
    for threads in (None, "1"):
        env = dict(os.environ)
        if threads:
            env["LP_NUM_THREADS"] = threads
        proc = subprocess.run([sys.executable, "-m", "bench.profile", "--child", "--volume",
                               args.volume, "--size", str(args.size), "--frames",
                               str(args.frames)], env=env, capture_output=True, text=True)
        line = [x for x in proc.stdout.splitlines() if x.startswith("PROFILE ")]
        if not line:
            print(proc.stderr[-1000:], file=sys.stderr)
            return 1
        results.append(json.loads(line[0][8:]))
    d, one = results
    print(f"### glmip frame profile: {args.volume} → {args.size}² on {d['renderer']} "
          f"(skipping, early exit: {'on' if d['skip'][0] else 'off'}, "
          f"{'on' if d['skip'][1] else 'off'})")
    print("| what | default threads | LP_NUM_THREADS=1 |")
    print("|---|---|---|")
    print(f"| render() at full quality, ms | {d['render_ms']:.0f} | {one['render_ms']:.0f} |")
    print(f"| project() (one pass, float read-back), ms | {d['project_ms']:.0f} | "
          f"{one['project_ms']:.0f} |")
    print(f"| render() of a 1×1 image (fixed cost), ms | {d['render_1x1_ms']:.1f} | "
          f"{one['render_1x1_ms']:.1f} |")
    for (m, ms, taken), (_, ms1, _) in zip(d["by_step"], one["by_step"]):
        print(f"| sample distance ×{m}: {taken / 1e6:.1f} M samples taken, ms | {ms:.0f} | {ms1:.0f} |")
    print(f"| same frame, skipping and early exit off (plain loop), ms | {d['plain_ms']:.0f} | "
          f"{one['plain_ms']:.0f} |")
    print(f"| window above every value: every cell passed over (the walk alone), ms "
          f"| {d['walk_only_ms']:.0f} | {one['walk_only_ms']:.0f} |")
    print(f"| fit: ns per sample | {d['ns_per_sample']:.2f} | {one['ns_per_sample']:.2f} |")
    print(f"| fit: ms per frame not proportional to samples | {d['ms_not_per_sample']:.0f} | "
          f"{one['ms_not_per_sample']:.0f} |")
    for red in (2, 4):
        key = f"draw_reduction_{red}_ms"
        print(f"| draw() while dragging, {red}× fewer rays per axis (window path), ms "
              f"| {d[key]:.0f} | {one[key]:.0f} |")
    print(f"| rays that hit the volume | {100 * d['rays_hit']:.0f} % | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
