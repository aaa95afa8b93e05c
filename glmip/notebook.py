"""The live notebook view: ``glmip.show(volume_or_path, **render_options)`` (a door, like app).

The picture is rendered headless in the kernel (the shared EGL context,
:func:`glmip.pipeline.renderer_for`) and sent to the browser as frames by jupyter_rfb's
:class:`~jupyter_rfb.RemoteFrameBuffer` (JPEG while it changes, a lossless PNG once still).
Mouse and keys are the window's (:mod:`glmip.interaction`: the same gestures, the same
:data:`~glmip.interaction.KEYMAP` and :func:`~glmip.interaction.state_action`); while the mouse
drags, frames are coarse (fewer rays, longer step: :class:`~glmip.interaction.QualityPolicy`)
and ``settle`` seconds after the last motion a full-quality frame replaces them. The still frame
is exactly ``glmip.render(volume, camera=w.camera, settings=w.settings, size=w.buffer_size)``.

A small toolbar of ipywidgets under the frame sets window and level, mode, slab thickness
(0 = off) and colormap; "save" writes the current picture with its recipe
(:func:`glmip.pipeline.write_screenshot`) and prints the command that reproduces it.
docs/notebook.md shows it in use.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

try:
    import ipywidgets
    from jupyter_rfb import RemoteFrameBuffer
except ImportError as _exc:  # one line that says what to do
    raise ImportError(f"glmip.show needs jupyter_rfb and ipywidgets ({_exc.name} is missing): "
                      "pip install glmip[notebook]") from None

from . import interaction as ia
from . import pipeline
from .api import as_volume, camera_and_settings
from .camera import Camera
from .io import load
from .options import COLORMAP_CHOICES, MODES
from .recipe import Recipe, reproduction_path
from .settings import RenderSettings, resolve_window
from .volume import Volume

__all__ = ["show", "MipWidget", "MipView", "DEFAULT_SIZE"]

DEFAULT_SIZE = (512, 512)  # the frame's CSS size in pixels (cols, rows)
# jupyter_rfb's buttons: 1 left, 2 right, 3 middle
BUTTONS = {1: "left", 2: "right", 3: "middle"}
WHEEL_STEP = 100.0  # browser wheel pixels per notch (Chrome, Firefox: 100 or 3 lines x 16 x 2)


class MipWidget(RemoteFrameBuffer):
    """The frame: a remote frame buffer showing ``volume`` with ``camera`` and ``settings``.

    ``handle_event`` takes jupyter_rfb's events (``resize``, ``pointer_down``/``_move``/``_up``,
    ``wheel``, ``key_down``); ``get_frame`` renders the picture (coarse while dragging).
    ``on_change`` callbacks are called after every change of the camera or the settings.
    """

    _event_compatibility = 2  # jupyter_rfb's new-style events ('type', 'timestamp', 'ratio')

    def __init__(self, volume: Volume, camera: Camera, settings: RenderSettings, *,
                 input_path: str = "", reader_options: dict[str, Any] | None = None,
                 size: tuple[int, int] = DEFAULT_SIZE, directory: str | None = None,
                 magnification: int = 1, echo: Callable[[str], None] = print,
                 **kwargs: Any) -> None:
        cols, rows = int(size[0]), int(size[1])
        super().__init__(css_width=f"{cols}px", css_height=f"{rows}px", **kwargs)
        self.volume = volume
        self.first_camera = camera.copy()
        self.camera = camera.copy()
        self.settings = settings
        self.input_path = input_path
        self.reader_options = dict(reader_options or {})
        self.directory = directory
        self.magnification = max(1, int(magnification))
        self.echo = echo
        self.policy = ia.QualityPolicy()
        self.logical_size = (cols, rows)  # mouse units (CSS pixels)
        self.pixel_ratio = 1.0
        self.message = ""
        self.last_frame_seconds = 0.0
        self.last_reduction = 1
        self.frames_drawn = 0
        self.saved: list[Path] = []
        self.on_change: list[Callable[[], None]] = []
        self._drag: ia.Drag | None = None
        self._wheel_time = -1e9
        self._settle_handle: Any = None
        # GL work (frames, save) runs on the thread that made the widget (the kernel's main
        # thread, where the cell ran): an EGL context is current on one thread at a time, and
        # ipykernel 7 handles widget messages on another thread.
        self._gl_thread = threading.get_ident()
        try:
            self._gl_loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._gl_loop = None

    def on_gl_thread(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` now if this is the widget's GL thread (or it has no event loop),
        else soon on that thread's event loop."""
        loop = self._gl_loop
        if loop is None or loop.is_closed() or threading.get_ident() == self._gl_thread:
            fn(*args)
        else:
            loop.call_soon_threadsafe(fn, *args)

    def _rfb_schedule_maybe_draw(self, *args: Any) -> None:
        """jupyter_rfb draws on the loop of the thread that asked; here always on the GL
        thread's loop."""
        loop = getattr(self, "_gl_loop", None)
        if loop is None or loop.is_closed():
            super()._rfb_schedule_maybe_draw(*args)
        else:
            loop.call_soon_threadsafe(self._rfb_maybe_draw)

    # --- sizes -----------------------------------------------------------------------------
    @property
    def buffer_size(self) -> tuple[int, int]:
        """The picture's pixels (cols, rows): the frame's size times the device pixel ratio."""
        w, h = self.logical_size
        r = self.pixel_ratio
        return max(1, int(round(w * r))), max(1, int(round(h * r)))

    def pixel_mm(self) -> float:
        """mm per mouse (CSS) pixel on the plane through the framing centre."""
        cols, rows = self.buffer_size
        return self.camera.frame(self.volume, cols, rows).pixel_size * self.pixel_ratio

    # --- events ----------------------------------------------------------------------------
    def handle_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type") or event.get("event_type")
        now = time.perf_counter()
        if kind == "resize":
            self.logical_size = (max(1, int(event["width"])), max(1, int(event["height"])))
            self.pixel_ratio = float(event.get("ratio", event.get("pixel_ratio", 1.0)) or 1.0)
            self.request_draw()
        elif kind == "pointer_down":
            self._press(event)
        elif kind == "pointer_move":
            self._move(event, now)
        elif kind == "pointer_up":
            if self._drag is not None:
                self._drag = None
                self.policy.last_motion = -1e9  # full quality at once
                self.request_draw()
        elif kind == "wheel":
            self._wheel(event, now)
        elif kind == "key_down":
            action = ia.KEYMAP.get(str(event.get("key", "")))
            if action:
                self.do(action)

    def _press(self, event: dict[str, Any]) -> None:
        button = BUTTONS.get(int(event.get("button", 0)))
        if button is None:
            return
        mods = set(event.get("modifiers", ()))
        mode = ia.drag_mode(button, shift="Shift" in mods, ctrl="Control" in mods,
                            alt="Alt" in mods)
        self._drag = ia.Drag(mode, float(event["x"]), float(event["y"]),
                             resolve_window(self.volume, self.settings))

    def _move(self, event: dict[str, Any], now: float) -> None:
        if self._drag is None:
            return
        moved = self._drag.move(float(event["x"]), float(event["y"]), self.camera, self.settings,
                                *self.logical_size, self.pixel_mm(), self.volume.center)
        if moved is not None:
            self.camera, self.settings = moved
            self._motion(now)
            self._changed()

    def _wheel(self, event: dict[str, Any], now: float) -> None:
        """Wheel zooms (forward = closer); Shift + wheel moves a slab that is on."""
        dy = float(event.get("dy", 0.0)) or float(event.get("dx", 0.0))
        if not dy:
            return
        if "Shift" in set(event.get("modifiers", ())) and self.settings.slab is not None:
            self.do("slab:farther" if dy > 0 else "slab:nearer")
            return
        self.camera = ia.wheel_zoom(self.camera, -dy / WHEEL_STEP)
        self._wheel_time = now
        self._motion(now)
        self._changed()

    def _motion(self, now: float) -> None:
        self.policy.motion(now)
        self.request_draw()
        self._schedule_settle()

    def _schedule_settle(self) -> None:
        """After the last motion, a full-quality frame (``settle`` seconds later)."""
        self.on_gl_thread(self._arm_settle)

    def _arm_settle(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (tests call get_frame themselves)
        if self._settle_handle is not None:
            self._settle_handle.cancel()
        self._settle_handle = loop.call_later(self.policy.settle + 0.01, self._settled)

    def _settled(self) -> None:
        self._settle_handle = None
        if self.policy.needs_full_redraw(time.perf_counter()):
            self.request_draw()
        elif self.policy.last_coarse:
            self._schedule_settle()

    # --- keys ------------------------------------------------------------------------------
    def do(self, action: str) -> None:
        """Carry out one :data:`~glmip.interaction.KEYMAP` action: the camera/settings changes
        every door shares (:func:`~glmip.interaction.state_action`), ``x`` saves; the window's
        other keys (quit, help, 4-D frames, turntable) do nothing here."""
        changed = ia.state_action(action, self.camera, self.settings, self.volume,
                                  self.first_camera)
        if changed is not None:
            self.camera, self.settings, message = changed
            self.message = message
        elif action == "screenshot":
            self.on_gl_thread(self.save)
        self._wheel_time = self.policy.last_motion = -1e9
        self.request_draw()
        self._changed()

    def set_settings(self, **changes: Any) -> None:
        """Change render settings (the toolbar's way) and draw."""
        self.settings = self.settings.copy(**changes)
        self.request_draw()
        self._changed()

    def _changed(self) -> None:
        for callback in list(self.on_change):
            callback()

    # --- frames ----------------------------------------------------------------------------
    def interacting(self, now: float) -> bool:
        active = self._drag is not None or (now - self._wheel_time) < self.policy.settle
        return self.policy.interacting(now, active)

    def render(self, now: float | None = None) -> np.ndarray:
        """The current picture: coarse while interacting (fewer rays, a longer step, as
        :class:`~glmip.interaction.QualityPolicy` decides), else full quality at
        :attr:`buffer_size` (then equal to ``glmip.render`` with this camera and settings)."""
        now = time.perf_counter() if now is None else now
        cols, rows = self.buffer_size
        coarse = self.interacting(now)
        settings, reduction, factor = self.policy.frame_settings(self.volume, self.settings,
                                                                 cols * rows, coarse)
        size = (max(1, cols // reduction), max(1, rows // reduction))
        t0 = time.perf_counter()
        image = pipeline.renderer_for(self.volume).render(self.camera, settings, size)
        seconds = time.perf_counter() - t0
        self.policy.measured(seconds, cols * rows, reduction, factor)
        self.policy.last_coarse = coarse
        self.last_frame_seconds, self.last_reduction = seconds, reduction
        self.frames_drawn += 1
        return image

    def get_frame(self) -> np.ndarray:
        return self.render()

    # --- save ------------------------------------------------------------------------------
    def recipe(self, size: tuple[int, int] | None = None) -> Recipe:
        """The recipe of the picture shown, drawn at ``size`` (default: the frame's pixels)."""
        return Recipe.of_view(self.input_path or self.volume.name or "INPUT", self.camera,
                              self.settings, self.volume, size or self.buffer_size,
                              self.reader_options)

    def save(self, directory: str | os.PathLike[str] | None = None) -> Path:
        """Write the current picture (frame size x magnification) with its recipe as
        ``glmip-screenshot-N.png``; prints the path and the command that reproduces it."""
        cols, rows = self.buffer_size
        mag = self.magnification
        folder = directory or self.directory or os.getcwd()
        path, recipe = pipeline.write_screenshot(
            self.recipe((cols * mag, rows * mag)), folder, volume=self.volume,
            renderer=pipeline.renderer_for(self.volume))
        self.saved.append(path)
        self.command = recipe.command(reproduction_path(path))
        self.message = f"saved {path}"
        self.echo(f"Screenshot written to {path}")
        self.echo(f"Reproduce it with: {self.command}")
        return path


class MipView(ipywidgets.VBox):
    """What :func:`show` returns: the frame (:attr:`widget`) above a toolbar (window, level,
    mode, slab thickness, colormap, save). ``camera``, ``settings``, ``save`` are the frame's."""

    def __init__(self, widget: MipWidget) -> None:
        self.widget = widget
        layout = ipywidgets.Layout(width="175px")
        small = {"description_width": "62px"}
        self.window = ipywidgets.FloatText(description="window", layout=layout, style=small)
        self.level = ipywidgets.FloatText(description="level", layout=layout, style=small)
        self.mode = ipywidgets.Dropdown(options=list(MODES), description="mode",
                                        layout=layout, style=small)
        self.slab = ipywidgets.BoundedFloatText(min=0.0, max=1e6, step=1.0,
                                                description="slab mm", layout=layout,
                                                style=small,
                                                tooltip="thick slab in mm along the view; 0: off")
        self.colormap = ipywidgets.Dropdown(options=list(COLORMAP_CHOICES),
                                            description="colours", layout=layout, style=small)
        self.save_button = ipywidgets.Button(description="save", icon="save",
                                             tooltip="write the picture and its recipe",
                                             layout=ipywidgets.Layout(width="80px"))
        self.status = ipywidgets.HTML("")
        self._syncing = False
        self.sync()
        for control, apply in ((self.window, self._window_level), (self.level, self._window_level),
                               (self.mode, self._mode), (self.slab, self._slab),
                               (self.colormap, self._colormap)):
            control.observe(apply, names="value")
        self.save_button.on_click(lambda _button: widget.on_gl_thread(self.save))
        widget.on_change.append(self.sync)
        bar = ipywidgets.HBox([self.window, self.level, self.mode, self.slab, self.colormap,
                               self.save_button], layout=ipywidgets.Layout(flex_flow="row wrap"))
        super().__init__([widget, bar, self.status])

    @property
    def camera(self) -> Camera:
        return self.widget.camera

    @property
    def settings(self) -> RenderSettings:
        return self.widget.settings

    def save(self, directory: str | os.PathLike[str] | None = None) -> Path:
        path = self.widget.save(directory)
        self.status.value = (f"<code>{path}</code><br>reproduce with: "
                             f"<code>{_html(self.widget.command)}</code>")
        return path

    def sync(self) -> None:
        """Show the frame's current settings in the toolbar (without applying them back)."""
        s = self.widget.settings
        window, level = resolve_window(self.widget.volume, s)
        self._syncing = True
        try:
            self.window.value, self.level.value = float(f"{window:.6g}"), float(f"{level:.6g}")
            self.mode.value = s.mode
            self.slab.value = float(s.slab or 0.0)
            if s.colormap in self.colormap.options:
                self.colormap.value = s.colormap
            self.status.value = _html(self.widget.message)
        finally:
            self._syncing = False

    def _window_level(self, change: Any) -> None:
        if not self._syncing and self.window.value > 0:
            self.widget.set_settings(window=float(self.window.value),
                                     level=float(self.level.value))

    def _mode(self, change: Any) -> None:
        if not self._syncing:
            self.widget.set_settings(mode=self.mode.value)

    def _slab(self, change: Any) -> None:
        if not self._syncing:
            slab = float(self.slab.value)
            self.widget.set_settings(slab=slab if slab > 0 else None)

    def _colormap(self, change: Any) -> None:
        if not self._syncing:
            self.widget.set_settings(colormap=self.colormap.value)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _volume_of(source: Any) -> tuple[Volume, str]:
    """(volume, input path for the recipe) of what ``show`` was given."""
    if isinstance(source, (str, os.PathLike)):
        return load(source), os.fspath(source)
    volume = as_volume(source)
    return volume, volume.name or ""


def show(volume: Any, *, size: int | tuple[int, int] = DEFAULT_SIZE,
         camera: Camera | None = None, settings: RenderSettings | None = None,
         directory: str | os.PathLike[str] | None = None, magnification: int = 1,
         **options: Any) -> MipView:
    """An interactive view of ``volume`` (a :class:`~glmip.volume.Volume` or a path) in a
    notebook: the window's mouse and keys, a toolbar, and "save".

    Options are ``glmip.render``'s (``view``, ``window``, ``level``, ``mode``, ``slab``,
    ``colormap``...) or a ready ``camera=`` / ``settings=``. ``size``: the frame's size in
    CSS pixels (N or (cols, rows)). ``directory``: where "save" writes (default: the current
    directory); saved pictures are the frame's pixels times ``magnification``.

    >>> import glmip
    >>> glmip.show("samples/aorta.mha", view="anterior")  # doctest: +SKIP
    """
    vol, path = _volume_of(volume)
    cam, st = camera_and_settings(dict(options), camera, settings)
    cols, rows = (size, size) if isinstance(size, (int, np.integer)) else size
    widget = MipWidget(vol, cam, st, input_path=path, size=(int(cols), int(rows)),
                       directory=None if directory is None else os.fspath(directory),
                       magnification=magnification)
    return MipView(widget)
