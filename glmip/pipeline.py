"""The one pipeline from a volume to pictures on disk; every door calls it.

::

    Recipe ──► load (glmip.io) ──► Volume ──► MipRenderer.upload ──► render / project
      │                                                                  │
      └──────────── resolved (window/level, sample distance as numbers) ─┤
                                                                         ▼
                        PNG / contact sheet / values / depth map / movie / screenshot,
                        each carrying its recipe, written through glmip/outputs.py

``glmip render`` (one input or a batch: a batch runs :func:`write_picture` once per output),
the viewer's ``x`` screenshot and ``t`` turntable, ``glmip turntable``, vmtkimagemipviewer and
the Python API all come through here, so a picture made by any of them carries the same recipe
and is reproduced by the same command.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from . import dicom_out, movie
from .camera import Camera
from .errors import OutputError, UsageError
from .export import depth_map_payload, values_payload
from .io import load
from .outputs import (TEMP_PREFIX, check_output_file, is_directory_target, next_free_path,
                      publish_new, write_frames, write_new, write_together)
from .pngio import encode_png
from .options import default_memory
from .recipe import Recipe
from .settings import RenderSettings
from .volume import Volume

if TYPE_CHECKING:
    from .renderer import MipRenderer

__all__ = ["renderer_for", "load_volume", "channel_layers", "with_channels", "picture",
           "contact_sheet", "write_picture",
           "write_screenshot", "turntable_frames", "write_turntable", "picture_format",
           "FORMATS"]

FORMATS = ("png", "dicom")

_cached: dict[str, Any] = {}


_thread = threading.local()


def thread_renderer(memory: int | None = None) -> "MipRenderer":
    """This thread's renderer, made on first use and kept (its programs compiled once), for
    workers that run task after task: a batch's, a split projection's. ``memory``: its memory
    budget (``MipRenderer.memory_budget``; a new renderer when it changes)."""
    # GL is loaded on first use, so importing glmip stays light.
    from .context import create_headless_context, headless_context
    from .renderer import MipRenderer

    # The main thread (this process, or a process pool's worker) shares the process's headless
    # context with the rest of glmip: making a second context current there would pull the GL
    # calls of other code into it. Other threads (Dask's worker threads) need their own, since
    # a GL context is current in one thread only.
    main = threading.current_thread() is threading.main_thread()
    renderer = getattr(_thread, "renderer", None)
    if renderer is not None and renderer.memory_budget == memory:
        if main:
            headless_context()  # the shared context current again
        return renderer
    if renderer is not None:
        renderer.release()
    renderer = _thread.renderer = MipRenderer(
        headless_context() if main else create_headless_context(), memory_budget=memory)
    return renderer


def renderer_for(volume: Volume, ctx: Any = None, memory: int | None = None) -> "MipRenderer":
    """A renderer with ``volume`` uploaded, on the shared headless context unless ``ctx`` is
    given; the last one is kept, so repeated calls on one volume upload it once. A lazily read
    volume larger than ``memory`` bytes (default: half the machine's RAM) is streamed brick by
    brick instead of held whole (``MipRenderer.memory_budget``)."""
    # GL is loaded on the first render: `import glmip` and `glmip info` never load moderngl.
    from .context import headless_context
    from .renderer import MipRenderer

    ctx = ctx or headless_context()
    memory = default_memory() if memory is None else memory
    renderer = _cached.get("renderer")
    if (renderer is not None and renderer.ctx is ctx and renderer.volume is volume
            and renderer.memory_budget == memory):
        return renderer
    if renderer is not None:
        renderer.release()
        _cached.clear()
    renderer = MipRenderer(ctx, memory_budget=memory)
    renderer.upload(volume)
    _cached["renderer"] = renderer
    return renderer


def _ready(recipe: Recipe, volume: Volume | None, renderer: "MipRenderer | None",
           memory: int | None = None) -> tuple[Volume, "MipRenderer"]:
    volume = volume if volume is not None else load_volume(recipe)
    if renderer is None:
        renderer = renderer_for(volume, memory=memory)
    elif renderer.volume is not volume:
        renderer.upload(volume)
    return volume, renderer


def load_volume(recipe: Recipe) -> Volume:
    return load(recipe.input, **recipe.reader_options())


def channel_layers(input: str, reader_options: dict[str, Any] | None = None,
                   volume: Volume | None = None) -> tuple[Volume, ...]:
    """The components of a multi-component image other than the one read as the volume (the
    ``component`` option, default 0), in order, each as a volume: ``--channels``' layers.
    Read once and kept for the last input."""
    opts = dict(reader_options or {})
    chosen = int(opts.pop("component", None) or 0)
    key = (str(input), tuple(sorted((k, repr(v)) for k, v in opts.items())), chosen)
    cached = _cached.get("channels")
    if cached is not None and cached[0] == key:
        return cached[1]
    count = (volume.meta.get("components") if volume is not None else None)
    if count is None:
        count = load(input, **opts, component=chosen).meta.get("components", 1)
    if int(count) < 2:
        raise UsageError(f"{input}: --channels needs a multi-component image (this one has "
                         f"{count} component)")
    layers = tuple(load(input, **opts, component=c) for c in range(int(count)) if c != chosen)
    _cached["channels"] = (key, layers)
    return layers


def with_channels(recipe: Recipe, settings: RenderSettings,
                  volume: Volume | None = None) -> RenderSettings:
    """``settings`` with the input's other components as the first fused layers when
    ``channels`` is set (the renderer composites ``fuse``); unchanged otherwise."""
    if not settings.channels:
        return settings
    layers = channel_layers(recipe.input, recipe.reader_options(), volume)
    return settings.copy(channels=False, fuse=(*layers, *(settings.fuse or ())))


def contact_sheet(images: Sequence[np.ndarray], gap: int = 0) -> np.ndarray:
    """Images of one size side by side, left to right (RGB if any of them is)."""
    colour = any(im.ndim == 3 for im in images)
    parts = [np.repeat(im[..., None], 3, 2) if colour and im.ndim == 2 else im for im in images]
    if gap:
        pad = np.zeros((parts[0].shape[0], gap) + parts[0].shape[2:], np.uint8)
        parts = [x for im in parts for x in (im, pad)][:-1]
    return np.concatenate(parts, axis=1)


def picture(renderer: "MipRenderer", recipe: Recipe,
            settings: RenderSettings | None = None) -> np.ndarray:
    """The recipe's picture (a contact sheet for several views) as uint8, rows top-first;
    ``settings`` replaces the recipe's (the window draws a live shader's last good build)."""
    views = recipe.cameras()
    sheet = bool(recipe.get("contact_sheet"))
    if len(views) > 1 and not sheet:
        raise UsageError("several views need an output directory or a contact sheet")
    settings = with_channels(recipe, settings or recipe.settings(), renderer.volume)
    seed = recipe.frame_index or 0
    images = [renderer.render(_turned(recipe, cam), settings, recipe.size, seed=seed)
              for _, cam in views]
    return contact_sheet(images) if sheet else images[0]


def _turned(recipe: Recipe, camera: Camera) -> Camera:
    """A turntable frame's camera (``recipe.frame_index``); the camera itself otherwise."""
    if recipe.kind != "turntable" or recipe.frame_index is None:
        return camera
    return turntable_cameras(recipe, camera)[recipe.frame_index]


