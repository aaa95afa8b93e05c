"""What the viewer's mouse and keys do, as pure functions of the camera and settings (no GL).

Mouse gestures follow VTK's ``vtkInteractorStyleTrackballCamera`` (what vmtk users know), with
its motion factor of 10: a horizontal drag across the whole window turns the view by 200 degrees
about the screen's up axis ("azimuth"), a vertical drag by 200 degrees about the screen's right
axis ("elevation"); the part of the volume nearest the eye follows the mouse. Pan keeps the point
under the mouse under the mouse; zoom multiplies by ``1.1 ** (10 * dy / (height / 2))`` (drag up
= closer) or ``1.1 ** 2`` per wheel step; spin turns the picture with the mouse's angle about
the window centre. Window/level drags (not in VTK's camera style) change the window by a factor
``2 ** (4 * dx / width)`` (drag right = wider) and the level by ``window * dy / height``
(drag up = higher level, darker picture).

Window coordinates here are moderngl-window's: pixels of the window (not of its framebuffer,
which differs on HiDPI screens), origin top-left, y growing downwards.

Everything is a function of its arguments, with no clock inside: the caller passes times in, so
the coarse-while-dragging policy (:class:`QualityPolicy`) is testable.
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .camera import Camera, rotation_matrix
from .options import COLORMAP_CHOICES, MODES
from .settings import resolve_depth_length, resolve_sample_distance

__all__ = [
    "KEYMAP",
    "HELP_LINES",
    "PRESETS",
    "MODES_CYCLE",
    "drag_mode",
    "rotate",
    "pan",
    "zoom_drag",
    "wheel_zoom",
    "spin",
    "window_level_drag",
    "Drag",
    "standard_view",
    "toggle_projection",
    "auto_window",
    "change_step",
    "toggle_interpolation",
    "next_mode",
    "next_colormap",
    "next_gamma",
    "toggle_refine",
    "toggle_jitter",
    "change_slab",
    "apply_preset",
    "STATE_ACTIONS",
    "state_action",
    "QualityPolicy",
    "orientation_label",
    "edge_labels",
    "scale_bar",
    "mr_auto_window",
    "wl_layer_count",
    "next_wl_layer",
    "wl_layer_name",
    "set_layer_window",
    "layer_window_action",
    "DEPTH_NEAR",
    "DEPTH_MID",
    "DEPTH_FAR",
    "depth_hue",
    "depth_extent",
]

MOTION_FACTOR = 10.0  # VTK's vtkInteractorStyleTrackballCamera::MotionFactor

# character typed -> action, "name" or "name:argument"; MipViewer.actions (glmip.app) maps each
# name to what it does, most of them through the pure functions below.
KEYMAP: dict[str, str] = {
    "q": "quit",
    "r": "reset",
    "x": "screenshot",
    "h": "help",
    "1": "view:anterior",
    "2": "view:posterior",
    "3": "view:left",
    "4": "view:right",
    "5": "view:superior",
    "6": "view:inferior",
    "o": "projection",
    "w": "auto-window",
    "+": "step:coarser",
    "=": "step:coarser",  # the unshifted '+' key on US keyboards
    "-": "step:finer",
    "i": "interpolation",
    "m": "mode",
    "t": "turntable",
    "c": "preset:c",
    "b": "preset:b",
    "g": "preset:g",
    "a": "preset:a",
    "n": "frame:next",
    "p": "frame:previous",
    "s": "slab:toggle",
    "[": "slab:thinner",
    "]": "slab:thicker",
    ",": "slab:nearer",
    ".": "slab:farther",
    "k": "colormap",
    "y": "gamma",
    "e": "refine",
    "j": "jitter",
    "f": "wl-layer",
}

COLORMAP_CYCLE = COLORMAP_CHOICES
GAMMA_CYCLE = (1.0, 0.7, 0.5, 1.5)
SLAB_DEFAULT_MM = 10.0
SLAB_FACTOR = 1.25  # '[' / ']' divide / multiply the slab thickness by this
JITTER_FRAMES = 32  # idle jittered frames averaged into the still picture

# key -> (name, window, level) in real units (Hounsfield units for CT); None: computed (MR auto).
PRESETS: dict[str, tuple[str, float | None, float | None]] = {
    "c": ("CT angiography", 700.0, 200.0),
    "b": ("bone", 1800.0, 400.0),
    "g": ("brain", 80.0, 40.0),
    "a": ("MR auto", None, None),
}

MODES_CYCLE = MODES
STEP_FACTOR = 1.25  # '+' / '-' multiply / divide the sample distance by this

# Help drawn bottom-left, in vmtk's "key: Action." style.
HELP_LINES = (
    "q: Quit renderer/proceed.",
    "r: Reset the first view.",
    "x: Take a screenshot.",
    "h: Show/hide this help.",
    "1-6: Anterior, posterior, left, right, superior, inferior view.",
    "o: Orthographic/perspective.",
    "w: Automatic window/level (full range).",
    "c/b/g/a: Window/level presets CT angiography, bone, brain, MR auto.",
    "+/-: Larger/smaller sample distance.",
    "i: Linear/nearest interpolation.",
    "m: Next projection mode (" + ", ".join(MODES) + ").",
    "n/p: Next/previous volume of a 4-D file.",
    "t: Record a turntable movie.",
    "s: Thick slab on/off; [/]: thinner/thicker; ,/. or shift+wheel: move it.",
    "k: Next colormap; y: next gamma; e: refine maxima; j: jitter (still image converges).",
    "f: Window/level, presets and w act on the next layer (base, then each fused layer).",
    "Click: where is the maximum of that pixel's ray (position, voxel, value).",
    "Mouse: left rotate, middle or shift+left pan, wheel or right zoom,",
    "  ctrl+left spin, alt+left or ctrl+right window/level.",
)


# --- mouse ---------------------------------------------------------------------------------
def drag_mode(button: str, *, shift: bool = False, ctrl: bool = False, alt: bool = False) -> str:
    """What a drag with ``button`` (``left``, ``middle``, ``right``) and modifiers does:
    ``rotate``, ``pan``, ``zoom``, ``spin`` or ``window``."""
    if button == "left":
        if alt:
            return "window"
        if shift:
            return "pan"
        if ctrl:
            return "spin"
        return "rotate"
    if button == "middle":
        return "pan"
    if button == "right":
        return "window" if ctrl else "zoom"
    raise ValueError(f"unknown mouse button {button!r}")


def rotate(camera: Camera, dx: float, dy: float, width: float, height: float) -> Camera:
    """VTK trackball-camera rotation for a mouse move of (dx, dy) window pixels (y down).

    VTK's ``Azimuth(-200 dx / width)`` turns the camera position about the view-up through the
    focal point, ``Elevation(-200 dy_up / height)`` about the screen's right axis; either way
    the side of the volume nearest the eye follows the mouse. Turning the camera about the
    focal point turns ``view_dir`` and ``up`` alike, which :meth:`Camera.rotated` does.
    """
    _, right, up = camera.basis()
    azimuth = -20.0 * MOTION_FACTOR * dx / max(width, 1)
    elevation = -20.0 * MOTION_FACTOR * dy / max(height, 1)
    cam = camera
    if azimuth:
        cam = cam.rotated(up, azimuth)
    if elevation:
        cam = cam.rotated(right, elevation)
    return cam


def pan(camera: Camera, dx: float, dy: float, pixel_mm: float, default_center: Sequence[float]) -> Camera:
    """Move the framing centre so the picture follows the mouse by (dx, dy) window pixels.

    ``pixel_mm`` is the size in mm of one window pixel on the plane through the centre.
    """
    _, right, up = camera.basis()
    center = np.asarray(default_center if camera.center is None else camera.center, dtype=np.float64)
    center = center - dx * pixel_mm * right + dy * pixel_mm * up
    return camera.copy(center=center)


def zoom_drag(camera: Camera, dy: float, height: float) -> Camera:
    """Right-drag zoom: drag up (dy < 0) moves closer, as VTK's Dolly."""
    factor = 1.1 ** (MOTION_FACTOR * (-dy) / max(height / 2.0, 1.0))
    return camera.copy(zoom=camera.zoom * factor)


