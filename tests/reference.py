"""An independent numpy implementation of docs/conventions.md, to check rendered pixels against.

It shares no code with the renderer: rays, sample planes, trilinear interpolation with
clamp-to-edge and window/level are written out again from the text of the conventions.
"""

from __future__ import annotations

import numpy as np

R, A, S = np.eye(3)
VIEWS = {
    "anterior": (-A, S), "posterior": (A, S), "inferior": (S, A),
    "superior": (-S, A), "left": (R, S), "right": (-R, S),
}


def basis(view_dir, up):
    d = np.asarray(view_dir, float) / np.linalg.norm(view_dir)
    right = np.cross(d, up)
    right /= np.linalg.norm(right)
    return d, right, np.cross(right, d)


def box_corners(shape, affine, full=True):
    n = np.array(shape, float)
    lo, hi = (-0.5 * np.ones(3), n - 0.5) if full else (np.zeros(3), n - 1)
    pts = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    return pts @ affine[:3, :3].T + affine[:3, 3]


def pixel_size(shape, affine, view_dir, up, cols, rows, fit):
    d, right, upp = basis(view_dir, up)
    corners = box_corners(shape, affine)
    center = corners.mean(axis=0)
    if fit == "sphere":
        return 2 * np.linalg.norm(corners - center, axis=1).max() / min(cols, rows)
    if fit == "box":
        rel = corners - center
        return max(2 * np.abs(rel @ right).max() / cols, 2 * np.abs(rel @ upp).max() / rows)
    return float(fit) / cols


def trilinear(data, idx):
    """Trilinear samples at fractional indices (..., 3), clamp-to-edge."""
    n = np.array(data.shape)
    u = np.clip(idx, 0, n - 1)
    i0 = np.minimum(np.floor(u).astype(int), np.maximum(n - 2, 0))
    f = u - i0
    i1 = np.minimum(i0 + 1, n - 1)
    out = 0.0
    for bx in (0, 1):
        for by in (0, 1):
            for bz in (0, 1):
                ix = i1[..., 0] if bx else i0[..., 0]
                iy = i1[..., 1] if by else i0[..., 1]
                iz = i1[..., 2] if bz else i0[..., 2]
                w = ((f[..., 0] if bx else 1 - f[..., 0]) * (f[..., 1] if by else 1 - f[..., 1])
                     * (f[..., 2] if bz else 1 - f[..., 2]))
                out = out + w * data[ix, iy, iz].astype(np.float64)
    return out


def reference_projection(data, affine, view_dir, up, cols, rows, step, fit="sphere",
                         slope=1.0, inter=0.0, mode="mip"):
    """Projected real values (rows, cols), NaN where the ray meets no sample (orthographic)."""
    affine = np.asarray(affine, float)
    d, right, upp = basis(view_dir, up)
    corners = box_corners(data.shape, affine)
    center = corners.mean(axis=0)
    p = pixel_size(data.shape, affine, view_dir, up, cols, rows, fit)
    r, c = np.mgrid[0:rows, 0:cols].astype(float)
    P = (center + ((c + 0.5 - cols / 2) * p)[..., None] * right
         + ((rows / 2 - r - 0.5) * p)[..., None] * upp)
    plane0 = (box_corners(data.shape, affine, full=False) @ d).min()
    radius = np.linalg.norm(corners - center, axis=1).max()
    k_lo = int(np.floor((center @ d - radius - plane0) / step)) - 1
    k_hi = int(np.ceil((center @ d + radius - plane0) / step)) + 1
    inv = np.linalg.inv(affine)
    n = np.array(data.shape)
    best = np.full((rows, cols), np.nan)
    total = np.zeros((rows, cols))
    count = np.zeros((rows, cols))
    Pd = P @ d
    for k in range(k_lo, k_hi + 1):
        X = P + (plane0 + k * step - Pd)[..., None] * d
        idx = X @ inv[:3, :3].T + inv[:3, 3]
        inside = np.all((idx >= -0.5) & (idx <= n - 0.5), axis=-1)
        if not inside.any():
            continue
        v = trilinear(data, idx) * slope + inter
        v = np.where(inside, v, np.nan)
        if mode == "mean":
            ok = np.isfinite(v)
            total += np.where(ok, v, 0)
            count += ok
        elif mode == "minip":
            best = np.fmin(best, v)
        else:
            best = np.fmax(best, v)
    if mode == "mean":
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return best


def window_grey(values, window, level):
    """docs/conventions.md: floor(clip((v - (L - W/2)) / W, 0, 1) * 255 + 0.5); NaN -> 0."""
    out = np.floor(np.clip((values - (level - window / 2)) / window, 0, 1) * 255 + 0.5)
    return np.where(np.isfinite(values), out, 0).astype(np.uint8)


def project_point(world, shape, affine, view_dir, up, cols, rows, fit="sphere"):
    """(row, col) where a world point appears in an orthographic image."""
    d, right, upp = basis(view_dir, up)
    center = box_corners(shape, affine).mean(axis=0)
    p = pixel_size(shape, affine, view_dir, up, cols, rows, fit)
    rel = np.asarray(world, float) - center
    return rows / 2 - 0.5 - rel @ upp / p, rel @ right / p + cols / 2 - 0.5
