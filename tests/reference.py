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


def _sample_planes(shape, affine, view_dir, up, cols, rows, step, fit, rays=None):
    """What both ray casters need: (pixel points P on the plane through the framing centre,
    view direction d, first plane's coordinate plane0, plane numbers k_lo..k_hi covering the
    framing sphere, the sphere's centre and radius). ``rays`` (centre, pixel size) replaces
    the framing of the pixels (a fused layer takes the input's rays)."""
    d, right, upp = basis(view_dir, up)
    corners = box_corners(shape, affine)
    center = box_center = corners.mean(axis=0)
    p = pixel_size(shape, affine, view_dir, up, cols, rows, fit)
    if rays is not None:
        center, p = np.asarray(rays[0], float), float(rays[1])
    r, c = np.mgrid[0:rows, 0:cols].astype(float)
    P = (center + ((c + 0.5 - cols / 2) * p)[..., None] * right
         + ((rows / 2 - r - 0.5) * p)[..., None] * upp)
    plane0 = (box_corners(shape, affine, full=False) @ d).min()
    radius = np.linalg.norm(corners - box_center, axis=1).max()
    k_lo = int(np.floor((box_center @ d - radius - plane0) / step)) - 1
    k_hi = int(np.ceil((box_center @ d + radius - plane0) / step)) + 1
    return P, d, plane0, k_lo, k_hi, box_center, radius


def _planes(shape, affine, P, d, plane0, k_lo, k_hi, step):
    """(view-axis coordinate, voxel index coordinates (rows, cols, 3), inside the full-voxel
    box) of every sample plane k_lo..k_hi that meets the box."""
    inv = np.linalg.inv(affine)
    n = np.array(shape)
    Pd = P @ d
    for k in range(k_lo, k_hi + 1):
        X = P + (plane0 + k * step - Pd)[..., None] * d
        idx = X @ inv[:3, :3].T + inv[:3, 3]
        inside = np.all((idx >= -0.5) & (idx <= n - 0.5), axis=-1)
        if inside.any():
            yield plane0 + k * step, idx, inside


def reference_samples(data, affine, view_dir, up, cols, rows, step, fit="sphere",
                      slope=1.0, inter=0.0, keep=None, keep_tolerance=1e-6):
    """The samples of every ray, front to back: a list of (values (rows, cols) with NaN where
    the sample is outside the box, view-axis coordinate of the plane), and the framing sphere's
    front (view-axis coordinate) and diameter. ``keep`` (a boolean array like ``data``): a
    sample counts only when every voxel its trilinear interpolation reads (non-zero weight) is
    kept (docs/projections.md, masks); a weight below ``keep_tolerance`` (float rounding of a
    position on a voxel centre) reads nothing."""
    affine = np.asarray(affine, float)
    P, d, plane0, k_lo, k_hi, center, radius = _sample_planes(
        data.shape, affine, view_dir, up, cols, rows, step, fit)
    out = []
    for plane, idx, inside in _planes(data.shape, affine, P, d, plane0, k_lo, k_hi, step):
        v = trilinear(data, idx) * slope + inter
        if keep is not None:
            inside &= trilinear(keep.astype(np.float64), idx) >= 1.0 - keep_tolerance
        out.append((np.where(inside, v, np.nan), plane))
    return out, center @ d - radius, 2 * radius


def reference_lmip(samples, threshold):
    """Local MIP: per ray the first local maximum of a sample above ``threshold`` (climbing
    from the first such sample while values rise, stopping at the first drop), else the ray's
    maximum; NaN samples are ignored. Returns (values, index of the chosen sample)."""
    shape = samples[0][0].shape
    best = np.full(shape, -np.inf)
    where = np.zeros(shape, int)
    climbing = np.zeros(shape, bool)
    stopped = np.zeros(shape, bool)
    for i, (v, _) in enumerate(samples):
        live = ~stopped
        with np.errstate(invalid="ignore"):
            up = live & (v > best)
            drop = live & climbing & (v < best)
        best = np.where(up, v, best)
        where = np.where(up, i, where)
        stopped |= drop
        with np.errstate(invalid="ignore"):
            climbing |= live & ~drop & (v > threshold)
    return np.where(np.isinf(best), np.nan, best), where


