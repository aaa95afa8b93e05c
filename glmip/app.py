"""The viewer window: moderngl-window glue (the only module importing moderngl_window).

Where things are:

* the main loop: :meth:`MipViewer.run` calls :meth:`MipViewer.step` until the window closes;
  moderngl-window's own loop, when it drives the window, calls the same step through
  ``on_render``. A step re-projects the MIP into an offscreen image only when something changed
  (:meth:`~MipViewer._update`) and shows it with the overlay on top (:meth:`~MipViewer._present`);
* mouse and keys: the gestures and the pure camera/settings changes are in
  :mod:`glmip.interaction`; the keys' action table is :meth:`MipViewer._action_table`;
* the overlay (help, status line, orientation letters, scale bar) is rasterised by
  :mod:`glmip.overlay`; here it is only uploaded and blended;
* pictures come from the renderer (:class:`~glmip.renderer.MipRenderer`) of the volume shown;
  a pyramid level goes up slab by slab into a second one, swapped in when complete, and a
  streamed level's full-resolution frames are drawn by a worker thread with its own GL context
  while the finest level held whole stands in (:class:`_LevelLoad`, :class:`_FrameWorker`).

While the mouse drags, frames are coarse (fewer rays, longer step:
:class:`~glmip.interaction.QualityPolicy`); ``settle`` seconds after the last motion a
full-quality frame replaces them. The ``x`` screenshot re-renders offscreen at the window size
times the magnification, exactly as ``glmip render`` would, and prints the command that
reproduces it (docs/viewer.md).

Run it with :func:`open_viewer`; tests drive :class:`MipViewer` on moderngl-window's headless
window and call :meth:`MipViewer.step` for each frame.
"""

from __future__ import annotations

import concurrent.futures
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import moderngl
import moderngl_window
import numpy as np
from moderngl_window import WindowConfig

from . import interaction as ia
from . import raycast
from .camera import Camera
from .context import create_headless_context, exact_software_sampling
from .errors import ContextError, UsageError
from .io import load
from .levels import LevelPolicy
from .options import default_memory
from .overlay import Overlay, OverlayState, status_line
from .pipeline import write_screenshot, write_turntable
from .programs import build_program
from .recipe import Recipe, reproduction_path
from .renderer import MipRenderer
from .resources import shader_path
from .shaderlab import ShaderWatcher
from .settings import RenderSettings, resolve_window
from .volume import Volume

__all__ = ["ViewerOptions", "MipViewer", "open_viewer", "make_window"]

MOUSE_BUTTONS = {1: "left", 2: "right", 3: "middle"}  # moderngl-window's numbering
# A new version of a user shader must finish a small test picture in another process within
# this time before the window draws with it (a draw call that never ends cannot be stopped);
# a user shader whose full frame takes longer than SHADER_FRAME_SECONDS is set aside.
SHADER_PROBE_SECONDS = 10.0
SHADER_FRAME_SECONDS = 3.0
# A pyramid level held whole goes up slab by slab: the reader thread runs at most this many
# slabs ahead of the upload, and the window's thread spends about this long a turn writing them.
SLABS_AHEAD = 2
WRITE_SECONDS = 0.05


@dataclass
class ViewerOptions:
    """How the window behaves (beyond camera and render settings).

    input_path, reader_options
        Where the volume came from (for 4-D stepping and the printed ``glmip render`` command).
    magnification
        Screenshot size = window size x this (vmtk's default 4).
    auto_sample_distance
        Coarser frames while dragging (vmtk's ``-autosampledistance 1``); off: every frame uses
        the given sample distance.
    screenshot_dir
        Where ``x`` writes; None: the current directory at the time of the key press.
    memory
        Bytes of a lazily read volume (a pyramid level) held whole; a larger one is streamed
        brick by brick (``--memory``); None: half of this machine's RAM.
    """

    input_path: str = ""
    reader_options: dict[str, Any] = field(default_factory=dict)
    magnification: int = 4
    auto_sample_distance: bool = True
    screenshot_dir: str | None = None
    echo: Callable[[str], None] = print
    memory: int | None = None


def ray_maximum(renderer: MipRenderer, camera: Camera, volume: Volume,
                settings: RenderSettings, r: float, c: float, size: tuple[int, int]
                ) -> tuple[float, np.ndarray]:
    """(value, world position) of the projected value along the ray through framebuffer point
    (row ``r``, column ``c``) of a ``size`` picture (mouse y grows downwards, like rows).
    Orthographic: one ray, a 1x1 picture centred there; perspective: the pixel's ray."""
    cols, rows = size
    frame = camera.frame(volume, cols, rows)
    if frame.eye is None:
        cam = camera.copy(center=frame.pixel_point(r - 0.5, c - 0.5), fit=frame.pixel_size,
                          zoom=1.0)
        proj = renderer.project(cam, settings, (1, 1))
        return float(proj.value[0, 0]), proj.positions()[0, 0]
    proj = renderer.project(camera, settings, (cols, rows))
    ri, ci = min(int(r), rows - 1), min(int(c), cols - 1)
    return float(proj.value[ri, ci]), proj.positions()[ri, ci]


class _OverlayLayer:
    """The GL half of the overlay: :class:`~glmip.overlay.Overlay` pictures uploaded to a
    texture (only when their key changed) and blended over the window's framebuffer."""

    def __init__(self, ctx: moderngl.Context) -> None:
        self.ctx = ctx
        self.painter = Overlay()
        self.key: Any = None
        self.tex: moderngl.Texture | None = None
        self.prog = build_program(ctx, shader_path("overlay.glsl"))
        self.vao = ctx.vertex_array(self.prog, [])

    def update(self, state: OverlayState) -> None:
        """Rasterise and upload ``state`` unless it is what the texture already holds."""
        if state.key == self.key and self.tex is not None:
            return
        data = self.painter.draw(state).tobytes()
        if self.tex is None or self.tex.size != state.size:
            if self.tex is not None:
                self.tex.release()
            self.tex = self.ctx.texture(state.size, 4, data)
            self.tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        else:
            self.tex.write(data)
        self.key = state.key

    def blend(self) -> None:
        """Draw the texture over the bound framebuffer (alpha blending, one triangle)."""
        assert self.tex is not None
        self.ctx.enable(moderngl.BLEND)
        self.ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        self.tex.use(0)
        self.prog["u_overlay"].value = 0
        self.vao.render(moderngl.TRIANGLES, vertices=3)
        self.ctx.disable(moderngl.BLEND)

    def release(self) -> None:
        for obj in (self.tex, self.vao, self.prog):
            if obj is not None:
                obj.release()


