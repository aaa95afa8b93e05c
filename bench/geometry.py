"""The benchmark's cameras, in plain numpy (docs/conventions.md), so peers need not import glmip.

Frame ``k`` is ``Camera.standard("anterior").rotated([0, 0, 1], 3 * k)``: orthographic,
``sphere`` framing, the view turning 3 degrees per frame about +S.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEGREES_PER_FRAME = 3.0


def rotation_z(degrees: float) -> np.ndarray:
    t = math.radians(degrees)
    c, s = math.cos(t), math.sin(t)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def box_corners(shape, affine, full=True) -> np.ndarray:
    n = np.array(shape, float)
    lo, hi = (-0.5 * np.ones(3), n - 0.5) if full else (np.zeros(3), n - 1)
    pts = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                    for z in (lo[2], hi[2])])
    return pts @ np.asarray(affine, float)[:3, :3].T + np.asarray(affine, float)[:3, 3]


@dataclass
class View:
    d: np.ndarray       # view direction (eye -> scene)
    up: np.ndarray      # up' (image top)
    right: np.ndarray
    center: np.ndarray  # centre of the full-voxel box
    radius: float       # of the sphere around the full-voxel box
    pixel: float        # pixel size in mm
    cols: int
    rows: int
    step: float         # sample distance (smallest spacing)
    plane0: float       # sample planes sit at plane0 + k * step along d


def view(shape, affine, k: int, cols: int, rows: int) -> View:
    rot = rotation_z(DEGREES_PER_FRAME * k)
    d = rot @ np.array([0.0, -1.0, 0.0])
    up0 = np.array([0.0, 0.0, 1.0])
    right = np.cross(d, up0)
    right /= np.linalg.norm(right)
    up = np.cross(right, d)
    corners = box_corners(shape, affine)
    center = corners.mean(axis=0)
    radius = float(np.linalg.norm(corners - center, axis=1).max())
    step = float(np.min(np.linalg.norm(np.asarray(affine, float)[:3, :3], axis=0)))
    plane0 = float((box_corners(shape, affine, full=False) @ d).min())
    return View(d, up, right, center, radius, 2 * radius / min(cols, rows), cols, rows, step,
                plane0)


def nominal_samples(shape, affine, v: View) -> int:
    """Samples docs/conventions.md puts inside the box for this view (what a plain loop takes)."""
    inv = np.linalg.inv(np.asarray(affine, float))
    r, c = np.mgrid[0:v.rows, 0:v.cols].astype(float)
    P = (v.center + ((c + 0.5 - v.cols / 2) * v.pixel)[..., None] * v.right
         + ((v.rows / 2 - r - 0.5) * v.pixel)[..., None] * v.up)
    o = P @ inv[:3, :3].T + inv[:3, 3]          # ray origin in index space
    dd = inv[:3, :3] @ v.d                      # direction in index space
    lo, hi = -0.5, np.array(shape, float) - 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (lo - o) / dd
        t2 = (hi - o) / dd
    tmin = np.nanmax(np.minimum(t1, t2), axis=-1)
    tmax = np.nanmin(np.maximum(t1, t2), axis=-1)
    # t is distance along d from the pixel's plane point; sample planes at plane0 + k*step
    base = P @ v.d
    k0 = np.ceil((base + tmin - v.plane0) / v.step - 1e-9)
    k1 = np.floor((base + tmax - v.plane0) / v.step + 1e-9)
    n = np.where(tmax >= tmin, np.maximum(k1 - k0 + 1, 0), 0)
    return int(n.sum())