def wheel_zoom(camera: Camera, steps: float) -> Camera:
    """Wheel zoom: each step forward (positive) magnifies by 1.1 ** 2, as VTK."""
    return camera.copy(zoom=camera.zoom * 1.1 ** (0.2 * MOTION_FACTOR * steps))


def spin(camera: Camera, x0: float, y0: float, x1: float, y1: float, width: float,
         height: float) -> Camera:
    """Turn the picture about the window centre as the mouse goes from (x0, y0) to (x1, y1).

    The picture turns with the mouse: a counter-clockwise mouse motion on the screen turns the
    content counter-clockwise, i.e. the camera rolls the other way (positive about ``d``).
    """
    cx, cy = width / 2.0, height / 2.0
    a0 = math.atan2(cy - y0, x0 - cx)  # y up, counter-clockwise positive
    a1 = math.atan2(cy - y1, x1 - cx)
    delta = math.degrees(a1 - a0)
    delta = (delta + 180.0) % 360.0 - 180.0
    d, _, up = camera.basis()
    return camera.copy(up=rotation_matrix(d, delta) @ up)


def window_level_drag(window: float, level: float, dx: float, dy: float, width: float,
                      height: float) -> tuple[float, float]:
    """New (window, level) after a window/level drag of (dx, dy) window pixels (y down)."""
    new_window = window * 2.0 ** (4.0 * dx / max(width, 1))
    new_level = level - window * dy / max(height, 1)
    return max(new_window, 1e-6 * max(abs(window), 1e-12)), new_level