class _LiveShader:
    """The user shader (--shader), watched: saving the file recompiles it live; a broken
    version is reported and the last good one keeps running (docs/shaders.md)."""

    def __init__(self, renderer: MipRenderer, path: str) -> None:
        self.watcher = ShaderWatcher(renderer, path, probe_seconds=SHADER_PROBE_SECONDS)
        self.generation = self.watcher.generation
        self.polled = 0.0

    @property
    def shader(self) -> Any:
        return self.watcher.shader

    @property
    def path(self) -> Any:
        return self.watcher.path

    @property
    def error(self) -> str | None:
        return self.watcher.error

    def poll(self, now: float, every: float) -> tuple[str | None, bool]:
        """Look at the file if ``every`` seconds have passed since the last look:
        (error message or None, whether a new version was built)."""
        if now - self.polled < every:
            return None, False
        self.polled = now
        error = self.watcher.poll()
        rebuilt = self.watcher.generation != self.generation
        self.generation = self.watcher.generation
        return error, rebuilt

    def close(self) -> None:
        self.watcher.close()


class _ViewerOutputs:
    """What the viewer writes: the ``x`` screenshot, the ``glmip render`` command that
    reproduces it, the ``t`` turntable movie. Part of :class:`MipViewer`; uses its ``renderer``,
    ``camera``, ``settings``, ``volume``, ``options``, ``user_shader``, ``window_pixels``,
    ``screenshots`` and ``say``."""

    renderer: MipRenderer
    camera: Camera
    settings: RenderSettings
    volume: Volume
    options: ViewerOptions
    user_shader: str | None
    screenshots: list[Path]
    window_pixels: tuple[int, int]
    say: Callable[..., None]

    def _recording_progress(self, done: int, total: int) -> None:
        """Show how far a recording is, on screen (the window is busy meanwhile)."""
        self.say(f"t: recording a turntable movie, frame {done}/{total}...", echo=False)
        self.show_now()

    def shader_error(self) -> str | None:
        """The user shader's current compile error, or None (also without a user shader)."""
        watcher = getattr(self, "shader_watcher", None)
        return None if watcher is None else watcher.error

    def _screenshot_key(self) -> None:
        try:
            self.screenshot()
        except (OSError, UsageError) as exc:  # e.g. a read-only directory: keep running
            self.say(f"x: screenshot not saved: {exc}")

    def recipe(self, size: tuple[int, int], volume: Volume | None = None) -> Recipe:
        """The recipe of what the window shows, drawn at ``size`` from ``volume`` (default the
        one shown): the same options ``glmip render`` takes (the user's shader file by its own
        name)."""
        volume = volume if volume is not None else self.volume
        return Recipe.of_view(self.options.input_path or volume.name or "INPUT",
                              self.camera, self.settings.copy(shader=self.user_shader),
                              volume, size, self.options.reader_options)

    def _export_source(self) -> tuple[Volume, MipRenderer, bool]:
        """(volume, renderer, whether the renderer is a temporary one) that exports draw:
        full resolution (pyramid level 0) while the window still shows a coarser level, unless
        the user pinned a level (glmip/levels.py)."""
        return self.volume, self.renderer, False

    def screenshot(self) -> Path:
        """Render the view at window size x magnification, save it, print path and command."""
        mag = max(1, int(self.options.magnification))
        cols, rows = self.window_pixels
        volume, renderer, temporary = self._export_source()
        # Drawn with the settings on screen (a live shader's last good build); the recipe names
        # the user's shader file, so its command is printed only while that file compiles.
        try:
            path, recipe = write_screenshot(self.recipe((cols * mag, rows * mag), volume),
                                            self.options.screenshot_dir or os.getcwd(),
                                            volume=volume, renderer=renderer,
                                            settings=self.settings)
        finally:
            if temporary:
                renderer.release()
        self.screenshots.append(path)
        self.options.echo(f"Screenshot written to {path}")
        if self.shader_error() is None:
            self.options.echo(f"Reproduce it with: {recipe.command(reproduction_path(path))}")
        else:
            self.options.echo("Not reproducible from the shader file, which does not compile now")
        self.say(f"saved {path.name}", echo=False)
        return path

    def turntable(self) -> None:
        """``t``: record a turntable movie of the current view (``glmip/pipeline.py``)."""
        self.options.echo("Recording a turntable movie...")
        volume, renderer, temporary = self._export_source()
        recipe = self.recipe(self.window_pixels, volume)
        self._recording_progress(0, int(recipe.get("frames")))
        try:
            path = write_turntable(Recipe(recipe.input, recipe.options, "turntable"),
                                   directory=self.options.screenshot_dir, volume=volume,
                                   renderer=renderer, settings=self.settings,
                                   on_frame=self._recording_progress)
        except Exception as exc:  # report, keep the window alive
            self.say(f"t: turntable failed: {exc}")
            return
        finally:
            if temporary:
                renderer.release()
        self.say(f"turntable written: {path}")


class _LayerWindows:
    """Whose window the drag, presets and ``w`` change: the base volume or a fused layer
    (key ``f``). Part of :class:`MipViewer`."""

    def layer_volume(self, layer: int) -> Volume:
        """The volume of ``layer`` (0: the base; k: fused layer k-1, as the renderer holds it)."""
        if layer <= 0:
            return self.volume
        fused = self.renderer.companions.fused_renderer(layer - 1, self.settings.fuse[layer - 1])
        assert fused.volume is not None
        return fused.volume

    def layer_wl(self, layer: int | None = None) -> tuple[float, float]:
        """(window, level) in real units of ``layer`` (default: the one ``f`` chose)."""
        layer = self.wl_layer if layer is None else layer
        if layer <= 0:
            return resolve_window(self.volume, self.settings)
        return resolve_window(self.layer_volume(layer), self.settings.layer(layer - 1))

    def next_wl_layer(self) -> None:
        """``f``: the drag, presets and ``w`` act on the next layer (base, each fused layer)."""
        self.wl_layer = ia.next_wl_layer(self.wl_layer, self.settings)
        self.say(f"W/L: {ia.wl_layer_name(self.wl_layer, self.settings)}", echo=False)

    def _layer_window_action(self, name: str, base: Callable[[str], None]
                             ) -> Callable[[str], None]:
        def action(arg: str) -> None:
            if self.wl_layer <= 0 or not self.settings.fuse:
                base(arg)
                return
            changed = ia.layer_window_action(f"{name}:{arg}" if arg else name, self.settings,
                                             self.wl_layer, self.layer_volume(self.wl_layer))
            assert changed is not None
            self.settings, message = changed
            self.say(message, echo=False)
        return action


