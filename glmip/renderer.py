"""``MipRenderer``: the volume as a 3-D texture in its own dtype, ray-marched by a GLSL shader.

Two passes: ``shaders/mip.glsl`` projects each ray to a real value (RGBA32F target: value,
distance of the maximum, hit flag, samples taken); ``shaders/display.glsl`` turns values into
colours (window/level, gamma, colormap, opacity, background). The renderer takes a moderngl
context, never makes one, and releases what it creates. Everything computed before drawing
(bricks, cell statistics, uniforms, the volume's outline on screen) is in :mod:`glmip.raycast`;
this module holds the GL objects and the draw calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import moderngl
import numpy as np

from . import raycast
from .camera import Camera, Frame
from .colormaps import colormap_lut
from .companions import Companions
from .gl_resources import GLResources
from .lazy import LazyArray
from .raycast import Projection
from .resources import shader_path
from .settings import RenderSettings
from .volume import Volume, VolumeError

__all__ = ["MipRenderer", "TEXTURE_FORMATS"]

# numpy dtype -> (moderngl dtype, XOR mask to make it unsigned, texel -> stored value factor,
#                 stored value = texel * factor - bias)
# int8/int16 go up as offset binary (v + 128 / v + 32768) in unsigned normalised textures:
# moderngl's signed normalised "ni2" creates an unsigned R16, which clamps negatives.
TEXTURE_FORMATS = {
    np.dtype(np.uint8): ("f1", None, 255.0, 0.0),
    np.dtype(np.int8): ("f1", 0x80, 255.0, 128.0),
    np.dtype(np.uint16): ("nu2", None, 65535.0, 0.0),
    np.dtype(np.int16): ("nu2", 0x8000, 65535.0, 32768.0),
    np.dtype(np.float32): ("f4", None, 1.0, 0.0),
}
UPLOAD_CHUNK_BYTES = 4 << 20  # converted and uploaded a slab at a time: small temporaries
STREAM_BRICK_BYTES = 8 << 20  # largest brick of a streamed volume
DEFAULT_MAX_TEXTURE_BYTES = 1 << 30  # per 3-D texture; Mesa also caps the total


@dataclass
class Brick(raycast.BrickPlan):
    """A brick's plan (:class:`glmip.raycast.BrickPlan`) and its textures: the voxels and the
    cells' (max, min) statistics."""

    texture: moderngl.Texture3D | None = None
    cells: moderngl.Texture3D | None = None

    def release(self) -> None:
        for obj in [o for o in (self.texture, self.cells) if o is not None]:
            obj.release()
        self.texture = self.cells = None


def _set_uniforms(prog: moderngl.Program, uniforms: dict) -> None:
    """Set the uniforms the program uses (the compiler drops unused ones)."""
    for name, value in uniforms.items():
        if name in prog:
            prog[name].value = value


def _place(image: np.ndarray, block: np.ndarray, tile: tuple[int, int, int, int]) -> None:
    """Put a tile read from GL (bottom row first) into a top-first image."""
    x0, y0, w, h = tile
    rows = image.shape[0]
    image[rows - y0 - h : rows - y0, x0 : x0 + w] = block[::-1]