@dataclass
class Drag:
    """One mouse drag from press to release: the gesture (:func:`drag_mode`), where the mouse
    was last, and the window/level it carries along (a window/level drag accumulates)."""

    mode: str
    x: float
    y: float
    wl: tuple[float, float]
    moved: bool = False
    layer: int = 0  # whose window a window/level drag changes: 0 base, k fused layer k-1

    @property
    def is_click(self) -> bool:
        """A left press released without moving: a click (the viewer picks the maximum)."""
        return self.mode == "rotate" and not self.moved

    def move(self, x: float, y: float, camera: Camera, settings: Any, width: float,
             height: float, pixel_mm: float, default_center: Sequence[float]
             ) -> tuple[Camera, Any] | None:
        """(camera, settings) after the mouse moved to window point (x, y); None if it did not
        move. ``pixel_mm``: mm per window pixel on the plane through the centre (for pan)."""
        x0, y0 = self.x, self.y
        dx, dy = x - x0, y - y0
        if dx == 0 and dy == 0:
            return None
        if self.mode == "rotate":
            camera = rotate(camera, dx, dy, width, height)
        elif self.mode == "pan":
            camera = pan(camera, dx, dy, pixel_mm, default_center)
        elif self.mode == "zoom":
            camera = zoom_drag(camera, dy, height)
        elif self.mode == "spin":
            camera = spin(camera, x0, y0, x, y, width, height)
        elif self.mode == "window":
            self.wl = window_level_drag(*self.wl, dx, dy, width, height)
            if self.layer > 0:
                settings = set_layer_window(settings, self.layer, *self.wl)
            else:
                settings = settings.copy(window=self.wl[0], level=self.wl[1])
        self.x, self.y, self.moved = x, y, True
        return camera, settings


# --- keys: pure state changes ---------------------------------------------------------------
# Each key's action (the KEYMAP value before ':') that only changes the camera or the settings
# is one of these; the window (glmip.app) applies it and shows its message (docs/viewer.md).
def _next(value: Any, cycle: Sequence[Any]) -> Any:
    """The entry after ``value`` in ``cycle``, wrapping; a value not in it starts the cycle."""
    current = value if value in cycle else cycle[-1]
    return cycle[(list(cycle).index(current) + 1) % len(cycle)]


