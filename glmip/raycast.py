"""Planning a projection, without GL: everything ``MipRenderer`` computes before it draws.

Cell statistics for skipping, the split of a volume into bricks, the outline of the sampled box
on screen, the choice of speed-ups, and the uniforms and ``#define`` switches the projection
shader receives, all as numpy and plain dictionaries. Geometry follows docs/conventions.md
("Samples along a ray", and "glmip's choices" for crop, slab, depth cue and skipping). This
module stays free of GL: it must not load moderngl, directly or through another glmip module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from .camera import Frame
from .settings import (MODES, RenderSettings, resolve_depth_length, resolve_sample_distance,
                       resolve_window)
from .lazy import slab_boxes
from .volume import Volume, VolumeError

__all__ = [
    "composite_layers",
    "MODE_IDS", "COLOUR_MODES", "MODE_SPEEDUPS", "STATE_MODES", "SPLIT_MODES", "BrickPlan",
    "Projection", "accumulate", "auto_cell_size", "box_corners", "brick_uniforms",
    "brick_volume", "cell_statistics", "convex_hull", "crop_box", "display_uniforms",
    "footprint", "outline_rect", "brick_rect", "union_rect", "pass_order", "plan_bricks", "plan_passes",
    "plan_volume", "projection_uniforms", "HINT_UNIT", "takes_hint", "hint_pays", "hint_uniforms",
    "shader_switches", "speedups", "texture_order", "tiles", "mask_in_grid", "labels_at",
    "CellStatistics", "Slab", "VolumePlan", "read_slabs", "slab_part",
    "PALETTE", "read_label_table", "label_colours", "overlay_labels", "window_range",
]

MODE_IDS = {m: i for i, m in enumerate(MODES)}  # the shader's u_mode / GLMIP_MODE
# Modes whose pictures are colours made in the projection pass (premultiplied colour and
# opacity, laid over the background by the display pass).
COLOUR_MODES = ("mida", "depthcolour")
# Which speed-ups each mode can use exactly (docs/projections.md): (skipping, early exit).
# mean, mida and lmip read every sample up to the end of the ray (mida accumulates them all;
# lmip's answer depends on consecutive samples, and its climb's end is its own early exit);
# depthcolour needs the maximum's position, which raw-value skipping keeps and the window's
# early exit (a later sample of the same grey level lies elsewhere) does not.
MODE_SPEEDUPS = {"mip": (True, True), "minip": (True, True), "mean": (False, False),
                 "depth": (True, True), "mida": (False, False), "lmip": (False, False),
                 "depthcolour": (True, False)}
# Every mode renders a bricked volume. Besides the MIP's (value, distance, hit, samples), the
# passes of these modes carry a second RGBA32F state target (a second colour attachment):
# mida's pictures (colour, opacity, running maximum) and lmip (the climb); docs/projections.md,
# "Bricked volumes".
STATE_MODES = ("mida", "lmip")
# Modes whose exact projections of slabs combine into the whole one (largest or smallest
# value, nearest first on ties; a mean from the slabs' means and counts): a projection split
# over workers (glmip/distributed.py). mida composites colours and lmip's answer depends on the
# order of the samples along the whole ray; depthcolour's picture is made in the pass.
SPLIT_MODES = ("mip", "minip", "mean", "depth")
BIG = 1e30  # "no limit" for the slab range


@dataclass
class Projection:
    """Quantitative result of a projection, rows top-first.

    value: projected real value (NaN where the ray met no finite sample); distance: mm along
    each pixel's ray (from its origin in ``frame.pixel_rays()``) to the maximum (MIP/depth) or
    minimum (MinIP); samples: number of samples each ray took.
    """

    value: np.ndarray
    distance: np.ndarray
    samples: np.ndarray
    frame: Frame

    def rgba(self) -> np.ndarray:
        """Back to the projection pass's (rows, cols, 4) layout: value, distance, hit, samples."""
        hit = np.isfinite(self.value)
        return np.stack([np.where(hit, self.value, 0.0), self.distance, hit.astype(np.float32),
                         self.samples.astype(np.float32)], axis=-1).astype(np.float32)

    @classmethod
    def from_rgba(cls, rgba: np.ndarray, frame: Frame) -> "Projection":
        """From the projection pass's (rows, cols, 4) output: value, distance, hit, samples."""
        value = rgba[..., 0].copy()
        value[rgba[..., 2] < 0.5] = np.nan
        return cls(value, rgba[..., 1].copy(), rgba[..., 3].astype(np.int64), frame)

    @property
    def hit(self) -> np.ndarray:
        return np.isfinite(self.value)

    def positions(self) -> np.ndarray:
        """World position (rows, cols, 3) of each ray's maximum; NaN where it missed."""
        origin, direction = self.frame.pixel_rays()
        pos = origin + self.distance[..., None] * direction
        pos[~self.hit] = np.nan
        return pos


# --- cells --------------------------------------------------------------------------------
def _window_reduce(a: np.ndarray, f: np.ufunc, cell: int, axis: int) -> np.ndarray:
    """``f`` over the voxels ``c*cell - 1 .. (c+1)*cell + 1`` of every cell ``c`` along ``axis``
    (clamped to the array): the cell, the voxel before it and the two after it."""
    n = a.shape[axis]
    starts = np.arange(0, n, cell)
    out = f.reduceat(a, starts, axis=axis)
    for offset in (-1, cell, cell + 1):
        idx = starts + offset
        ok = np.nonzero((idx >= 0) & (idx < n))[0]
        where = [slice(None)] * a.ndim
        where[axis] = ok
        out[tuple(where)] = f(out[tuple(where)], np.take(a, idx[ok], axis=axis))
    return out