def turntable_cameras(recipe: Recipe, camera: Camera | None = None) -> list[Camera]:
    m = recipe.movie_options()
    return movie.turntable_cameras(camera or recipe.camera(), m["frames"],
                                   movie.axis_value(m["axis"]), m["start"], m["end"],
                                   m["back_and_forth"])


def picture_format(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """``png`` or ``dicom`` for a picture file: ``fmt`` when given (it must agree with the
    name's suffix), else from the suffix (``.dcm``/``.dicom``: DICOM)."""
    by_suffix = "dicom" if dicom_out.is_dicom_path(path) else "png"
    if fmt is None:
        return by_suffix
    if fmt not in FORMATS:
        raise UsageError(f"unknown output format '{fmt}' (use {' or '.join(FORMATS)})")
    if fmt != by_suffix:
        want = ".dcm" if fmt == "dicom" else ".png"
        raise UsageError(f"{path}: the {fmt} format writes {want} files")
    return fmt


def _source_dicom(volume: Volume) -> dict[str, str] | None:
    """The source DICOM's patient/study attributes the reader kept (glmip/io/dicom.py)."""
    return volume.meta.get("dicom") or None


def _check_sources(recipe: Recipe, volume: Volume, paths: Iterable[Any]) -> None:
    """Outputs never go over any file the input was read from."""
    sources = [recipe.input, *volume.meta.get("source_files", ())]
    for path in paths:
        if path is not None:
            check_output_file(path, sources)


def _picture_bytes(kind: str | None, path: Any, image: np.ndarray, recipe: Recipe,
                   volume: Volume) -> bytes:
    """The file of a picture with its recipe: a PNG, or a DICOM Secondary Capture object."""
    if kind == "dicom":
        return dicom_out.picture_object(image, recipe, _source_dicom(volume), output=str(path))
    return encode_png(image, recipe.to_text(str(path)))


def write_rendered(recipe: Recipe, path: str | os.PathLike[str], image: np.ndarray, *,
                   volume: Volume, fmt: str | None = None) -> list[Path]:
    """Write a picture rendered elsewhere (a projection split over workers:
    glmip/distributed.py) as :func:`write_picture` writes its own: the same checks, the
    resolved ``recipe`` inside, PNG or DICOM."""
    kind = picture_format(path, fmt)
    _check_sources(recipe, volume, (path,))
    return write_together({path: _picture_bytes(kind, path, image, recipe, volume)})


def write_picture(recipe: Recipe, png: str | os.PathLike[str] | None, *,
                  values: str | os.PathLike[str] | None = None,
                  depth_map: str | os.PathLike[str] | None = None,
                  volume: Volume | None = None,
                  renderer: "MipRenderer | None" = None,
                  memory: int | None = None,
                  fmt: str | None = None) -> list[Path]:
    """Render the recipe and write the picture (and the projected values and depth map,
    exact, of the same single view); all files appear together or none. Returns the paths.
    The picture is a PNG, or a DICOM Secondary Capture object (``fmt="dicom"``, the default
    for a ``.dcm`` name: glmip/dicom_out.py). ``memory``: see :func:`renderer_for`."""
    kind = picture_format(png, fmt) if png is not None else None
    volume, renderer = _ready(recipe, volume, renderer, memory)
    _check_sources(recipe, volume, (png, values, depth_map))
    recipe = recipe.resolved(volume)
    files: dict[str | os.PathLike[str], bytes] = {}
    if png is not None:
        files[png] = _picture_bytes(kind, png, picture(renderer, recipe), recipe, volume)
    if values is not None or depth_map is not None:
        proj = renderer.project(recipe.camera(), recipe.settings(), recipe.size,
                                exact_values=True)
        if values is not None:
            files[values] = values_payload(values, proj, recipe.to_text(str(values)))
        if depth_map is not None:
            files[depth_map] = depth_map_payload(depth_map, proj, recipe.to_text(str(depth_map)))
    return write_together(files)


def write_screenshot(recipe: Recipe, directory: str | os.PathLike[str], *,
                     volume: Volume | None = None, renderer: "MipRenderer | None" = None,
                     settings: RenderSettings | None = None,
                     stem: str = "glmip-screenshot") -> tuple[Path, Recipe]:
    """Render the recipe into ``directory/<stem>-N.png``, N the first free number (never
    overwrites). Returns the path and the resolved recipe (to print its command).
    ``settings``: draw with these instead of the recipe's (the window's live shader build)."""
    volume, renderer = _ready(recipe, volume, renderer)
    recipe = recipe.resolved(volume)
    image = picture(renderer, recipe, settings)
    # The name is known only once the file is in place; the recipe's command names a
    # reproduction beside it, so it is computed for the name the file will most likely get.
    guess = next_free_path(directory, stem, ".png")
    path = write_new(directory, stem, ".png", encode_png(image, recipe.to_text(str(guess))))
    return path, recipe


@contextmanager
def movie_staging(folder: Path) -> Iterator[Path]:
    """A temporary ``.gif`` name in ``folder``, removed afterwards if still there."""
    try:
        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}turntable.", suffix=".gif", dir=folder)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot write ({exc.strerror})") from None
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def turntable_frames(recipe: Recipe, *, volume: Volume | None = None,
                     renderer: "MipRenderer | None" = None,
                     settings: RenderSettings | None = None) -> Iterator[np.ndarray]:
    """The turntable's frames (uint8 images as ``glmip.render`` returns them), one at a time;
    frame ``k`` is rendered with jitter seed ``k``."""
    volume, renderer = _ready(recipe, volume, renderer)
    settings = with_channels(recipe, settings or recipe.settings(), volume)
    for k, cam in enumerate(turntable_cameras(recipe)):
        yield renderer.render(cam, settings, recipe.size, seed=k)