def standard_view(camera: Camera, name: str) -> Camera:
    """Keys 1-6: a standard view, keeping the framing rule and the projection."""
    return Camera.standard(name, fit=camera.fit, projection=camera.projection)


def toggle_projection(camera: Camera) -> Camera:
    """``o``: orthographic <-> perspective."""
    other = "perspective" if camera.projection == "orthographic" else "orthographic"
    return camera.copy(projection=other)


def auto_window(settings: Any) -> Any:
    """``w``: automatic window/level (the data's full range)."""
    return settings.copy(window=None, level=None)


def change_step(settings: Any, current: float, direction: str) -> Any:
    """``+`` / ``-``: the sample distance ``current`` (mm) times or divided by STEP_FACTOR."""
    step = current * STEP_FACTOR if direction == "coarser" else current / STEP_FACTOR
    return settings.copy(sample_distance=step)


def toggle_interpolation(settings: Any) -> Any:
    """``i``: linear <-> nearest."""
    other = "nearest" if settings.interpolation == "linear" else "linear"
    return settings.copy(interpolation=other)


def next_mode(settings: Any) -> Any:
    """``m``: the next of MODES_CYCLE."""
    return settings.copy(mode=_next(settings.mode, MODES_CYCLE))


def next_colormap(settings: Any) -> Any:
    """``k``: the next of COLORMAP_CYCLE (another colormap starts the cycle)."""
    return settings.copy(colormap=_next(settings.colormap, COLORMAP_CYCLE))


def next_gamma(settings: Any) -> Any:
    """``y``: the next of GAMMA_CYCLE (another gamma starts the cycle)."""
    return settings.copy(gamma=_next(settings.gamma, GAMMA_CYCLE))


def toggle_refine(settings: Any) -> Any:
    """``e``: refine each ray's maximum between samples, on/off."""
    return settings.copy(refine=not settings.refine)


def toggle_jitter(settings: Any) -> Any:
    """``j``: jittered, accumulated still frames, on/off."""
    return settings.copy(jitter=not settings.jitter)


def change_slab(settings: Any, how: str) -> Any | None:
    """Thick slab keys: ``toggle`` (on at SLAB_DEFAULT_MM through the centre, or off),
    ``thinner`` / ``thicker`` (by SLAB_FACTOR), ``nearer`` / ``farther`` (a quarter of the
    thickness, at least 0.5 mm, along the view). None when the slab is off and ``how`` is not
    ``toggle`` (nothing to change)."""
    s = settings
    if how == "toggle":
        return s.copy(slab=None if s.slab else SLAB_DEFAULT_MM, slab_center=0.0)
    if s.slab is None:
        return None
    if how in ("thinner", "thicker"):
        return s.copy(slab=s.slab * (SLAB_FACTOR if how == "thicker" else 1 / SLAB_FACTOR))
    move = max(s.slab / 4, 0.5) * (1 if how == "farther" else -1)
    return s.copy(slab_center=s.slab_center + move)


def apply_preset(settings: Any, key: str, volume: Any) -> tuple[Any, str]:
    """``c`` ``b`` ``g`` ``a``: (settings with the preset's window/level, its name); the MR
    preset computes them from the volume (:func:`mr_auto_window`)."""
    label, window, level = PRESETS[key]
    if window is None:
        window, level = mr_auto_window(volume.data, volume.slope, volume.inter)
    return settings.copy(window=window, level=level), label


# --- keys: one table for every door ----------------------------------------------------------
# KEYMAP actions (the name before ':') that only change the camera or the settings; every door
# (the window, the notebook widget) applies them through state_action. The others (quit,
# screenshot, help, frame, turntable) act on the door itself and each door does them its way.
def _slab_message(s: Any) -> str:
    return "slab off" if s.slab is None else f"slab {s.slab:.3g} mm at {s.slab_center:+.3g} mm"


