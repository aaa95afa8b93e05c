"""How many samples must any exact MIP take? ``python -m bench.oracle [--cases ...]``.

For the benchmark's view 7 (21° off anterior, 512², sample distance = smallest spacing) this
computes with numpy, on the central rows of the image, every sample docs/conventions.md puts on
each ray and, per sample, the tightest bound that does not depend on the ray: the largest of the
8 voxels its trilinear interpolation reads (the interpolant never exceeds its corners). An
oracle that knew each ray's answer in advance could skip a sample only if that bound maps to a
grey level no higher than the ray's final one; every other sample has to be fetched to prove it
cannot raise the pixel. That count, times what one trilinear sample costs here (fitted from
glmip frames at 1×, 2× and 4× the sample distance, nothing skipped), is a floor for any renderer
that skips with value bounds, however clever its traversal: compare it with the goal.
llvmpipe runs 8 pixels' rays in lock-step (a 4×2 block on 256-bit SIMD) and fetches for all of
them whenever one needs a sample, so the table also counts the planes where any ray of a block
needs its sample, times 8: the floor for a renderer on this machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench import geometry, volumes

ROOT = Path(__file__).resolve().parents[1]
CASES = ["vessels", "cta", "aorta", "vessels-read", "cta-read", "aorta-read"]


def corner_max(data: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Largest of the 8 voxels a trilinear sample at ``idx`` (..., 3) reads (clamp to edge)."""
    n = np.array(data.shape)
    u = np.clip(idx, 0, n - 1)
    i0 = np.minimum(np.floor(u).astype(int), np.maximum(n - 2, 0))
    i1 = np.minimum(i0 + 1, n - 1)
    out = None
    for ix in (i0[..., 0], i1[..., 0]):
        for iy in (i0[..., 1], i1[..., 1]):
            for iz in (i0[..., 2], i1[..., 2]):
                v = data[ix, iy, iz]
                out = v if out is None else np.maximum(out, v)
    return out.astype(np.float64)


def necessary_samples(case: str, size: int, band: int) -> dict:
    """(samples on the planes, samples an oracle must still take) on ``band`` central rows."""
    sys.path.insert(0, str(ROOT / "tests"))
    from reference import basis, box_corners, pixel_size, trilinear, window_grey

    volume, window = volumes.case(case)
    data, affine = volumes.load(volume)
    v = geometry.view(data.shape, affine, 7, size, size)
    lo, hi = window or (float(np.nanmin(data)), float(np.nanmax(data)))
    grey = lambda x: window_grey(x, hi - lo, (hi + lo) / 2).astype(np.int16)  # noqa: E731
    d, right, up = basis(v.d, v.up)
    corners = box_corners(data.shape, affine)
    center = corners.mean(axis=0)
    p = pixel_size(data.shape, affine, v.d, v.up, size, size, "sphere")
    top = (size - band) // 2
    r, c = np.mgrid[top:top + band, 0:size].astype(float)
    P = (center + ((c + 0.5 - size / 2) * p)[..., None] * right
         + ((size / 2 - r - 0.5) * p)[..., None] * up)
    plane0 = (box_corners(data.shape, affine, full=False) @ d).min()
    radius = np.linalg.norm(corners - center, axis=1).max()
    k_lo = int(np.floor((center @ d - radius - plane0) / v.step)) - 1
    k_hi = int(np.ceil((center @ d + radius - plane0) / v.step)) + 1
    inv = np.linalg.inv(affine)
    n = np.array(data.shape)
    Pd = P @ d
    steps = []  # (inside mask, sample value, corner bound) per plane
    best = np.full(P.shape[:2], -np.inf)
    for k in range(k_lo, k_hi + 1):
        idx = (P + (plane0 + k * v.step - Pd)[..., None] * d) @ inv[:3, :3].T + inv[:3, 3]
        inside = np.all((idx >= -0.5) & (idx <= n - 0.5), axis=-1)
        if not inside.any():
            continue
        value = trilinear(data, idx[inside])
        bound = corner_max(data, idx[inside])
        steps.append((inside, bound))
        b = best[inside]
        best[inside] = np.maximum(b, value)
    final = grey(best)
    total = needed = group_needed = 0
    rows, cols = final.shape
    for inside, bound in steps:
        total += int(inside.sum())
        need = np.zeros(final.shape, bool)
        need[inside] = grey(bound) > final[inside]
        needed += int(need.sum())
        # llvmpipe shades 8 pixels (4 wide, 2 high) in lock-step: a plane costs the whole group
        # a fetch if any of its rays needs one there.
        g = need[: rows // 2 * 2, : cols // 4 * 4].reshape(rows // 2, 2, cols // 4, 4)
        group_needed += int(g.any(axis=(1, 3)).sum()) * 8
    return {"case": case, "rows": band, "samples": total, "needed": needed,
            "group_needed": min(group_needed, total)}


def ns_per_sample(case: str, size: int, frames: int = 3) -> float:
    """Cost of one sample for glmip on this machine: slope of frame time against samples."""
    from glmip.camera import Camera
    from glmip.context import headless_context
    from glmip.renderer import MipRenderer
    from glmip.settings import RenderSettings
    from glmip.volume import Volume

    volume, _ = volumes.case(case)
    data, affine = volumes.load(volume)
    r = MipRenderer(headless_context())
    r.upload(Volume(data, affine))
    step = geometry.view(data.shape, affine, 0, size, size).step
    xs, ys = [], []
    for mult in (1, 2, 4):
        s = RenderSettings(sample_distance=step * mult, skip_empty=False, early_exit=False)
        cam = [Camera.standard("anterior").rotated([0, 0, 1], 3 * k) for k in range(frames + 1)]
        r.render(cam[0], s, (size, size))
        ts = []
        for c in cam[1:]:
            t = time.perf_counter()
            r.render(c, s, (size, size))
            ts.append(time.perf_counter() - t)
        xs.append(int(r.project(cam[1], s, (size, size), exact_values=False).samples.sum()))
        ys.append(statistics.median(ts))
    r.release()
    return float(np.polyfit(xs, ys, 1)[0] * 1e9)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.oracle")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--rows", type=int, default=64, help="central rows computed with numpy")
    args = ap.parse_args(argv)
    print(f"### Samples an exact MIP must take (view 7, {args.size}², {args.rows} central rows; "
          "oracle skipping with per-sample 8-voxel bounds and each ray's answer known)")
    print("| case | samples on the planes | must be taken (share) | … by 8 rays in lock-step "
          "(share) | ns per sample (glmip, fitted) | floor for a full frame, ms: one ray / "
          "8 in lock-step |")
    print("|---|---|---|---|---|---|")
    ns_cache: dict[str, float] = {}
    for case in args.cases.split(","):
        if not volumes.available(case):
            continue
        res = necessary_samples(case, args.size, args.rows)
        volume, _ = volumes.case(case)
        if volume not in ns_cache:
            ns_cache[volume] = ns_per_sample(case, args.size)
        ns = ns_cache[volume]
        data, affine = volumes.load(volume, mmap=True)
        full = geometry.nominal_samples(data.shape, affine,
                                        geometry.view(data.shape, affine, 7, args.size, args.size))
        share = res["needed"] / max(res["samples"], 1)
        group = res["group_needed"] / max(res["samples"], 1)
        print(f"| {case} | {res['samples'] / 1e6:.2f} M | {res['needed'] / 1e6:.2f} M "
              f"({100 * share:.0f} %) | {res['group_needed'] / 1e6:.2f} M ({100 * group:.0f} %) | "
              f"{ns:.2f} | {share * full * ns / 1e6:.0f} / {group * full * ns / 1e6:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