def reference_mida(samples, window, level, lut, opacity=(0.0, 1.0), gamma=1.0, mida_gamma=0.0,
                   background=(0.0, 0.0, 0.0)):
    """MIDA (Bruckner & Groeller 2009) as docs/projections.md writes it: RGB uint8."""
    lo = level - window / 2
    shape = samples[0][0].shape
    C = np.zeros(shape + (3,))
    A = np.zeros(shape)
    smax = np.zeros(shape)
    best = np.full(shape, -np.inf)
    lut = np.asarray(lut, float)

    def colour(s):
        return lut[np.floor(s ** gamma * 255 + 0.5).astype(int)]

    for v, _ in samples:
        ok = np.isfinite(v)
        s = np.clip((np.nan_to_num(v) - lo) / window, 0, 1)
        delta = np.maximum(s - smax, 0)
        beta = 1 - delta * (1 + min(mida_gamma, 0))
        alpha = opacity[0] + (opacity[1] - opacity[0]) * s
        gain = (1 - beta * A) * alpha
        C = np.where(ok[..., None], beta[..., None] * C + gain[..., None] * colour(s), C)
        A = np.where(ok, beta * A + gain, A)
        smax = np.where(ok, np.maximum(smax, s), smax)
        best = np.where(ok, np.fmax(best, v), best)
    if mida_gamma > 0:
        s = np.clip((best - lo) / window, 0, 1)
        alpha = opacity[0] + (opacity[1] - opacity[0]) * s
        C = (1 - mida_gamma) * C + mida_gamma * alpha[..., None] * colour(np.nan_to_num(s))
        A = (1 - mida_gamma) * A + mida_gamma * alpha
    hit = np.isfinite(best) & ~np.isinf(best)
    A = np.where(hit, A, 0)
    C = np.where(hit[..., None], C, 0)
    out = np.clip(C + (1 - A)[..., None] * np.asarray(background), 0, 1)
    return np.floor(out * 255 + 0.5).astype(np.uint8)


DEPTH_NEAR, DEPTH_MID, DEPTH_FAR = (1.0, 0.75, 0.25), (0.85, 0.25, 0.55), (0.2, 0.45, 1.0)


def reference_depthcolour(samples, window, level, front, length, background=(0, 0, 0)):
    """Depth colour: windowed MIP grey level q (8 bits) times the hue of the depth of the
    first sample holding the ray's maximum (0 at the framing sphere's front, 1 one
    ``length`` behind): near -> mid -> far, linear in two halves. RGB uint8."""
    shape = samples[0][0].shape
    best = np.full(shape, -np.inf)
    along = np.zeros(shape)
    for v, a in samples:
        with np.errstate(invalid="ignore"):
            up = v > best
        best = np.where(up, v, best)
        along = np.where(up, a, along)
    q = window_grey(np.where(np.isinf(best), np.nan, best), window, level) / 255.0
    t = np.clip((along - front) / length, 0, 1)[..., None]
    near, mid, far = (np.array(x) for x in (DEPTH_NEAR, DEPTH_MID, DEPTH_FAR))
    hue = np.where(t < 0.5, near + (mid - near) * t * 2, mid + (far - mid) * (t * 2 - 1))
    rgb = q[..., None] * hue
    rgb = np.where(np.isinf(best)[..., None], np.asarray(background, float), rgb)
    return np.floor(rgb * 255 + 0.5).astype(np.uint8)


def reference_projection(data, affine, view_dir, up, cols, rows, step, fit="sphere",
                         slope=1.0, inter=0.0, mode="mip", rays=None):
    """Projected real values (rows, cols), NaN where the ray meets no sample (orthographic).
    ``rays`` (centre, pixel size): the rays of another volume's frame (a fused layer: the
    input's rays, this volume's sample planes)."""
    affine = np.asarray(affine, float)
    P, d, plane0, k_lo, k_hi, box_center, radius = _sample_planes(
        data.shape, affine, view_dir, up, cols, rows, step, fit, rays)
    best = np.full((rows, cols), np.nan)
    total = np.zeros((rows, cols))
    count = np.zeros((rows, cols))
    for _, idx, inside in _planes(data.shape, affine, P, d, plane0, k_lo, k_hi, step):
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


def reference_composite(base, layers, how):
    """docs/projections.md, fusion: uint8 pictures combined in order (base RGB, layers RGB,
    black where their rays miss): max, add (clipped) or over (premultiplied, opacity = the
    layer's brightest channel / 255)."""
    out = base.astype(np.float64)
    for layer in layers:
        layer = layer.astype(np.float64)
        if how == "max":
            out = np.maximum(out, layer)
        elif how == "add":
            out = np.minimum(out + layer, 255)
        else:
            a = layer.max(axis=2, keepdims=True) / 255
            out = np.minimum(np.floor(layer + (1 - a) * out + 0.5), 255)
    return out.astype(np.uint8)