class _LoadCancelled(Exception):
    """Raised in the worker thread to stop reading a level nobody waits for."""


class _LevelLoad:
    """A pyramid level going up slab by slab. A worker thread reads it (:meth:`read`: whole
    chunks at a time, each slab's share of the cell statistics computed as it comes,
    :func:`glmip.raycast.read_slabs`) into a queue of at most :data:`SLABS_AHEAD` slabs; the
    window's thread writes what has arrived into the textures of a second renderer, not shown
    yet, for at most :data:`WRITE_SECONDS` a turn (:meth:`write`), dropping each slab once
    written. So a level held whole never sits in memory beside its texture: a few slabs do."""

    def __init__(self, level: int, volume: Volume, renderer: MipRenderer,
                 plan: raycast.VolumePlan) -> None:
        self.level, self.volume, self.renderer, self.plan = level, volume, renderer, plan
        self.started = time.perf_counter()
        self.total = max(int(plan.gpu.data.nbytes), 1)
        self.written = 0  # bytes of slabs written into the textures so far
        self.slabs: queue.Queue = queue.Queue(maxsize=SLABS_AHEAD)
        self.stop = threading.Event()
        self.future: concurrent.futures.Future | None = None

    @property
    def fraction(self) -> float:
        return self.written / self.total

    def read(self) -> None:
        """The worker's part: read the slabs and queue them (waiting while the queue is full);
        stops between two slabs once asked to."""
        for slab in raycast.read_slabs(self.plan):
            while True:
                if self.stop.is_set():
                    raise _LoadCancelled
                try:
                    self.slabs.put(slab, timeout=0.05)
                    break
                except queue.Full:
                    pass
            del slab

    def write(self, seconds: float) -> None:
        """The window thread's part: write queued slabs into the new textures for about
        ``seconds`` (at least one slab, if any is there)."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            try:
                slab = self.slabs.get_nowait()
            except queue.Empty:
                return
            self.renderer.write_slab(slab)
            self.written += slab.data.nbytes
            del slab

    def ready(self) -> bool:
        """Every slab read and written (or the reading failed)."""
        return self.future is not None and self.future.done() and self.slabs.empty()

    def cancel(self) -> None:
        """Stop the reading and drop what it queued (the renderer is the caller's to release)."""
        self.stop.set()
        if self.future is not None:
            self.future.cancel()
        while True:
            try:
                self.slabs.get_nowait()
            except queue.Empty:
                break


class _PyramidLevels:
    """A multiscale volume shown coarsest level first, refined level by level while the
    camera rests (:class:`glmip.levels.LevelPolicy`). Part of :class:`MipViewer`.

    A level held whole goes up slab by slab into a second renderer while the window keeps
    drawing the current level and taking input (:class:`_LevelLoad`); the status line shows how
    far it is. When all of it is written (and no drag is held), the renderers swap and it is
    shown. A streamed level (larger than ``--memory``) is switched to at once: its bricks are
    read when drawn (full-resolution frames in the background: :class:`_FrameWorker`)."""

    levels: LevelPolicy | None
    _loading: _LevelLoad | None
    _executor: concurrent.futures.ThreadPoolExecutor | None

    def _level_volume(self, level: int | None) -> Volume:
        """Pyramid ``level`` of the input, read lazily with the viewer's reader options
        (None: as they say, i.e. level 0 unless the user pinned one)."""
        opts = dict(self.options.reader_options)
        if level is not None:
            opts["pyramid_level"] = level
        return load(self.options.input_path or self.volume.name, **opts)

    def _start_levels(self, volume: Volume) -> Volume:
        """The volume to show first: the coarsest level of a multiscale ``volume`` (then
        refined level by level, :meth:`_refine`), else ``volume`` itself. An automatic window
        is fixed at the coarsest level's range (a max pyramid keeps the maximum), so the
        picture does not change brightness as it refines and no level is read just for it."""
        self._stop_loading()
        self.levels = None
        if not (self.options.input_path or volume.name):
            return volume
        self.levels = LevelPolicy.for_volume(volume.meta, self.options.reader_options,
                                             settle=max(self.policy.settle, 0.3))
        if self.levels is None:
            return volume
        coarse = self._level_volume(self.levels.coarsest)
        if self.settings.window is None or self.settings.window <= 0:
            window, level = resolve_window(coarse, self.settings)
            self.settings = self.settings.copy(window=window, level=level)
        return coarse

    def _refine(self, now: float) -> None:
        """Start loading the next finer pyramid level when the camera has rested, write a few
        of its slabs each turn, show it when it is all there (one level at a time;
        :class:`~glmip.levels.LevelPolicy` decides)."""
        lv = self.levels
        if lv is None:
            return
        lv.motion(max(lv.last_motion, self.policy.last_motion, self._wheel_time))
        if self._loading is not None:
            self._finish_loading()
            return
        level = lv.next_level(now, busy=self._drag is not None)
        if level is None:
            return
        volume = self._level_volume(level)
        if self.renderer.streams(volume):
            self._switch_to_streamed(level, volume)
            return
        renderer = MipRenderer(self.ctx, memory_budget=self.renderer.memory_budget)
        try:
            plan = renderer.plan_upload(volume)
            load = _LevelLoad(level, volume, renderer, plan)
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="glmip-level")
            load.future = self._executor.submit(load.read)  # reads while the textures are made
            self._loading = load
            lv.start(level)
            renderer.begin_upload(plan)  # empty textures (llvmpipe zero-fills them in RAM)
        except Exception as exc:  # e.g. no memory for the texture: stay on the current level
            if self._loading is not None:
                self._stop_loading()  # (and releases the renderer)
            else:
                renderer.release()
            lv.failed()
            self.say(f"pyramid level {level} not loaded: {_first_line(exc)}", seconds=10)

    def _finish_loading(self) -> None:
        """Write the slabs read so far into the level's textures (a bounded time a turn); once
        all are written and no drag is held, swap renderers and show the level."""
        load, lv = self._loading, self.levels
        assert load is not None and load.future is not None and lv is not None
        load.write(WRITE_SECONDS)
        lv.progress = load.fraction
        if not load.ready() or self._drag is not None:
            return
        self._loading = None
        exc = load.future.exception()
        if exc is not None:  # e.g. a read error: keep showing the current level
            load.renderer.release()
            lv.failed()
            self.say(f"pyramid level {load.level} not loaded: {_first_line(exc)}", seconds=10)
            return
        load.renderer.finish_upload()
        self._use_renderer(load.renderer)
        self._show_level(load.level, load.volume, load.started)

    def _use_renderer(self, renderer: MipRenderer) -> None:
        """Draw with ``renderer`` from now on; the one before is released unless it is kept
        for drag frames (``_preview``)."""
        old, self.renderer = self.renderer, renderer
        if self.shader_watcher is not None:
            self.shader_watcher.watcher.renderer = renderer
        if self._preview is None or old is not self._preview[0]:
            old.release()

    def _switch_to_streamed(self, level: int, volume: Volume) -> None:
        """Show a level larger than the memory budget: streamed, its bricks read every frame,
        so nothing to prepare. Drag frames keep drawing the finest level held whole, which
        stays uploaded in its own renderer."""
        assert self.levels is not None
        self.say(f"loading pyramid level {level} of {self.levels.coarsest}...", echo=False)
        self.show_now()
        t0 = time.perf_counter()
        if not self.renderer.streaming and self._preview is None:
            self._preview = (self.renderer, self.volume)
            self.renderer = MipRenderer(self.ctx, memory_budget=self.renderer.memory_budget)
            if self.shader_watcher is not None:
                self.shader_watcher.watcher.renderer = self.renderer
        self.renderer.upload(volume)
        self._show_level(level, volume, t0)

    def _show_level(self, level: int, volume: Volume, started: float) -> None:
        """``volume`` (pyramid ``level``, uploaded) is now the one shown."""
        assert self.levels is not None
        self.volume = volume
        self.levels.loaded(level)
        self.level_seconds.append((level, time.perf_counter() - started))
        self.say(self.levels.status(float(min(volume.spacing))), seconds=2, echo=False)
        self._dirty = True

    def _stop_loading(self) -> None:
        """Give up the level loading in the background, if any: its worker stops at the next
        slab it reads; the textures written so far are released."""
        load, self._loading = self._loading, None
        if load is not None:
            load.cancel()
            load.renderer.release()
            if self.levels is not None:
                self.levels.cancelled()

    def _export_source(self) -> tuple[Volume, MipRenderer, bool]:
        if self.levels is None or self.levels.done:
            return self.volume, self.renderer, False
        volume = self._level_volume(None)
        renderer = MipRenderer(self.ctx, memory_budget=self.renderer.memory_budget)
        renderer.upload(volume)
        return volume, renderer, True