def _reporting(frames: Iterable[np.ndarray], n: int,
               on_frame: Callable[[int, int], None]) -> Iterator[np.ndarray]:
    for k, frame in enumerate(frames):
        yield frame
        on_frame(k + 1, n)


def _progress(images: Iterable[np.ndarray], total: int, show: bool | None) -> Iterable[np.ndarray]:
    from tqdm import tqdm

    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return images
    return tqdm(images, total=total, desc="turntable", unit="frame", leave=False, file=sys.stderr)


def write_turntable(recipe: Recipe, path: str | os.PathLike[str] | None = None, *,
                    directory: str | os.PathLike[str] | None = None,
                    volume: Volume | None = None, renderer: "MipRenderer | None" = None,
                    settings: RenderSettings | None = None,
                    progress: bool | None = False,
                    on_frame: Callable[[int, int], None] | None = None,
                    memory: int | None = None, fmt: str | None = None) -> Path:
    """Render a turntable (``recipe.kind == 'turntable'``) and write it: ``.gif``, ``.mp4`` or
    a directory of PNG frames, with the recipe inside. ``path`` None: ``glmip-turntable-N.gif``
    in ``directory`` (default: the current one), N the first unused number (never
    overwrites). ``settings`` replaces the recipe's for drawing (see :func:`picture`).
    ``on_frame(k, n)`` is called as frame ``k`` of ``n`` is done (the window shows progress).
    DICOM (glmip/dicom_out.py): ``OUT.dcm`` is one multi-frame Secondary Capture object,
    ``DIR/`` with ``fmt="dicom"`` a series of them, one file per frame."""
    recipe = Recipe(recipe.input, recipe.options, "turntable")
    m = recipe.movie_options()
    movie.turntable_angles(m["frames"], m["start"], m["end"], m["back_and_forth"])  # validate
    dicom = _turntable_dicom(path, fmt)
    if path is not None and dicom is None:
        movie.movie_kind(path)  # refuse a bad target before rendering anything
    volume, renderer = _ready(recipe, volume, renderer, memory)
    recipe = recipe.resolved(volume)
    n = len(turntable_cameras(recipe))
    frames = _progress(turntable_frames(recipe, volume=volume, renderer=renderer,
                                        settings=settings), n, progress)
    if on_frame is not None:
        frames = _reporting(frames, n, on_frame)
    if dicom is not None:
        return _write_dicom_movie(Path(path), dicom, frames, m["fps"], recipe,  # type: ignore[arg-type]
                                  _source_dicom(volume), str(path))
    if path is not None:
        return movie.write_movie(path, frames, m["fps"], recipe)
    # A new glmip-turntable-N.gif: written under a temporary name, then given the first free
    # N (no empty file stands there while the movie is recorded).
    folder = Path(directory or Path.cwd())
    with movie_staging(folder) as tmp:
        movie.write_movie(tmp, frames, m["fps"], recipe)
        return publish_new(tmp, folder, "glmip-turntable", ".gif")


