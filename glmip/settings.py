"""Render settings: validated on assignment, pure Python (no GL).

Values are in the file's real units (window/level) and world millimetres (sample distance,
slab). ``None`` means automatic where that makes sense. Definitions: docs/conventions.md.
Names, defaults and choices come from the vocabulary in ``glmip/options.py``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .colormaps import colormap_lut
from .errors import VolumeError
from .options import (COMPOSITES, FUSE_COLORMAPS, GREY_COLORMAPS, INTERPOLATIONS, LABEL_STYLES,
                      MASK_MODES, MODES, default)

if TYPE_CHECKING:
    from .volume import Volume

__all__ = ["RenderSettings", "MODES", "resolve_window", "resolve_sample_distance"]

def _positive_or_none(name: str, v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    if not (v > 0 and math.isfinite(v)):
        raise ValueError(f"{name} must be greater than 0, got {v}")
    return v


def _finite_or_none(name: str, v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v}")
    return v


def _colour(name: str, v: Any) -> tuple[float, float, float]:
    t = tuple(float(x) for x in v)
    if len(t) != 3 or not all(0.0 <= x <= 1.0 for x in t):
        raise ValueError(f"{name} must be three numbers between 0 and 1, got {v}")
    return t  # type: ignore[return-value]


def _choice(options: tuple[str, ...]) -> Any:
    def check(name: str, v: Any) -> str:
        if v not in options:
            raise ValueError(f"{name} must be one of {', '.join(options)}, got {v!r}")
        return str(v)

    return check


def _crop(name: str, v: Any) -> tuple[int, ...] | None:
    if v is None:
        return None
    t = tuple(int(x) for x in v)
    if len(t) != 6 or any(t[2 * a] > t[2 * a + 1] for a in range(3)):
        raise ValueError(f"{name} needs I0 I1 J0 J1 K0 K1 with each start <= its end, got {v}")
    return t


def _opacity(name: str, v: Any) -> tuple[float, float] | None:
    if v is None:
        return None
    t = tuple(float(x) for x in v)
    if len(t) != 2 or not all(0.0 <= x <= 1.0 for x in t):
        raise ValueError(f"{name} needs two numbers between 0 and 1, got {v}")
    return t  # type: ignore[return-value]


def _colormap(name: str, v: Any) -> str:
    colormap_lut(str(v))  # raises ValueError naming the map if it is unknown
    return str(v)


def _positive(name: str, v: Any) -> float:
    out = _positive_or_none(name, v)
    if out is None:
        raise ValueError(f"{name} must be given")
    return out


def _between(lo: float, hi: float) -> Any:
    def check(name: str, v: Any) -> float:
        v = float(v)
        if not lo <= v <= hi:
            raise ValueError(f"{name} must be between {lo:g} and {hi:g}, got {v}")
        return v

    return check


def _source(name: str, v: Any) -> Any:
    """A path (kept as a string) or any volume ``glmip.as_volume`` takes; None for none."""
    if v is None or (isinstance(v, str) and not v):
        return None
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    return v


def _sources(name: str, v: Any) -> tuple | None:
    """Several sources (paths or volumes) as a tuple; one alone is a tuple of one."""
    if v is None:
        return None
    items = list(v) if isinstance(v, (list, tuple)) else [v]
    out = tuple(s for s in (_source(name, x) for x in items) if s is not None)
    return out or None


def _windows(name: str, v: Any) -> tuple[float, ...] | None:
    """(W1, L1, W2, L2, ...): a window and level per fused layer."""
    if v is None:
        return None
    t = tuple(float(x) for x in np.ravel(np.asarray(v, dtype=np.float64)))
    if len(t) % 2 or not all(math.isfinite(x) for x in t):
        raise ValueError(f"{name} needs finite pairs W L (one per fused layer), got {list(t)}")
    return t or None


def _colormaps(name: str, v: Any) -> tuple[str, ...] | None:
    if v is None:
        return None
    items = [v] if isinstance(v, str) else list(v)
    return tuple(_colormap(name, x) for x in items) or None


def _flag(name: str, v: Any) -> bool:
    return bool(v)


def _any(name: str, v: Any) -> Any:
    return v


_VALIDATORS = {
    "window": _finite_or_none,
    "level": _finite_or_none,
    "sample_distance": _positive_or_none,
    "background": _colour,
    "mode": _choice(MODES),
    "interpolation": _choice(INTERPOLATIONS),
    "slab": _positive_or_none,
    "slab_center": lambda n, v: _finite_or_none(n, v) or 0.0,
    "crop": _crop,
    "colormap": lambda n, v: _colormap(n, v),
    "gamma": _positive,
    "opacity": _opacity,
    "refine": _flag,
    "jitter": _flag,
    "early_exit": lambda n, v: None if v is None else bool(v),
    "skip_empty": lambda n, v: None if v is None else bool(v),
    "depth_length": _positive_or_none,
    "shader": _any,
    "mida_gamma": _between(-1.0, 1.0),
    "threshold": _finite_or_none,
    "mask": _source,
    "mask_mode": _choice(MASK_MODES),
    "labels": _sources,
    "labels_style": _choice(LABEL_STYLES),
    "labels_opacity": _between(0.0, 1.0),
    "label_colors": _sources,
    "fuse": _sources,
    "fuse_window": _windows,
    "fuse_colormap": _colormaps,
    "channels": _flag,
    "composite": _choice(COMPOSITES),
}


@dataclass
class RenderSettings:
    """How to turn a volume into pixels (everything but the camera).

    window, level
        Real units. ``window`` None or <= 0: the data's full finite range.
    sample_distance
        Millimetres between sample planes; None: the smallest voxel spacing.
    mode
        ``mip`` (default), ``minip``, ``mean`` or ``depth`` (depth-cued MIP).
    slab, slab_center
        Thick slab: keep samples within +-slab/2 mm of the plane through
        ``centre + slab_center * d``.
    crop
        Inclusive voxel index ranges (I0, I1, J0, J1, K0, K1).
    colormap, gamma, opacity, background
        Display: colour table name, gamma on the windowed value (``t ** gamma``), vmtk opacity
        ramp ``(a, b)``, colour of rays that miss.
    refine, jitter
        Refine the maximum between samples; jitter ray starts. Off for exact exports.
    early_exit, skip_empty
        Speed-ups that never change the 8-bit picture (early exit is off for quantitative
        exports). None (default): used where the data makes them pay (see
        ``MipRenderer.speedups``).
    depth_length
        Depth cue: mm over which brightness falls to 1/e (None: the framing sphere's diameter).
    shader
        Path of a user projection shader, or None for the built-in one.
    mida_gamma
        ``mida``: -1..1; below 0 towards compositing, above 0 towards MIP (docs/projections.md).
    threshold
        ``lmip``: the first local maximum above this real value (None: the window's level).
    mask, mask_mode
        A mask (path or any volume ``glmip.as_volume`` takes, any grid): only voxels inside it
        (``include``) or outside it (``exclude``) are projected.
    labels, labels_style, labels_opacity, label_colors
        Segmentations (a path or volume, or several as a tuple; any grid): each pixel takes
        the colour of the label at its ray's maximum, ``fill`` or ``outline``, blended with
        this opacity, each segmentation in turn (later over earlier); colours from ITK-SNAP
        label descriptions or FreeSurfer LUTs, one for all or one per segmentation in order
        (None: the built-in palette). Both are kept as tuples.
    fuse, fuse_window, fuse_colormap, channels, composite
        Fusion: more volumes (paths or volumes, any grid) projected on the same rays, each
        with its own window (``fuse_window`` W L pairs in order; missing or W <= 0:
        automatic) and colormap (default :data:`FUSE_COLORMAPS` in turn), composited over
        the input's picture by ``max``, ``add`` or ``over`` (docs/projections.md).
        ``channels``: the input's other components are the first fused layers (the
        pipeline loads them; the renderer sees them in ``fuse``).
    """

    window: float | None = default("window")
    level: float | None = default("level")
    sample_distance: float | None = default("sample_distance")
    background: tuple[float, float, float] = default("background")
    mode: str = default("mode")
    interpolation: str = default("interpolation")
    slab: float | None = default("slab")
    slab_center: float = default("slab_center")
    crop: tuple[int, ...] | None = default("crop")
    colormap: str = default("colormap")
    gamma: float = default("gamma")
    opacity: tuple[float, float] | None = default("opacity")
    refine: bool = default("refine")
    jitter: bool = default("jitter")
    early_exit: bool | None = None
    skip_empty: bool | None = None
    depth_length: float | None = default("depth_length")
    shader: Any = default("shader")
    mida_gamma: float = default("mida_gamma")
    threshold: float | None = default("threshold")
    mask: Any = default("mask")
    mask_mode: str = default("mask_mode")
    labels: Any = default("labels")
    labels_style: str = default("labels_style")
    labels_opacity: float = default("labels_opacity")
    label_colors: Any = default("label_colors")
    fuse: Any = default("fuse")
    fuse_window: tuple[float, ...] | None = default("fuse_window")
    fuse_colormap: tuple[str, ...] | None = default("fuse_colormap")
    channels: bool = default("channels")
    composite: str = default("composite")

    def __setattr__(self, name: str, value: Any) -> None:
        check = _VALIDATORS.get(name)
        if check is not None:
            value = check(name.replace("_", " "), value)
        object.__setattr__(self, name, value)

    def copy(self, **changes: Any) -> "RenderSettings":
        return replace(self, **changes)

    def layer(self, k: int) -> "RenderSettings":
        """The settings of fused layer ``k`` (0: the first of ``fuse``): these settings with
        that layer's window and colormap, a black background, no opacity ramp, no labels, the
        layer's own automatic sample distance and lmip threshold (its level), no crop (voxel
        indices of another grid), and nothing fused."""
        windows = self.fuse_window or ()
        window = level = None
        if 2 * k + 1 < len(windows) and windows[2 * k] > 0:
            window, level = windows[2 * k], windows[2 * k + 1]
        maps = self.fuse_colormap or ()
        cmap = maps[k] if k < len(maps) else FUSE_COLORMAPS[k % len(FUSE_COLORMAPS)]
        return self.copy(window=window, level=level, colormap=cmap, background=(0.0, 0.0, 0.0),
                         opacity=None, labels=None, sample_distance=None, crop=None,
                         threshold=None, fuse=None,
                         fuse_window=None, fuse_colormap=None, channels=False)

    @property
    def is_grey(self) -> bool:
        """True when the picture is grey (8-bit greyscale PNG)."""
        bg = self.background
        return (self.colormap in GREY_COLORMAPS and bg[0] == bg[1] == bg[2]
                and self.mode != "depthcolour" and self.labels is None
                and not self.fuse)


def resolve_window(volume: "Volume", settings: RenderSettings) -> tuple[float, float]:
    """(window, level) in real units; automatic (window None or <= 0) = full finite range.

    A constant volume gets a window whose top is its value, so it renders white.
    """
    if settings.window is not None and settings.window > 0:
        level = settings.level if settings.level is not None else 0.0
        return settings.window, level
    rng = volume.value_range
    if rng is None:  # no finite value at all: every ray is background anyway
        return 1.0, 0.5
    lo, hi = rng
    if hi <= lo:
        width = max(abs(hi) * 1e-6, 1e-6)
        return width, hi - width / 2
    return hi - lo, (hi + lo) / 2


# Most samples one ray may take: beyond this a picture takes minutes and shows nothing more.
MAX_SAMPLES_PER_RAY = 1 << 20


def resolve_depth_length(volume: "Volume", settings: RenderSettings) -> float:
    """The depth cue's and the depth colour's length in mm: as set, or the framing sphere's
    diameter."""
    return float(settings.depth_length or 2.0 * volume.radius)


def resolve_sample_distance(volume: "Volume", settings: RenderSettings) -> float:
    """The sample distance in mm: as set, or the smallest voxel spacing; VolumeError when a
    ray across the volume would take more than MAX_SAMPLES_PER_RAY samples."""
    step = settings.sample_distance
    if step is None:
        step = float(min(volume.spacing))
    diagonal = float(np.linalg.norm(volume.corners()[7] - volume.corners()[0]))
    if diagonal / step > MAX_SAMPLES_PER_RAY:
        raise VolumeError(f"{volume.name or 'volume'}: a sample distance of {step:.3g} mm puts "
                          f"{diagonal / step:.3g} samples on a ray across it (at most "
                          f"{MAX_SAMPLES_PER_RAY}); use a larger sample distance")
    return step