class _FrameCancelled(Exception):
    """Raised in the frame worker, between two brick passes, to drop a picture nobody wants."""


class _FullFrame:
    """A full-resolution picture of a streamed level, drawn by the :class:`_FrameWorker`: what
    it is of (volume, camera, settings, size), how far it is, the picture once done."""

    def __init__(self, volume: Volume, camera: Camera, settings: RenderSettings,
                 size: tuple[int, int], key: tuple) -> None:
        self.volume, self.camera, self.settings, self.size = volume, camera.copy(), settings, size
        self.key = key
        self.cancelled = threading.Event()
        self.done = threading.Event()
        self.passes = 0  # brick passes begun
        self.total = 1  # brick passes in all (set by the worker)
        self.image: np.ndarray | None = None
        self.error: BaseException | None = None
        self.seconds = 0.0
        self.shown = False

    def check(self) -> None:
        """The renderer's ``cancel`` hook, called before each brick pass in the worker."""
        if self.cancelled.is_set():
            raise _FrameCancelled
        self.passes += 1

    @property
    def fraction(self) -> float:
        """Share of the brick passes finished."""
        return min(max(self.passes - 1, 0) / max(self.total, 1), 1.0)


class _FrameWorker:
    """A thread with its own headless GL context and its own streaming renderer, drawing the
    full-resolution pictures of a streamed level (:meth:`MipRenderer.render`, its bricks read
    pass by pass) while the window's thread goes on drawing and taking input. A moderngl
    context is used only by the thread that made it current: everything GL happens in
    :meth:`_run`. One picture at a time; a cancelled one stops at its next brick pass."""

    def __init__(self, renderer_options: dict[str, Any]) -> None:
        self.options = renderer_options
        self.jobs: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="glmip-full-frame", daemon=True)
        self.thread.start()

    def submit(self, job: _FullFrame) -> None:
        self.jobs.put(job)

    def close(self, wait: float) -> None:
        """Stop after the picture under way (its caller cancels it first); wait at most
        ``wait`` seconds for that (the thread then releases its context by itself)."""
        self.jobs.put(None)
        self.thread.join(wait)

    def _run(self) -> None:
        ctx: moderngl.Context | None = None
        renderer: MipRenderer | None = None
        try:
            while True:
                job = self.jobs.get()
                if job is None:
                    return
                t0 = time.perf_counter()
                try:
                    if job.cancelled.is_set():
                        continue
                    if ctx is None:
                        ctx = create_headless_context()  # current in this thread only
                        renderer = MipRenderer(ctx, **self.options)
                    assert renderer is not None
                    if renderer.volume is not job.volume:
                        renderer.upload(job.volume)  # streamed: only planned
                    cols, rows = job.size
                    tiles = len(raycast.tiles(cols, rows, renderer.tile_size))
                    labelled = 2 if job.settings.labels is not None else 1  # + exact projection
                    job.total = len(renderer.bricks) * tiles * labelled
                    renderer.cancel = job.check
                    job.image = renderer.render(job.camera, job.settings, job.size)
                except _FrameCancelled:
                    pass
                except Exception as exc:  # reported by the window's thread
                    job.error = exc
                finally:
                    if renderer is not None:
                        renderer.cancel = None
                    job.seconds = time.perf_counter() - t0
                    job.done.set()
        finally:
            if renderer is not None:
                renderer.release()
            if ctx is not None:
                ctx.release()