def _turntable_dicom(path: str | os.PathLike[str] | None, fmt: str | None) -> str | None:
    """``file`` (one multi-frame object), ``series`` (a folder of objects) or None (a movie
    or PNG frames) for a turntable's target."""
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown output format '{fmt}' (use {' or '.join(FORMATS)})")
    if path is None:
        if fmt == "dicom":
            raise UsageError("a DICOM turntable needs an output: OUT.dcm or DIR/")
        return None
    if is_directory_target(path):
        return "series" if fmt == "dicom" else None
    if dicom_out.is_dicom_path(path):
        if fmt == "png":
            raise UsageError(f"{path}: PNG frames go to a directory (DIR/)")
        return "file"
    if fmt == "dicom":
        raise UsageError(f"{path}: a DICOM turntable is OUT.dcm (one multi-frame object) or "
                         f"DIR/ (a series)")
    return None


def _write_dicom_movie(target: Path, how: str, frames: Iterable[np.ndarray], fps: float,
                       recipe: Recipe, source: dict[str, str] | None, output: str) -> Path:
    if not fps > 0:
        raise UsageError(f"fps must be greater than 0, got {fps}")
    if how == "file":
        check_output_file(target)
        write_together({target: dicom_out.movie_object(list(frames), recipe, source, fps=fps,
                                                       output=output)})
        return target
    # A series: each frame's object is written as it is rendered (a failed one leaves none).
    write_frames(target, dicom_out.series_objects(frames, recipe, source, output=output), ".dcm")
    return target
