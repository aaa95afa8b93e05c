"""The viewer's overlay, rasterised with Pillow: help, status line, orientation letters, scale bar.

:class:`Overlay` turns an :class:`OverlayState` (everything the overlay shows, nothing it has to
compute from the camera) into a transparent RGBA picture of the framebuffer's size. The layout
is vmtk's: help bottom-left, the status line and any message top-left, the patient directions
(R/L, A/P, S/I, see docs/conventions.md) at the middle of each edge, a millimetre scale bar
bottom-right (moved up when it would cover the help). The letters and the bar length come from
:mod:`glmip.interaction` (:func:`~glmip.interaction.edge_labels`,
:func:`~glmip.interaction.scale_bar`); the caller passes the frame's pixel size in.

No GL here: the window (:mod:`glmip.app`) uploads the picture to a texture and blends it over
the MIP, and only when :attr:`OverlayState.key` changed (see docs/viewer.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import interaction as ia
from .options import GREY_COLORMAPS
from .settings import RenderSettings, resolve_sample_distance, resolve_window
from .volume import Volume

__all__ = ["OverlayState", "Overlay", "status_line"]

WHITE = (255, 255, 255, 255)
BLACK = (0, 0, 0, 255)
MESSAGE_COLOUR = (255, 230, 120, 255)


@dataclass(frozen=True)
class OverlayState:
    """What the overlay shows. Equal states give equal pictures (the cache key).

    size
        (cols, rows) of the framebuffer.
    ratio
        Framebuffer pixels per window pixel (2 on most HiDPI screens); text scales with it.
    labels
        Letters at the (left, right, top, bottom) edges, as :func:`~glmip.interaction.edge_labels`.
    pixel_size
        Millimetres per framebuffer pixel on the plane through the framing centre.
    """

    size: tuple[int, int]
    ratio: float
    status: str
    show_help: bool
    labels: tuple[str, str, str, str]
    pixel_size: float
    message: str = ""
    depth_legend: float | None = None  # mode depthcolour: mm from near to far (else None)

    @property
    def key(self) -> tuple[Any, ...]:
        """Cache key: the pixel size rounded, so float noise does not redraw."""
        return (self.size, self.ratio, self.status, self.show_help, self.labels,
                round(self.pixel_size, 9), self.message,
                None if self.depth_legend is None else round(self.depth_legend, 6))


def status_line(volume: Volume, settings: RenderSettings, projection: str, frame_seconds: float,
                reduction: int = 1, accumulated: int = 0,
                wl_layer: tuple[str, float, float] | None = None) -> str:
    """The status line: window/level, step, frame time, mode, interpolation, projection, and
    slab, colormap/gamma, refinement, jitter and 4-D volume when they apply. ``wl_layer``
    (name, window, level): the layer whose window the drag and presets change (``f``), shown
    when there are fused layers."""
    window, level = resolve_window(volume, settings)
    step = resolve_sample_distance(volume, settings)
    quality = f" (coarse 1/{reduction})" if reduction > 1 else ""
    parts = [
        f"W {window:.5g}  L {level:.5g}",
        f"step {step:.3g} mm",
        f"{frame_seconds * 1000:.0f} ms{quality}",
        settings.mode,
        settings.interpolation,
        "persp" if projection == "perspective" else "ortho",
    ]
    st = settings
    if st.slab is not None:
        parts.append(f"slab {st.slab:.3g} mm @ {st.slab_center:+.3g}")
    if st.colormap not in GREY_COLORMAPS or st.gamma != 1.0:
        parts.append(f"{st.colormap} gamma {st.gamma:g}")
    if st.refine:
        parts.append("refined")
    if st.jitter:
        parts.append(f"jitter {accumulated}/{ia.JITTER_FRAMES}")
    frames = int(volume.meta.get("frames", 1) or 1)
    if frames > 1:
        parts.append(f"volume {int(volume.meta.get('frame', 0)) + 1}/{frames}")
    if wl_layer is not None:
        name, w, lv = wl_layer
        parts.append(f"W/L: {name} (W {w:.5g} L {lv:.5g})")
    return "   ".join(parts)


class Overlay:
    """Rasterises :class:`OverlayState` s; keeps fonts and text patches between frames."""

    def __init__(self) -> None:
        self._fonts: dict[int, Any] = {}
        self._patches: dict[Any, tuple[Image.Image, tuple[int, int]]] = {}

    def font(self, px: int) -> Any:
        """Pillow's default font at ``px`` pixels (one fixed size on Pillow without FreeType)."""
        if px not in self._fonts:
            try:
                self._fonts[px] = ImageFont.load_default(size=px)
            except TypeError:  # Pillow without FreeType sizes
                self._fonts[px] = ImageFont.load_default()
        return self._fonts[px]

    def text_patch(self, s: str, font: Any, anchor: str, fill: tuple[int, ...],
                   stroke: int) -> tuple[Image.Image, tuple[int, int]]:
        """Text with a black outline on a transparent patch, cached (rasterising text is the
        slow part of the overlay), and the patch's offset from the anchor point."""
        key = (s, id(font), anchor, fill, stroke)
        cached = self._patches.get(key)
        if cached is None:
            left, top, right, bottom = font.getbbox(s, anchor=anchor, stroke_width=stroke)
            patch = Image.new("RGBA", (max(1, right - left), max(1, bottom - top)), (0, 0, 0, 0))
            ImageDraw.Draw(patch).text((-left, -top), s, font=font, fill=fill, anchor=anchor,
                                       stroke_width=stroke, stroke_fill=BLACK)
            if len(self._patches) > 256:
                self._patches.clear()
            cached = self._patches[key] = (patch, (left, top))
        return cached

    def draw(self, state: OverlayState) -> Image.Image:
        """The overlay as a transparent RGBA picture of ``state.size``, first row at the top."""
        return _Canvas(self, state).draw()


