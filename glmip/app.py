"""The viewer window: a moderngl-window ``WindowConfig`` (the only module importing moderngl_window).

Events go through :mod:`glmip.interaction` (pure camera/settings changes), pictures through the
one renderer (:class:`~glmip.renderer.MipRenderer`). The MIP is drawn into an offscreen image
only when something changed; every displayed frame copies that image to the window and blends an
overlay on top (help, status line, orientation letters, scale bar), rasterised with Pillow.

While the mouse drags, frames are coarse (fewer rays, longer step: :class:`QualityPolicy`);
``settle`` seconds after the last motion a full-quality frame replaces them. The ``x``
screenshot re-renders offscreen at the window size times the magnification, exactly as
``glmip render`` would, and prints the command that reproduces it.

Run it with :func:`open_viewer`; tests drive :class:`MipViewer` on moderngl-window's headless
window and call :meth:`MipViewer.step` for each frame.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import moderngl
import moderngl_window
import numpy as np
from moderngl_window import WindowConfig
from PIL import Image, ImageDraw, ImageFont

from .version import __version__
from . import interaction as ia
from .camera import Camera
from .context import exact_software_sampling
from .errors import UsageError
from .io import load
from .pngio import save_png_new
from .programs import build_program
from .renderer import MipRenderer
from .resources import shader_path
from .settings import RenderSettings, resolve_sample_distance, resolve_window
from .volume import Volume

__all__ = ["ViewerOptions", "MipViewer", "open_viewer", "make_window"]

MOUSE_BUTTONS = {1: "left", 2: "right", 3: "middle"}  # moderngl-window's numbering


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
    """

    input_path: str = ""
    reader_options: dict[str, Any] = field(default_factory=dict)
    magnification: int = 4
    auto_sample_distance: bool = True
    screenshot_dir: str | None = None
    echo: Callable[[str], None] = print