class _Frames:
    """Drawing the offscreen picture: coarse while interacting, full quality when still, the
    whole picture (labels, fused layers) from ``renderer.render``. A streamed level's
    full-resolution pictures are drawn in the background (:class:`_FrameWorker`) while the
    finest level held whole stands in. Part of :class:`MipViewer`."""

    _full_frame: _FullFrame | None
    _frame_worker: _FrameWorker | None

    @staticmethod
    def full_picture(settings: RenderSettings) -> bool:
        """True when the still picture is more than the base volume's projection (labels
        blended over it, fused layers composited): then it comes from ``renderer.render``."""
        return settings.labels is not None or bool(settings.fuse)

    def _draw_image(self, now: float, accumulate: bool = False) -> None:
        """Project the MIP into the offscreen image: coarse while interacting (fewer rays,
        longer step, :class:`~glmip.interaction.QualityPolicy`), else full quality. With
        labels or fused layers the full-quality frame is the whole picture
        (:meth:`_draw_full_picture`); coarse frames while the camera moves show the base
        volume only, and a window/level drag draws whole pictures (it is what it changes).
        A streamed level's full-quality frame is drawn in the background
        (:meth:`_draw_in_background`)."""
        _, fbo = self._ensure_image()
        cols, rows = self.buffer_size
        coarse = self._interacting(now)
        full = self.full_picture(self.settings)
        if full and coarse and self._drag is not None and self._drag.mode == "window":
            coarse = False
        self._drop_stale_frame()
        if self.renderer.streaming and not coarse and self.background_frames:
            self._draw_in_background(now)
            return
        if full and not coarse:
            self._draw_full_picture(now)
            return
        renderer, volume = self._preview if coarse and self._preview else (self.renderer,
                                                                           self.volume)
        self._draw_with(renderer, volume, now, coarse, accumulate)

    def _draw_with(self, renderer: MipRenderer, volume: Volume, now: float, coarse: bool,
                   accumulate: bool = False, stand_in: bool = False) -> None:
        """One frame of ``volume`` from ``renderer``, coarse or not (``stand_in``: drawn while a
        picture of the level shown is made elsewhere)."""
        _, fbo = self._ensure_image()
        cols, rows = self.buffer_size
        settings, reduction, factor = self.policy.frame_settings(volume, self.settings,
                                                                 cols * rows, coarse)
        t0 = time.perf_counter()
        seed = self.renderer.accumulated if accumulate else 0
        renderer.draw(self.camera, settings, fbo, (cols, rows), reduction=reduction,
                      seed=seed, accumulate=accumulate and not coarse)
        self.ctx.finish()
        seconds = time.perf_counter() - t0
        if settings.shader is not None and seconds > SHADER_FRAME_SECONDS:
            self.settings = self.settings.copy(shader=None)
            self.say(f"shader too slow ({seconds:.1f} s a frame): showing the built-in "
                     "projection; save the shader file to try it again", seconds=10)
        self.policy.measured(seconds, cols * rows, reduction, factor)
        self._drawn(now, seconds, coarse, reduction, level_picture=not stand_in)

    def _draw_full_picture(self, now: float) -> None:
        """The still frame as ``glmip render`` draws it (labels, fused layers composited),
        uploaded into the offscreen image."""
        t0 = time.perf_counter()
        image = self.renderer.render(self.camera, self.settings, self.buffer_size)
        self._show_picture(image, now, time.perf_counter() - t0)

    def _show_picture(self, image: np.ndarray, now: float, seconds: float) -> None:
        """Put a picture made by ``renderer.render`` (uint8, rows top-first, grey or colour) in
        the offscreen image (rows flipped: GL's first row is the bottom)."""
        tex, _ = self._ensure_image()
        cols, rows = self.buffer_size
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        rgba = np.empty((rows, cols, 4), np.uint8)
        rgba[..., :3] = image[::-1]
        rgba[..., 3] = 255
        tex.write(rgba.tobytes())
        self.ctx.finish()
        self._drawn(now, seconds, False, 1)

    # --- a streamed level's full-resolution frames, in the background -----------------------
    def _view_key(self) -> tuple:
        """What a picture is of: the volume, the camera, the settings (a change makes a new
        settings object), the size. A picture drawn for another key is not shown."""
        c = self.camera
        center = None if c.center is None else tuple(np.asarray(c.center, float))
        return (id(self.volume), tuple(c.view_dir), tuple(c.up), center, c.fit, c.projection,
                c.zoom, id(self.settings), self.buffer_size)

    def _draw_in_background(self, now: float) -> None:
        """A streamed level's still frame: asked of the frame worker (unless it is drawing or
        has drawn this very view), and meanwhile drawn from the finest level held whole
        (``_preview``), or the picture shown so far is left (no such level)."""
        key = self._view_key()
        job = self._full_frame
        if job is not None and job.key == key and job.image is not None:
            self._show_picture(job.image, now, job.seconds)  # e.g. after the help was toggled
            return
        if job is None or job.key != key or job.error is not None:
            self._cancel_full_frame()
            job = self._full_frame = _FullFrame(self.volume, self.camera, self.settings,
                                                self.buffer_size, key)
            if self._frame_worker is None:
                r = self.renderer
                self._frame_worker = _FrameWorker(dict(
                    memory_budget=r.memory_budget, max_texture_size=r.max_texture_size,
                    tile_size=r.tile_size, max_texture_bytes=r.max_texture_bytes))
            self._frame_worker.submit(job)
        if self._preview is not None:
            self._draw_with(*self._preview, now, False, stand_in=True)
        else:
            self.policy.last_coarse = False
            self._dirty = False

    def _poll_full_frame(self, now: float) -> bool:
        """Show the background picture once it is done, if the view is still the one it is
        of; True when it was shown."""
        job = self._full_frame
        if job is None or job.shown or not job.done.is_set():
            return False
        if job.key != self._view_key():
            self._cancel_full_frame()
            return False
        job.shown = True
        if isinstance(job.error, ContextError):  # no second context: draw them here instead
            self.background_frames = False
            self._dirty = True
            return False
        if job.error is not None:
            self.say(f"full resolution not drawn: {_first_line(job.error)}", seconds=10)
            return False
        if job.image is None:  # cancelled
            return False
        self._show_picture(job.image, now, job.seconds)
        return True

    def _drop_stale_frame(self) -> None:
        """Cancel the background picture if the view changed since it was asked for."""
        if self._full_frame is not None and self._full_frame.key != self._view_key():
            self._cancel_full_frame()

    def _cancel_full_frame(self) -> None:
        job, self._full_frame = self._full_frame, None
        if job is not None:
            job.cancelled.set()

    def full_frame_status(self) -> str:
        """The status line's words about a background picture under way, or ''."""
        job = self._full_frame
        if job is None or job.done.is_set():
            return ""
        return f"full resolution: {int(100 * job.fraction)} % of bricks"

    def _drawn(self, now: float, seconds: float, coarse: bool, reduction: int,
               level_picture: bool = True) -> None:
        """Book-keeping after a frame: timing, status line, pyramid levels (``level_picture``
        False: a stand-in, not a picture of the level shown)."""
        self.policy.last_coarse = coarse
        self.last_frame_seconds = seconds
        # While dragging, refresh the status line's frame time only twice a second, so the
        # overlay is not rasterised again on every coarse frame.
        if not coarse or now - self._shown_at > 0.5:
            self.shown_frame_seconds, self._shown_at = seconds, now
        self.last_reduction = reduction if coarse else 1
        self.frames_drawn += 1
        if self.levels is not None and not coarse and level_picture:
            self.levels.frame_drawn()
        self._dirty = False


