"""The Python API: ``load``, ``render`` and ``save_png`` with the CLI's option names."""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from .camera import Camera
from .io import load
from .pngio import save_png
from .renderer import MipRenderer, Projection
from .settings import RenderSettings
from . import volume as volume_module
from .volume import Volume

__all__ = ["load", "render", "project", "save_png", "make_camera", "make_settings", "Image"]


class Image(np.ndarray):
    """A rendered picture: a numpy uint8 array that shows itself in Jupyter."""

    def _repr_png_(self) -> bytes | None:
        a = np.asarray(self)
        if a.dtype != np.uint8 or a.ndim not in (2, 3):
            return None  # e.g. after arithmetic: the plain repr
        from .pngio import encode_png

        return encode_png(a)

_CAMERA_KEYS = ("view", "convention", "view_dir", "up", "fit", "projection", "zoom", "center")
_renderer_cache: dict[str, Any] = {}


def make_camera(
    view: str | None = None,
    *,
    convention: str = "radiological",
    view_dir: Sequence[float] | None = None,
    up: Sequence[float] | None = None,
    fit: str | float = "sphere",
    projection: str = "orthographic",
    zoom: float = 1.0,
    center: Sequence[float] | None = None,
) -> Camera:
    """A camera from the CLI's view options (``view`` or ``view_dir``/``up``)."""
    if view is not None and view_dir is not None:
        raise ValueError("give either view or view_dir, not both")
    kw: dict[str, Any] = {"fit": fit, "projection": projection, "zoom": zoom}
    kw["center"] = None if center is None else np.asarray(center, dtype=np.float64)
    if view_dir is not None:
        return Camera.from_direction(view_dir, up, **kw)
    if up is not None:
        raise ValueError("up goes with view_dir")
    return Camera.standard(view or "superior", convention, **kw)


def make_settings(**options: Any) -> RenderSettings:
    """RenderSettings from keyword options (``window=``, ``level=``, ``sample_distance=``...)."""
    window, level = options.get("window"), options.get("level")
    if window is not None and window > 0 and level is None:
        raise ValueError("give window and level together")
    return RenderSettings(**options)


def _size(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    cols, rows = (int(v) for v in size)
    return cols, rows


def _renderer_for(volume: Volume, ctx: Any = None) -> MipRenderer:
    """A renderer with ``volume`` uploaded; the last one is kept for repeated calls."""
    from .context import headless_context

    ctx = ctx or headless_context()
    cached = _renderer_cache.get("renderer")
    if cached is not None and cached.ctx is ctx and cached.volume is volume:
        return cached
    if cached is not None:
        cached.release()
        _renderer_cache.clear()
    renderer = MipRenderer(ctx)
    renderer.upload(volume)
    _renderer_cache["renderer"] = renderer
    return renderer


def _split(options: dict[str, Any]) -> tuple[Camera, RenderSettings]:
    cam_opts = {k: options.pop(k) for k in _CAMERA_KEYS if k in options}
    return make_camera(**cam_opts), make_settings(**options)


def render(
    volume: Volume | str | os.PathLike[str],
    *,
    size: int | Sequence[int] = 512,
    camera: Camera | None = None,
    seed: int = 0,
    **options: Any,
) -> np.ndarray:
    """Render a MIP; returns uint8 ``(rows, cols)`` grey or ``(rows, cols, 3)`` colour.

    ``volume`` is a :class:`Volume` or a path. Options are the CLI's: ``view``, ``view_dir``,
    ``up``, ``fit``, ``projection``, ``window``, ``level``, ``sample_distance``, ``background``,
    ``mode``, ``slab``, ``crop``, ``colormap``... ``size`` is N or (cols, rows).

    Examples
    --------
    >>> img = glmip.render("aorta.mha", view="anterior", size=(400, 300))  # doctest: +SKIP
    """
    vol = volume if isinstance(volume, Volume) else load(volume)
    cam, settings = _split(dict(options))
    return _renderer_for(vol).render(camera or cam, settings, _size(size), seed=seed).view(Image)


def _preview_png(volume: Volume) -> bytes:
    from .pngio import encode_png

    return encode_png(render(volume, size=256))


volume_module.PREVIEW_PNG = _preview_png


def project(
    volume: Volume | str | os.PathLike[str],
    *,
    size: int | Sequence[int] = 512,
    camera: Camera | None = None,
    **options: Any,
) -> Projection:
    """Quantitative projection: real values (NaN where rays miss) and where the maximum is."""
    vol = volume if isinstance(volume, Volume) else load(volume)
    cam, settings = _split(dict(options))
    return _renderer_for(vol).project(camera or cam, settings, _size(size))
