"""Deterministic benchmark volumes, made with numpy from a fixed seed and cached as .npy.

``vessels``  256^3 uint8: bright tubes (vessels) through low noise, 1 mm isotropic.
``cta``      512x512x300 int16: HU-like CT (air -1000, tissue ~40, contrast vessel tree
             ~300-550, bone-like blobs up to ~1500), 0.7 x 0.7 x 1.0 mm.
``aorta``    the real CTA bundled as samples/aorta.mha, read with glmip.load.
``tof``      256^3 uint8 TOF-MRA-like: a grey head (an ellipsoid, ~70) with Gaussian noise
             (sigma 6) over the whole range and thin bright vessels: little for skipping to skip,
             so it measures what the skipping machinery costs when it cannot pay.
``cube<N>``  N^3 uint8 vessels-in-noise for the scale table (N = 64 ... 1024).
``u16-<N>``  N^3 uint16 vessels-in-noise (values x 16), for the GPU benchmark (bench/gpu.py).

Those cases render in the full data range. ``READ_CASES`` adds cases on the same arrays in the
window a reader uses for angiograms (``vessels-read``, ``cta-read``, ``aorta-read``).

Workers load the cached array with ``np.load`` (a full read, as a file reader would), so
volume generation never counts in a peer's time or memory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
AORTA = ROOT / "samples" / "aorta.mha"
# Bump when a generator changes: cached arrays and references go stale.
GENERATOR_VERSION = 1
CACHE = Path(os.environ.get("GLMIP_BENCH_CACHE", "/tmp/glmip-bench-cache")) / f"v{GENERATOR_VERSION}"

LABELS = {
    "vessels": "256³ uint8 vessels-in-noise",
    "cta": "512×512×300 int16 CTA-like",
    "aorta": "aorta.mha (real CTA)",
    "tof": "256³ uint8 TOF-MRA-like (grey head, noise σ 6, thin vessels)",
    "vessels-read": "256³ uint8 vessels-in-noise, window 40..255 (noise below it)",
    "cta-read": "512×512×300 int16 CTA-like, CTA window W 700 / L 200 (-150..550)",
    "aorta-read": "aorta.mha (real CTA), CTA window W 700 / L 200 (-150..550)",
}

# case -> (volume whose cached array it renders, window (lo, hi) in real units mapped to grey
# 0..255). Every other case is its own volume in the full data range (window None).
READ_CASES = {
    "vessels-read": ("vessels", (40.0, 255.0)),
    "cta-read": ("cta", (-150.0, 550.0)),
    "aorta-read": ("aorta", (-150.0, 550.0)),
}


def case(name: str) -> tuple[str, tuple[float, float] | None]:
    """(volume, window) of a benchmark case; window None = full data range."""
    return READ_CASES.get(name, (name, None))


def _curve(rng, n_points, shape, start=None, direction=None, stiffness=0.9):
    """A smooth random walk inside ``shape`` (index space), as (n, 3) float points."""
    shape = np.asarray(shape, float)
    p = rng.uniform(0.15, 0.85, 3) * shape if start is None else np.asarray(start, float)
    d = rng.normal(size=3) if direction is None else np.asarray(direction, float)
    d /= np.linalg.norm(d)
    pts = []
    for _ in range(n_points):
        d = stiffness * d + (1 - stiffness) * rng.normal(size=3)
        d /= np.linalg.norm(d)
        p = p + d
        if np.any(p < 2) or np.any(p > shape - 3):  # bounce off the walls
            d = np.where((p < 2) | (p > shape - 3), -d, d)
            p = np.clip(p, 2, shape - 3)
        pts.append(p.copy())
    return np.array(pts)


def _stamp_tube(vol, pts, radius, value, soft=True):
    """Max-stamp a tube of ``radius`` voxels along ``pts`` (Gaussian-ish profile if soft)."""
    r = int(np.ceil(radius)) + 1
    g = np.arange(-r, r + 1)
    dx, dy, dz = np.meshgrid(g, g, g, indexing="ij")
    dist = np.sqrt(dx * dx + dy * dy + dz * dz)
    if soft:
        ball = value * np.clip(1.2 - (dist / radius) ** 2 * 0.6, 0, 1)
        ball[dist > radius] = 0
    else:
        ball = np.where(dist <= radius, value, 0.0)
    ball = ball.astype(vol.dtype)
    n = np.array(vol.shape)
    for p in pts[:: max(1, int(radius / 2))]:
        c = np.round(p).astype(int)
        lo, hi = c - r, c + r + 1
        vlo, vhi = np.maximum(lo, 0), np.minimum(hi, n)
        if np.any(vhi <= vlo):
            continue
        blo, bhi = vlo - lo, vhi - lo
        sl = tuple(slice(a, b) for a, b in zip(vlo, vhi))
        bs = tuple(slice(a, b) for a, b in zip(blo, bhi))
        np.maximum(vol[sl], ball[bs], out=vol[sl])


def make_vessels(n: int = 256, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """n^3 uint8 vessels in low noise (values 0..~40 noise, tubes up to 255), 1 mm voxels."""
    rng = np.random.default_rng(seed)
    vol = rng.integers(0, 40, size=(n, n, n), dtype=np.uint8)
    scale = n / 256
    for _ in range(24):
        pts = _curve(rng, int(400 * scale), vol.shape, stiffness=0.93)
        radius = max(1.0, rng.uniform(1.2, 4.0) * scale ** 0.5)
        _stamp_tube(vol, pts, radius, rng.uniform(150, 255))
    return vol, np.eye(4)


def make_tof(n: int = 256, seed: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """n^3 uint8: a grey head ellipsoid (~70) in noise (sigma 6, everywhere) with thin vessels
    (radius ~1-2 voxels, 110..200): the noise reaches every cell, so few cells can be skipped."""
    rng = np.random.default_rng(seed)
    i, j, k = np.ogrid[0:n, 0:n, 0:n]
    c = (n - 1) / 2
    head = ((i - c) / (0.42 * n)) ** 2 + ((j - c) / (0.47 * n)) ** 2 + ((k - c) / (0.4 * n)) ** 2
    vol = np.where(head <= 1.0, 70.0, 12.0).astype(np.float32)
    vol += rng.normal(0.0, 6.0, size=vol.shape).astype(np.float32)
    out = np.clip(vol, 0, 255).astype(np.uint8)
    scale = n / 256
    for _ in range(30):
        pts = _curve(rng, int(350 * scale), out.shape, stiffness=0.94)
        _stamp_tube(out, pts, max(0.8, rng.uniform(0.8, 2.0) * scale ** 0.5),
                    rng.uniform(110, 200))
    return out, np.eye(4)


def make_cta(shape=(512, 512, 300), seed=7) -> tuple[np.ndarray, np.ndarray]:
    """HU-like int16 CT: body ellipse, noisy tissue, bone blobs, a contrast vessel tree."""
    rng = np.random.default_rng(seed)
    nx, ny, nz = shape
    vol = np.full(shape, -1000, np.int16)
    x = (np.arange(nx) - nx / 2)[:, None] / (0.42 * nx)
    y = (np.arange(ny) - ny / 2)[None, :] / (0.33 * ny)
    body = (x * x + y * y) <= 1.0
    for k in range(nz):
        sl = vol[:, :, k]
        noise = rng.integers(-25, 26, size=(nx, ny), dtype=np.int16)
        sl[body] = 40 + noise[body]
        sl[~body] += (noise[~body] // 5)
    # spine: a column of bone blobs behind the centre, plus ribs/pelvis-like blobs
    for k in range(8, nz, 22):
        c = (nx // 2, int(ny * 0.72), k)
        _stamp_tube(vol, np.array([c]), 16, 1100 + rng.integers(0, 350), soft=False)
    for _ in range(30):
        c = np.array([rng.uniform(0.15, 0.85) * nx, rng.uniform(0.25, 0.8) * ny,
                      rng.uniform(0, nz)])
        _stamp_tube(vol, np.array([c]), rng.uniform(5, 14), 700 + rng.integers(0, 800), soft=False)
    # aorta down the middle, branches off it
    aorta = np.array([[nx / 2 + 10 * np.sin(k / 40), ny * 0.55, k] for k in range(nz)], float)
    _stamp_tube(vol, aorta, 13, 450, soft=False)
    for _ in range(28):
        start = aorta[rng.integers(10, nz - 10)]
        d = np.array([rng.choice([-1, 1]) * rng.uniform(0.5, 1), rng.uniform(-0.6, 0.3),
                      rng.uniform(-0.5, 0.5)])
        pts = _curve(rng, int(rng.uniform(80, 220)), shape, start=start, direction=d,
                     stiffness=0.95)
        _stamp_tube(vol, pts, rng.uniform(2, 6), 300 + rng.integers(0, 250), soft=False)
    affine = np.diag([0.7, 0.7, 1.0, 1.0])
    return vol, affine


def make(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "vessels":
        return make_vessels(256)
    if name == "cta":
        return make_cta()
    if name == "aorta":
        import glmip

        v = glmip.load(str(AORTA))
        data = v.data if (v.slope, v.inter) == (1.0, 0.0) else v.real(v.data).astype(np.float32)
        return np.ascontiguousarray(data), v.affine
    if name == "tof":
        return make_tof()
    if name.startswith("cube"):
        return make_vessels(int(name[4:]))
    if name.startswith("u16-"):
        data, affine = make_vessels(int(name[4:]))
        return data.astype(np.uint16) * np.uint16(16), affine
    raise KeyError(name)


def available(name: str) -> bool:
    """Whether a volume or case can run (the aorta only when its file is there)."""
    return case(name)[0] != "aorta" or AORTA.is_file()


def path(name: str) -> Path:
    """Cached .npy of the volume (made on first use); the affine sits beside it as JSON."""
    CACHE.mkdir(parents=True, exist_ok=True)
    p = CACHE / f"{name}.npy"
    if not p.is_file():
        data, affine = make(name)
        tmp = p.with_suffix(".tmp.npy")
        np.save(tmp, data)
        (CACHE / f"{name}.json").write_text(json.dumps(np.asarray(affine).tolist()))
        os.replace(tmp, p)
    return p


def load(name: str, mmap: bool = False) -> tuple[np.ndarray, np.ndarray]:
    p = path(name)
    data = np.load(p, mmap_mode="r" if mmap else None)
    affine = np.array(json.loads((CACHE / f"{name}.json").read_text()))
    return data, affine
