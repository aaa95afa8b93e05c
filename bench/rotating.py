"""glmip.rotating_mip against the common scipy approach, in the same run.

The scipy way (what AI and PET quality-control scripts hand-roll): for each frame rotate the
volume about the S axis with ``scipy.ndimage.rotate`` (linear interpolation, ``reshape=False``)
and take ``.max(axis)`` along the viewing direction. glmip: ``glmip.rotating_mip`` on the same
volume, the same frame count and frame size, rendered on the GPU through the pipeline's
turntable writer (here into a GIF, so its time includes encoding and writing).

    python bench/rotating.py [--size 256] [--frames 36] [--scipy-frames N]

``--scipy-frames N`` times only N scipy frames and scales to the full count (scipy is slow);
the default times them all. Prints both times and the ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def phantom(n: int) -> np.ndarray:
    """A volume with structure (vessel-like tubes and noise), int16 like a CT."""
    rng = np.random.default_rng(0)
    vol = rng.normal(100, 20, (n, n, n)).astype(np.float32)
    z, y, x = np.mgrid[:n, :n, :n].astype(np.float32) / n
    for k in range(6):
        cx, cy = 0.3 + 0.07 * k, 0.5 + 0.2 * np.sin(k)
        r = np.hypot(x - cx - 0.1 * np.sin(6 * z + k), y - cy)
        vol += 1000 * (r < 0.02 + 0.005 * k)
    return vol.astype(np.int16)


def scipy_rotating_mip(vol: np.ndarray, frames: int) -> tuple[list[np.ndarray], float]:
    from scipy import ndimage

    out = []
    t0 = time.perf_counter()
    for k in range(frames):
        # array axes (i, j, k) = (R, A, S): rotate in the (R, A) plane, project along A.
        rot = ndimage.rotate(vol, 360.0 * k / frames, axes=(0, 1), reshape=False, order=1)
        out.append(rot.max(axis=1))
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=256, help="volume edge and frame size")
    p.add_argument("--frames", type=int, default=36)
    p.add_argument("--scipy-frames", type=int, default=None,
                   help="time only this many scipy frames and scale (default: all)")
    a = p.parse_args(argv)
    import glmip

    vol = phantom(a.size)
    volume = glmip.as_volume(vol)
    n_sc = a.scipy_frames or a.frames
    _, t_sc = scipy_rotating_mip(vol, n_sc)
    t_scipy = t_sc * a.frames / n_sc

    with tempfile.TemporaryDirectory() as tmp:
        glmip.render(volume, size=32)  # context made, shaders compiled: not what is measured
        t0 = time.perf_counter()
        glmip.rotating_mip(volume, frames=a.frames, out=os.path.join(tmp, "r.gif"),
                           size=a.size)
        t_glmip_file = time.perf_counter() - t0
        t0 = time.perf_counter()
        arr = glmip.rotating_mip(volume, frames=a.frames, size=a.size)
        t_glmip = time.perf_counter() - t0
    assert arr.shape[0] == a.frames
    scaled = "" if n_sc == a.frames else f" (timed {n_sc} frames, scaled)"
    print(f"volume {a.size}^3 int16, {a.frames} frames of {a.size}x{a.size}")
    print(f"scipy ndimage.rotate + max: {t_scipy:8.2f} s  ({t_scipy / a.frames:.3f} s a "
          f"frame){scaled}")
    print(f"glmip.rotating_mip -> array: {t_glmip:8.2f} s  ({t_glmip / a.frames:.4f} s a frame)"
          f"  ratio {t_scipy / t_glmip:.0f}x")
    print(f"glmip.rotating_mip -> GIF:   {t_glmip_file:8.2f} s  ratio {t_scipy / t_glmip_file:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