class MipViewer(_Frames, _PyramidLevels, _LayerWindows, _ViewerOutputs, WindowConfig):
    """The MIP window. Create with a window (``wnd``) and its context, plus what to show."""

    gl_version = (3, 3)
    title = "glmip"
    window_size = (1024, 768)
    resizable = True
    aspect_ratio = None
    clear_color = None

    def __init__(
        self,
        ctx: moderngl.Context,
        wnd: Any,
        *,
        volume: Volume,
        camera: Camera,
        settings: RenderSettings,
        options: ViewerOptions | None = None,
        timer: Any = None,
    ) -> None:
        super().__init__(ctx=ctx, wnd=wnd, timer=timer)
        self.options = options or ViewerOptions()
        self.volume = volume
        self.first_camera = camera.copy()
        self.camera = camera.copy()
        self.settings = settings
        self.policy = ia.QualityPolicy(auto=self.options.auto_sample_distance)
        self.renderer = MipRenderer(ctx, memory_budget=self.options.memory or default_memory())
        self.level_seconds: list[tuple[int, float]] = []  # (level, seconds to load and upload)
        self._preview: tuple[MipRenderer, Volume] | None = None  # drag frames of a streamed level
        self._loading = None  # a level going up in the background
        self._executor = None  # its reader thread, made for the first one
        # A streamed level's full-resolution frames are drawn by a worker thread with its own
        # GL context (False: on the window's thread, which then waits for them).
        self.background_frames = True
        self._full_frame = None  # the picture it is drawing, or drew last
        self._frame_worker = None  # made for the first one
        self.volume = self._start_levels(volume)
        self.renderer.upload(self.volume)
        self.actions = self._action_table()
        self.show_help = True
        self.message = ""
        self.message_until = 0.0
        self.last_frame_seconds = 0.0
        self.shown_frame_seconds = 0.0  # the frame time in the status line (steadier)
        self._shown_at = -1e9
        self._presented: Any = None
        self._presented_at = -1e9
        self.last_reduction = 1
        self.frames_drawn = 0
        self.screenshots: list[Path] = []
        self._drag: ia.Drag | None = None
        self.wl_layer = 0  # whose window the drag, presets and w change (key f; 0: the base)
        self._wheel_time = -1e9
        self._dirty = True
        self._image_tex: moderngl.Texture | None = None
        self._image_fbo: moderngl.Framebuffer | None = None
        self._overlay = _OverlayLayer(ctx)
        self._released = False
        self._watch_shader(self.settings)

    def _watch_shader(self, settings: RenderSettings) -> None:
        """Watch a user shader (--shader): see :class:`_LiveShader`."""
        self.user_shader = settings.shader
        self.shader_watcher = None
        if settings.shader:
            self.shader_watcher = live = _LiveShader(self.renderer, settings.shader)
            self.settings = settings.copy(shader=live.shader)
            if live.error:
                self.say(live.error, seconds=10)

    # --- sizes -----------------------------------------------------------------------------
    @property
    def buffer_size(self) -> tuple[int, int]:
        """Framebuffer pixels (what is drawn; larger than the window on HiDPI screens)."""
        w, h = self.wnd.buffer_size
        return max(1, int(w)), max(1, int(h))

    @property
    def window_pixels(self) -> tuple[int, int]:
        """Window size in the units of mouse events."""
        w, h = self.wnd.size
        return max(1, int(w)), max(1, int(h))

    @property
    def pixel_ratio(self) -> float:
        return self.buffer_size[0] / self.window_pixels[0]

    def _ensure_image(self) -> tuple[moderngl.Texture, moderngl.Framebuffer]:
        size = self.buffer_size
        if self._image_tex is None or self._image_tex.size != size:
            if self._image_fbo is not None:
                self._image_fbo.release()
                self._image_tex.release()  # type: ignore[union-attr]
            self._image_tex = self.ctx.texture(size, 4)
            self._image_fbo = self.ctx.framebuffer([self._image_tex])
            self._dirty = True
        return self._image_tex, self._image_fbo  # type: ignore[return-value]

    def frame(self):
        """The current full-quality :class:`~glmip.camera.Frame` of the window's picture."""
        return self.camera.frame(self.volume, *self.buffer_size)

    # --- the main loop: run() -> step() -> _update() + _present() --------------------------
    def run(self) -> int:
        """The main loop: show the window until ``q`` or close; returns the exit status (0)."""
        try:
            while not self.wnd.is_closing:
                busy = self.step()
                if not busy:
                    time.sleep(1 / 60)
        finally:
            self.release()
            try:
                self.wnd.destroy()
            except Exception:
                pass
        return 0

    def step(self, now: float | None = None, *, swap: bool = True) -> bool:
        """One turn of the loop: re-project the MIP if needed, show it with its overlay.

        The window is presented only when the picture or the overlay changed, and twice a
        second anyway (an exposed window may need it): an idle viewer costs next to nothing.
        ``swap=False`` presents every time and leaves the buffer swap to the caller (what
        moderngl-window's own loop wants). Returns True when the picture is changing (the
        caller need not sleep).
        """
        now = time.perf_counter() if now is None else now
        drew = self._update(now)
        self._overlay.update(self.overlay_state(now))
        shown = (self.frames_drawn, self._overlay.key, self.buffer_size)
        if not swap or drew or shown != self._presented or now - self._presented_at > 0.5:
            self._present()
            if swap and not self.wnd.is_closing:
                self.wnd.swap_buffers()
            self._presented, self._presented_at = shown, now
        return drew or self._drag is not None

    def on_render(self, time_: float, frame_time: float) -> None:
        """moderngl-window's own loop calls this: the same :meth:`step`; that loop swaps."""
        self.step(swap=False)

    def _update(self, now: float) -> bool:
        """Re-project the picture if anything asks for it; True if it did."""
        self.poll_shader(now)
        self._refine(now)
        if self._dirty or self.policy.needs_full_redraw(now):
            self._draw_image(now)
            return True
        if self._poll_full_frame(now):
            return True
        if self._wants_jitter_frame(now):
            self._draw_image(now, accumulate=True)
            return True
        return False

    def _wants_jitter_frame(self, now: float) -> bool:
        """With jitter on and nothing moving, keep adding jittered frames to the average."""
        return (self.settings.jitter and not self._interacting(now)
                and not self.full_picture(self.settings)
                and 0 < self.renderer.accumulated < ia.JITTER_FRAMES)

    def poll_shader(self, now: float, every: float = 0.25) -> None:
        """Look at the user shader file a few times a second; rebuild it when it changed."""
        live = self.shader_watcher
        if live is None:
            return
        error, rebuilt = live.poll(now, every)
        if error:
            self.say(error, seconds=10)
        if rebuilt:
            self.settings = self.settings.copy(shader=live.shader)
            self.say(f"shader reloaded: {live.path}", seconds=2)
            self._dirty = True

    def _interacting(self, now: float) -> bool:
        active = self._drag is not None or (now - self._wheel_time) < self.policy.settle
        return self.policy.interacting(now, active)

    def show_now(self) -> None:
        """Present the picture and the overlay at once (while the loop is busy elsewhere)."""
        self._overlay.update(self.overlay_state(time.perf_counter()))
        self._present()
        if not self.wnd.is_closing:
            self.wnd.swap_buffers()

    def _present(self) -> None:
        """Copy the offscreen MIP to the window and blend the overlay over it."""
        _, fbo = self._ensure_image()
        screen = self.wnd.fbo
        self.ctx.copy_framebuffer(screen, fbo)
        screen.use()
        screen.viewport = (0, 0, *self.buffer_size)
        self._overlay.blend()

    # --- overlay ---------------------------------------------------------------------------
    def status_text(self) -> str:
        wl_layer = None
        if self.settings.fuse:
            self.wl_layer %= ia.wl_layer_count(self.settings)
            wl_layer = (ia.wl_layer_name(self.wl_layer, self.settings), *self.layer_wl())
        text = status_line(self.volume, self.settings, self.camera.projection,
                           self.shown_frame_seconds, self.last_reduction,
                           self.renderer.accumulated, wl_layer)
        voxel = float(min(self.volume.spacing))
        if self.levels is not None:
            text += "   " + self.levels.status(voxel)
        elif len(self.volume.meta.get("levels") or ()) > 1:  # a level the user chose
            text += f"   level {self.volume.meta.get('level', 0)} ({voxel:.3g} mm voxels)"
        background = self.full_frame_status()
        return f"{text}   {background}" if background else text

    def overlay_state(self, now: float) -> OverlayState:
        """What the overlay shows now (see :mod:`glmip.overlay`)."""
        labels = ia.edge_labels(self.camera)
        return OverlayState(
            size=self.buffer_size, ratio=self.pixel_ratio, status=self.status_text(),
            show_help=self.show_help,
            labels=(labels["left"], labels["right"], labels["top"], labels["bottom"]),
            pixel_size=self.frame().pixel_size,
            message=self.message if now < self.message_until else "",
            depth_legend=(ia.depth_extent(self.volume, self.settings)
                          if self.settings.mode == "depthcolour" else None))

    def say(self, message: str, seconds: float = 4.0, echo: bool = True) -> None:
        """Show ``message`` in the window for a few seconds (and print it)."""
        self.message = message
        self.message_until = time.perf_counter() + seconds
        if echo:
            self.options.echo(message)

    # --- keys ------------------------------------------------------------------------------
    def on_unicode_char_entered(self, char: str) -> None:
        action = ia.KEYMAP.get(char) or ia.KEYMAP.get(char.lower()) if char else None
        if action:
            self.do(action)

    def on_key_event(self, key: Any, action: Any, modifiers: Any) -> None:
        """Keys without a character: the numeric keypad's + and -."""
        keys = self.wnd.keys
        if action != keys.ACTION_PRESS:
            return
        plus, minus = getattr(keys, "NUMPAD_ADD", None), getattr(keys, "NUMPAD_SUBTRACT", None)
        if plus not in (None, "undefined") and key == plus:
            self.do("step:coarser")
        elif minus not in (None, "undefined") and key == minus:
            self.do("step:finer")

    def _action_table(self) -> dict[str, Callable[[str], None]]:
        """Action name (a :data:`~glmip.interaction.KEYMAP` value before ':') -> what it does
        with the argument after ':'. The camera/settings changes are shared with every door
        (:func:`~glmip.interaction.state_action`); a new key is a KEYMAP entry plus one line
        there or here."""
        table: dict[str, Callable[[str], None]] = {
            name: self._state_action(name) for name in ia.STATE_ACTIONS}
        table.update({
            "quit": lambda arg: self.quit(),
            "screenshot": lambda arg: self._screenshot_key(),
            "help": lambda arg: setattr(self, "show_help", not self.show_help),
            "frame": lambda arg: self.step_volume(1 if arg == "next" else -1),
            "turntable": lambda arg: self.turntable(),
            "wl-layer": lambda arg: self.next_wl_layer(),
        })
        for name in ("auto-window", "preset"):  # on the layer that f chose
            table[name] = self._layer_window_action(name, table[name])
        return table

    # --- whose window: the base volume or a fused layer (key f) ----------------------------
    def do(self, action: str) -> None:
        """Carry out one :data:`~glmip.interaction.KEYMAP` action (see :meth:`_action_table`)."""
        name, _, arg = action.partition(":")
        handler = self.actions.get(name)
        if handler is not None:
            handler(arg)
        # A key press asks for a finished picture: end any wheel-zoom "interaction".
        self._wheel_time = self.policy.last_motion = -1e9
        self._dirty = True

    def _state_action(self, name: str) -> Callable[[str], None]:
        """An action that applies a pure camera/settings change and shows its message."""
        def action(arg: str) -> None:
            changed = ia.state_action(f"{name}:{arg}" if arg else name, self.camera,
                                      self.settings, self.volume, self.first_camera)
            assert changed is not None
            self.camera, self.settings, message = changed
            if message:
                self.say(message, echo=False)
        return action

    def quit(self) -> None:
        self.wnd.close()
        self.wnd.is_closing = True

    def change_step(self, direction: str) -> None:
        """``+`` (``coarser``) / ``-`` (``finer``): change the sample distance."""
        self.actions["step"](direction)

    def slab(self, how: str) -> None:
        """Thick slab: on/off, thinner/thicker, nearer/farther (mm along the view)."""
        self.actions["slab"](how)

    def preset(self, key: str) -> None:
        self.actions["preset"](key)

    def step_volume(self, delta: int) -> None:
        """``n`` / ``p``: load the next / previous volume of a 4-D file."""
        frames = int(self.volume.meta.get("frames", 1) or 1)
        if frames <= 1 or not self.options.input_path:
            self.say("not a 4-D image: no other volumes", echo=False)
            return
        k = (int(self.volume.meta.get("frame", 0)) + delta) % frames
        opts = dict(self.options.reader_options)
        opts["frame"] = k
        volume = load(self.options.input_path, **opts)
        self.options.reader_options = opts
        self.volume = self._start_levels(volume)
        if self._preview is not None:
            self._preview[0].release()
            self._preview = None
        self.renderer.upload(self.volume)
        self.say(f"volume {k + 1}/{frames}", echo=False)

    # --- pyramid levels (glmip/levels.py) ---------------------------------------------------
    # --- mouse -----------------------------------------------------------------------------
    def on_mouse_press_event(self, x: int, y: int, button: int) -> None:
        mods = self.wnd.modifiers
        name = MOUSE_BUTTONS.get(button)
        if name is None:
            return
        mode = ia.drag_mode(name, shift=bool(mods.shift), ctrl=bool(mods.ctrl), alt=bool(mods.alt))
        layer = self.wl_layer if mode == "window" and self.settings.fuse else 0
        self._drag = ia.Drag(mode, x, y, self.layer_wl(layer), layer=layer)

    def on_mouse_release_event(self, x: int, y: int, button: int) -> None:
        if self._drag is not None:
            clicked = self._drag.is_click
            self._drag = None
            if self.policy.last_coarse:
                self._dirty = True  # full quality at once
            if clicked:
                self.pick(x, y)

    def on_mouse_drag_event(self, x: int, y: int, dx: int, dy: int) -> None:
        """Apply the gesture chosen at the press (:class:`~glmip.interaction.Drag`)."""
        if self._drag is None:
            return
        pixel_mm = self.frame().pixel_size * self.pixel_ratio
        moved = self._drag.move(x, y, self.camera, self.settings, *self.window_pixels,
                                pixel_mm, self.volume.center)
        if moved is not None:
            self.camera, self.settings = moved
            self.policy.motion(time.perf_counter())
            self._dirty = True

    def on_mouse_scroll_event(self, x_offset: float, y_offset: float) -> None:
        """Wheel zooms; Shift + wheel moves a slab that is on."""
        if y_offset and self.wnd.modifiers.shift and self.settings.slab is not None:
            self.slab("farther" if y_offset < 0 else "nearer")
            self._dirty = True
            return
        if y_offset:
            self.camera = ia.wheel_zoom(self.camera, y_offset)
            now = time.perf_counter()
            self._wheel_time = now
            self.policy.motion(now)
            self._dirty = True

    def pick(self, x: int, y: int) -> dict[str, Any] | None:
        """Where is the maximum of the ray through window point (x, y)? Reports world position
        (RAS mm), voxel index and value, refined between samples; None if the ray missed."""
        ratio = self.pixel_ratio
        value, pos = ray_maximum(self.renderer, self.camera, self.volume,
                                 self.settings.copy(refine=True, jitter=False),
                                 y * ratio, x * ratio, self.buffer_size)
        if not np.isfinite(value):
            self.say("no volume under the mouse")
            return None
        ijk = np.linalg.solve(self.volume.affine, np.append(pos, 1.0))[:3]
        what = "minimum" if self.settings.mode == "minip" else "maximum"
        self.say(f"{what} {value:.6g} at RAS ({pos[0]:.1f}, {pos[1]:.1f}, {pos[2]:.1f}) mm, "
                 f"voxel ({ijk[0]:.1f}, {ijk[1]:.1f}, {ijk[2]:.1f})", seconds=8)
        self._dirty = True
        return {"value": value, "world": pos, "voxel": ijk}

    # --- window events and teardown --------------------------------------------------------
    def on_resize(self, width: int, height: int) -> None:
        self._dirty = True

    def on_close(self) -> None:
        self.wnd.is_closing = True
        self._stop_loading()
        self._cancel_full_frame()

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        self._stop_loading()
        if self._executor is not None:  # its worker stops at the next slab it reads
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._cancel_full_frame()
        if self._frame_worker is not None:  # it stops at its next brick pass
            self._frame_worker.close(wait=0.3)
        for obj in (self._image_fbo, self._image_tex, self._overlay):
            if obj is not None:
                obj.release()
        if self.shader_watcher is not None:
            self.shader_watcher.close()
        if self._preview is not None:
            self._preview[0].release()
        self.renderer.release()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def make_window(window_class: str = "pyglet", size: tuple[int, int] = (1024, 768),
                title: str = "glmip", **kwargs: Any) -> Any:
    """A moderngl-window window of the named class (``pyglet``, ``glfw``, ``headless``...);
    ``kwargs`` go to the window (e.g. ``backend="egl"`` for the headless one)."""
    backend = window_class
    hint = ""
    if sys.platform.startswith("linux") and backend != "headless" and \
            not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        # Say so plainly instead of the window library's 'Cannot connect to "None"'.
        raise UsageError("no display to open a window on (DISPLAY is not set): use glmip "
                         "render for pictures without a screen, or run under Xvfb")
    try:
        cls = moderngl_window.get_local_window_cls(backend)
    except Exception as exc:
        raise UsageError(f"no window backend '{backend}' ({_first_line(exc)}){hint}") from None
    exact_software_sampling()
    options = dict(title=title, size=size, resizable=True, gl_version=(3, 3), vsync=True,
                   aspect_ratio=None)
    options.update(kwargs)
    try:
        wnd = cls(**options)
    except Exception as exc:
        raise UsageError(f"cannot open a {backend} window: {_first_line(exc)}{hint}") from None
    moderngl_window.activate_context(window=wnd)
    return wnd


def open_viewer(volume: Volume, camera: Camera, settings: RenderSettings,
                options: ViewerOptions | None = None, *, backend: str = "pyglet",
                size: tuple[int, int] = (1024, 768), title: str | None = None) -> int:
    """Open the window and run it until the user quits; returns the exit status."""
    name = Path(volume.name).name if volume.name else "volume"
    wnd = make_window(backend, size, title or f"glmip - {name}")
    viewer = MipViewer(wnd.ctx, wnd, volume=volume, camera=camera, settings=settings,
                       options=options)
    wnd.config = viewer
    return viewer.run()