def _on_settings(change: Callable[[Any], Any], say: Callable[[Any], str] | None = None
                 ) -> Callable[..., tuple]:
    """An action that changes only the settings, and what it says afterwards."""
    def act(arg: str, camera: Camera, settings: Any, volume: Any, first: Camera) -> tuple:
        new = change(settings)
        return camera, new, say(new) if say else ""
    return act


def _preset(arg: str, camera: Camera, settings: Any, volume: Any, first: Camera) -> tuple:
    new, label = apply_preset(settings, arg, volume)
    return camera, new, f"{label}: W {new.window:.5g} L {new.level:.5g}"


def _slab(arg: str, camera: Camera, settings: Any, volume: Any, first: Camera) -> tuple:
    changed = change_slab(settings, arg)
    if changed is None:
        return camera, settings, "s: turn the slab on first"
    return camera, changed, _slab_message(changed)


def _step(arg: str, camera: Camera, settings: Any, volume: Any, first: Camera) -> tuple:
    new = change_step(settings, resolve_sample_distance(volume, settings), arg)
    return camera, new, f"sample distance {new.sample_distance:.3g} mm"


# Each (argument, camera, settings, volume, first camera) -> (camera, settings, message).
_STATE_TABLE: dict[str, Callable[..., tuple]] = {
    "reset": lambda arg, cam, s, vol, first: (first.copy(), s, ""),
    "view": lambda arg, cam, s, vol, first: (standard_view(cam, arg), s, ""),
    "projection": lambda arg, cam, s, vol, first: (toggle_projection(cam), s, ""),
    "auto-window": _on_settings(auto_window),
    "step": _step,
    "interpolation": _on_settings(toggle_interpolation),
    "mode": _on_settings(next_mode),
    "preset": _preset,
    "slab": _slab,
    "colormap": _on_settings(next_colormap, lambda s: f"colormap {s.colormap}"),
    "gamma": _on_settings(next_gamma, lambda s: f"gamma {s.gamma:g}"),
    "refine": _on_settings(toggle_refine,
                           lambda s: f"refinement {'on' if s.refine else 'off'}"),
    "jitter": _on_settings(toggle_jitter, lambda s: f"jitter {'on' if s.jitter else 'off'}"),
}
STATE_ACTIONS = tuple(_STATE_TABLE)


def state_action(action: str, camera: Camera, settings: Any, volume: Any,
                 first_camera: Camera) -> tuple[Camera, Any, str] | None:
    """(camera, settings, message) after the KEYMAP ``action`` (``"name"`` or
    ``"name:argument"``); the message is what the door shows ("" for none). None when
    ``action`` is not one of :data:`STATE_ACTIONS` (the door does it)."""
    name, _, arg = action.partition(":")
    act = _STATE_TABLE.get(name)
    return None if act is None else act(arg, camera, settings, volume, first_camera)


# --- whose window: the base volume or a fused layer (key f) -----------------------------------
# Layer 0 is the base volume (settings.window/level); layer k >= 1 is fused layer k - 1, whose
# window is the k-th W L pair of settings.fuse_window (W <= 0: automatic).
def wl_layer_count(settings: Any) -> int:
    """How many layers have a window: the base volume plus each fused layer."""
    return 1 + len(settings.fuse or ())


def next_wl_layer(layer: int, settings: Any) -> int:
    """``f``: the layer after ``layer`` whose window the drag, presets and ``w`` change."""
    return (layer + 1) % wl_layer_count(settings)


def wl_layer_name(layer: int, settings: Any) -> str:
    """``base volume`` or ``layer K (NAME)`` (K from 1, NAME the fused source's file name)."""
    if layer <= 0:
        return "base volume"
    source = settings.fuse[layer - 1]
    name = getattr(source, "name", None) if not isinstance(source, (str, bytes)) else source
    name = str(name or "").replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return f"layer {layer} ({name})" if name else f"layer {layer}"