def auto_cell_size(shape: tuple[int, ...]) -> int:
    """Cell edge in voxels: a power of two giving about 32 cells on the longest axis, 4..32.
    Smaller cells skip more samples, but every cell a ray crosses costs a test."""
    return int(2 ** np.clip(np.round(np.log2(max(shape) / 32.0)), 2, 5))


class CellStatistics:
    """Cell statistics (:func:`cell_statistics`) of a volume of ``shape``, gathered from its
    voxels handed over in any order, block by block (:meth:`add`: every i, any range of j
    and k, each voxel once). Along k a cell needs its planes and three more (the one before,
    the two after): a layer of cells is finished, and its partial maxima and minima (a plane
    each) dropped, as soon as all its planes are in. Max and min do not depend on the order,
    so the result equals :func:`cell_statistics` to the bit."""

    def __init__(self, shape: Sequence[int], dtype: np.dtype, cell: int) -> None:
        self.shape = tuple(int(n) for n in shape)
        self.cell = int(cell)
        self.dtype = np.dtype(dtype)
        nb = [-(-n // self.cell) for n in self.shape]
        self._hi = np.empty(nb, np.float64)
        self._lo = np.empty(nb, np.float64)
        self._floating = self.dtype.kind == "f"
        self._f = (np.fmax, np.fmin) if self._floating else (np.maximum, np.minimum)
        if self._floating:  # NaN: fmax / fmin take the other side
            self._identity: tuple = (np.nan, np.nan)
        elif self.dtype.kind == "b":
            self._identity = (False, True)
        else:
            info = np.iinfo(self.dtype)
            self._identity = (info.min, info.max)
        self._open: dict[int, list] = {}  # layer -> [max plane, min plane, (j, k) lines in]
        self._left = nb[2]

    def _window(self, bz: int) -> tuple[int, int]:
        """Planes [k0, k1) the layer of cells ``bz`` reads."""
        return max(bz * self.cell - 1, 0), min((bz + 1) * self.cell + 2, self.shape[2])

    def add(self, j0: int, k0: int, block: np.ndarray) -> None:
        """Voxels [:, j0:j0+nj, k0:k0+nk] = ``block`` (all of i)."""
        nx, nj, nk = block.shape
        if nx != self.shape[0]:
            raise ValueError("a block of cell statistics spans every i")
        cell, k1 = self.cell, k0 + nk
        first = max(0, (k0 - cell - 2) // cell + 1)
        last = min(self._hi.shape[2] - 1, -(-(k1 + 1) // cell) - 1)
        for bz in range(first, last + 1):
            w0, w1 = self._window(bz)
            lo, hi = max(w0, k0), min(w1, k1)
            if lo >= hi:
                continue
            layer = self._open.get(bz)
            if layer is None:
                layer = self._open[bz] = [
                    np.full(self.shape[:2], self._identity[0], self.dtype),
                    np.full(self.shape[:2], self._identity[1], self.dtype), 0]
            part = block[:, :, lo - k0 : hi - k0]
            for plane, f in zip(layer[:2], self._f):
                view = plane[:, j0 : j0 + nj]
                f(view, f.reduce(part, axis=2), out=view)
            layer[2] += nj * (hi - lo)
            if layer[2] == self.shape[1] * (w1 - w0):
                for out, plane, f in zip((self._hi, self._lo), layer[:2], self._f):
                    out[:, :, bz] = _window_reduce(_window_reduce(plane, f, cell, 0), f, cell, 1)
                del self._open[bz]
                self._left -= 1

    @property
    def complete(self) -> bool:
        return self._left == 0

    def result(self, slope: float = 1.0, inter: float = 0.0) -> np.ndarray:
        """(nx, ny, nz, 2) float32 (max, min) real values (``stored * slope + inter``)."""
        if not self.complete:
            raise ValueError("cell statistics asked for before every voxel was added")
        hi, lo = self._hi.copy(), self._lo.copy()
        if self._floating:
            empty = np.isnan(hi)
            hi[empty], lo[empty] = -np.inf, np.inf
        hi, lo = hi * slope + inter, lo * slope + inter
        if slope < 0:
            hi, lo = lo, hi
        return np.stack([hi, lo], axis=-1).astype(np.float32)


def cell_statistics(volume: Volume, cell: int,
                    progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Per-cell (max, min) real value, shape (nx, ny, nz, 2) float32.

    Cell ``c`` holds the samples whose index coordinate lies in ``c*cell .. (c+1)*cell`` on
    every axis. A trilinear sample there reads voxels ``c*cell .. (c+1)*cell``; the statistics
    also take the voxel before and the one after that, so a sample that float rounding puts a
    hair outside its cell is still covered. All-NaN cells get (-inf, +inf): nothing to find
    there. Works slab by slab (``cell`` planes, :class:`CellStatistics`) so it never makes a
    full-size temporary; ``progress(k)``, if given, hears after each slab how many of the k
    planes are done (an exception it raises stops the work there).
    """
    data = volume.data
    nz = int(data.shape[2])
    stats = CellStatistics(data.shape, data.dtype, cell)
    for k0 in range(0, nz, cell):
        stats.add(0, k0, np.asarray(data[:, :, k0 : k0 + cell]))
        if progress is not None:
            progress(min(k0 + cell, nz))
    return stats.result(volume.slope, volume.inter)


def window_range(volume: Volume, settings: RenderSettings) -> tuple[float, float]:
    """(lowest, highest) real value of the resolved window."""
    window, level = resolve_window(volume, settings)
    return level - window / 2, level + window / 2


def _window_shares(stats: Sequence[np.ndarray], window: tuple[float, float], mode: str
                   ) -> tuple[float, float]:
    """(dark, bright): the shares of cells whose top (maximum; for MinIP the minimum,
    mirrored) stays within the window's darkest tenth, and reaches its top."""
    lo, hi = window
    width = hi - lo
    if mode == "minip":
        lo, hi = -hi, -lo
        tops = [-s[..., 1] for s in stats]
    else:
        tops = [s[..., 0] for s in stats]
    total = sum(t.size for t in tops)
    dark = sum(int(np.count_nonzero(t <= lo + width * 0.1)) for t in tops) / total
    bright = sum(int(np.count_nonzero(t >= hi)) for t in tops) / total
    return dark, bright


def speedups(stats: Sequence[np.ndarray], window: tuple[float, float], mode: str,
             skip_empty: bool | None = None, early_exit: bool | None = None) -> tuple[bool, bool]:
    """(skip_empty, early_exit): the caller's explicit choices, else where they pay.

    ``stats`` are the bricks' cell statistics (see :func:`cell_statistics`), ``window`` the
    resolved (lowest, highest) real value. Skipping costs a test per cell a ray crosses, so it
    is chosen only when at least a quarter of the cells stay within the window's darkest tenth
    (air around a CT body, noise below a reading window): there most cells are passed over,
    while in visible noise few would be. The early exit is one comparison per sample: it is on
    whenever a cell reaches the window's top. Neither changes the picture.
    """
    if skip_empty is not None and early_exit is not None:
        return skip_empty, early_exit
    dark, bright = _window_shares(stats, window, mode)
    return (dark >= 0.25 if skip_empty is None else skip_empty,
            bright > 0 if early_exit is None else early_exit)


def hint_pays(stats: Sequence[np.ndarray], window: tuple[float, float], mode: str,
              speedup: tuple[bool, bool]) -> bool:
    """Whether a MIP picture takes the previous frame's hint (shaders/mip.glsl) with these
    speed-ups: a first sample at the previous maximum ends a ray that reaches the window's
    top (early exit) and lets it pass cells over (skipping). It costs a fetch or two a ray,
    so it is taken with the early exit, when skipping is on too or a tenth of the cells
    reach the window's top (measured: bench/ab.py, docs/performance.md)."""
    skip_empty, early_exit = speedup
    return early_exit and (skip_empty or _window_shares(stats, window, mode)[1] >= 0.1)


# --- bricks and boxes ---------------------------------------------------------------------
def texture_order(volume: Volume) -> tuple[Volume, tuple[int, int, int]]:
    """(the volume as it goes up, axes): texture axis ``a`` holds volume axis ``axes[a]``.

    A texture's x varies fastest in memory. A C-ordered array (numpy's default: k fastest)
    goes up as the same volume with its axes reversed, which is a view, not a transposed copy;
    geometry is unchanged because the affine is permuted with it.
    """
    flags = getattr(volume.data, "flags", None)  # None: read lazily, slab by slab
    if flags is not None and flags.c_contiguous and not flags.f_contiguous:
        return (Volume(volume.data.transpose(2, 1, 0), volume.affine[:, [2, 1, 0, 3]],
                       volume.slope, volume.inter, volume.name), (2, 1, 0))
    return volume, (0, 1, 2)


def _power_of_two(x: int) -> int:
    return 1 << (int(x) - 1).bit_length()


def plan_bricks(shape: tuple[int, int, int], itemsize: int, max_axis: int, max_bytes: int
                ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[int, ...]]]:
    """Split a volume into bricks that fit the texture limits.

    Returns (start, stop, own_lo, own_hi, texture_shape) per brick: the voxels [start, stop)
    to upload (overlap included), the index-coordinate box the brick samples, and the size of
    its texture. On a split axis every brick's texture is a power of two (the last one padded):
    dividing by it is exact, so a brick samples at exactly the coordinates the whole volume's
    texture would (``sample_tc`` in shaders/lib/ray.glsl) and the picture is the same to the bit.
    """
    n = np.array(shape)
    pieces = np.ones(3, dtype=np.int64)
    largest = 1 << (int(max_axis).bit_length() - 1)  # the largest power of two allowed

    def dims(p: np.ndarray) -> np.ndarray:  # texture sizes: the whole axis, or a piece + overlap
        return np.array([n[a] if p[a] == 1 else _power_of_two(-(-n[a] // p[a]) + 2)
                         for a in range(3)])

    while True:
        d = dims(pieces)
        over = np.where(pieces > 1, d > largest, d > max_axis)
        if over.any():
            pieces[int(np.argmax(np.where(over, d, -1)))] += 1
        elif int(np.prod(d)) * itemsize > max_bytes:
            pieces[int(np.argmax(d))] += 1
        else:
            break
        if (pieces > n).any() or (dims(pieces) < 3).any():
            raise VolumeError(f"cannot split {tuple(shape)} into bricks within the texture limits")
    size = dims(pieces)
    cuts = [np.append(np.arange(0, n[a], size[a] - 2 if pieces[a] > 1 else n[a]), n[a])
            for a in range(3)]
    bricks = []
    for bx in range(len(cuts[0]) - 1):
        for by in range(len(cuts[1]) - 1):
            for bz in range(len(cuts[2]) - 1):
                idx = (bx, by, bz)
                lo = np.array([cuts[a][idx[a]] for a in range(3)])
                hi = np.array([cuts[a][idx[a] + 1] for a in range(3)])
                start = np.maximum(lo - 1, 0)
                stop = np.minimum(hi + 1, n)
                own_lo = lo - 0.5
                # Between bricks the upper face is open (the shader's u_open_hi): a sample on a
                # shared face belongs to the next brick.
                own_hi = hi - 0.5
                texture = [_power_of_two(stop[a] - start[a]) if pieces[a] > 1 else n[a]
                           for a in range(3)]
                bricks.append((start, stop, own_lo.astype(float), own_hi.astype(float),
                               tuple(int(v) for v in texture)))
    return bricks


@dataclass
class BrickPlan:
    """One 3-D texture's share of the volume, as plain data.

    ``volume`` holds the brick's voxels plus a one-voxel overlap on inner faces (so trilinear
    samples near a face see both sides) and an affine for exactly those voxels; ``start`` is its
    first voxel's index in the uploaded volume. The brick samples only the index-coordinate box
    ``own_lo .. own_hi`` (global voxel units, centres at integers), so every sample of a ray
    belongs to one brick. ``texture_shape``: its texture's size, at least the voxels' (None: the
    same; larger on split axes, :func:`plan_bricks`). ``stats``: its cells' (max, min)
    (:func:`cell_statistics`).
    """

    volume: Volume
    start: np.ndarray
    own_lo: np.ndarray
    own_hi: np.ndarray
    texture_shape: tuple[int, ...] | None = None
    stats: np.ndarray | None = None

    @property
    def texture_size(self) -> tuple[int, ...]:
        return tuple(self.texture_shape or self.volume.shape)


def brick_volume(gpu: Volume, start: np.ndarray, stop: np.ndarray) -> Volume:
    """The voxels [start, stop) of the uploaded volume, with the affine of exactly those."""
    sub = gpu.data[start[0] : stop[0], start[1] : stop[1], start[2] : stop[2]]
    shift = np.eye(4)
    shift[:3, 3] = start
    return Volume(sub, gpu.affine @ shift, gpu.slope, gpu.inter, gpu.name)


def plan_volume(volume: Volume, cell_size: int | None, max_axis: int, max_bytes: int
                ) -> tuple[Volume, tuple[int, int, int], int, list[BrickPlan]]:
    """(the volume as it goes up, its axes, cell edge, bricks) for textures of at most
    ``max_axis`` voxels an axis and ``max_bytes``; ``cell_size`` None chooses one
    (:func:`auto_cell_size`). No voxel is read: the bricks' cell statistics are computed as
    the voxels are (:func:`read_slabs`, or a streamed brick when it is read to be drawn)."""
    gpu, axes = texture_order(volume)
    cell = int(cell_size or auto_cell_size(gpu.shape))
    bricks = []
    plan = plan_bricks(gpu.shape, gpu.data.itemsize, max_axis, max_bytes)
    for start, stop, own_lo, own_hi, texture_shape in plan:
        bricks.append(BrickPlan(brick_volume(gpu, start, stop), start, own_lo, own_hi,
                                texture_shape if len(plan) > 1 else None))
    return gpu, axes, cell, bricks


@dataclass
class VolumePlan:
    """A volume planned for the GPU without GL (``MipRenderer.plan_upload``): what
    ``MipRenderer.upload`` computes first, the voxels not read yet.

    ``volume`` is the volume as given (a lazily read one stays lazy); ``gpu``, ``axes``,
    ``cell_size`` and ``bricks`` are :func:`plan_volume`'s, without statistics: for a volume
    held whole :func:`read_slabs` computes them as it reads the voxels, a streamed one's are
    computed when its bricks are read to be drawn. ``limits`` are the (cell size asked for,
    texture edge, texture bytes) it was planned for."""

    volume: Volume
    gpu: Volume
    axes: tuple[int, int, int]
    cell_size: int
    bricks: list[BrickPlan]
    limits: tuple[int | None, int, int]
    streaming: bool = False


@dataclass
class Slab:
    """Voxels of a planned volume read together: ``data`` is the voxels from ``start`` on, in
    the uploaded volume's (texture) axes; every i, whole source chunks along j and k."""

    start: tuple[int, int, int]
    data: np.ndarray


def read_slabs(plan: VolumePlan, block_bytes: int | None = None) -> Iterator[Slab]:
    """The voxels of ``plan``'s volume, read once, a slab of about ``block_bytes`` at a time
    (:func:`glmip.lazy.slab_boxes`; a volume in memory: views, nothing copied). Each slab's share
    of every brick's cell statistics is computed before it is handed over; once the last slab
    is, each brick of the plan has its ``stats``. No GL: a worker thread reads while another
    uploads (``MipRenderer.write_slab``); the caller keeps a slab as long as it needs it."""
    if plan.streaming:
        raise VolumeError("a streamed volume is read brick by brick when drawn")
    data = plan.gpu.data
    accumulators = [CellStatistics(b.volume.shape, data.dtype, plan.cell_size)
                    for b in plan.bricks]
    for j0, j1, k0, k1 in slab_boxes(data, block_bytes):
        block = np.asarray(data[:, j0:j1, k0:k1])
        for brick, stats in zip(plan.bricks, accumulators):
            part = slab_part(block, (0, j0, k0), brick)
            if part is not None:
                stats.add(int(part[0][1]), int(part[0][2]), part[1])
        yield Slab((0, j0, k0), block)
        del block, part  # the caller may have dropped the slab: hold nothing while reading on
    for brick, stats in zip(plan.bricks, accumulators):
        brick.stats = stats.result(plan.gpu.slope, plan.gpu.inter)


def slab_part(block: np.ndarray, start: Sequence[int], brick: BrickPlan
              ) -> tuple[tuple[int, int, int], np.ndarray] | None:
    """(where in the brick, voxels) of the part of ``block`` (the voxels from ``start`` on)
    that brick ``brick`` holds, overlap included; None if none."""
    lo = np.maximum(np.asarray(start), brick.start)
    hi = np.minimum(np.asarray(start) + block.shape, brick.start + np.array(brick.volume.shape))
    if (hi <= lo).any():
        return None
    a, b = lo - np.asarray(start), hi - np.asarray(start)
    at = tuple(int(v) for v in lo - brick.start)
    return at, block[a[0]:b[0], a[1]:b[1], a[2]:b[2]]  # type: ignore[return-value]


def crop_box(crop: Sequence[int] | None, axes: Sequence[int]
             ) -> tuple[np.ndarray, np.ndarray] | None:
    """The crop (I0 I1 J0 J1 K0 K1 of the user's volume) as an index-coordinate box
    (lo, hi) of the uploaded volume: the full-voxel box of the kept voxels; None without one."""
    if crop is None:
        return None
    c = np.array(crop, dtype=np.float64).reshape(3, 2)[list(axes)]
    return c[:, 0] - 0.5, c[:, 1] + 0.5


def box_corners(gpu: Volume, axes: Sequence[int], crop: Sequence[int] | None) -> np.ndarray:
    """World corners (8, 3) of the box rays sample (the crop's), one voxel larger."""
    lo = np.full(3, -0.5)
    hi = np.array(gpu.shape, dtype=np.float64) - 0.5
    box = crop_box(crop, axes)
    if box is not None:
        lo, hi = np.maximum(lo, box[0]), np.minimum(hi, box[1])
    lo, hi = lo - 1.0, hi + 1.0
    idx = np.array([[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                    for z in (lo[2], hi[2])])
    return (idx @ gpu.affine.T)[:, :3]


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Convex hull of 2-D points, counter-clockwise (Andrew's monotone chain)."""
    pts = sorted(set(map(tuple, np.round(points, 6))))
    if len(pts) < 3:
        return np.array(pts, dtype=np.float64)

    def half(seq: list) -> list:
        out: list = []
        for p in seq:
            while len(out) >= 2 and ((out[-1][0] - out[-2][0]) * (p[1] - out[-2][1])
                                     - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])) <= 0:
                out.pop()
            out.append(p)
        return out

    return np.array(half(pts)[:-1] + half(pts[::-1])[:-1], dtype=np.float64)


def footprint(frame: Frame, corners: np.ndarray, tile: tuple[int, int, int, int],
              margin: float = 2.0) -> np.ndarray | None:
    """Outline on screen of a box with world ``corners`` (8, 3), grown by ``margin`` pixels,
    in the tile's normalised device coordinates; None when it cannot be drawn as a polygon
    (a perspective eye at or inside the box's depth range)."""
    rc = frame.pixels_of(corners)
    if not np.isfinite(rc).all():
        return None
    x0, y0, w, h = tile
    # GL window coordinates of the tile: x from its left edge, y up from its bottom edge.
    fx = rc[:, 1] + 0.5 - x0
    fy = frame.rows - 0.5 - rc[:, 0] - y0
    grow = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64) * margin
    pts = (np.stack([fx, fy], axis=1)[:, None, :] + grow[None]).reshape(-1, 2)
    hull = convex_hull(pts)
    if len(hull) < 3 or len(hull) > 16:
        return None
    return hull / np.array([w, h]) * 2.0 - 1.0


def outline_rect(outline: np.ndarray, tile: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """(x, y, w, h) in the tile's pixels of the rectangle around an outline in the tile's
    normalised device coordinates (:func:`footprint`), clipped to the tile."""
    w, h = tile[2], tile[3]
    px = (outline + 1.0) / 2.0 * np.array([w, h])
    left, bottom = np.clip(np.floor(px.min(axis=0)), 0, [w, h]).astype(int)
    right, top = np.clip(np.ceil(px.max(axis=0)), 0, [w, h]).astype(int)
    return int(left), int(bottom), int(right - left), int(top - bottom)


def brick_rect(frame: Frame, gpu: Volume, brick: BrickPlan, tile: tuple[int, int, int, int],
               margin: int = 3) -> tuple[int, int, int, int] | None:
    """(x, y, w, h) in the tile's pixels of the rectangle around a brick's box (one voxel larger,
    grown by ``margin`` pixels), clipped to the tile: the only pixels whose rays can meet the
    brick's samples. None when it cannot be bounded (a perspective eye at the box's depth)."""
    lo, hi = brick.own_lo - 1.0, brick.own_hi + 1.0
    idx = np.array([[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                    for z in (lo[2], hi[2])])
    rc = frame.pixels_of((idx @ gpu.affine.T)[:, :3])
    if not np.isfinite(rc).all():
        return None
    x0, y0, w, h = tile
    fx = rc[:, 1] + 0.5 - x0
    fy = frame.rows - 0.5 - rc[:, 0] - y0
    left = int(np.clip(np.floor(fx.min()) - margin, 0, w))
    right = int(np.clip(np.ceil(fx.max()) + margin, 0, w))
    bottom = int(np.clip(np.floor(fy.min()) - margin, 0, h))
    top = int(np.clip(np.ceil(fy.max()) + margin, 0, h))
    return left, bottom, right - left, top - bottom


def union_rect(a: tuple[int, int, int, int] | None, b: tuple[int, int, int, int] | None
               ) -> tuple[int, int, int, int] | None:
    """The rectangle (x, y, w, h) around both; None (unbounded) when either is."""
    if a is None or b is None:
        return None
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return x0, y0, x1 - x0, y1 - y0


def tiles(cols: int, rows: int, size: int) -> list[tuple[int, int, int, int]]:
    """(x0, y0, w, h) tiles of at most ``size`` pixels a side covering an image, in GL pixel
    coordinates (y from the bottom)."""
    return [(x0, y0, min(size, cols - x0), min(size, rows - y0))
            for y0 in range(0, rows, size) for x0 in range(0, cols, size)]


# --- what the shader receives -------------------------------------------------------------
def projection_uniforms(volume: Volume, frame: Frame, settings: RenderSettings,
                        tile: tuple[int, int, int, int], *, value_scale: float,
                        value_offset: float, cell_size: int, speedup: tuple[bool, bool],
                        exact_values: bool, seed: int, masked: bool = False) -> dict:
    """Uniforms that are the same for every brick (whole-volume geometry and settings) of one
    tile (x0, y0, w, h) of the image.

    ``value_scale``/``value_offset`` turn a texel into a real value; ``speedup`` is
    (skip_empty, early_exit) as :func:`speedups` chose them, narrowed to what the mode can use
    exactly (:data:`MODE_SPEEDUPS`); ``masked``: a mask (``u_mask``) makes samples NaN."""
    d = frame.view_dir
    slab = (-BIG, BIG)
    if settings.slab is not None:
        mid = float(frame.center @ d) + settings.slab_center
        slab = (mid - settings.slab / 2, mid + settings.slab / 2)
    can_skip, can_exit = MODE_SPEEDUPS[settings.mode]
    skip_empty, early_exit = speedup[0] and can_skip, speedup[1] and can_exit
    # Refinement searches around the best sample's position, which only raw-value skipping
    # keeps (grey-level skipping keeps the grey level, not where it was found); so does the
    # depth colour.
    raw = exact_values or settings.refine or settings.mode == "depthcolour"
    skip = 0 if not skip_empty else (1 if raw else 2)
    window = window_range(volume, settings)
    return {
        "u_value_scale": value_scale,
        "u_value_offset": value_offset,
        "u_center": tuple(frame.center),
        "u_pixel_right": tuple(frame.right * frame.pixel_size),
        "u_pixel_up": tuple(frame.up * frame.pixel_size),
        "u_view_dir": tuple(d),
        "u_image_size": (frame.cols, frame.rows),
        "u_pixel_offset": (tile[0], tile[1]),
        "u_perspective": frame.eye is not None,
        "u_eye": tuple(frame.eye if frame.eye is not None else frame.center),
        "u_sample_distance": resolve_sample_distance(volume, settings),
        # Sample planes through the voxel-centre corner nearest the eye (whole volume).
        "u_plane0": float(np.min(volume.corners(full_voxel=False) @ d)),
        "u_window": window,
        "u_mode": MODE_IDS[settings.mode],
        "u_colour": settings.mode in COLOUR_MODES and not exact_values,
        "u_masked": masked,
        "u_gamma": settings.gamma,
        "u_opacity": settings.opacity or (0.0, 1.0),
        "u_mida_gamma": settings.mida_gamma,
        "u_threshold": (settings.threshold if settings.threshold is not None
                        else (window[0] + window[1]) / 2),
        "u_slab": slab,
        "u_depth_front": float(volume.center @ d) - volume.radius,
        "u_depth_length": resolve_depth_length(volume, settings),
        "u_jitter": 1.0 if settings.jitter else 0.0,
        "u_seed": seed,
        "u_refine": settings.refine,
        "u_cell_size": float(cell_size),
        "u_all_finite": volume.all_finite and not masked,
        "u_grey_out": not exact_values,
        "u_skip_mode": skip,
        "u_early_exit": early_exit and not exact_values,
        "u_volume": 0,
        "u_cells": 1,
        "u_previous": 2,
        "u_colormap": 3,
        "u_mask": 4,
        "u_state_previous": 5,
        "u_last_pass": True,
    }


HINT_UNIT = 6  # texture unit of the previous frame's result (u_hint)


def takes_hint(settings: RenderSettings, common: dict, bricks: int) -> bool:
    """Whether a projection (its :func:`projection_uniforms` ``common``) takes the previous
    frame's hint (shaders/mip.glsl): a MIP picture (grey levels, not raw values, whose
    position is kept exactly) of orthographic rays through one texture, by glmip's shader."""
    return (settings.mode == "mip" and settings.shader is None and bricks == 1
            and bool(common["u_grey_out"]) and common["u_skip_mode"] != 1
            and not settings.refine and not common["u_perspective"])


def hint_uniforms(previous: Frame) -> dict:
    """The previous frame's rays, for the hint: where its pixels' rays were."""
    return {"u_hint": HINT_UNIT,
            "u_hint_center": tuple(previous.center),
            "u_hint_right": tuple(previous.right * previous.pixel_size),
            "u_hint_up": tuple(previous.up * previous.pixel_size),
            "u_hint_dir": tuple(previous.view_dir)}


def shader_switches(common: dict, settings: RenderSettings) -> dict[str, object]:
    """The ``#define`` switches of the projection shader, from the common uniforms
    (:func:`projection_uniforms`): each selects code at compile time instead of testing a
    uniform on every sample."""
    on = {True: "true", False: "false"}
    return {
        "GLMIP_MODE": common["u_mode"],
        "GLMIP_SKIP": common["u_skip_mode"],
        "GLMIP_EARLY_EXIT": on[bool(common["u_early_exit"])],
        "GLMIP_REFINE": on[bool(settings.refine)],
        "GLMIP_PERSPECTIVE": on[bool(common["u_perspective"])],
        "GLMIP_JITTER": on[bool(settings.jitter)],
        "GLMIP_FINITE": on[bool(common["u_all_finite"])],
        "GLMIP_GREY_OUT": on[bool(common["u_grey_out"])],
        "GLMIP_COLOUR": on[bool(common["u_colour"])],
        "GLMIP_MASK": on[bool(common["u_masked"])],
    }


def brick_uniforms(brick: BrickPlan, gpu: Volume, axes: Sequence[int],
                   crop: Sequence[int] | None) -> dict | None:
    """Uniforms of one brick of the uploaded volume ``gpu`` (axes as :func:`texture_order`
    gave them); None when the crop leaves it nothing to sample."""
    n = np.array(brick.texture_size, dtype=np.float64)
    index_to_tex = np.diag([*(1.0 / n), 1.0])
    index_to_tex[:3, 3] = 0.5 / n
    world_to_tex = index_to_tex @ np.linalg.inv(brick.volume.affine)
    lo, hi = brick.own_lo, brick.own_hi
    open_hi = hi < np.array(gpu.shape) - 0.5  # an inner face: the next brick's
    box = crop_box(crop, axes)
    if box is not None:
        open_hi = open_hi & (hi <= box[1])
        lo, hi = np.maximum(lo, box[0]), np.minimum(hi, box[1])
    if (lo > hi).any():
        return None
    return {
        "u_volume_size": tuple(n),
        "u_global_size": tuple(float(v) for v in gpu.shape),
        # Axes whose texture size is a power of two are sampled through the whole volume's
        # coordinates (sample_tc in shaders/lib/ray.glsl); the others are never split.
        "u_rebase": tuple(float(v & (v - 1) == 0) for v in brick.texture_size),
        "u_brick_start": tuple(np.asarray(brick.start).astype(float)),
        "u_world_to_index": tuple(np.linalg.inv(gpu.affine).T.ravel()),  # column-major
        "u_world_to_tex": tuple(world_to_tex.T.ravel()),
        "u_tex_to_world": tuple(np.linalg.inv(world_to_tex).T.ravel()),
        "u_crop_lo": tuple(lo),
        "u_crop_hi": tuple(hi),
        "u_open_hi": tuple(open_hi.astype(float)),
    }


def display_uniforms(volume: Volume, settings: RenderSettings, size: tuple[int, int],
                     direct: bool) -> dict:
    """Uniforms of the display pass (``shaders/display.glsl``) drawing ``size`` (cols, rows);
    ``direct``: the projection shader wrote colours, to be copied."""
    return {
        "u_window": window_range(volume, settings),
        "u_gamma": settings.gamma,
        "u_opacity": settings.opacity or (1.0, 1.0),
        "u_background": settings.background,
        "u_target_size": tuple(size),
        "u_values": 0,
        "u_colormap": 1,
        "u_direct": direct,
        "u_composite": settings.mode in COLOUR_MODES and settings.shader is None,
    }


def pass_order(bricks: Sequence[BrickPlan], gpu: Volume, frame: Frame) -> list[int]:
    """Indices of ``bricks`` in an order that is front to back along **every** ray of
    ``frame``: the modes that carry state from brick to brick (mida, lmip) need it, and a tie
    keeps the nearer brick's sample. Bricks form a grid of slabs on each axis; along a ray the
    voxel index on each axis is monotonic, so the slab index moves one way: parallel rays
    visit bricks in increasing ``sum(slab_i * sign(d_i))`` (d the view direction in voxel
    index units); perspective rays leave the eye, so in increasing ``sum(|slab_i - eye_i|)``
    (eye_i the eye's slab, -1 before the first). Ties (bricks no ray visits one after the
    other) go by the depth of the centre."""
    if len(bricks) < 2:
        return list(range(len(bricks)))
    lows = [np.unique([float(b.own_lo[i]) for b in bricks]) for i in range(3)]
    slab = np.array([[np.searchsorted(lows[i], float(b.own_lo[i])) for i in range(3)]
                     for b in bricks], dtype=np.float64)
    to_index = np.linalg.inv(gpu.affine)
    if frame.eye is None:
        d = to_index[:3, :3] @ np.asarray(frame.view_dir, np.float64)
        key = slab @ np.sign(np.where(np.abs(d) < 1e-12, 0.0, d))
    else:
        p = to_index[:3, :3] @ np.asarray(frame.eye, np.float64) + to_index[:3, 3]
        eye = np.array([np.searchsorted(lows[i], p[i], side="right") - 1 for i in range(3)])
        key = np.abs(slab - eye).sum(axis=1)
    depth = [float(b.volume.center @ frame.view_dir) for b in bricks]
    return sorted(range(len(bricks)), key=lambda i: (key[i], depth[i]))


def plan_passes(bricks: Sequence[BrickPlan], gpu: Volume, axes: Sequence[int], frame: Frame,
                settings: RenderSettings) -> list[tuple[int, dict]]:
    """(index into ``bricks``, uniforms) of each projection pass, nearest brick first so that
    ties keep the sample nearest the eye; bricks the crop leaves empty are left out. Each pass
    after the first combines with the previous pass's result (``u_has_previous``)."""
    order = pass_order(bricks, gpu, frame)
    passes: list[tuple[int, dict]] = []
    for i in order:
        uniforms = brick_uniforms(bricks[i], gpu, axes, settings.crop)
        if uniforms is not None:
            passes.append((i, {**uniforms, "u_has_previous": bool(passes)}))
    return passes


def accumulate(mean: np.ndarray | None, new: np.ndarray, count: int) -> tuple[np.ndarray, int]:
    """(running mean, frames in it) of projected (rows, cols, 4) values over jittered frames,
    ``new`` added to ``mean`` of ``count`` frames (updated in place); None or another shape
    starts afresh. Values are averaged; a pixel is a hit when any frame hit."""
    if mean is None or mean.shape != new.shape:
        return new.copy(), 1
    count += 1
    mean[..., 0] += (new[..., 0] - mean[..., 0]) / count
    mean[..., 2] = np.maximum(mean[..., 2], new[..., 2])
    return mean, count


# --- masks and labels (CPU, exact: nearest neighbour through the affines) ---------------------
def _nearest_index(affine_to: np.ndarray, points: np.ndarray, shape: Sequence[int]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(integer indices (..., 3), inside flag) of the voxels nearest to ``points`` (..., 3)
    given in another frame, ``affine_to`` mapping that frame to this grid's voxel index."""
    idx = points @ affine_to[:3, :3].T + affine_to[:3, 3]
    with np.errstate(invalid="ignore"):
        r = np.floor(idx + 0.5)
        inside = np.all((r >= 0) & (r < np.asarray(shape)), axis=-1) & np.isfinite(idx).all(-1)
    r = np.where(inside[..., None], r, 0).astype(np.int64)
    return r, inside


def mask_in_grid(volume: Volume, mask: Volume, mode: str = "include") -> np.ndarray:
    """Boolean array on ``volume``'s grid: True where a voxel is projected. A voxel is in the
    mask when the mask's voxel nearest to its centre (through both affines) is non-zero and
    not NaN; ``include`` keeps those voxels, ``exclude`` the others."""
    to_mask = np.linalg.inv(mask.affine) @ volume.affine
    n = volume.shape
    ii, jj = np.meshgrid(np.arange(n[0]), np.arange(n[1]), indexing="ij")
    out = np.empty(n, bool)
    data = np.asarray(mask.data)
    for k in range(n[2]):
        pts = np.stack([ii, jj, np.full_like(ii, k)], axis=-1).astype(np.float64)
        r, inside = _nearest_index(to_mask, pts, mask.shape)
        v = data[r[..., 0], r[..., 1], r[..., 2]]
        hit = inside & (v != 0)
        if v.dtype.kind == "f":
            hit &= ~np.isnan(v)
        out[:, :, k] = hit
    return out if mode == "include" else ~out


def labels_at(labels: Volume, points: np.ndarray) -> np.ndarray:
    """Label (int64) of the voxel nearest to each world point (..., 3); 0 outside the
    segmentation's grid and at NaN points (rays that missed)."""
    r, inside = _nearest_index(np.linalg.inv(labels.affine), points, labels.shape)
    data = np.asarray(labels.data)
    v = data[r[..., 0], r[..., 1], r[..., 2]]
    if v.dtype.kind == "f":
        v = np.nan_to_num(v, nan=0.0)
    return np.where(inside, v, 0).astype(np.int64)


# The default palette (label 1, 2, ...; repeating): distinct, saturated colours.
PALETTE = np.array([
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
    (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200), (128, 0, 0),
    (170, 255, 195)], np.uint8)


def read_label_table(path: str) -> dict[int, tuple[int, int, int]]:
    """Colours of a label table: an ITK-SNAP label description (``IDX R G B A VIS MSH
    "name"``) or a FreeSurfer colour LUT (``IDX name R G B A``); ``#`` starts a comment."""
    import shlex

    table: dict[int, tuple[int, int, int]] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                words = shlex.split(text)
                if words[1].lstrip("-").isdigit():  # ITK-SNAP: the colour follows the index
                    rgb = words[1:4]
                else:  # FreeSurfer: a name, then the colour
                    rgb = words[2:5]
                if len(rgb) != 3:
                    raise ValueError
                table[int(words[0])] = tuple(int(float(c)) for c in rgb)  # type: ignore[assignment]
            except (ValueError, IndexError):
                raise VolumeError(f"{path}:{n}: not a label table line: {line.strip()!r}") from None
    if not table:
        raise VolumeError(f"{path}: no labels in this colour table")
    return table


def label_colours(ids: np.ndarray, table: dict[int, tuple[int, int, int]] | None
                  ) -> np.ndarray:
    """(..., 3) uint8 colours of label ids: from ``table`` (labels it lacks: the palette),
    or the default palette; label 0 is black (it is never drawn)."""
    out = PALETTE[(np.maximum(ids, 1) - 1) % len(PALETTE)].copy()
    if table:
        for label, rgb in table.items():
            out[ids == label] = rgb
    out[ids == 0] = 0
    return out


def overlay_labels(image: np.ndarray, ids: np.ndarray, colours: np.ndarray, style: str,
                   opacity: float) -> np.ndarray:
    """The picture (rows, cols, 3) uint8 with label colours blended over it: every labelled
    pixel (``fill``) or the labelled pixels that have a 4-neighbour with another label
    (``outline``, the picture's edge counting as label 0):
    ``floor((1 - opacity) * pixel + opacity * colour + 0.5)``."""
    drawn = ids != 0
    if style == "outline":
        pad = np.pad(ids, 1)
        same = ((pad[:-2, 1:-1] == ids) & (pad[2:, 1:-1] == ids)
                & (pad[1:-1, :-2] == ids) & (pad[1:-1, 2:] == ids))
        drawn &= ~same
    rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    out = rgb.copy()
    mixed = (1 - opacity) * rgb[drawn].astype(np.float64) + opacity * colours[drawn]
    out[drawn] = np.floor(mixed + 0.5).astype(np.uint8)
    return out


def composite_layers(base: np.ndarray, layers: Sequence[np.ndarray], how: str) -> np.ndarray:
    """Fused pictures (docs/projections.md): each layer (rows, cols[, 3]) uint8, black where its
    rays miss, combined into the base picture (its background where its rays miss), in order:
    ``max`` the channel-wise maximum; ``add`` the channel-wise sum, clipped at 255; ``over``
    the layer over what is below with premultiplied colour and opacity ``a`` = the layer's
    brightest channel / 255 (black is transparent): ``floor(C + (1 - a) * below + 0.5)``.
    Returns (rows, cols, 3) uint8."""
    def rgb(im: np.ndarray) -> np.ndarray:
        return im if im.ndim == 3 else np.repeat(im[..., None], 3, axis=2)

    out = rgb(base).copy()
    for layer in map(rgb, layers):
        if how == "max":
            np.maximum(out, layer, out=out)
        elif how == "add":
            out = np.minimum(out.astype(np.int32) + layer, 255).astype(np.uint8)
        elif how == "over":
            alpha = layer.max(axis=2, keepdims=True).astype(np.float64) / 255.0
            mixed = layer + (1.0 - alpha) * out
            out = np.minimum(np.floor(mixed + 0.5), 255).astype(np.uint8)
        else:
            raise ValueError(f"unknown composite '{how}' (use max, add or over)")
    return out
