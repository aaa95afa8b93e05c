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
UPLOAD_CHUNK_BYTES = 16 << 20
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


def cell_statistics(volume: Volume, cell: int) -> np.ndarray:
    """Per-cell (max, min) real value, dilated by one cell, shape (nx, ny, nz, 2) float32.

    Cells are ``cell`` voxels on a side. All-NaN cells get (-inf, +inf): nothing to find there.
    Works slab by slab so it never makes a full-size temporary.
    """
    data = volume.data
    n = np.array(data.shape)
    nb = -(-n // cell)
    hi = np.empty(tuple(nb), np.float64)
    lo = np.empty(tuple(nb), np.float64)
    ix, iy = np.arange(0, n[0], cell), np.arange(0, n[1], cell)
    floating = data.dtype.kind == "f"
    fmax, fmin = (np.fmax, np.fmin) if floating else (np.maximum, np.minimum)
    for bz in range(nb[2]):
        slab = data[:, :, bz * cell : (bz + 1) * cell]
        for out, f in ((hi, fmax), (lo, fmin)):
            plane = f.reduce(slab, axis=2)
            plane = f.reduceat(f.reduceat(plane, ix, axis=0), iy, axis=1)
            out[:, :, bz] = plane
    if floating:
        empty = np.isnan(hi)
        hi[empty], lo[empty] = -np.inf, np.inf
    hi, lo = volume.real(hi), volume.real(lo)
    if volume.slope < 0:
        hi, lo = lo, hi
    # Dilate: each cell takes the extreme of itself and its 26 neighbours.
    for arr, f, pad in ((hi, np.maximum, -np.inf), (lo, np.minimum, np.inf)):
        for axis in range(3):
            p = np.pad(arr, [(1, 1) if a == axis else (0, 0) for a in range(3)],
                       constant_values=pad)
            sl = [slice(None)] * 3
            parts = []
            for s in (slice(0, -2), slice(1, -1), slice(2, None)):
                sl[axis] = s
                parts.append(p[tuple(sl)])
            arr[...] = f(f(parts[0], parts[1]), parts[2])
    return np.stack([hi, lo], axis=-1).astype(np.float32)


class MipRenderer:
    """Renders MIPs of one uploaded volume.

    Parameters
    ----------
    ctx
        A moderngl context (headless or a window's), OpenGL 3.3 or later.
    cell_size
        Voxels per edge of the cells used to skip samples that cannot change the picture.
    max_texture_size
        Override the driver's GL_MAX_3D_TEXTURE_SIZE (to test the limit).
    tile_size
        Largest target rendered in one go; larger images are rendered in tiles.
    """

    def __init__(
        self,
        ctx: moderngl.Context,
        *,
        cell_size: int = 8,
        max_texture_size: int | None = None,
        tile_size: int | None = None,
    ) -> None:
        self.ctx = ctx
        self.cell_size = int(cell_size)
        driver_max = int(ctx.info["GL_MAX_3D_TEXTURE_SIZE"])
        self.max_texture_size = min(driver_max, max_texture_size or driver_max)
        viewport_max = min(ctx.info["GL_MAX_VIEWPORT_DIMS"])
        self.tile_size = min(tile_size or 4096, int(viewport_max), int(ctx.info["GL_MAX_TEXTURE_SIZE"]))
        self.volume: Volume | None = None
        self.texture: moderngl.Texture3D | None = None
        self.cells: moderngl.Texture3D | None = None
        self._value_scale = 1.0
        self._value_offset = 0.0
        self._programs: dict[str, moderngl.Program] = {}
        self._vaos: dict[str, moderngl.VertexArray] = {}
        self._luts: dict[str, moderngl.Texture] = {}
        self._targets: dict[tuple[int, int, str], tuple[moderngl.Texture, moderngl.Framebuffer]] = {}

    # --- resources ------------------------------------------------------------------------
    def program(self, path: str | Path | None = None) -> tuple[moderngl.Program, moderngl.VertexArray]:
        """The program of a shader file (default: the built-in projection), built once."""
        key = str(path or shader_path("mip.glsl"))
        if key not in self._programs:
            prog = build_program(self.ctx, key)
            self._programs[key] = prog
            self._vaos[key] = self.ctx.vertex_array(prog, [])
        return self._programs[key], self._vaos[key]

    def writes_colour(self, path: str | Path | None) -> bool:
        """True for a projection shader that writes final colours (declares ``f_color``)
        instead of values; the display pass then only copies them."""
        return path is not None and "f_color" in Path(path).read_text()

    def forget_program(self, path: str | Path) -> None:
        """Drop a cached program (e.g. a user shader file that changed on disk)."""
        key = str(path)
        if key in self._programs:
            self._vaos.pop(key).release()
            self._programs.pop(key).release()

    def _target(self, cols: int, rows: int, kind: str) -> tuple[moderngl.Texture, moderngl.Framebuffer]:
        key = (cols, rows, kind)
        if key not in self._targets:
            # Keep only a few sizes around (the window resizes).
            for old in [k for k in self._targets if k[2] == kind][2:]:
                tex, fbo = self._targets.pop(old)
                fbo.release()
                tex.release()
            dtype, comps = ("f4", 4) if kind == "value" else ("f1", 4)
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

    def release(self) -> None:
        """Release every GL object this renderer made."""
        ours = {id(fbo) for _, fbo in self._targets.values()}
        if self.ctx.fbo is not None and id(self.ctx.fbo) in ours:
            # Never leave a deleted framebuffer bound: moderngl would re-bind it later.
            self.ctx.detect_framebuffer(0).use()
        for obj in [self.texture, self.cells, *self._vaos.values(), *self._programs.values(),
                    *self._luts.values()]:
            if obj is not None:
                obj.release()
        for tex, fbo in self._targets.values():
            fbo.release()
            tex.release()
        self.texture = self.cells = None
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
        """Put ``volume`` on the GPU in its own dtype (replacing any earlier one)."""
        data = volume.data
        if data.dtype not in TEXTURE_FORMATS:
            raise VolumeError(f"no texture format for dtype {data.dtype}")
        too_big = [n for n in data.shape if n > self.max_texture_size]
        if too_big:
            raise VolumeError(
                f"volume {data.shape} exceeds the OpenGL 3-D texture limit of "
                f"{self.max_texture_size} voxels per axis"
            )
        gl_dtype, xor, factor, bias = TEXTURE_FORMATS[data.dtype]
        for obj in (self.texture, self.cells):
            if obj is not None:
                obj.release()
        tex = self.ctx.texture3d(data.shape, 1, dtype=gl_dtype)
        tex.repeat_x = tex.repeat_y = tex.repeat_z = False
        nx, ny, nz = data.shape
        per_slice = nx * ny * data.itemsize
        step = max(1, UPLOAD_CHUNK_BYTES // per_slice)
        for k0 in range(0, nz, step):
            # (k, j, i) order is x-fastest: a view, not a copy, for Fortran-ordered data.
            block = data[:, :, k0 : k0 + step].transpose(2, 1, 0)
            if xor is not None:
                block = block.view(np.dtype(f"u{data.itemsize}")) ^ xor
            block = np.ascontiguousarray(block)
            tex.write(block, viewport=(0, 0, k0, nx, ny, block.shape[0]))
        self.texture = tex
        # value = texel * factor * slope + (inter - bias * slope)
        self._value_scale = factor * volume.slope
        self._value_offset = volume.inter - bias * volume.slope

        stats = cell_statistics(volume, self.cell_size)
        cells = self.ctx.texture3d(stats.shape[:3], 2, np.ascontiguousarray(
            stats.transpose(2, 1, 0, 3)), dtype="f4")
        cells.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self.cells = cells
        self.volume = volume

    # --- rendering ------------------------------------------------------------------------
    def _tiles(self, cols: int, rows: int) -> Iterator[tuple[int, int, int, int]]:
        """(x0, y0, w, h) tiles in GL pixel coordinates (y from the bottom)."""
        t = self.tile_size
        for y0 in range(0, rows, t):
            for x0 in range(0, cols, t):
                yield x0, y0, min(t, cols - x0), min(t, rows - y0)

    def _set_projection_uniforms(
        self,
        prog: moderngl.Program,
        frame: Frame,
        settings: RenderSettings,
        *,
        exact_values: bool,
        seed: int,
    ) -> None:
        vol = self.volume
        assert vol is not None and self.texture is not None and self.cells is not None
        d = frame.view_dir
        n = np.array(vol.shape, dtype=np.float64)
        index_to_tex = np.diag([*(1.0 / n), 1.0])
        index_to_tex[:3, 3] = 0.5 / n
        world_to_tex = index_to_tex @ np.linalg.inv(vol.affine)
        step = resolve_sample_distance(vol, settings)
        plane0 = float(np.min(vol.corners(full_voxel=False) @ d))
        window, level = resolve_window(vol, settings)
        radius = float(np.max(np.linalg.norm(vol.corners() - vol.center, axis=1)))
        front = float(vol.center @ d) - radius
        slab = (-BIG, BIG)
        if settings.slab is not None:
            mid = float(frame.center @ d) + settings.slab_center
            slab = (mid - settings.slab / 2, mid + settings.slab / 2)
        crop_lo, crop_hi = np.zeros(3), np.ones(3)
        if settings.crop is not None:
            c = np.array(settings.crop, dtype=np.float64).reshape(3, 2)
            crop_lo = np.clip(c[:, 0] / n, 0, 1)
            crop_hi = np.clip((c[:, 1] + 1) / n, 0, 1)
        skip = 0 if not settings.skip_empty else (1 if exact_values else 2)
        values = {
            "u_value_scale": self._value_scale,
            "u_value_offset": self._value_offset,
            "u_volume_size": tuple(n),
            "u_world_to_tex": tuple(world_to_tex.T.ravel()),  # GL is column-major
            "u_tex_to_world": tuple(np.linalg.inv(world_to_tex).T.ravel()),
            "u_center": tuple(frame.center),
            "u_pixel_right": tuple(frame.right * frame.pixel_size),
            "u_pixel_up": tuple(frame.up * frame.pixel_size),
            "u_view_dir": tuple(d),
            "u_image_size": (frame.cols, frame.rows),
            "u_perspective": frame.eye is not None,
            "u_eye": tuple(frame.eye if frame.eye is not None else frame.center),
            "u_sample_distance": step,
            "u_plane0": plane0,
            "u_window": (level - window / 2, level + window / 2),
            "u_mode": MODE_IDS[settings.mode],
            "u_slab": slab,
            "u_crop_lo": tuple(crop_lo),
            "u_crop_hi": tuple(crop_hi),
            "u_depth_front": front,
            "u_depth_length": settings.depth_length or 2 * radius,
            "u_jitter": 1.0 if settings.jitter else 0.0,
            "u_seed": seed,
            "u_refine": settings.refine,
            "u_cell_size": float(self.cell_size),
            "u_skip_mode": skip,
            "u_early_exit": settings.early_exit and not exact_values,
            "u_volume": 0,
            "u_cells": 1,
        }
        for name, value in values.items():
            if name in prog:
                prog[name].value = value
        filt = moderngl.NEAREST if settings.interpolation == "nearest" else moderngl.LINEAR
        self.texture.filter = (filt, filt)
        self.texture.use(0)
        self.cells.use(1)

    def _project_tile(self, frame: Frame, settings: RenderSettings, tile: tuple[int, int, int, int],
                      *, exact_values: bool, seed: int) -> moderngl.Texture:
        prog, vao = self.program(settings.shader)
        self._set_projection_uniforms(prog, frame, settings, exact_values=exact_values, seed=seed)
        x0, y0, w, h = tile
        if "u_pixel_offset" in prog:
            prog["u_pixel_offset"].value = (x0, y0)
        tex, fbo = self._target(w, h, "value")
        fbo.use()
        fbo.viewport = (0, 0, w, h)
        self.ctx.disable(moderngl.BLEND | moderngl.DEPTH_TEST)
        vao.render(moderngl.TRIANGLES, vertices=3)
        return tex

    def _display(self, values: moderngl.Texture, settings: RenderSettings,
                 fbo: moderngl.Framebuffer, viewport: tuple[int, int, int, int]) -> None:
        assert self.volume is not None
        prog, vao = self.program(shader_path("display.glsl"))
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
            x0, y0, w, h = tile
            block = np.frombuffer(tex.read(), np.float32).reshape(h, w, 4)
            out[rows - y0 - h : rows - y0, x0 : x0 + w] = block[::-1]
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
            x0, y0, w, h = tile
            tex, fbo = self._target(w, h, "colour")
            self._display(values, settings, fbo, (0, 0, w, h))
            block = np.frombuffer(fbo.read(components=3, alignment=1), np.uint8).reshape(h, w, 3)
            image[rows - y0 - h : rows - y0, x0 : x0 + w] = block[::-1]
        grey = settings.is_grey and not settings.opacity and not self.writes_colour(settings.shader)
        return image[..., 0].copy() if grey else image

    def draw(self, camera: Camera, settings: RenderSettings, fbo: moderngl.Framebuffer,
             size: tuple[int, int], *, reduction: int = 1, seed: int = 0) -> Frame:
        """Draw into ``fbo`` (a window's screen) at ``size``; ``reduction`` > 1 projects
        fewer rays (size / reduction) and scales them up, for speed while dragging."""
        self._check(size)
        cols, rows = size
        pc, pr = max(1, cols // reduction), max(1, rows // reduction)
        frame = camera.frame(self.volume, cols, rows)  # type: ignore[arg-type]
        small = camera.frame(self.volume, pc, pr)  # type: ignore[arg-type]
        # Keep the same field of view: pixel size of the reduced image follows its width.
        small.pixel_size = frame.pixel_size * cols / pc
        values = self._project_tile(small, settings, (0, 0, pc, pr), exact_values=False, seed=seed)
        filt = moderngl.LINEAR if reduction > 1 else moderngl.NEAREST
        values.filter = (filt, filt)
        self._display(values, settings, fbo, (0, 0, cols, rows))
        values.filter = (moderngl.NEAREST, moderngl.NEAREST)
        return frame