def set_layer_window(settings: Any, layer: int, window: float | None, level: float | None
                     ) -> Any:
    """Settings with the window of ``layer`` (>= 1: its pair in ``fuse_window``; the pairs of
    layers before it that have none become automatic, 0 0) set to (window, level); None or
    window <= 0: automatic."""
    if layer <= 0:
        return settings.copy(window=window, level=level)
    pairs = list(settings.fuse_window or ())
    while len(pairs) < 2 * layer:
        pairs += [0.0, 0.0]
    if window is None or window <= 0:
        pairs[2 * layer - 2: 2 * layer] = [0.0, 0.0]
    else:
        pairs[2 * layer - 2: 2 * layer] = [float(window), float(level or 0.0)]
    return settings.copy(fuse_window=tuple(pairs))


def layer_window_action(action: str, settings: Any, layer: int, layer_volume: Any
                        ) -> tuple[Any, str] | None:
    """``w`` (``auto-window``) and the presets (``preset:KEY``) on fused ``layer`` (>= 1), whose
    volume is ``layer_volume``: (settings, message); None for other actions."""
    name, _, arg = action.partition(":")
    label = wl_layer_name(layer, settings)
    if name == "auto-window":
        return set_layer_window(settings, layer, None, None), f"{label}: automatic window"
    if name == "preset":
        preset, what = apply_preset(settings.layer(layer - 1), arg, layer_volume)
        s = set_layer_window(settings, layer, preset.window, preset.level)
        return s, f"{label}: {what}: W {preset.window:.5g} L {preset.level:.5g}"
    return None


# --- depth colour legend -----------------------------------------------------------------------
# The hue of mode depthcolour (shaders/mip.glsl depth_hue; tests/reference.py): near warm ->
# magenta -> far cool, linear in two halves of t in 0..1 (0 at the framing sphere's front).
DEPTH_NEAR = (1.0, 0.75, 0.25)
DEPTH_MID = (0.85, 0.25, 0.55)
DEPTH_FAR = (0.2, 0.45, 1.0)


def depth_hue(t: Any) -> np.ndarray:
    """RGB (..., 3) floats 0..1 of depth ``t`` (0 near, 1 far; clipped), as the shader's."""
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)[..., None]
    near, mid, far = (np.array(c) for c in (DEPTH_NEAR, DEPTH_MID, DEPTH_FAR))
    return np.where(t < 0.5, near + (mid - near) * t * 2.0, mid + (far - mid) * (t * 2.0 - 1.0))


def depth_extent(volume: Any, settings: Any) -> float:
    """Millimetres from hue ``near`` to ``far``: ``settings.depth_length`` or the framing
    sphere's diameter (the shader's u_depth_length, glmip/raycast.py)."""
    return resolve_depth_length(volume, settings)