class MipViewer(WindowConfig):
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
        self.renderer = MipRenderer(ctx)
        self.renderer.upload(volume)
        # A user shader (--shader) is watched: saving the file recompiles it live; a broken
        # version is reported and the last good one keeps running.
        self.user_shader = settings.shader
        self.shader_watcher = None
        self._shader_generation = 0
        self._shader_polled = 0.0
        if settings.shader:
            from .shaderlab import ShaderWatcher

            self.shader_watcher = ShaderWatcher(self.renderer, settings.shader)
            self.settings = settings = settings.copy(shader=self.shader_watcher.shader)
            self._shader_generation = self.shader_watcher.generation
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
        self._drag: dict[str, Any] | None = None
        self._wheel_time = -1e9
        self._dirty = True
        self._image_tex: moderngl.Texture | None = None
        self._image_fbo: moderngl.Framebuffer | None = None
        self._overlay_tex: moderngl.Texture | None = None
        self._overlay_key: Any = None
        self._overlay_prog = build_program(ctx, shader_path("overlay.glsl"))
        self._overlay_vao = ctx.vertex_array(self._overlay_prog, [])
        self._font_cache: dict[int, Any] = {}
        self._patches: dict[Any, tuple[Image.Image, tuple[int, int]]] = {}
        self._released = False
        if self.shader_watcher is not None and self.shader_watcher.error:
            self.say(self.shader_watcher.error, seconds=10)

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

    # --- the loop --------------------------------------------------------------------------
    def run(self) -> int:
        """Show the window until ``q`` or close; returns the exit status (0)."""
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

    def step(self, now: float | None = None) -> bool:
        """Draw one frame (re-projecting the MIP only if needed) and pump events.

        Returns True when the picture is changing (the caller need not sleep).
        """
        now = time.perf_counter() if now is None else now
        drew = self._update(now)
        # Present only what changed (the picture or the overlay), and twice a second anyway
        # (an exposed window may need it): an idle viewer costs next to nothing.
        self._overlay(now)
        shown = (self.frames_drawn, self._overlay_key, self.buffer_size)
        if drew or shown != self._presented or now - self._presented_at > 0.5:
            self._present(now)
            if not self.wnd.is_closing:
                self.wnd.swap_buffers()
            self._presented, self._presented_at = shown, now
        return drew or self._drag is not None

    def on_render(self, time_: float, frame_time: float) -> None:
        """moderngl-window's own loop calls this; :meth:`step` without the buffer swap."""
        now = time.perf_counter()
        self._update(now)
        self._present(now)

    def _update(self, now: float) -> bool:
        """Re-project the picture if anything asks for it; True if it did."""
        self.poll_shader(now)
        if self._dirty or self.policy.needs_full_redraw(now):
            self._draw_image(now)
            return True
        if self._wants_jitter_frame(now):
            self._draw_image(now, accumulate=True)
            return True
        return False

    def _wants_jitter_frame(self, now: float) -> bool:
        """With jitter on and nothing moving, keep adding jittered frames to the average."""
        return (self.settings.jitter and not self._interacting(now)
                and 0 < self.renderer.accumulated < ia.JITTER_FRAMES)

    def poll_shader(self, now: float, every: float = 0.25) -> None:
        """Look at the user shader file a few times a second; rebuild it when it changed."""
        w = self.shader_watcher
        if w is None or now - self._shader_polled < every:
            return
        self._shader_polled = now
        error = w.poll()
        if error:
            self.say(error, seconds=10)
        if w.generation != self._shader_generation:
            self._shader_generation = w.generation
            self.settings = self.settings.copy(shader=w.shader)
            self.say(f"shader reloaded: {w.path}", seconds=2)
            self._dirty = True

    def _interacting(self, now: float) -> bool:
        active = self._drag is not None or (now - self._wheel_time) < self.policy.settle
        return self.policy.interacting(now, active)

    def _draw_image(self, now: float, accumulate: bool = False) -> None:
        _, fbo = self._ensure_image()
        cols, rows = self.buffer_size
        settings = self.settings
        reduction, factor = 1, 1.0
        coarse = self._interacting(now)
        if coarse:
            reduction, factor = self.policy.choose(cols * rows)
            step = resolve_sample_distance(self.volume, settings) * factor
            settings = settings.copy(sample_distance=step)
        t0 = time.perf_counter()
        seed = self.renderer.accumulated if accumulate else 0
        self.renderer.draw(self.camera, settings, fbo, (cols, rows), reduction=reduction,
                           seed=seed, accumulate=accumulate and not coarse)
        self.ctx.finish()
        seconds = time.perf_counter() - t0
        self.policy.measured(seconds, cols * rows, reduction, factor)
        self.policy.last_coarse = coarse
        self.last_frame_seconds = seconds
        # While dragging, refresh the status line's frame time only twice a second, so the
        # overlay is not rasterised again on every coarse frame.
        if not coarse or now - self._shown_at > 0.5:
            self.shown_frame_seconds, self._shown_at = seconds, now
        self.last_reduction = reduction if coarse else 1
        self.frames_drawn += 1
        self._dirty = False

    def _present(self, now: float) -> None:
        tex, fbo = self._ensure_image()
        screen = self.wnd.fbo
        cols, rows = self.buffer_size
        self.ctx.copy_framebuffer(screen, fbo)
        overlay = self._overlay(now)
        screen.use()
        screen.viewport = (0, 0, cols, rows)
        self.ctx.enable(moderngl.BLEND)
        self.ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
        overlay.use(0)
        self._overlay_prog["u_overlay"].value = 0
        self._overlay_vao.render(moderngl.TRIANGLES, vertices=3)
        self.ctx.disable(moderngl.BLEND)

    # --- overlay ---------------------------------------------------------------------------
    def _font(self, px: int) -> Any:
        if px not in self._font_cache:
            try:
                self._font_cache[px] = ImageFont.load_default(size=px)
            except TypeError:  # Pillow without FreeType sizes
                self._font_cache[px] = ImageFont.load_default()
        return self._font_cache[px]

    def status_text(self) -> str:
        window, level = resolve_window(self.volume, self.settings)
        step = resolve_sample_distance(self.volume, self.settings)
        ms = self.shown_frame_seconds * 1000
        quality = f" (coarse 1/{self.last_reduction})" if self.last_reduction > 1 else ""
        parts = [
            f"W {window:.5g}  L {level:.5g}",
            f"step {step:.3g} mm",
            f"{ms:.0f} ms{quality}",
            self.settings.mode,
            self.settings.interpolation,
            "persp" if self.camera.projection == "perspective" else "ortho",
        ]
        st = self.settings
        if st.slab is not None:
            parts.append(f"slab {st.slab:.3g} mm @ {st.slab_center:+.3g}")
        if st.colormap not in ("grey", "gray") or st.gamma != 1.0:
            parts.append(f"{st.colormap} gamma {st.gamma:g}")
        if st.refine:
            parts.append("refined")
        if st.jitter:
            parts.append(f"jitter {self.renderer.accumulated}/{ia.JITTER_FRAMES}")
        frames = int(self.volume.meta.get("frames", 1) or 1)
        if frames > 1:
            parts.append(f"volume {int(self.volume.meta.get('frame', 0)) + 1}/{frames}")
        return "   ".join(parts)

    def _overlay(self, now: float) -> moderngl.Texture:
        cols, rows = self.buffer_size
        ratio = self.pixel_ratio
        frame = self.frame()
        labels = ia.edge_labels(self.camera)
        message = self.message if now < self.message_until else ""
        key = (cols, rows, ratio, self.status_text(), self.show_help, tuple(labels.values()),
               round(frame.pixel_size, 9), message)
        if key == self._overlay_key and self._overlay_tex is not None:
            return self._overlay_tex
        img = Image.new("RGBA", (cols, rows), (0, 0, 0, 0))
        draw = ImageDraw.Draw(img)
        size = max(8, round(14 * ratio))
        font, big = self._font(size), self._font(round(size * 1.3))
        pad = round(8 * ratio)
        stroke = max(1, round(ratio))
        white, black = (255, 255, 255, 255), (0, 0, 0, 255)

        def text(xy: tuple[float, float], s: str, f: Any = font, anchor: str = "la",
                 fill: tuple[int, ...] = white) -> None:
            patch, (left, top) = self._text_patch(s, f, anchor, fill, stroke)
            img.paste(patch, (round(xy[0] + left), round(xy[1] + top)), patch)

        line = round(size * 1.25)
        # Help bottom-left (vmtk's place), status line above it or at the bottom.
        lines = list(ia.HELP_LINES) if self.show_help else ["h: Show help."]
        y = help_top = rows - pad - line * len(lines)
        help_right = 0
        for s in lines:
            text((pad, y), s)
            help_right = max(help_right, pad + self._text_patch(s, font, "la", white, stroke)[0].width)
            y += line
        text((pad, pad), self.status_text())
        if message:
            text((pad, pad + line), message, fill=(255, 230, 120, 255))
        # Orientation letters at the middle of each edge.
        text((pad, rows / 2), labels["left"], big, "lm")
        text((cols - pad, rows / 2), labels["right"], big, "rm")
        text((cols / 2, pad + 2 * line), labels["top"], big, "ma")
        text((cols / 2, rows - pad), labels["bottom"], big, "md")
        # Scale bar bottom-right (mm on the plane through the centre).
        length_mm, length_px = ia.scale_bar(frame.pixel_size, target_px=120 * ratio)
        x1, yb = cols - pad - round(20 * ratio), rows - pad - line - round(6 * ratio)
        x0 = x1 - length_px
        if x0 < help_right + pad and yb > help_top - line:  # would cover the help: go up
            yb = pad + 4 * line
        thick = max(2, round(2 * ratio))
        for colour, grow in ((black, stroke), (white, 0)):
            draw.rectangle([x0 - grow, yb - thick - grow, x1 + grow, yb + grow], fill=colour)
            for x in (x0, x1):
                draw.rectangle([x - thick / 2 - grow, yb - 4 * thick - grow, x + thick / 2 + grow,
                                yb + grow], fill=colour)
        label = f"{length_mm:g} mm"
        text(((x0 + x1) / 2, yb + round(4 * ratio)), label, font, "ma")
        data = img.tobytes()
        if self._overlay_tex is None or self._overlay_tex.size != (cols, rows):
            if self._overlay_tex is not None:
                self._overlay_tex.release()
            self._overlay_tex = self.ctx.texture((cols, rows), 4, data)
            self._overlay_tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        else:
            self._overlay_tex.write(data)
        self._overlay_key = key
        return self._overlay_tex

    def _text_patch(self, s: str, font: Any, anchor: str, fill: tuple[int, ...],
                    stroke: int) -> tuple[Image.Image, tuple[int, int]]:
        """White text with a black outline on a transparent patch, cached (rasterising text
        is the slow part of the overlay), and the patch's offset from the anchor point."""
        key = (s, id(font), anchor, fill, stroke)
        cached = self._patches.get(key)
        if cached is None:
            left, top, right, bottom = font.getbbox(s, anchor=anchor, stroke_width=stroke)
            patch = Image.new("RGBA", (max(1, right - left), max(1, bottom - top)), (0, 0, 0, 0))
            ImageDraw.Draw(patch).text((-left, -top), s, font=font, fill=fill, anchor=anchor,
                                       stroke_width=stroke, stroke_fill=(0, 0, 0, 255))
            if len(self._patches) > 256:
                self._patches.clear()
            cached = self._patches[key] = (patch, (left, top))
        return cached

    def say(self, message: str, seconds: float = 4.0, echo: bool = True) -> None:
        """Show ``message`` in the window for a few seconds (and print it)."""
        self.message = message
        self.message_until = time.perf_counter() + seconds
        if echo:
            self.options.echo(message)

    # --- events ----------------------------------------------------------------------------
    def on_resize(self, width: int, height: int) -> None:
        self._dirty = True

    def on_close(self) -> None:
        self.wnd.is_closing = True

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

    def do(self, action: str) -> None:
        """Carry out one :data:`~glmip.interaction.KEYMAP` action."""
        name, _, arg = action.partition(":")
        if name == "quit":
            self.wnd.close()
            self.wnd.is_closing = True
        elif name == "reset":
            self.camera = self.first_camera.copy()
        elif name == "screenshot":
            try:
                self.screenshot()
            except (OSError, UsageError) as exc:  # e.g. a read-only directory: keep running
                self.say(f"x: screenshot not saved: {exc}")
        elif name == "help":
            self.show_help = not self.show_help
        elif name == "view":
            self.camera = Camera.standard(arg, fit=self.camera.fit,
                                          projection=self.camera.projection)
        elif name == "projection":
            other = "perspective" if self.camera.projection == "orthographic" else "orthographic"
            self.camera = self.camera.copy(projection=other)
        elif name == "auto-window":
            self.settings = self.settings.copy(window=None, level=None)
        elif name == "step":
            step = resolve_sample_distance(self.volume, self.settings)
            step = step * ia.STEP_FACTOR if arg == "coarser" else step / ia.STEP_FACTOR
            self.settings = self.settings.copy(sample_distance=step)
            self.say(f"sample distance {step:.3g} mm", echo=False)
        elif name == "interpolation":
            other = "nearest" if self.settings.interpolation == "linear" else "linear"
            self.settings = self.settings.copy(interpolation=other)
        elif name == "mode":
            modes = ia.MODES_CYCLE
            nxt = modes[(modes.index(self.settings.mode) + 1) % len(modes)]
            self.settings = self.settings.copy(mode=nxt)
        elif name == "preset":
            self.preset(arg)
        elif name == "frame":
            self.step_volume(1 if arg == "next" else -1)
        elif name == "turntable":
            self.turntable()
        elif name == "slab":
            self.slab(arg)
        elif name == "colormap":
            maps = ia.COLORMAP_CYCLE
            cur = self.settings.colormap if self.settings.colormap in maps else maps[-1]
            self.settings = self.settings.copy(colormap=maps[(maps.index(cur) + 1) % len(maps)])
            self.say(f"colormap {self.settings.colormap}", echo=False)
        elif name == "gamma":
            gammas = ia.GAMMA_CYCLE
            cur = self.settings.gamma if self.settings.gamma in gammas else gammas[-1]
            self.settings = self.settings.copy(gamma=gammas[(gammas.index(cur) + 1) % len(gammas)])
            self.say(f"gamma {self.settings.gamma:g}", echo=False)
        elif name == "refine":
            self.settings = self.settings.copy(refine=not self.settings.refine)
            self.say(f"refinement {'on' if self.settings.refine else 'off'}", echo=False)
        elif name == "jitter":
            self.settings = self.settings.copy(jitter=not self.settings.jitter)
            self.say(f"jitter {'on' if self.settings.jitter else 'off'}", echo=False)
        # A key press asks for a finished picture: end any wheel-zoom "interaction".
        self._wheel_time = self.policy.last_motion = -1e9
        self._dirty = True

    def slab(self, arg: str) -> None:
        """Thick slab: on/off, thinner/thicker, nearer/farther (mm along the view)."""
        s = self.settings
        if arg == "toggle":
            self.settings = s.copy(slab=None if s.slab else ia.SLAB_DEFAULT_MM, slab_center=0.0)
        elif s.slab is None:
            self.say("s: turn the slab on first", echo=False)
            return
        elif arg in ("thinner", "thicker"):
            f = ia.SLAB_FACTOR if arg == "thicker" else 1 / ia.SLAB_FACTOR
            self.settings = s.copy(slab=s.slab * f)
        else:
            move = max(s.slab / 4, 0.5) * (1 if arg == "farther" else -1)
            self.settings = s.copy(slab_center=s.slab_center + move)
        s = self.settings
        self.say("slab off" if s.slab is None else
                 f"slab {s.slab:.3g} mm at {s.slab_center:+.3g} mm", echo=False)

    def pick(self, x: int, y: int) -> dict[str, Any] | None:
        """Where is the maximum of the ray through window point (x, y)? Reports world position
        (RAS mm), voxel index and value, refined between samples; None if the ray missed."""
        cols, rows = self.buffer_size
        ratio = self.pixel_ratio
        r, c = y * ratio, x * ratio  # mouse y grows downwards, like image rows
        frame = self.camera.frame(self.volume, cols, rows)
        settings = self.settings.copy(refine=True, jitter=False)
        if frame.eye is None:
            # One orthographic ray: a 1x1 image centred on that pixel.
            cam = self.camera.copy(center=frame.pixel_point(r - 0.5, c - 0.5),
                                   fit=frame.pixel_size, zoom=1.0)
            proj = self.renderer.project(cam, settings, (1, 1))
            value, pos = float(proj.value[0, 0]), proj.positions()[0, 0]
        else:
            proj = self.renderer.project(self.camera, settings, (cols, rows))
            ri, ci = min(int(r), rows - 1), min(int(c), cols - 1)
            value, pos = float(proj.value[ri, ci]), proj.positions()[ri, ci]
        if not np.isfinite(value):
            self.say("no volume under the mouse")
            return None
        ijk = np.linalg.solve(self.volume.affine, np.append(pos, 1.0))[:3]
        what = "minimum" if self.settings.mode == "minip" else "maximum"
        self.say(f"{what} {value:.6g} at RAS ({pos[0]:.1f}, {pos[1]:.1f}, {pos[2]:.1f}) mm, "
                 f"voxel ({ijk[0]:.1f}, {ijk[1]:.1f}, {ijk[2]:.1f})", seconds=8)
        self._dirty = True
        return {"value": value, "world": pos, "voxel": ijk}

    def preset(self, key: str) -> None:
        label, window, level = ia.PRESETS[key]
        if window is None:
            window, level = ia.mr_auto_window(self.volume.data, self.volume.slope, self.volume.inter)
        self.settings = self.settings.copy(window=window, level=level)
        self.say(f"{label}: W {window:.5g} L {level:.5g}", echo=False)

    def step_volume(self, delta: int) -> None:
        frames = int(self.volume.meta.get("frames", 1) or 1)
        if frames <= 1 or not self.options.input_path:
            self.say("not a 4-D image: no other volumes", echo=False)
            return
        k = (int(self.volume.meta.get("frame", 0)) + delta) % frames
        opts = dict(self.options.reader_options)
        opts["frame"] = k
        self.volume = load(self.options.input_path, **opts)
        self.options.reader_options = opts
        self.renderer.upload(self.volume)
        self.say(f"volume {k + 1}/{frames}", echo=False)

    def turntable(self) -> None:
        from .movie import record_turntable as record

        target = None
        if self.options.screenshot_dir:
            from .pngio import next_free_path

            target = next_free_path(self.options.screenshot_dir, "glmip-turntable", ".gif")
        self.options.echo("Recording a turntable movie...")
        try:
            path = record(self.volume, self.camera.copy(), self.settings.copy(),
                          self.window_pixels, target, renderer=self.renderer)
        except Exception as exc:  # report, keep the window alive
            self.say(f"t: turntable failed: {exc}")
            return
        self.say(f"turntable written: {path}")

    # mouse
    def on_mouse_press_event(self, x: int, y: int, button: int) -> None:
        mods = self.wnd.modifiers
        name = MOUSE_BUTTONS.get(button)
        if name is None:
            return
        mode = ia.drag_mode(name, shift=bool(mods.shift), ctrl=bool(mods.ctrl), alt=bool(mods.alt))
        wl = resolve_window(self.volume, self.settings)
        self._drag = {"mode": mode, "x": x, "y": y, "wl": wl, "moved": False, "button": name}

    def on_mouse_release_event(self, x: int, y: int, button: int) -> None:
        if self._drag is not None:
            clicked = not self._drag["moved"] and self._drag["mode"] == "rotate"
            self._drag = None
            if self.policy.last_coarse:
                self._dirty = True  # full quality at once
            if clicked:
                self.pick(x, y)

    def on_mouse_drag_event(self, x: int, y: int, dx: int, dy: int) -> None:
        if self._drag is None:
            return
        drag = self._drag
        x0, y0 = drag["x"], drag["y"]
        dx, dy = x - x0, y - y0
        if dx == 0 and dy == 0:
            return
        w, h = self.window_pixels
        mode = drag["mode"]
        if mode == "rotate":
            self.camera = ia.rotate(self.camera, dx, dy, w, h)
        elif mode == "pan":
            pixel_mm = self.frame().pixel_size * self.pixel_ratio
            self.camera = ia.pan(self.camera, dx, dy, pixel_mm, self.volume.center)
        elif mode == "zoom":
            self.camera = ia.zoom_drag(self.camera, dy, h)
        elif mode == "spin":
            self.camera = ia.spin(self.camera, x0, y0, x, y, w, h)
        elif mode == "window":
            window, level = ia.window_level_drag(*drag["wl"], dx, dy, w, h)
            drag["wl"] = (window, level)
            self.settings = self.settings.copy(window=window, level=level)
        drag["x"], drag["y"] = x, y
        drag["moved"] = True
        self.policy.motion(time.perf_counter())
        self._dirty = True

    def on_mouse_scroll_event(self, x_offset: float, y_offset: float) -> None:
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

    # --- screenshot ------------------------------------------------------------------------
    def screenshot(self) -> Path:
        """Render the view at window size x magnification, save it, print path and command."""
        mag = max(1, int(self.options.magnification))
        cols, rows = self.window_pixels
        size = (cols * mag, rows * mag)
        image = self.renderer.render(self.camera, self.settings, size)
        frame = self.camera.frame(self.volume, *size)
        window, level = resolve_window(self.volume, self.settings)
        step = resolve_sample_distance(self.volume, self.settings)
        directory = self.options.screenshot_dir or os.getcwd()
        command = self.command(frame.pixel_size * size[0], size, "OUT.png")
        text = {
            "Software": f"glmip {__version__}",
            "glmip:input": self.volume.name,
            "glmip:window": f"{window:.10g}",
            "glmip:level": f"{level:.10g}",
            "glmip:sample_distance": f"{step:.10g}",
            "glmip:command": command,
        }
        path = save_png_new(directory, image, text)
        self.screenshots.append(path)
        self.options.echo(f"Screenshot written to {path}")
        self.options.echo(f"Reproduce it with: {self.command(frame.pixel_size * size[0], size, path.name)}")
        self.say(f"saved {path.name}", echo=False)
        return path

    def command(self, width_mm: float, size: tuple[int, int], output: str) -> str:
        window, level = resolve_window(self.volume, self.settings)
        step = resolve_sample_distance(self.volume, self.settings)
        return ia.render_command(
            self.options.input_path or self.volume.name or "INPUT",
            output, self.camera, width_mm, size, window, level, step,
            self.settings.copy(shader=self.user_shader),
            reader_options=self.options.reader_options,
            center_option=True,
            default_center=self.volume.center,
        )

    # --- teardown --------------------------------------------------------------------------
    def release(self) -> None:
        if self._released:
            return
        self._released = True
        for obj in (self._image_fbo, self._image_tex, self._overlay_tex, self._overlay_vao,
                    self._overlay_prog):
            if obj is not None:
                obj.release()
        if self.shader_watcher is not None:
            self.shader_watcher.close()
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
        hint = " (no DISPLAY: use glmip render for images without a screen)"
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