class _Canvas:
    """One overlay picture being drawn: sizes derived from the pixel ratio, and the parts."""

    def __init__(self, overlay: Overlay, state: OverlayState) -> None:
        self.state = state
        self.overlay = overlay
        self.img = Image.new("RGBA", state.size, (0, 0, 0, 0))
        ratio = state.ratio
        self.size = max(8, round(14 * ratio))
        self.font = overlay.font(self.size)
        self.big = overlay.font(round(self.size * 1.3))
        self.pad = round(8 * ratio)
        self.stroke = max(1, round(ratio))
        self.line = round(self.size * 1.25)

    def text(self, xy: tuple[float, float], s: str, font: Any = None, anchor: str = "la",
             fill: tuple[int, ...] = WHITE) -> int:
        """Paste text anchored at ``xy``; returns its width in pixels."""
        patch, (left, top) = self.overlay.text_patch(s, font or self.font, anchor, fill,
                                                     self.stroke)
        self.img.paste(patch, (round(xy[0] + left), round(xy[1] + top)), patch)
        return patch.width

    def draw(self) -> Image.Image:
        st, pad, line = self.state, self.pad, self.line
        help_top, help_right = self.help()
        self.text((pad, pad), st.status)
        if st.message:
            self.text((pad, pad + line), st.message, fill=MESSAGE_COLOUR)
        self.letters()
        below = self.depth_legend()
        self.scale_bar(help_top, help_right, below)
        return self.img

    def help(self) -> tuple[int, int]:
        """Help lines bottom-left (vmtk's place), kept clear of the left and bottom orientation
        letters in small windows; returns the top and right of that block."""
        lines = list(ia.HELP_LINES) if self.state.show_help else ["h: Show help."]
        cols, rows = self.state.size
        width = max(self.overlay.text_patch(s, self.font, "la", WHITE, self.stroke)[0].width
                    for s in lines)
        letter, _ = self.overlay.text_patch("M", self.big, "lm", WHITE, self.stroke)
        bottom = rows - self.pad
        if self.pad + width > cols / 2 - letter.width:  # would run under the bottom letter
            bottom -= letter.height + self.pad
        top = bottom - self.line * len(lines)
        x = self.pad
        if top < rows / 2 + letter.height:  # would cover the left letter: start after it
            x += letter.width + self.pad
        for k, s in enumerate(lines):
            self.text((x, top + k * self.line), s)
        return top, x + width

    def letters(self) -> None:
        """Orientation letters at the middle of each edge."""
        cols, rows = self.state.size
        left, right, top, bottom = self.state.labels
        pad, big = self.pad, self.big
        self.text((pad, rows / 2), left, big, "lm")
        self.text((cols - pad, rows / 2), right, big, "rm")
        self.text((cols / 2, pad + 2 * self.line), top, big, "ma")
        self.text((cols / 2, rows - pad), bottom, big, "md")

    def depth_legend(self) -> int:
        """Mode depthcolour: a colour bar top-right, near (warm) to far (cool), titled with the
        depth scale's extent in mm; its colours are :func:`glmip.interaction.depth_hue` (the
        shader's). Returns the bottom of what it drew (0 when nothing)."""
        length = self.state.depth_legend
        if length is None:
            return 0
        cols, _ = self.state.size
        ratio, pad, line, stroke = self.state.ratio, self.pad, self.line, self.stroke
        width, height = round(120 * ratio), max(4, round(10 * ratio))
        x1 = cols - pad - round(20 * ratio)
        x0 = x1 - width
        top = pad + round(3.5 * line)  # below the status line, the message and the top letter
        self.text((x1, top), f"depth {length:.4g} mm", self.font, "ra")
        y0 = top + line
        hue = ia.depth_hue((np.arange(width) + 0.5) / width)  # (width, 3)
        bar = np.repeat(np.floor(hue * 255 + 0.5).astype(np.uint8)[None], height, axis=0)
        ImageDraw.Draw(self.img).rectangle([x0 - stroke, y0 - stroke, x1 + stroke - 1,
                                            y0 + height + stroke - 1], fill=BLACK)
        self.img.paste(Image.fromarray(bar, "RGB").convert("RGBA"), (x0, y0))
        label_y = y0 + height + round(3 * ratio)
        self.text((x0, label_y), "near", self.font, "la")
        self.text((x1, label_y), "far", self.font, "ra")
        return label_y + line

    def scale_bar(self, help_top: int, help_right: int, below: int = 0) -> None:
        """A bar of 1, 2 or 5 x 10^k mm bottom-right, white with a black outline, and its length
        (moved up when it would cover the help, then below ``below``, the depth legend)."""
        cols, rows = self.state.size
        ratio, pad, line, stroke = self.state.ratio, self.pad, self.line, self.stroke
        length_mm, length_px = ia.scale_bar(self.state.pixel_size, target_px=120 * ratio)
        x1, yb = cols - pad - round(20 * ratio), rows - pad - line - round(6 * ratio)
        x0 = x1 - length_px
        if x0 < help_right + pad and yb > help_top - line:  # would cover the help: go up
            yb = max(pad + 4 * line, below + line)
        thick = max(2, round(2 * ratio))
        draw = ImageDraw.Draw(self.img)
        for colour, grow in ((BLACK, stroke), (WHITE, 0)):
            draw.rectangle([x0 - grow, yb - thick - grow, x1 + grow, yb + grow], fill=colour)
            for x in (x0, x1):
                draw.rectangle([x - thick / 2 - grow, yb - 4 * thick - grow, x + thick / 2 + grow,
                                yb + grow], fill=colour)
        self.text(((x0 + x1) / 2, yb + round(4 * ratio)), f"{length_mm:g} mm", self.font, "ma")