# --- speed ---------------------------------------------------------------------------------
@dataclass
class QualityPolicy:
    """Coarse frames while the user drags, full quality when the mouse rests.

    While interacting, frames project fewer rays (``reduction`` > 1: cols/r x rows/r rays,
    scaled up) and may take a longer step, chosen from the measured cost of earlier frames so
    a frame takes about ``target`` seconds. ``settle`` seconds after the last motion (or at
    once on release) a full-quality frame is drawn. With ``auto`` off every frame is full
    quality (vmtk's ``-autosampledistance 0``).
    """

    auto: bool = True
    target: float = 1.0 / 30.0
    settle: float = 0.15
    max_reduction: int = 8
    coarse_step_factor: float = 1.5
    # measured seconds per ray-sample unit (rays x 1/step_factor), smoothed
    _cost: float | None = None
    last_motion: float = -1e9
    last_coarse: bool = False

    def motion(self, now: float) -> None:
        self.last_motion = now

    def interacting(self, now: float, dragging: bool) -> bool:
        return self.auto and dragging and (now - self.last_motion) < self.settle

    def choose(self, rays: int) -> tuple[int, float]:
        """(reduction, step factor) for a coarse frame of ``rays`` full-size rays."""
        if self._cost is None:
            return 2, self.coarse_step_factor
        per_frame_full = self._cost * rays  # seconds at reduction 1, step factor 1
        r = 2
        while r < self.max_reduction and per_frame_full / (r * r * self.coarse_step_factor) > self.target:
            r += 1
        return r, self.coarse_step_factor

    def frame_settings(self, volume: Any, settings: Any, rays: int, coarse: bool
                       ) -> tuple[Any, int, float]:
        """(settings, reduction, step factor) of the next frame of ``rays`` full-size rays:
        as given when still, fewer rays and a longer step (:meth:`choose`) while ``coarse``."""
        if not coarse:
            return settings, 1, 1.0
        reduction, factor = self.choose(rays)
        step = resolve_sample_distance(volume, settings) * factor
        return settings.copy(sample_distance=step), reduction, factor

    def measured(self, seconds: float, rays: int, reduction: int, step_factor: float) -> None:
        """Record that a frame of ``rays`` full-size rays took ``seconds``."""
        effective = rays / (reduction * reduction) / step_factor
        cost = seconds / max(effective, 1.0)
        self._cost = cost if self._cost is None else 0.5 * self._cost + 0.5 * cost

    def needs_full_redraw(self, now: float) -> bool:
        """True when the last frame was coarse and the mouse has rested ``settle`` seconds."""
        return self.last_coarse and (now - self.last_motion) >= self.settle


# --- overlay geometry ----------------------------------------------------------------------
_LETTERS = (("R", "L"), ("A", "P"), ("S", "I"))


def orientation_label(vector: Sequence[float], second: float = 0.38) -> str:
    """Anatomical letters of a world direction: the dominant axis, plus the next one when its
    share is at least ``second`` of the unit vector (e.g. ``"RA"`` for an oblique edge)."""
    v = np.asarray(vector, dtype=np.float64)
    v = v / np.linalg.norm(v)
    order = np.argsort(-np.abs(v))
    letters = ""
    for rank, axis in enumerate(order[:2]):
        if rank == 1 and abs(v[axis]) < second:
            break
        letters += _LETTERS[axis][0 if v[axis] > 0 else 1]
    return letters


def edge_labels(camera: Camera) -> dict[str, str]:
    """Letters for the ``left``, ``right``, ``top`` and ``bottom`` edges of the picture."""
    _, right, up = camera.basis()
    return {
        "left": orientation_label(-right),
        "right": orientation_label(right),
        "top": orientation_label(up),
        "bottom": orientation_label(-up),
    }


def scale_bar(pixel_mm: float, target_px: float = 120.0) -> tuple[float, float]:
    """(length in mm, length in pixels) of a bar of 1, 2 or 5 x 10^k mm near ``target_px``."""
    want = target_px * pixel_mm
    k = math.floor(math.log10(want))
    best = min((m * 10.0**k for m in (1, 2, 5, 10)), key=lambda L: abs(math.log(L / want)))
    return best, best / pixel_mm


def mr_auto_window(data: np.ndarray, slope: float = 1.0, inter: float = 0.0,
                   max_samples: int = 1_000_000) -> tuple[float, float]:
    """(window, level) spanning the 1st to 99.5th percentile of the non-background voxels
    (values above the minimum), on a regular subsample; real units."""
    flat = data.reshape(-1) if data.flags.c_contiguous or data.flags.f_contiguous else data.ravel()
    stride = max(1, flat.size // max_samples)
    sample = np.asarray(flat[::stride], dtype=np.float64) * slope + inter
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 1.0, 0.5
    body = sample[sample > sample.min()]
    if body.size < 16:
        body = sample
    lo, hi = np.percentile(body, [1.0, 99.5])
    if hi <= lo:
        hi = lo + max(abs(lo) * 1e-3, 1e-3)
    return float(hi - lo), float((hi + lo) / 2)
