"""The benchmark on a real GPU, in one command: ``python -m bench.gpu [--quick] [--json F]``.

Meant for a machine with an NVIDIA (or other) GPU and its EGL driver, headless. It prints:

1. what OpenGL renders (the renderer string: it must name the GPU, not llvmpipe);
2. glmip against the GPU peers (VTK's GPU ray caster, vispy, pygfx, whichever are installed)
   on 512³ and 1024³ uint16 vessels-in-noise at 1024² and 2048², frames per second, through
   ``bench.run`` (fresh process per peer and case, peers alternating);
3. whether the choices tuned on llvmpipe still pay on this GPU: glmip's frame time with the
   cell size 4, 8, 16, 32 and automatic, with skipping and early exit off, without the
   previous frame's hint, and without the outline draw (the built-in shader run as a user
   shader, which covers every pixel).

``--quick`` runs tiny sizes (a check that the script works, e.g. on llvmpipe). A full run takes
a few minutes on a GPU. Setup there: ``./setup.sh --bench`` (or pip install vtk vispy pygfx).
If EGL finds no GPU, point it at the vendor file, e.g.
``__EGL_VENDOR_LIBRARY_FILENAMES=/usr/share/glvnd/egl_vendor.d/10_nvidia.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from bench import run as bench_run
from bench import volumes


def gl_renderer() -> str:
    from glmip.context import headless_context

    info = headless_context().info
    return f"{info['GL_RENDERER']} | {info['GL_VERSION']}"


def ablation(volume: str, size: int, frames: int) -> list[tuple[str, float]]:
    """(label, median ms per frame) of glmip with llvmpipe-tuned choices changed."""
    import numpy as np

    import glmip
    from glmip import raycast
    from glmip.context import headless_context
    from glmip.renderer import MipRenderer
    from glmip.resources import shader_path

    data, affine = volumes.load(volume)
    vol = glmip.Volume(np.asfortranarray(data), affine)
    step = float(min(vol.spacing))
    variants: list[tuple[str, dict, dict]] = [
        ("automatic cell size (as shipped)", {}, {}),
        *[(f"cell size {c}", {"cell_size": c}, {}) for c in (4, 8, 16, 32)],
        ("no skipping", {}, {"skip_empty": False}),
        ("no early exit", {}, {"early_exit": False}),
        ("no skipping, no early exit (plain loop)", {}, {"skip_empty": False,
                                                         "early_exit": False}),
        ("no previous-frame hint", {"hint": False}, {}),
        ("no outline draw (every pixel shaded)", {}, {"shader": str(shader_path("mip.glsl"))}),
    ]
    ctx = headless_context()
    out = []
    chosen = raycast.hint_pays
    for label, renderer_kw, settings_kw in variants:
        hint = renderer_kw.pop("hint", True)
        raycast.hint_pays = chosen if hint else (lambda *a, **k: False)
        with MipRenderer(ctx, **renderer_kw) as r:
            r.upload(vol)
            settings = glmip.make_settings(sample_distance=step, **settings_kw)
            times = []
            for k in range(frames + 1):
                cam = glmip.make_camera("anterior").rotated((0, 0, 1), 3.0 * k)
                t = time.perf_counter()
                r.render(cam, settings, (size, size))
                ctx.finish()
                times.append(time.perf_counter() - t)
            out.append((label, 1000 * statistics.median(times[1:])))
    raycast.hint_pays = chosen
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes: check the script runs")
    ap.add_argument("--peers", default="glmip,vtk_gpu,vispy,pygfx")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    renderer = gl_renderer()
    print(f"# glmip on a GPU — OpenGL: {renderer}")
    if "llvmpipe" in renderer.lower():
        print("(llvmpipe: this is the CPU, not a GPU; the figures are not GPU figures)")
    vols = ["u16-64"] if args.quick else ["u16-512", "u16-1024"]
    sizes = ["256"] if args.quick else ["1024", "2048"]
    cmd = ["--peers", args.peers, "--volumes", ",".join(vols), "--runs",
           "1" if args.quick else str(args.runs), "--frames", "3" if args.quick else "16",
           "--no-quality", "--no-startup", "--no-scale"]
    for s in sizes:
        cmd += ["--size", s]
    if args.json:
        cmd += ["--json", args.json + ".peers.json"]
    code = bench_run.main(cmd)
    size = 256 if args.quick else 1024
    rows = ablation(vols[0], size, 3 if args.quick else 16)
    base = rows[0][1]
    print(f"\n### llvmpipe-tuned choices on this GPU: {vols[0]} → {size}², anterior turning")
    print("| variant | ms/frame | frames/s | ÷ as shipped |\n|---|---|---|---|")
    for label, ms in rows:
        print(f"| {label} | {ms:.2f} | {1000 / ms:.1f} | {ms / base:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"renderer": renderer, "ablation": rows}, f, indent=1)
    return code


if __name__ == "__main__":
    sys.exit(main())
