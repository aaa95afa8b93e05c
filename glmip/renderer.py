"""``MipRenderer``: the volume as a 3-D texture in its own dtype, ray-marched by a GLSL shader.

Two passes: ``shaders/mip.glsl`` projects each ray to a real value (RGBA32F target: value,
distance of the maximum, hit flag, samples taken); ``shaders/display.glsl`` turns values into
colours (window/level, gamma, colormap, opacity, background). The renderer takes a moderngl
context, never makes one, and releases what it creates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import moderngl
import numpy as np

from .camera import Camera, Frame
from .colormaps import colormap_lut
from .programs import build_program
from .resources import shader_path
from .settings import RenderSettings, resolve_sample_distance, resolve_window
from .volume import Volume, VolumeError

__all__ = ["MipRenderer", "Projection", "TEXTURE_FORMATS"]

# numpy dtype -> (moderngl dtype, XOR mask to make it unsigned, texel -> stored value factor,
#                 stored value = texel * factor - bias)
# int8/int16 go up as offset binary (v + 128 / v + 32768) in unsigned normalised textures:
# moderngl's "ni2" creates an unsigned R16 that clamps negatives (DESIGN.md).
TEXTURE_FORMATS = {
    np.dtype(np.uint8): ("f1", None, 255.0, 0.0),
    np.dtype(np.int8): ("f1", 0x80, 255.0, 128.0),
    np.dtype(np.uint16): ("nu2", None, 65535.0, 0.0),
    np.dtype(np.int16): ("nu2", 0x8000, 65535.0, 32768.0),
    np.dtype(np.float32): ("f4", None, 1.0, 0.0),
}
MODE_IDS = {"mip": 0, "minip": 1, "mean": 2, "depth": 3}
UPLOAD_CHUNK_BYTES = 4 << 20  # converted and uploaded a slab at a time: small temporaries
DEFAULT_MAX_TEXTURE_BYTES = 1 << 30  # per 3-D texture; Mesa also caps the total
BIG = 1e30


@dataclass
class Projection:
    """Quantitative result of a projection, rows top-first.

    value: projected real value (NaN where the ray met no finite sample); distance: mm along
    each pixel's ray (from ``frame.ray(r, c)``'s origin) to the maximum (MIP/depth) or minimum
    (MinIP); samples: number of samples each ray took.
    """

    value: np.ndarray
    distance: np.ndarray
    samples: np.ndarray
    frame: Frame

    @property
    def hit(self) -> np.ndarray:
        return np.isfinite(self.value)

    def positions(self) -> np.ndarray:
        """World position (rows, cols, 3) of each ray's maximum; NaN where it missed."""
        f = self.frame
        r, c = np.mgrid[0 : f.rows, 0 : f.cols].astype(np.float64)
        p = f.pixel_size
        focus = (
            f.center
            + ((c + 0.5 - f.cols / 2) * p)[..., None] * f.right
            + ((f.rows / 2 - r - 0.5) * p)[..., None] * f.up
        )
        if f.eye is None:
            origin, direction = focus, np.broadcast_to(f.view_dir, focus.shape)
        else:
            direction = focus - f.eye
            direction = direction / np.linalg.norm(direction, axis=-1, keepdims=True)
            origin = np.broadcast_to(f.eye, focus.shape)
        pos = origin + self.distance[..., None] * direction
        pos[~self.hit] = np.nan
        return pos


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
    """Cell edge in voxels: a power of two giving about 32 cells on the longest axis, 4..32
    (measured on llvmpipe: 8 is best for 256³, 16 for 512×512×300)."""
    return int(2 ** np.clip(np.round(np.log2(max(shape) / 32.0)), 2, 5))


