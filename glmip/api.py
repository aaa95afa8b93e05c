"""The Python API: ``load``, ``render``, ``project``, turntables and ``save_png``, with the
command line's option names (the vocabulary in ``glmip/options.py``).

Every function here is a thin door onto ``glmip/pipeline.py``: options become a
:class:`~glmip.recipe.Recipe` (or a ready :class:`Camera` / :class:`RenderSettings` is used as
it is), and the pipeline's renderer draws it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from . import pipeline
from . import volume as volume_module
from .camera import Camera
from .adapters import as_volume
from .io import load
from .options import names, parse_bytes, parse_size
from .pngio import encode_png, save_png
from .recipe import Recipe, camera_from_options, settings_from_options
from .settings import RenderSettings
from .volume import Volume

if TYPE_CHECKING:
    from .raycast import Projection

__all__ = ["load", "as_volume", "render", "project", "save_png", "make_camera", "make_settings",
           "Image",
           "turntable_frames", "record_turntable", "rotating_mip"]

_CAMERA_KEYS = (*names("camera"), "zoom")
_SETTINGS_KEYS = (*names("settings"), "skip_empty", "early_exit")


class Image(np.ndarray):
    """A rendered picture: a numpy uint8 array that shows itself in Jupyter."""

    def _repr_png_(self) -> bytes | None:
        a = np.asarray(self)
        if a.dtype != np.uint8 or a.ndim not in (2, 3):
            return None  # e.g. after arithmetic: the plain repr
        return encode_png(a)


def make_camera(view: str | None = None, **options: Any) -> Camera:
    """A camera from the command line's view options (``view`` or ``view_dir``/``up``,
    ``convention``, ``fit``, ``projection``, ``center``; and ``zoom``)."""
    unknown = set(options) - set(_CAMERA_KEYS)
    if unknown:
        raise TypeError(f"unknown camera option(s): {', '.join(sorted(unknown))}")
    return camera_from_options({**options, "view": view})


def make_settings(**options: Any) -> RenderSettings:
    """RenderSettings from keyword options (``window=``, ``level=``, ``sample_distance=``...)."""
    unknown = set(options) - set(_SETTINGS_KEYS)
    if unknown:
        raise TypeError(f"unknown render option(s): {', '.join(sorted(unknown))}")
    return settings_from_options(options)


def camera_and_settings(options: dict[str, Any], camera: Camera | None,
           settings: RenderSettings | None) -> tuple[Camera, RenderSettings]:
    """The camera and settings of a call: given ones as they are, else from the options."""
    cam_opts = {k: options.pop(k) for k in _CAMERA_KEYS if k in options}
    set_opts = {k: options.pop(k) for k in _SETTINGS_KEYS if k in options}
    if options:
        raise TypeError(f"unknown option(s): {', '.join(sorted(options))}")
    if camera is not None and cam_opts:
        raise TypeError("give camera= or camera options, not both")
    if settings is not None and set_opts:
        raise TypeError("give settings= or render options, not both")
    return (camera or make_camera(**cam_opts),
            settings if settings is not None else make_settings(**set_opts))


def _volume(volume: Any) -> Volume:
    return as_volume(volume)


def _renderer(volume: Volume, memory: int | str | None) -> Any:
    """The pipeline's renderer for ``volume``; ``memory`` (bytes, or a size such as "1G", as
    ``--memory`` takes it): a lazily read volume larger than this is streamed brick by brick
    (default: half of this machine's RAM)."""
    budget = parse_bytes(memory) if isinstance(memory, str) else memory
    return pipeline.renderer_for(volume, memory=budget)


def render(volume: Any, *, size: int | Sequence[int] = 512,
           camera: Camera | None = None, settings: RenderSettings | None = None,
           seed: int = 0, memory: int | str | None = None, **options: Any) -> np.ndarray:
    """Render a MIP; returns uint8 ``(rows, cols)`` grey or ``(rows, cols, 3)`` colour.

    ``volume`` is a :class:`Volume`, a path, or any in-memory image :func:`as_volume` takes
    (numpy, nibabel, SimpleITK, ITK, VTK, dask, zarr, xarray). Options are the command line's: ``view``,
    ``view_dir``, ``up``, ``fit``, ``projection``, ``window``, ``level``, ``sample_distance``,
    ``background``, ``mode``, ``slab``, ``crop``, ``colormap``... or a ready ``camera=`` and
    ``settings=``. ``size`` is N or (cols, rows). ``memory`` ("1G", or bytes): a lazily read
    volume (OME-Zarr, zarr, dask) larger than this is streamed brick by brick, never held whole
    (default: half of this machine's RAM).

    Examples
    --------
    >>> img = glmip.render("aorta.mha", view="anterior", size=(400, 300))  # doctest: +SKIP
    """
    vol = _volume(volume)
    cam, st = camera_and_settings(dict(options), camera, settings)
    st = _channels(volume, vol, st)
    image = _renderer(vol, memory).render(cam, st, parse_size(size), seed=seed)
    return image.view(Image)


def _channels(given: Any, vol: Volume, settings: RenderSettings) -> RenderSettings:
    """``channels=True``: the other components of the file ``given`` as fused layers."""
    if not settings.channels:
        return settings
    if not isinstance(given, (str, os.PathLike)):
        raise TypeError("channels=True needs the image as a path (its components are read "
                        "from the file); pass the components as fuse=[...] instead")
    return pipeline.with_channels(Recipe(os.fspath(given)), settings, vol)


def project(volume: Any, *, size: int | Sequence[int] = 512,
            camera: Camera | None = None, settings: RenderSettings | None = None,
            memory: int | str | None = None, **options: Any) -> "Projection":
    """Quantitative projection: real values (NaN where rays miss) and where the maximum is
    (``memory`` as for :func:`render`)."""
    vol = _volume(volume)
    cam, st = camera_and_settings(dict(options), camera, settings)
    return _renderer(vol, memory).project(cam, st, parse_size(size))


def turntable_frames(volume: Volume, camera: Camera, settings: RenderSettings,
                     size: tuple[int, int], frames: int = 36, axis: Any = None,
                     start: float = 0.0, end: float = 360.0, back_and_forth: bool = False,
                     *, renderer: Any = None, memory: int | str | None = None
                     ) -> Iterator[np.ndarray]:
    """A turntable's frames, one at a time (as ``glmip.render`` returns them; ``memory`` as
    for :func:`render`)."""
    volume = as_volume(volume)
    renderer = renderer if renderer is not None or memory is None else _renderer(volume, memory)
    recipe = _turntable_recipe(volume, camera, settings, size, frames=frames, axis=axis,
                               start=start, end=end, back_and_forth=back_and_forth)
    return pipeline.turntable_frames(recipe, volume=volume, renderer=renderer)


def _turntable_recipe(volume: Volume, camera: Camera, settings: RenderSettings,
                      size: tuple[int, int], **movie: Any) -> Recipe:
    recipe = Recipe.of_view(volume.name, camera, settings, volume, parse_size(size))
    axis = movie.get("axis")
    if axis is not None and not isinstance(axis, str):
        movie["axis"] = [float(v) for v in np.ravel(axis)]
    return Recipe(recipe.input, {**recipe.options, **movie}, "turntable")


def record_turntable(volume: Volume, camera: Camera, settings: RenderSettings,
                     size: tuple[int, int], path: str | os.PathLike[str] | None = None,
                     **movie: Any) -> Path:
    """Render a turntable and write it (``.gif``, ``.mp4`` or a directory of PNG frames);
    ``path`` None writes ``glmip-turntable-N.gif`` in the current directory. Keywords:
    ``frames``, ``axis``, ``start``, ``end``, ``back_and_forth``, ``fps``, ``progress``,
    ``memory`` (as for :func:`render`)."""
    volume = as_volume(volume)
    progress = movie.pop("progress", False)
    renderer = movie.pop("renderer", None)
    memory = movie.pop("memory", None)
    if renderer is None and memory is not None:
        renderer = _renderer(volume, memory)
    recipe = _turntable_recipe(volume, camera, settings, size, **movie)
    return pipeline.write_turntable(recipe, path, volume=volume, renderer=renderer,
                                    progress=progress)


def rotating_mip(image: Any, mask: Any = None, labels: Any = None, fuse: Any = None,
                 frames: int = 36, out: str | os.PathLike[str] | None = None, *,
                 format: str | None = None, progress: bool = False,
                 **render_options: Any) -> "Path | np.ndarray":
    """A rotating MIP about the patient's S axis, starting from the anterior view: the
    nuclear-medicine "rotating MIP" in one call, through the pipeline's turntable writer.

    ``image``: anything :func:`as_volume` takes (a path, a Volume, numpy, nibabel, SimpleITK,
    ITK, VTK, dask, zarr...). ``out``: ``x.gif``, ``x.mp4``, ``DIR/`` (PNG frames; DICOM
    with ``format="dicom"``) or ``x.dcm`` (one multi-frame DICOM object); returns its path.
    ``out=None`` returns the frames as one uint8 array ``(frames, rows, cols[, 3])``.
    ``render_options`` are the command line's (``size``, ``window``, ``level``, ``mode``,
    ``colormap``, ``view``, ``axis``, ``fps``, ``start``, ``end``...).
    ``mask`` and ``labels``: a mask (bone removal) and a segmentation, as paths or any volume
    (the ``mask``/``labels`` options of docs/projections.md); ``labels=[a, b]`` draws
    several segmentations in order (``label_colors=[lut_a, lut_b]``, or one table for
    all). ``fuse``: one volume or a list
    (paths or anything :func:`as_volume` takes, any grid) projected on the same rays, each
    with its own window (``fuse_window=[W1, L1, ...]``) and colormap
    (``fuse_colormap=["hot", ...]``), composited (``composite="max"|"add"|"over"``): the
    PET/CT fusion MIP.

    >>> glmip.rotating_mip("pet.nii.gz", out="pet-mip.gif", size=256,
    ...                    colormap="inverted")  # doctest: +SKIP
    >>> glmip.rotating_mip("ct.nii.gz", fuse="pet.nii.gz", fuse_window=[8, 4],
    ...                    composite="over", out="petct.gif")  # doctest: +SKIP
    """
    volume = as_volume(image)
    options = {"view": "anterior", "axis": "S", **render_options, "frames": int(frames)}
    options.update({k: v for k, v in (("mask", mask), ("labels", labels), ("fuse", fuse))
                    if v is not None})
    for key in ("fuse", "labels", "label_colors"):  # one, or several in a list
        if options.get(key) is not None and not isinstance(options[key], (list, tuple)):
            options[key] = [options[key]]
    if "size" in options:
        options["size"] = list(parse_size(options["size"]))
    # A path names the input (its components are read from it with channels=True).
    name = os.fspath(image) if isinstance(image, (str, os.PathLike)) else volume.name
    try:
        recipe = Recipe(name, options, "turntable")
    except ValueError as exc:
        raise TypeError(f"rotating_mip: {exc}") from None
    if out is None:
        return np.stack(list(pipeline.turntable_frames(recipe, volume=volume)))
    return pipeline.write_turntable(recipe, out, volume=volume, progress=progress, fmt=format)


def _preview_png(volume: Volume) -> bytes:
    return encode_png(render(volume, size=256))


volume_module.PREVIEW_PNG = _preview_png