class MipRenderer:
    """Renders MIPs of one uploaded volume.

    (About 450 lines: the upload, the passes and the pictures share the uploaded volume's
    state, its bricks, axes and value scaling; what does not need it lives beside it, in
    glmip/gl_resources.py, glmip/companions.py and the GL-free glmip/raycast.py.)

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
        volumes longer than ``max_texture_size`` on an axis (passes front to back:
        :func:`glmip.raycast.pass_order`).
    """

    def __init__(self, ctx: moderngl.Context, *, cell_size: int | None = None,
                 max_texture_size: int | None = None, tile_size: int | None = None,
                 max_texture_bytes: int | None = None, memory_budget: int | None = None) -> None:
        self.ctx = ctx
        # A lazily read volume (glmip/lazy.py) larger than this many bytes is streamed: one
        # brick at a time is read, uploaded, projected and released, every frame.
        self.memory_budget = memory_budget
        self.streaming = False
        self.bricks_read = 0  # streamed bricks read so far (the others were left unread)
        self._format: tuple = ()
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
        self._value_scale, self._value_offset = 1.0, 0.0  # texel -> real value
        self.gl = GLResources(ctx, self._mip_shader)  # programs, targets, colour tables
        self._accum: np.ndarray | None = None
        self._speedup_cache: dict[tuple, tuple[bool, bool, bool]] = {}
        # The last MIP picture's rays (tile, result texture, frame): the next frame of the same
        # tile takes each ray's first sample where this one found its maximum (the hint in
        # shaders/mip.glsl), so cells below it are passed over from the start.
        self._previous_rays: tuple | None = None
        self.accumulated = 0  # jittered frames in the running mean
        # Called at the start of every projection pass (one per brick) when set: an exception
        # it raises stops the picture there and comes out of render/draw/project (a
        # full-resolution frame drawn in a worker thread nobody waits for any more:
        # glmip/app.py). It may count the passes too.
        self.cancel: Callable[[], None] | None = None
        self._pending: tuple | None = None  # an upload begun slab by slab (begin_upload)
        self._scratch: np.ndarray | None = None  # a reused buffer for converting blocks
        # The mask, segmentations and fused layers' renderers (glmip/companions.py).
        self.companions = Companions(ctx, lambda: MipRenderer(
            ctx, cell_size=cell_size, max_texture_size=self.max_texture_size,
            tile_size=self.tile_size, max_texture_bytes=self.max_texture_bytes,
            memory_budget=memory_budget))

    # --- resources (glmip/gl_resources.py) -------------------------------------------------
    def program(self, path: str | Path | None = None, defines: dict[str, object] | None = None
                ) -> tuple[moderngl.Program, moderngl.VertexArray]:
        """The program of a shader file (default: the built-in projection), built once."""
        return self.gl.program(path, defines)

    def writes_colour(self, path: str | Path | None) -> bool:
        """True for a projection shader that writes final colours (``out vec4 f_color``)."""
        return self.gl.writes_colour(path)

    def forget_program(self, path: str | Path) -> None:
        """Drop the cached programs of a file (e.g. a user shader that changed on disk)."""
        self.gl.forget_program(path)

    def unload(self) -> None:
        """Forget the volume: release its textures and every reference to its array, keeping
        the programs and targets for the next upload (a batch worker between scans)."""
        for brick in self.bricks:
            brick.release()
            brick.volume = None  # type: ignore[assignment]
        self.bricks = []
        self.volume = self._gpu_volume = None
        self._accum = None
        self._previous_rays = None
        self.companions.release()

    def release(self) -> None:
        """Release every GL object this renderer made."""
        for brick in self.bricks:
            brick.release()
        self.bricks = []
        self._previous_rays = None
        self.companions.release()
        self.gl.release()

    def __enter__(self) -> "MipRenderer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # --- upload ---------------------------------------------------------------------------
    def streams(self, volume: Volume) -> bool:
        """True when ``volume`` would be streamed: read lazily and larger than the memory
        budget (its bricks are then read, uploaded and released on every frame)."""
        return (self.memory_budget is not None and isinstance(volume.data, LazyArray)
                and volume.data.nbytes > self.memory_budget)

    def _brick_limits(self, streaming: bool) -> tuple[int | None, int, int]:
        """(cell size asked for, texture edge, texture bytes) to plan bricks with."""
        max_bytes = self.max_texture_bytes
        if streaming:
            # A brick, its cells and the slab being converted fit the budget; bricks of at most
            # STREAM_BRICK_BYTES let the empty ones of a sparse volume go unread.
            max_bytes = min(max_bytes, STREAM_BRICK_BYTES,
                            max(int(self.memory_budget) // 3, 1 << 20))  # type: ignore[arg-type]
        return self._fixed_cell_size, self.max_texture_size, max_bytes

    def plan_upload(self, volume: Volume) -> raycast.VolumePlan:
        """The plan of :meth:`upload` (bricks, axes, cell size), without reading a voxel and
        without GL: callable from any thread. A volume held whole then goes up slab by slab:
        :meth:`begin_upload` here, :func:`glmip.raycast.read_slabs` (anywhere) giving the slabs
        and the cells' statistics, :meth:`write_slab` for each, :meth:`finish_upload`; a
        streamed volume (:meth:`streams`) is read when drawn, :meth:`upload` it."""
        if volume.data.dtype not in TEXTURE_FORMATS:
            raise VolumeError(f"no texture format for dtype {volume.data.dtype}")
        streaming = self.streams(volume)
        limits = self._brick_limits(streaming)
        gpu, axes, cell, plans = raycast.plan_volume(volume, *limits)
        return raycast.VolumePlan(volume, gpu, axes, cell, plans, limits, streaming)

    def begin_upload(self, plan: raycast.VolumePlan) -> None:
        """Start putting a planned volume (:meth:`plan_upload`) on the GPU slab by slab: the
        volume shown so far is dropped and each brick's texture made, empty (a driver that
        keeps textures in RAM, as llvmpipe does, fills it with zeros now). Nothing can be drawn
        until :meth:`finish_upload`."""
        if plan.streaming:
            raise VolumeError("a streamed volume is read brick by brick when drawn: upload it")
        if plan.limits != self._brick_limits(False):
            raise VolumeError("a volume planned for other texture limits")
        self.unload()
        self._format = TEXTURE_FORMATS[plan.gpu.data.dtype]
        self.streaming = False
        for p in plan.bricks:
            brick = Brick(p.volume, p.start, p.own_lo, p.own_hi, p.texture_shape)
            brick.texture = self._new_texture(brick.texture_size, self._format[0])
            self.bricks.append(brick)
        self._pending = (plan, self.bricks)

    def write_slab(self, slab: raycast.Slab) -> None:
        """Write a slab of the volume being uploaded (:func:`glmip.raycast.read_slabs`) into
        every brick's texture that holds part of it; the slab may be dropped afterwards."""
        plan, bricks = self._pending_upload()
        for brick in bricks:
            part = raycast.slab_part(slab.data, slab.start, brick)
            if part is not None:
                self._write_block(brick.texture, part[1], part[0], brick.volume.shape,
                                  brick.texture_size)

    def finish_upload(self) -> None:
        """Every slab written: make the cells' textures from the statistics
        :func:`~glmip.raycast.read_slabs` computed; the volume is drawn from now on, exactly as
        after :meth:`upload`."""
        plan, bricks = self._pending_upload()
        if any(p.stats is None for p in plan.bricks):
            raise VolumeError("finish_upload before every slab was read")
        for brick, p in zip(bricks, plan.bricks):
            brick.stats = p.stats
            self._make_cells(brick)
        self._pending = self._scratch = None
        self._show(plan.volume, plan.gpu, plan.axes, plan.cell_size)

    def _pending_upload(self) -> tuple[raycast.VolumePlan, list[Brick]]:
        pending = self._pending
        if pending is None or pending[1] is not self.bricks:  # none begun, or unloaded since
            raise RuntimeError("no upload begun (begin_upload)")
        return pending

    def upload(self, volume: Volume) -> None:
        """Put ``volume`` on the GPU in its own dtype (replacing any earlier one), in bricks
        when it exceeds the texture limits; a lazily read one is read slab by slab as it goes
        up, never whole (a streamed one, :meth:`streams`, only planned)."""
        plan = self.plan_upload(volume)
        if not plan.streaming:  # each slab read once, for the textures and the statistics
            self.begin_upload(plan)
            for slab in raycast.read_slabs(plan, UPLOAD_CHUNK_BYTES):
                self.write_slab(slab)
            self.finish_upload()
            return
        self.unload()
        self._pending = None
        self._format = TEXTURE_FORMATS[volume.data.dtype]
        self.streaming = True
        self.bricks = [Brick(p.volume, p.start, p.own_lo, p.own_hi, p.texture_shape)
                       for p in plan.bricks]
        self._show(volume, plan.gpu, plan.axes, plan.cell_size)

    def _show(self, volume: Volume, gpu: Volume, axes: tuple[int, int, int],
              cell_size: int) -> None:
        """The bricks made: ``volume`` is the one drawn (as ``gpu``, in texture ``axes``)."""
        _, _, factor, bias = self._format
        self._gpu_volume, self._axes, self.cell_size = gpu, axes, cell_size
        self._speedup_cache = {}
        # value = texel * factor * slope + (inter - bias * slope)
        self._value_scale = factor * volume.slope
        self._value_offset = volume.inter - bias * volume.slope
        self.volume = volume

    def _load(self, brick: Brick) -> None:
        """Upload a brick's voxels and its cells' statistics (read now when streaming)."""
        data = brick.volume.data
        if brick.stats is None:  # streamed: read the brick once, for both
            self.bricks_read += 1
            part = Volume(np.asarray(data), brick.volume.affine, brick.volume.slope,
                          brick.volume.inter, brick.volume.name)
            data, brick.stats = part.data, raycast.cell_statistics(part, self.cell_size)
        self._make_textures(brick, data)

    def _make_textures(self, brick: Brick, data: np.ndarray | LazyArray) -> None:
        """The brick's textures: its voxels (``data``, in memory or read slab by slab) and its
        cells' statistics."""
        brick.texture = self._upload_texture(data, brick.texture_size, self._format[0])
        self._make_cells(brick)

    def _make_cells(self, brick: Brick) -> None:
        """The texture of the brick's cells' (max, min) statistics."""
        assert brick.stats is not None
        brick.cells = self.ctx.texture3d(brick.stats.shape[:3], 2, np.ascontiguousarray(
            brick.stats.transpose(2, 1, 0, 3)), dtype="f4")
        brick.cells.filter = (moderngl.NEAREST, moderngl.NEAREST)

    def _new_texture(self, size: tuple[int, ...], gl_dtype: str) -> moderngl.Texture3D:
        tex = self.ctx.texture3d(size, 1, dtype=gl_dtype)
        tex.repeat_x = tex.repeat_y = tex.repeat_z = False
        return tex

    def _upload_texture(self, data: np.ndarray | LazyArray, size: tuple[int, ...],
                        gl_dtype: str) -> moderngl.Texture3D:
        """A texture of ``size`` voxels holding ``data`` at its origin, written (and a lazily
        held volume read) a slab of about UPLOAD_CHUNK_BYTES at a time (:meth:`_write_block`)."""
        tex = self._new_texture(size, gl_dtype)
        nx, ny, nz = data.shape
        step = max(1, UPLOAD_CHUNK_BYTES // (nx * ny * data.itemsize))
        for k0 in range(0, nz, step):
            # np.asarray reads a lazily held volume (glmip/lazy.py) one slab at a time.
            self._write_block(tex, np.asarray(data[:, :, k0:k0 + step]), (0, 0, k0), data.shape,
                              size)
        self._scratch = None
        return tex

    def _write_block(self, tex: moderngl.Texture3D, block: np.ndarray, at: Sequence[int],
                     shape: Sequence[int], size: Sequence[int]) -> None:
        """Write ``block`` (i, j, k) at voxel ``at`` of a texture of ``size`` holding a volume
        of ``shape`` at its origin. Where the texture is larger, one more layer repeats the
        volume's last one: samples in the last half voxel then read what clamping to the edge
        would give; a block that ends on the last layer writes the repeated one too."""
        _, xor, _, _ = self._format
        # (k, j, i) order is x-fastest: a view, not a copy, for Fortran-ordered data.
        block = block.transpose(2, 1, 0)
        pad = [int(at[a] + block.shape[2 - a] == shape[a] < size[a]) for a in range(3)]
        if any(pad):
            block = np.pad(block, ((0, pad[2]), (0, pad[1]), (0, pad[0])), mode="edge")
        if xor is not None:  # to offset binary, in a buffer reused from block to block
            buf = self._buffer(block.shape, np.dtype(f"u{block.itemsize}"))
            np.bitwise_xor(block.view(buf.dtype), xor, out=buf)
            block = buf
        elif not block.flags.c_contiguous:
            buf = self._buffer(block.shape, block.dtype)
            np.copyto(buf, block)
            block = buf
        tex.write(block, viewport=(*at, block.shape[2], block.shape[1], block.shape[0]))

    def _buffer(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """A scratch array of ``shape`` (one kept, not one allocated per block)."""
        buf = self._scratch
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._scratch = np.empty(shape, dtype)
        return buf

    # --- rendering ------------------------------------------------------------------------
    def speedups(self, settings: RenderSettings) -> tuple[bool, bool]:
        """(skip_empty, early_exit) for these settings: as asked, or where they pay
        (:func:`glmip.raycast.speedups`); remembered for the last window, mode and choices."""
        return self._choices(settings)[:2]

    def _choices(self, settings: RenderSettings) -> tuple[bool, bool, bool]:
        """(skip_empty, early_exit, whether a MIP picture takes the previous frame's hint:
        :func:`glmip.raycast.hint_pays`), remembered for the last window, mode and choices."""
        assert self.volume is not None
        window = raycast.window_range(self.volume, settings)
        key = (window, settings.mode, settings.skip_empty, settings.early_exit)
        if self.streaming:  # no statistics before the bricks are read: both (they are exact)
            return (settings.skip_empty is not False, settings.early_exit is not False, False)
        if key not in self._speedup_cache:
            stats = [b.stats for b in self.bricks]
            chosen = raycast.speedups(stats, window, settings.mode, settings.skip_empty,
                                      settings.early_exit)
            self._speedup_cache = {key: (*chosen, raycast.hint_pays(stats, window,
                                                                    settings.mode, chosen))}
        return self._speedup_cache[key]

    def _with_labels(self, camera: Camera, settings: RenderSettings, size: tuple[int, int],
                     image: np.ndarray) -> np.ndarray:
        """The picture with the label at each ray's maximum (exact projection) blended over,
        one segmentation after the other (later over earlier)."""
        layers = self.companions.label_sources(settings)
        proj = self.project(camera, settings.copy(labels=None, fuse=None), size,
                            exact_values=True)
        points = proj.positions()
        for labels, table in layers:
            ids = raycast.labels_at(labels, points)
            image = raycast.overlay_labels(image, ids, raycast.label_colours(ids, table),
                                           settings.labels_style, settings.labels_opacity)
        return image

    def _project_tile(self, frame: Frame, settings: RenderSettings, tile: tuple[int, int, int, int],
                      *, exact_values: bool, seed: int, outline: np.ndarray | None
                      ) -> moderngl.Texture:
        """Project one tile: one pass per brick (:func:`glmip.raycast.plan_passes`), passes
        alternating between two targets, each reading the previous one's result. ``outline``:
        the volume's outline in the tile (:meth:`_footprint`), the only pixels drawn; None:
        every pixel."""
        if len(self.bricks) > 1 and self.writes_colour(settings.shader):
            raise VolumeError(f"{settings.shader}: a shader that writes colours (f_color) cannot "
                              f"render a volume split into {len(self.bricks)} bricks")
        assert self.volume is not None and self._gpu_volume is not None
        masked = self.companions.mask_textures(settings, self.volume, self._axes, self.bricks)
        choices = self._choices(settings)  # skip_empty, early_exit, hint
        common = raycast.projection_uniforms(
            self.volume, frame, settings, tile, value_scale=self._value_scale,
            value_offset=self._value_offset, cell_size=self.cell_size,
            speedup=choices[:2], exact_values=exact_values, seed=seed, masked=masked)
        switches = raycast.shader_switches(common, settings)
        hinted = choices[2] and raycast.takes_hint(settings, common, len(self.bricks))
        previous = self._previous_rays if hinted else None
        if previous is not None and previous[0] == tile:
            switches["GLMIP_HINT"] = "true"
            common.update(raycast.hint_uniforms(previous[2]))
            previous[1].use(raycast.HINT_UNIT)
        else:
            previous = None
        targets, states = self._pass_targets(settings, common, switches, tile,
                                             avoid=previous[1] if previous else None)
        fan = self._outline(outline, tile, targets, switches)
        passes = raycast.plan_passes(self.bricks, self._gpu_volume, self._axes, frame, settings)
        skip_below = self._unread_skip_level(settings, exact_values, fan is not None)
        last = passes[-1][0] if passes else None
        drawn = 0
        # A pass but the last draws only the rectangle around its brick and the previous
        # drawn pass's: elsewhere the target it writes already holds the result so far (it
        # was written two passes ago, and only the previous pass changed anything since).
        # The last pass draws everything: it finishes every pixel (colours, grey levels).
        scissored = fan is not None and len(passes) > 1
        previous_rect: tuple[int, int, int, int] | None = None
        for index, uniforms in passes:
            if self.cancel is not None:
                self.cancel()
            brick = self.bricks[index]
            if brick.texture is None:  # streamed: read and upload it for this pass
                bound = brick.volume.data.upper_bound() if skip_below is not None else None
                if bound is not None and bound <= skip_below:
                    continue  # nothing in it can reach grey 1: not even read
                self._load(brick)
            switches["GLMIP_HAS_PREVIOUS"] = "true" if drawn else "false"
            prog, vao = self.program(settings.shader, switches)
            _set_uniforms(prog, {**common, **uniforms, "u_has_previous": drawn > 0,
                                 "u_last_pass": index == last})
            self._bind_pass(settings, index, masked, drawn, targets, states)
            fbo = targets[drawn % len(targets)][1]
            fbo.use()
            fbo.viewport = (0, 0, tile[2], tile[3])
            if scissored:
                rect = raycast.brick_rect(frame, self._gpu_volume, brick, tile)
                fbo.scissor = (None if index == last
                               else rect if drawn == 0 else raycast.union_rect(previous_rect, rect))
                previous_rect = rect
            if fan is not None and "u_footprint" in prog:
                prog["u_footprint"].write(fan[1].tobytes())
                vao.render(moderngl.TRIANGLE_FAN, vertices=fan[0])
            else:
                vao.render(moderngl.TRIANGLES, vertices=3)
            fbo.scissor = None
            if self.streaming:
                self.ctx.finish()
                brick.release()
                brick.stats = None
            drawn += 1
        if not drawn:  # everything cropped away (or skipped unread): all background
            targets[0][1].use()
            targets[0][1].clear(0.0, 0.0, 0.0, 0.0)
        result = targets[max(drawn - 1, 0) % len(targets)][0]
        self._previous_rays = (tile, result, frame) if hinted else None
        return result

    def _pass_targets(self, settings: RenderSettings, common: dict, switches: dict,
                      tile: tuple[int, int, int, int], avoid: moderngl.Texture | None = None
                      ) -> tuple[list, list]:
        """(targets, state textures) the passes alternate between. Several bricks: two
        targets; mida's pictures and lmip carry their ray's state from pass to pass in a
        second colour attachment of each. One brick: one target, not ``avoid`` (the
        previous frame's result, read by this one for its hint)."""
        w, h = tile[2], tile[3]
        bricked = len(self.bricks) > 1
        carries = (bricked and settings.shader is None and settings.mode in raycast.STATE_MODES
                   and (settings.mode == "lmip" or bool(common["u_colour"])))
        if bricked and settings.shader is None:
            switches["GLMIP_BRICKED"] = "true"
        if carries:
            switches["GLMIP_STATE"] = "1"
            made = [self.gl.state_target(w, h, k) for k in ("state", "state2")]
            return [(tex, fbo) for tex, fbo, _ in made], [state for _, _, state in made]
        if len(self.bricks) == 1:
            first = self.gl.target(w, h, "value")
            return [first if first[0] is not avoid else self.gl.target(w, h, "value2")], []
        return [self.gl.target(w, h, k) for k in ("value", "value2")], []

    def _outline(self, outline: np.ndarray | None, tile: tuple[int, int, int, int],
                 targets: list, switches: dict) -> tuple[int, np.ndarray] | None:
        """(vertices, fan) of the (cropped) volume's ``outline`` on screen (:meth:`_footprint`),
        the only pixels the built-in shader draws (targets cleared to "no hit" outside it);
        None without one (a user's shader runs on every pixel, as it may paint misses too)."""
        self.ctx.disable(moderngl.BLEND | moderngl.DEPTH_TEST)
        if outline is None:
            return None
        switches["GLMIP_FOOTPRINT"] = "1"
        fan = np.zeros((16, 2), np.float32)
        fan[: len(outline)] = outline
        for _, target in targets:
            target.use()
            target.viewport = (0, 0, tile[2], tile[3])
            target.clear(0.0, 0.0, 0.0, 0.0)
        return len(outline), fan

    def _footprint(self, frame: Frame, settings: RenderSettings,
                   tile: tuple[int, int, int, int]) -> np.ndarray | None:
        """The (cropped) volume's outline in the tile (:func:`glmip.raycast.footprint`), or
        None: a user's shader runs on every pixel, as it may paint misses too."""
        assert self._gpu_volume is not None
        if settings.shader is not None:
            return None
        corners = raycast.box_corners(self._gpu_volume, self._axes, settings.crop)
        return raycast.footprint(frame, corners, tile)

    def _bind_pass(self, settings: RenderSettings, index: int, masked: bool, drawn: int,
                   targets: list, states: list) -> None:
        """Bind the textures pass ``drawn`` (brick ``index``) reads."""
        filt = moderngl.NEAREST if settings.interpolation == "nearest" else moderngl.LINEAR
        brick = self.bricks[index]
        assert brick.texture is not None and brick.cells is not None
        brick.texture.filter = (filt, filt)
        brick.texture.use(0)
        brick.cells.use(1)
        if settings.mode == "mida":
            self.gl.lut(settings.colormap).use(3)
        if masked:
            self.companions.masks[index].filter = (filt, filt)
            self.companions.masks[index].use(4)
        if drawn:
            targets[(drawn + 1) % len(targets)][0].use(2)  # the previous pass's result
            if states:
                states[(drawn + 1) % len(states)].use(5)

    def _unread_skip_level(self, settings: RenderSettings, exact_values: bool,
                           outlined: bool) -> float | None:
        """The stored value at or below which a streamed brick need not even be read, or None.

        A brick whose upper bound (a max pyramid's coarser level: LazyArray.upper_bound) is at
        or below the window's bottom can only give its rays grey 0. Leaving it out turns a ray
        that meets nothing else into a miss, which looks the same only where a miss is drawn
        like grey 0: a MIP (or depth-cued MIP) picture, not exact values, the built-in shader
        with its outline (targets start cleared), the background equal to the colour map's
        first entry, no opacity ramp, and a positive value scale."""
        if not (self.streaming and not exact_values and outlined and settings.shader is None
                and settings.mode in ("mip", "depth") and not settings.opacity
                and self._value_scale > 0):
            return None
        first = colormap_lut(settings.colormap)[0]
        if np.abs(np.asarray(settings.background) - first).max() > 0.5 / 255:
            return None
        lo = raycast.window_range(self.volume, settings)[0]  # type: ignore[arg-type]
        return (lo - self.volume.inter) / self.volume.slope  # type: ignore[union-attr]

    def _display(self, values: moderngl.Texture, settings: RenderSettings,
                 fbo: moderngl.Framebuffer, viewport: tuple[int, int, int, int],
                 rays: tuple[int, int, int, int] | None = None) -> None:
        """The display pass into ``fbo``; ``rays``, the rectangle (x, y, w, h) outside which
        no ray met the volume: there the background is cleared, not drawn pixel by pixel."""
        assert self.volume is not None
        prog, vao = self.program(self._display_shader)
        _set_uniforms(prog, raycast.display_uniforms(self.volume, settings, viewport[2:],
                                                     self.writes_colour(settings.shader)))
        values.use(0)
        self.gl.lut(settings.colormap).use(1)
        fbo.use()
        fbo.viewport = viewport
        if rays is not None:
            fbo.clear(*settings.background, 1.0)
            fbo.scissor = rays
        vao.render(moderngl.TRIANGLES, vertices=3)
        fbo.scissor = None

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
        for tile in raycast.tiles(cols, rows, self.tile_size):
            tex = self._project_tile(frame, settings, tile, exact_values=exact_values, seed=seed,
                                     outline=self._footprint(frame, settings, tile))
            block = np.frombuffer(tex.read(), np.float32).reshape(tile[3], tile[2], 4)
            _place(out, block, tile)
        return Projection.from_rgba(out, frame)

    def render(self, camera: Camera, settings: RenderSettings, size: tuple[int, int],
               *, seed: int = 0) -> np.ndarray:
        """The picture as uint8, rows top-first: (rows, cols) grey or (rows, cols, 3) colour.
        With ``settings.fuse``, the fused layers are projected on the same rays and
        composited (always colour), then the labels are drawn."""
        self._check(size)
        cols, rows = size
        frame = camera.frame(self.volume, cols, rows)  # type: ignore[arg-type]
        if settings.fuse:
            image = self._fused_picture(frame, settings, size, seed)
        else:
            image = self._picture(frame, settings.copy(labels=None), size, seed)
        if settings.labels is not None:
            return self._with_labels(camera, settings, size, image)
        return image

    def _picture(self, frame: Frame, settings: RenderSettings, size: tuple[int, int],
                 seed: int) -> np.ndarray:
        """The picture of the rays of ``frame`` (no labels, nothing fused)."""
        cols, rows = size
        image = np.empty((rows, cols, 3), np.uint8)
        for tile in raycast.tiles(cols, rows, self.tile_size):
            outline = self._footprint(frame, settings, tile)
            values = self._project_tile(frame, settings, tile, exact_values=False, seed=seed,
                                        outline=outline)
            w, h = tile[2], tile[3]
            tex, fbo = self.gl.target(w, h, "colour")
            self._display(values, settings, fbo, (0, 0, w, h),
                          None if outline is None else raycast.outline_rect(outline, tile))
            block = np.frombuffer(fbo.read(components=3, alignment=1), np.uint8).reshape(h, w, 3)
            _place(image, block, tile)
        return self._as_grey(image, settings)

    def _as_grey(self, image: np.ndarray, settings: RenderSettings) -> np.ndarray:
        """A picture (rows, cols, 3) as (rows, cols) when it is grey: a grey colour map on a
        grey background, no opacity ramp (mida's opacity makes no colour), no user shader's
        own colours."""
        grey = (settings.is_grey and (settings.mode == "mida" or not settings.opacity)
                and not self.writes_colour(settings.shader))
        return image[..., 0].copy() if grey else image

    def _fused_picture(self, frame: Frame, settings: RenderSettings, size: tuple[int, int],
                       seed: int) -> np.ndarray:
        """The input's picture and each fused layer's, every one projected along the rays of
        ``frame`` (each through its own volume's geometry: sample planes, depth sphere),
        composited (:func:`glmip.raycast.composite_layers`)."""
        base = self._picture(frame, settings.copy(labels=None, fuse=None), size, seed)
        layers = []
        for k, source in enumerate(settings.fuse):
            renderer = self.companions.fused_renderer(k, source)
            layers.append(renderer._picture(frame, settings.layer(k), size, seed))
        return raycast.composite_layers(base, layers, settings.composite)

    def _accumulate(self, values: moderngl.Texture, more: bool) -> None:
        """Running mean of projected values over jittered frames, written back to ``values``;
        ``more`` False starts a new one."""
        new = np.frombuffer(values.read(), np.float32).reshape(values.height, values.width, 4)
        self._accum, self.accumulated = raycast.accumulate(
            self._accum if more else None, new, self.accumulated)
        if self.accumulated > 1:
            values.write(self._accum)

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
        tile = (0, 0, pc, pr)
        values = self._project_tile(small, settings, tile, exact_values=False, seed=seed,
                                    outline=self._footprint(small, settings, tile))
        if settings.jitter:
            self._accumulate(values, accumulate)
        filt = moderngl.LINEAR if reduction > 1 else moderngl.NEAREST
        values.filter = (filt, filt)
        self._display(values, settings, fbo, (0, 0, cols, rows))
        values.filter = (moderngl.NEAREST, moderngl.NEAREST)
        return frame

    def display(self, projection: Projection, settings: RenderSettings) -> np.ndarray:
        """The picture of a projection made elsewhere (the combined parts of a projection split
        over workers: glmip/distributed.py), through the same display pass as :meth:`render`.
        The uploaded volume gives the automatic window."""
        assert self.volume is not None
        rows, cols = projection.value.shape
        rgba = projection.rgba()
        image = np.empty((rows, cols, 3), np.uint8)
        for tile in raycast.tiles(cols, rows, self.tile_size):
            x0, y0, w, h = tile
            values, _ = self.gl.target(w, h, "value")
            block = rgba[rows - y0 - h : rows - y0, x0 : x0 + w][::-1]  # GL rows: bottom first
            values.write(np.ascontiguousarray(block, np.float32))
            _, fbo = self.gl.target(w, h, "colour")
            self._display(values, settings, fbo, (0, 0, w, h))
            out = np.frombuffer(fbo.read(components=3, alignment=1), np.uint8).reshape(h, w, 3)
            _place(image, out, tile)
        return self._as_grey(image, settings)