def cell_statistics(volume: Volume, cell: int) -> np.ndarray:
    """Per-cell (max, min) real value, shape (nx, ny, nz, 2) float32.

    Cell ``c`` holds the samples whose index coordinate lies in ``c*cell .. (c+1)*cell`` on
    every axis. A trilinear sample there reads voxels ``c*cell .. (c+1)*cell``; the statistics
    also take the voxel before and the one after that, so a sample that float rounding puts a
    hair outside its cell is still covered. All-NaN cells get (-inf, +inf): nothing to find
    there. Works slab by slab so it never makes a full-size temporary.
    """
    data = volume.data
    n = np.array(data.shape)
    nb = -(-n // cell)
    hi = np.empty(tuple(nb), np.float64)
    lo = np.empty(tuple(nb), np.float64)
    floating = data.dtype.kind == "f"
    fmax, fmin = (np.fmax, np.fmin) if floating else (np.maximum, np.minimum)
    for bz in range(nb[2]):
        slab = data[:, :, max(bz * cell - 1, 0) : (bz + 1) * cell + 2]
        for out, f in ((hi, fmax), (lo, fmin)):
            plane = f.reduce(slab, axis=2)
            plane = _window_reduce(_window_reduce(plane, f, cell, 0), f, cell, 1)
            out[:, :, bz] = plane
    if floating:
        empty = np.isnan(hi)
        hi[empty], lo[empty] = -np.inf, np.inf
    hi, lo = volume.real(hi), volume.real(lo)
    if volume.slope < 0:
        hi, lo = lo, hi
    return np.stack([hi, lo], axis=-1).astype(np.float32)


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
    if frame.eye is not None:
        v = corners - frame.eye
        depth = v @ frame.view_dir
        if np.any(depth <= 1e-6 * float(np.abs(v).max())):
            return None
        focus = float((frame.center - frame.eye) @ frame.view_dir)
        corners = frame.eye + v * (focus / depth)[:, None]
    rel = corners - frame.center
    x0, y0, w, h = tile
    fx = rel @ frame.right / frame.pixel_size + frame.cols / 2 - x0
    fy = rel @ frame.up / frame.pixel_size + frame.rows / 2 - y0
    grow = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64) * margin
    pts = (np.stack([fx, fy], axis=1)[:, None, :] + grow[None]).reshape(-1, 2)
    hull = convex_hull(pts)
    if len(hull) < 3 or len(hull) > 16:
        return None
    return hull / np.array([w, h]) * 2.0 - 1.0


@dataclass
class Brick:
    """One 3-D texture's share of the volume.

    ``volume`` holds the brick's voxels plus a one-voxel overlap on inner faces (so trilinear
    samples near a face see both sides) and an affine for exactly those voxels. The brick samples
    only the index-coordinate box ``own_lo .. own_hi`` (global voxel units, centres at integers),
    so every sample of the ray belongs to one brick.
    """

    volume: Volume
    start: np.ndarray
    own_lo: np.ndarray
    own_hi: np.ndarray
    texture: moderngl.Texture3D | None = None
    cells: moderngl.Texture3D | None = None
    stats: np.ndarray | None = None  # the cells' (max, min), as uploaded to `cells`

    def release(self) -> None:
        for obj in (self.texture, self.cells):
            if obj is not None:
                obj.release()
        self.texture = self.cells = None


def plan_bricks(shape: tuple[int, int, int], itemsize: int, max_axis: int,
                max_bytes: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Split a volume into bricks that fit the texture limits.

    Returns (start, stop, own_lo, own_hi) per brick: the voxels [start, stop) to upload
    (overlap included) and the index-coordinate box the brick samples.
    """
    n = np.array(shape)
    pieces = np.ones(3, dtype=np.int64)

    def dims(p: np.ndarray) -> np.ndarray:
        return -(-n // p) + np.where(p > 1, 2, 0)  # the largest piece plus its overlap

    while True:
        over = dims(pieces) > max_axis
        if over.any():
            pieces[int(np.argmax(np.where(over, dims(pieces), -1)))] += 1
        elif int(np.prod(dims(pieces))) * itemsize > max_bytes:
            pieces[int(np.argmax(dims(pieces)))] += 1
        else:
            break
        if (pieces > n).any():
            raise VolumeError(f"cannot split {tuple(shape)} into bricks within the texture limits")
    cuts = [np.linspace(0, n[a], pieces[a] + 1).round().astype(np.int64) for a in range(3)]
    bricks = []
    for bx in range(pieces[0]):
        for by in range(pieces[1]):
            for bz in range(pieces[2]):
                idx = (bx, by, bz)
                lo = np.array([cuts[a][idx[a]] for a in range(3)])
                hi = np.array([cuts[a][idx[a] + 1] for a in range(3)])
                start = np.maximum(lo - 1, 0)
                stop = np.minimum(hi + 1, n)
                own_lo = lo - 0.5
                # Between bricks the upper face is open (the shader's u_open_hi): a sample on a
                # shared face belongs to the next brick.
                own_hi = hi - 0.5
                bricks.append((start, stop, own_lo.astype(float), own_hi.astype(float)))
    return bricks


def _place(image: np.ndarray, block: np.ndarray, tile: tuple[int, int, int, int]) -> None:
    """Put a tile read from GL (bottom row first) into a top-first image."""
    x0, y0, w, h = tile
    rows = image.shape[0]
    image[rows - y0 - h : rows - y0, x0 : x0 + w] = block[::-1]


class MipRenderer:
    """Renders MIPs of one uploaded volume.

    Parameters
    ----------
    ctx
        A moderngl context (headless or a window's), OpenGL 3.3 or later.
    cell_size
        Voxels per edge of the cells used to skip samples that cannot change the picture;
        None picks a power of two giving about 32 cells along the volume's longest axis
        (4 to 32 voxels): smaller cells skip more, but every cell a ray crosses costs a test.
    max_texture_size
        Override the driver's GL_MAX_3D_TEXTURE_SIZE (to test the limit).
    tile_size
        Largest target rendered in one go; larger images are rendered in tiles.
    max_texture_bytes
        Largest single 3-D texture in bytes; larger volumes are split into bricks, as are
        volumes longer than ``max_texture_size`` on an axis. A MIP needs no sorting of bricks.
    """

    def __init__(
        self,
        ctx: moderngl.Context,
        *,
        cell_size: int | None = None,
        max_texture_size: int | None = None,
        tile_size: int | None = None,
        max_texture_bytes: int | None = None,
    ) -> None:
        self.ctx = ctx
        self._fixed_cell_size = cell_size
        self.cell_size = int(cell_size or 8)
        driver_max = int(ctx.info["GL_MAX_3D_TEXTURE_SIZE"])
        self.max_texture_size = min(driver_max, max_texture_size or driver_max)
        viewport_max = min(ctx.info["GL_MAX_VIEWPORT_DIMS"])
        self.tile_size = min(tile_size or 4096, int(viewport_max), int(ctx.info["GL_MAX_TEXTURE_SIZE"]))
        self.max_texture_bytes = int(max_texture_bytes or DEFAULT_MAX_TEXTURE_BYTES)
        # Built-in shaders, looked up once (not on every frame).
        self._mip_shader = shader_path("mip.glsl")
        self._display_shader = shader_path("display.glsl")
        self.volume: Volume | None = None
        self._gpu_volume: Volume | None = None  # the volume as uploaded (axes maybe reversed)
        self._axes = (0, 1, 2)  # texture axis a holds volume axis self._axes[a]
        self.bricks: list[Brick] = []
        self._value_scale = 1.0
        self._value_offset = 0.0
        self._programs: dict[tuple, moderngl.Program] = {}
        self._vaos: dict[tuple, moderngl.VertexArray] = {}
        self._luts: dict[str, moderngl.Texture] = {}
        self._colour_shaders: dict[str, bool] = {}
        self._accum: np.ndarray | None = None
        self._speedup_cache: dict[tuple, tuple[bool, bool]] = {}
        self.accumulated = 0  # jittered frames in the running mean
        self._targets: dict[tuple[int, int, str], tuple[moderngl.Texture, moderngl.Framebuffer]] = {}

    # --- resources ------------------------------------------------------------------------
    def program(self, path: str | Path | None = None, defines: dict[str, object] | None = None
                ) -> tuple[moderngl.Program, moderngl.VertexArray]:
        """The program of a shader file (default: the built-in projection) with ``defines``,
        built once."""
        name = str(path or self._mip_shader)
        key = (name, tuple(sorted((defines or {}).items())))
        if key not in self._programs:
            prog = build_program(self.ctx, name, defines)
            self._programs[key] = prog
            self._vaos[key] = self.ctx.vertex_array(prog, [])
        return self._programs[key], self._vaos[key]

    def writes_colour(self, path: str | Path | None) -> bool:
        """True for a projection shader that writes final colours (declares ``f_color``)
        instead of values; the display pass then only copies them."""
        if path is None:
            return False
        key = str(path)
        if key not in self._colour_shaders:
            from .programs import read_source

            self._colour_shaders[key] = "f_color" in read_source(Path(path))
        return self._colour_shaders[key]

    def forget_program(self, path: str | Path) -> None:
        """Drop the cached programs of a file (e.g. a user shader that changed on disk)."""
        self._colour_shaders.pop(str(path), None)
        for key in [k for k in self._programs if k[0] == str(path)]:
            self._vaos.pop(key).release()
            self._programs.pop(key).release()

    def _target(self, cols: int, rows: int, kind: str) -> tuple[moderngl.Texture, moderngl.Framebuffer]:
        key = (cols, rows, kind)
        if key in self._targets:
            self._targets[key] = self._targets.pop(key)  # most recently used last
        else:
            # Keep the three most recently used sizes of each kind (window, dragging, tiles).
            for old in [k for k in self._targets if k[2] == kind][:-2]:
                tex, fbo = self._targets.pop(old)
                fbo.release()
                tex.release()
            dtype, comps = ("f1", 4) if kind == "colour" else ("f4", 4)
            tex = self.ctx.texture((cols, rows), comps, dtype=dtype)
            tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
            tex.repeat_x = tex.repeat_y = False
            self._targets[key] = (tex, self.ctx.framebuffer([tex]))
        return self._targets[key]

    def _lut(self, name: str) -> moderngl.Texture:
        if name not in self._luts:
            lut = np.ones((256, 4), np.float32)
            lut[:, :3] = colormap_lut(name)
            tex = self.ctx.texture((256, 1), 4, lut.tobytes(), dtype="f4")
            tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
            self._luts[name] = tex
        return self._luts[name]

    def unload(self) -> None:
        """Forget the volume: release its textures and every reference to its array, keeping
        the programs and targets for the next upload (a batch worker between scans)."""
        for brick in self.bricks:
            brick.release()
            brick.volume = None  # type: ignore[assignment]
        self.bricks = []
        self.volume = self._gpu_volume = None
        self._accum = None

    def release(self) -> None:
        """Release every GL object this renderer made."""
        ours = {id(fbo) for _, fbo in self._targets.values()}
        if self.ctx.fbo is not None and id(self.ctx.fbo) in ours:
            # Never leave a deleted framebuffer bound: moderngl would re-bind it later.
            self.ctx.detect_framebuffer(0).use()
        for brick in self.bricks:
            brick.release()
        self.bricks = []
        for obj in [*self._vaos.values(), *self._programs.values(), *self._luts.values()]:
            if obj is not None:
                obj.release()
        for tex, fbo in self._targets.values():
            fbo.release()
            tex.release()
        self._programs.clear()
        self._vaos.clear()
        self._luts.clear()
        self._targets.clear()

    def __enter__(self) -> "MipRenderer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # --- upload ---------------------------------------------------------------------------
    def upload(self, volume: Volume) -> None:
        """Put ``volume`` on the GPU in its own dtype (replacing any earlier one), in bricks
        when it exceeds the texture limits."""
        # A texture's x varies fastest in memory. A C-ordered array (numpy's default: k fastest)
        # goes up as the same volume with its axes reversed, which is a view, not a transposed
        # copy; geometry is unchanged because the affine is permuted with it.
        self._axes = (0, 1, 2)
        gpu = volume
        if volume.data.flags.c_contiguous and not volume.data.flags.f_contiguous:
            self._axes = (2, 1, 0)
            gpu = Volume(volume.data.transpose(2, 1, 0), volume.affine[:, [2, 1, 0, 3]],
                         volume.slope, volume.inter, volume.name)
        self._gpu_volume = gpu
        data = gpu.data
        if data.dtype not in TEXTURE_FORMATS:
            raise VolumeError(f"no texture format for dtype {data.dtype}")
        for brick in self.bricks:
            brick.release()
        self.bricks = []
        gl_dtype, xor, factor, bias = TEXTURE_FORMATS[data.dtype]
        self.cell_size = int(self._fixed_cell_size or auto_cell_size(data.shape))
        plan = plan_bricks(data.shape, data.itemsize, self.max_texture_size, self.max_texture_bytes)
        for start, stop, own_lo, own_hi in plan:
            sub = data[start[0] : stop[0], start[1] : stop[1], start[2] : stop[2]]
            shift = np.eye(4)
            shift[:3, 3] = start
            part = Volume(sub, gpu.affine @ shift, volume.slope, volume.inter, volume.name)
            brick = Brick(part, start, own_lo, own_hi)
            # Statistics first: their temporaries come and go before the texture exists.
            stats = cell_statistics(part, self.cell_size)
            brick.stats = stats
            brick.texture = self._upload_texture(sub, gl_dtype, xor)
            brick.cells = self.ctx.texture3d(stats.shape[:3], 2, np.ascontiguousarray(
                stats.transpose(2, 1, 0, 3)), dtype="f4")
            brick.cells.filter = (moderngl.NEAREST, moderngl.NEAREST)
            self.bricks.append(brick)
        self._speedup_cache = {}
        # value = texel * factor * slope + (inter - bias * slope)
        self._value_scale = factor * volume.slope
        self._value_offset = volume.inter - bias * volume.slope
        self.volume = volume

    def _upload_texture(self, data: np.ndarray, gl_dtype: str, xor: int | None) -> moderngl.Texture3D:
        tex = self.ctx.texture3d(data.shape, 1, dtype=gl_dtype)
        tex.repeat_x = tex.repeat_y = tex.repeat_z = False
        nx, ny, nz = data.shape
        step = max(1, UPLOAD_CHUNK_BYTES // (nx * ny * data.itemsize))
        buf: np.ndarray | None = None  # one reused slab buffer: no allocation per slab
        for k0 in range(0, nz, step):
            # (k, j, i) order is x-fastest: a view, not a copy, for Fortran-ordered data.
            block = data[:, :, k0 : k0 + step].transpose(2, 1, 0)
            if xor is not None or not block.flags.c_contiguous:
                if buf is None or buf.shape != block.shape:
                    buf = np.empty(block.shape, np.dtype(f"u{data.itemsize}") if xor else data.dtype)
                if xor is not None:
                    np.bitwise_xor(block.view(buf.dtype), xor, out=buf)
                else:
                    np.copyto(buf, block)
                block = buf
            tex.write(block, viewport=(0, 0, k0, nx, ny, block.shape[0]))
        return tex

    # --- rendering ------------------------------------------------------------------------
    def _tiles(self, cols: int, rows: int) -> Iterator[tuple[int, int, int, int]]:
        """(x0, y0, w, h) tiles in GL pixel coordinates (y from the bottom)."""
        t = self.tile_size
        for y0 in range(0, rows, t):
            for x0 in range(0, cols, t):
                yield x0, y0, min(t, cols - x0), min(t, rows - y0)

    def _projection_uniforms(self, frame: Frame, settings: RenderSettings, *,
                             exact_values: bool, seed: int) -> dict:
        """Uniforms that are the same for every brick (whole-volume geometry and settings)."""
        vol = self.volume
        assert vol is not None
        d = frame.view_dir
        step = resolve_sample_distance(vol, settings)
        window, level = resolve_window(vol, settings)
        radius = float(np.max(np.linalg.norm(vol.corners() - vol.center, axis=1)))
        slab = (-BIG, BIG)
        if settings.slab is not None:
            mid = float(frame.center @ d) + settings.slab_center
            slab = (mid - settings.slab / 2, mid + settings.slab / 2)
        skip_empty, early_exit = self.speedups(settings)
        # Refinement searches around the best sample's position, which only raw-value skipping
        # keeps (grey-level skipping keeps the grey level, not where it was found).
        skip = 0 if not skip_empty else (1 if exact_values or settings.refine else 2)
        return {
            "u_value_scale": self._value_scale,
            "u_value_offset": self._value_offset,
            "u_center": tuple(frame.center),
            "u_pixel_right": tuple(frame.right * frame.pixel_size),
            "u_pixel_up": tuple(frame.up * frame.pixel_size),
            "u_view_dir": tuple(d),
            "u_image_size": (frame.cols, frame.rows),
            "u_perspective": frame.eye is not None,
            "u_eye": tuple(frame.eye if frame.eye is not None else frame.center),
            "u_sample_distance": step,
            # Sample planes through the voxel-centre corner nearest the eye (whole volume).
            "u_plane0": float(np.min(vol.corners(full_voxel=False) @ d)),
            "u_window": (level - window / 2, level + window / 2),
            "u_mode": MODE_IDS[settings.mode],
            "u_slab": slab,
            "u_depth_front": float(vol.center @ d) - radius,
            "u_depth_length": settings.depth_length or 2 * radius,
            "u_jitter": 1.0 if settings.jitter else 0.0,
            "u_seed": seed,
            "u_refine": settings.refine,
            "u_cell_size": float(self.cell_size),
            "u_all_finite": vol.all_finite,
            "u_grey_out": not exact_values,
            "u_skip_mode": skip,
            "u_early_exit": early_exit and not exact_values,
            "u_volume": 0,
            "u_cells": 1,
            "u_previous": 2,
        }

    def speedups(self, settings: RenderSettings) -> tuple[bool, bool]:
        """(skip_empty, early_exit) for these settings: as asked, or where they pay.

        Skipping costs a test per cell a ray crosses (on llvmpipe about half a trilinear
        sample), so by default it is used only when at least a quarter of the cells stay within
        the window's darkest tenth (air around a CT body, noise below a reading window: the
        benchmark's CTA 150 -> 95 ms, vessels in a 40..255 window 90 -> 35 ms, while on vessels
        in visible noise it would cost a few per cent). The early exit is one comparison per
        sample: it is on whenever a cell reaches the window's top. Neither changes the picture.
        """
        skip, early = settings.skip_empty, settings.early_exit
        if skip is not None and early is not None:
            return skip, early
        assert self.volume is not None
        window, level = resolve_window(self.volume, settings)
        lo, hi = level - window / 2, level + window / 2
        key = (lo, hi, settings.mode)
        if key not in self._speedup_cache:
            if settings.mode == "minip":
                lo, hi = -hi, -lo
                cells = [(-b.stats[..., 1], -b.stats[..., 0]) for b in self.bricks]
            else:
                cells = [(b.stats[..., 0], b.stats[..., 1]) for b in self.bricks]
            total = sum(c[0].size for c in cells)
            dark = sum(int(np.count_nonzero(c[0] <= lo + window * 0.1)) for c in cells) / total
            bright = sum(int(np.count_nonzero(c[0] >= hi)) for c in cells) / total
            self._speedup_cache = {key: (dark >= 0.25, bright > 0)}
        auto_skip, auto_early = self._speedup_cache[key]
        return (auto_skip if skip is None else skip, auto_early if early is None else early)

    def _brick_uniforms(self, brick: Brick, settings: RenderSettings) -> dict | None:
        """Uniforms of one brick; None when the crop leaves it nothing to sample."""
        assert self.volume is not None
        n = np.array(brick.volume.shape, dtype=np.float64)
        index_to_tex = np.diag([*(1.0 / n), 1.0])
        index_to_tex[:3, 3] = 0.5 / n
        world_to_tex = index_to_tex @ np.linalg.inv(brick.volume.affine)
        lo, hi = brick.own_lo, brick.own_hi
        gpu = self._gpu_volume
        open_hi = hi < np.array(gpu.shape) - 0.5  # an inner face: the next brick's
        if settings.crop is not None:
            c = np.array(settings.crop, dtype=np.float64).reshape(3, 2)[list(self._axes)]
            open_hi = open_hi & (hi <= c[:, 1] + 0.5)
            lo, hi = np.maximum(lo, c[:, 0] - 0.5), np.minimum(hi, c[:, 1] + 0.5)
        if (lo > hi).any():
            return None
        return {
            "u_volume_size": tuple(n),
            "u_brick_start": tuple(brick.start.astype(float)),
            "u_world_to_index": tuple(np.linalg.inv(gpu.affine).T.ravel()),  # column-major
            "u_world_to_tex": tuple(world_to_tex.T.ravel()),
            "u_tex_to_world": tuple(np.linalg.inv(world_to_tex).T.ravel()),
            "u_crop_lo": tuple(lo),
            "u_crop_hi": tuple(hi),
            "u_open_hi": tuple(open_hi.astype(float)),
        }

    def _box_corners(self, settings: RenderSettings) -> np.ndarray:
        """World corners (8, 3) of the box rays sample (the crop's), one voxel larger."""
        gpu = self._gpu_volume
        assert gpu is not None
        lo = np.full(3, -0.5)
        hi = np.array(gpu.shape, dtype=np.float64) - 0.5
        if settings.crop is not None:
            c = np.array(settings.crop, dtype=np.float64).reshape(3, 2)[list(self._axes)]
            lo, hi = np.maximum(lo, c[:, 0] - 0.5), np.minimum(hi, c[:, 1] + 0.5)
        lo, hi = lo - 1.0, hi + 1.0
        idx = np.array([[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                        for z in (lo[2], hi[2])])
        return (idx @ gpu.affine.T)[:, :3]

    def _project_tile(self, frame: Frame, settings: RenderSettings, tile: tuple[int, int, int, int],
                      *, exact_values: bool, seed: int) -> moderngl.Texture:
        """Project one tile; with several bricks, each pass combines with the previous one
        (nearest brick first, so ties keep the sample nearest the eye)."""
        if len(self.bricks) > 1 and self.writes_colour(settings.shader):
            raise VolumeError(f"{settings.shader}: a shader that writes colours (f_color) cannot "
                              f"render a volume split into {len(self.bricks)} bricks")
        common = self._projection_uniforms(frame, settings, exact_values=exact_values, seed=seed)
        x0, y0, w, h = tile
        common["u_pixel_offset"] = (x0, y0)
        filt = moderngl.NEAREST if settings.interpolation == "nearest" else moderngl.LINEAR
        d = frame.view_dir
        order = sorted(self.bricks, key=lambda b: float(b.volume.center @ d))
        targets = [self._target(w, h, "value")]
        if len(self.bricks) > 1:  # passes alternate between two targets
            targets.append(self._target(w, h, "value2"))
        self.ctx.disable(moderngl.BLEND | moderngl.DEPTH_TEST)
        switches = {
            "GLMIP_MODE": MODE_IDS[settings.mode],
            "GLMIP_SKIP": common["u_skip_mode"],
            "GLMIP_EARLY_EXIT": "true" if common["u_early_exit"] else "false",
            "GLMIP_REFINE": "true" if settings.refine else "false",
            "GLMIP_PERSPECTIVE": "true" if frame.eye is not None else "false",
            "GLMIP_JITTER": "true" if settings.jitter else "false",
            "GLMIP_FINITE": "true" if common["u_all_finite"] else "false",
            "GLMIP_GREY_OUT": "false" if exact_values else "true",
        }
        # The built-in shader draws only the pixels whose rays can meet the (cropped) volume:
        # the box's outline. A user's shader runs on every pixel, as it may paint misses too.
        outline = (footprint(frame, self._box_corners(settings), tile)
                   if settings.shader is None else None)
        if outline is not None:
            switches["GLMIP_FOOTPRINT"] = "1"
            fan = np.zeros((16, 2), np.float32)
            fan[: len(outline)] = outline
            for _, target in targets:  # pixels outside the outline stay "no hit"
                target.use()
                target.viewport = (0, 0, w, h)
                target.clear(0.0, 0.0, 0.0, 0.0)
        drawn = 0
        for brick in order:
            uniforms = self._brick_uniforms(brick, settings)
            if uniforms is None:
                continue
            switches["GLMIP_HAS_PREVIOUS"] = "true" if drawn else "false"
            prog, vao = self.program(settings.shader, switches)
            uniforms.update(common, u_has_previous=drawn > 0)
            for name, value in uniforms.items():
                if name in prog:
                    prog[name].value = value
            assert brick.texture is not None and brick.cells is not None
            brick.texture.filter = (filt, filt)
            brick.texture.use(0)
            brick.cells.use(1)
            if drawn:
                targets[(drawn + 1) % len(targets)][0].use(2)  # the previous pass's result
            fbo = targets[drawn % len(targets)][1]
            fbo.use()
            fbo.viewport = (0, 0, w, h)
            if outline is not None and "u_footprint" in prog:
                prog["u_footprint"].write(fan.tobytes())
                vao.render(moderngl.TRIANGLE_FAN, vertices=len(outline))
            else:
                vao.render(moderngl.TRIANGLES, vertices=3)
            drawn += 1
        if drawn == 0:  # everything cropped away: all background
            fbo = targets[0][1]
            fbo.use()
            fbo.clear(0.0, 0.0, 0.0, 0.0)
            return targets[0][0]
        return targets[(drawn - 1) % len(targets)][0]

    def _display(self, values: moderngl.Texture, settings: RenderSettings,
                 fbo: moderngl.Framebuffer, viewport: tuple[int, int, int, int]) -> None:
        assert self.volume is not None
        prog, vao = self.program(self._display_shader)
        window, level = resolve_window(self.volume, settings)
        uniforms = {
            "u_window": (level - window / 2, level + window / 2),
            "u_gamma": settings.gamma,
            "u_opacity": settings.opacity or (1.0, 1.0),
            "u_background": settings.background,
            "u_target_size": (viewport[2], viewport[3]),
            "u_values": 0,
            "u_colormap": 1,
            "u_direct": self.writes_colour(settings.shader),
        }
        for name, value in uniforms.items():
            if name in prog:
                prog[name].value = value
        values.use(0)
        self._lut(settings.colormap).use(1)
        fbo.use()
        fbo.viewport = viewport
        vao.render(moderngl.TRIANGLES, vertices=3)

    def _check(self, size: tuple[int, int]) -> None:
        if self.volume is None:
            raise RuntimeError("upload a volume before rendering")
        if size[0] < 1 or size[1] < 1:
            raise ValueError(f"image size must be positive, got {size}")

    def project(self, camera: Camera, settings: RenderSettings, size: tuple[int, int],
                *, exact_values: bool = True, seed: int = 0) -> Projection:
        """Projected real values, (cols, rows) = ``size``; exact values unless told otherwise."""
        self._check(size)
        cols, rows = size
        frame = camera.frame(self.volume, cols, rows)  # type: ignore[arg-type]
        out = np.empty((rows, cols, 4), np.float32)
        for tile in self._tiles(cols, rows):
            tex = self._project_tile(frame, settings, tile, exact_values=exact_values, seed=seed)
            block = np.frombuffer(tex.read(), np.float32).reshape(tile[3], tile[2], 4)
            _place(out, block, tile)
        value = out[..., 0].copy()
        value[out[..., 2] < 0.5] = np.nan
        return Projection(value, out[..., 1].copy(), out[..., 3].astype(np.int64), frame)

    def render(self, camera: Camera, settings: RenderSettings, size: tuple[int, int],
               *, seed: int = 0) -> np.ndarray:
        """The picture as uint8, rows top-first: (rows, cols) grey or (rows, cols, 3) colour."""
        self._check(size)
        cols, rows = size
        frame = camera.frame(self.volume, cols, rows)  # type: ignore[arg-type]
        image = np.empty((rows, cols, 3), np.uint8)
        for tile in self._tiles(cols, rows):
            values = self._project_tile(frame, settings, tile, exact_values=False, seed=seed)
            w, h = tile[2], tile[3]
            tex, fbo = self._target(w, h, "colour")
            self._display(values, settings, fbo, (0, 0, w, h))
            block = np.frombuffer(fbo.read(components=3, alignment=1), np.uint8).reshape(h, w, 3)
            _place(image, block, tile)
        grey = settings.is_grey and not settings.opacity and not self.writes_colour(settings.shader)
        return image[..., 0].copy() if grey else image

    def _accumulate(self, values: moderngl.Texture, more: bool) -> None:
        """Running mean of projected values over jittered frames (hit = any frame hit)."""
        new = np.frombuffer(values.read(), np.float32).reshape(values.height, values.width, 4)
        acc = self._accum
        if not more or acc is None or acc.shape != new.shape:
            self._accum, self.accumulated = new.copy(), 1
            return
        self.accumulated += 1
        acc[..., 0] += (new[..., 0] - acc[..., 0]) / self.accumulated
        acc[..., 2] = np.maximum(acc[..., 2], new[..., 2])
        values.write(acc)

    def draw(self, camera: Camera, settings: RenderSettings, fbo: moderngl.Framebuffer,
             size: tuple[int, int], *, reduction: int = 1, seed: int = 0,
             accumulate: bool = False) -> Frame:
        """Draw into ``fbo`` (a window's screen) at ``size``; ``reduction`` > 1 projects
        fewer rays (size / reduction) and scales them up, for speed while dragging.

        ``accumulate``: average this frame's projected values with the earlier accumulated
        frames (jittered frames with seeds 1, 2, ... converge to a picture without wood-grain);
        False starts a new average."""
        self._check(size)
        cols, rows = size
        pc, pr = max(1, cols // reduction), max(1, rows // reduction)
        frame = camera.frame(self.volume, cols, rows)  # type: ignore[arg-type]
        small = camera.frame(self.volume, pc, pr)  # type: ignore[arg-type]
        # Keep the same field of view: pixel size of the reduced image follows its width.
        small.pixel_size = frame.pixel_size * cols / pc
        values = self._project_tile(small, settings, (0, 0, pc, pr), exact_values=False, seed=seed)
        if settings.jitter:
            self._accumulate(values, accumulate)
        filt = moderngl.LINEAR if reduction > 1 else moderngl.NEAREST
        values.filter = (filt, filt)
        self._display(values, settings, fbo, (0, 0, cols, rows))
        values.filter = (moderngl.NEAREST, moderngl.NEAREST)
        return frame
