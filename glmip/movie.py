"""Turntable movies: the MIP turning about an axis, written as a GIF, an MP4 or PNG frames.

Angles follow CONVENTIONS.md ("Projection modes, slabs and movies"): frame ``k`` shows the start
view rotated by ``start + k * (end - start) / frames`` degrees about ``axis`` through the framing
centre, counter-clockwise seen from the axis tip, end excluded (so a 0 -> 360 loop does not show
the first picture twice). ``axis`` defaults to the view's up direction. ``back_and_forth`` plays
the frames forward, then backward without repeating the two ends.

Everything here is headless and deterministic (no jitter unless the settings ask for it): the
same options give the same bytes. Outputs are written atomically (temporary file, then rename).
``write_movie`` and ``record_turntable`` are what the viewer's ``t`` key calls.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence, Union

import numpy as np

from .camera import Camera
from .errors import UsageError
from .pngio import next_free_path
from .settings import RenderSettings

if TYPE_CHECKING:
    from .renderer import MipRenderer
    from .volume import Volume

__all__ = [
    "AXES",
    "MOVIE_SUFFIXES",
    "parse_axis",
    "turntable_angles",
    "turntable_cameras",
    "turntable_frames",
    "write_movie",
    "record_turntable",
]

AXES = {
    "R": (1.0, 0.0, 0.0), "L": (-1.0, 0.0, 0.0),
    "A": (0.0, 1.0, 0.0), "P": (0.0, -1.0, 0.0),
    "S": (0.0, 0.0, 1.0), "I": (0.0, 0.0, -1.0),
    "X": (1.0, 0.0, 0.0), "Y": (0.0, 1.0, 0.0), "Z": (0.0, 0.0, 1.0),
}
MOVIE_SUFFIXES = (".gif", ".mp4")
VIDEO_HINT = "MP4 needs an encoder: pip install glmip[video] (imageio-ffmpeg)"

AxisLike = Union[str, Sequence[float], np.ndarray, None]


def parse_axis(axis: AxisLike, camera: Camera) -> np.ndarray:
    """Unit world axis from a letter (R A S L P I, or X Y Z), three numbers, or None (the
    camera's up direction as shown on screen)."""
    if axis is None:
        return camera.basis()[2].copy()
    if isinstance(axis, str):
        key = axis.strip().upper()
        if key not in AXES:
            raise UsageError(f"unknown axis '{axis}' (use R, A, S, L, P, I or three numbers)")
        return np.array(AXES[key])
    vec = np.asarray(axis, dtype=np.float64).ravel()
    if vec.shape != (3,) or not np.all(np.isfinite(vec)) or np.linalg.norm(vec) < 1e-12:
        raise UsageError(f"the axis must be a non-zero 3-vector, got {list(np.ravel(axis))}")
    return vec / np.linalg.norm(vec)


def turntable_angles(frames: int = 36, start: float = 0.0, end: float = 360.0,
                     back_and_forth: bool = False) -> list[float]:
    """Degrees of each frame: ``start + k (end - start) / frames``, k < frames; with
    ``back_and_forth`` the same angles again backwards, without the two ends."""
    if frames < 1:
        raise UsageError(f"--frames must be at least 1, got {frames}")
    forward = [start + k * (end - start) / frames for k in range(frames)]
    return forward + forward[-2:0:-1] if back_and_forth else forward


def turntable_cameras(camera: Camera, frames: int = 36, axis: AxisLike = None,
                      start: float = 0.0, end: float = 360.0,
                      back_and_forth: bool = False) -> list[Camera]:
    """The camera of every frame (pure math, no GL)."""
    vec = parse_axis(axis, camera)
    return [camera.rotated(vec, a) for a in turntable_angles(frames, start, end, back_and_forth)]


def _renderer(volume: "Volume", renderer: "MipRenderer | None") -> "MipRenderer":
    if renderer is not None:
        if renderer.volume is not volume:
            renderer.upload(volume)
        return renderer
    from .api import _renderer_for

    return _renderer_for(volume)


def turntable_frames(
    volume: "Volume",
    camera: Camera,
    settings: RenderSettings,
    size: tuple[int, int],
    frames: int = 36,
    axis: AxisLike = None,
    start: float = 0.0,
    end: float = 360.0,
    back_and_forth: bool = False,
    *,
    renderer: "MipRenderer | None" = None,
) -> Iterator[np.ndarray]:
    """Rendered frames (uint8 images as ``glmip.render`` returns them), one at a time.

    ``size`` is (cols, rows). ``renderer`` lets a caller (the window) use its own; by default
    the API's cached renderer on the shared headless context is used.
    """
    cameras = turntable_cameras(camera, frames, axis, start, end, back_and_forth)
    r = _renderer(volume, renderer)
    for k, cam in enumerate(cameras):
        yield r.render(cam, settings, tuple(size), seed=k)  # type: ignore[arg-type]


# --- writing ------------------------------------------------------------------------------
def is_directory_target(path: Path | str) -> bool:
    """An output naming a directory: ends with a slash or is one."""
    text = os.fspath(path)
    return text.endswith(("/", os.sep)) or Path(text).is_dir()


def movie_kind(path: str | os.PathLike[str]) -> str:
    """``gif``, ``mp4`` or ``dir`` (a PNG series), or UsageError for anything else."""
    if is_directory_target(path):
        return "dir"
    suffix = Path(path).suffix.lower()
    if suffix not in MOVIE_SUFFIXES:
        raise UsageError(f"{path}: the output must be .gif, .mp4 or a directory ending in /")
    if suffix == ".mp4" and importlib.util.find_spec("imageio_ffmpeg") is None:
        raise UsageError(f"{path}: {VIDEO_HINT}")
    return suffix[1:]


def _rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image


def _temp_beside(path: Path) -> Path:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror})") from None
    os.close(fd)
    return Path(tmp)


def _finish(tmp: Path, path: Path) -> None:
    from .pngio import file_mode

    os.chmod(tmp, file_mode())
    os.replace(tmp, path)


def _gif_delay_ms(fps: float) -> int:
    """GIF delays are whole hundredths of a second (and browsers slow anything under 20 ms)."""
    return max(2, round(100 / fps)) * 10


def _write_gif(path: Path, images: Iterable[np.ndarray], fps: float) -> int:
    from PIL import Image

    pictures = []
    for img in images:
        pil = Image.fromarray(img)
        # Grey frames keep their 256 levels exactly; colour frames get an adaptive palette
        # without dithering (dither noise would shimmer from frame to frame).
        if pil.mode == "RGB":
            pil = pil.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        pictures.append(pil)
    if not pictures:
        raise UsageError(f"{path}: no frames to write")
    tmp = _temp_beside(path)
    try:
        pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:],
                         duration=_gif_delay_ms(fps), loop=0, optimize=False)
        _finish(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return len(pictures)


def _write_mp4(path: Path, images: Iterable[np.ndarray], fps: float) -> int:
    import imageio.v2 as imageio

    tmp = _temp_beside(path)
    n = 0
    try:
        # macro_block_size=2: sizes only need to be even for yuv420p (odd ones are padded).
        writer = imageio.get_writer(tmp, format="FFMPEG", mode="I", fps=fps, codec="libx264",
                                    quality=8, pixelformat="yuv420p", macro_block_size=2)
        try:
            for img in images:
                rgb = _rgb(img)
                h, w = rgb.shape[:2]
                if h % 2 or w % 2:
                    rgb = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
                writer.append_data(rgb)
                n += 1
        finally:
            writer.close()
        _finish(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n


def _write_series(directory: Path, images: Iterable[np.ndarray]) -> int:
    from .pngio import save_png

    directory.mkdir(parents=True, exist_ok=True)
    n = 0
    for k, img in enumerate(images):
        save_png(directory / f"frame_{k:04d}.png", img, {"glmip:frame": k})
        n += 1
    return n


def write_movie(path: str | os.PathLike[str], images: Iterable[np.ndarray],
                fps: float = 15.0) -> Path:
    """Write frames to ``path``: ``.gif`` (Pillow, loops forever), ``.mp4`` (H.264 through
    imageio-ffmpeg) or a directory (``frame_0000.png``...). Frames may be a generator: MP4 and
    PNG series stream them, GIF keeps them (palette images, one byte a pixel) until the end."""
    if not fps > 0:
        raise UsageError(f"--fps must be greater than 0, got {fps}")
    kind = movie_kind(path)
    target = Path(path)
    if kind != "dir" and not (target.parent if str(target.parent) else Path(".")).is_dir():
        raise UsageError(f"{path}: output directory {target.parent} does not exist")
    try:
        if kind == "gif":
            _write_gif(target, images, fps)
        elif kind == "mp4":
            _write_mp4(target, images, fps)
        else:
            _write_series(target, images)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror})") from None
    return target


def _progress(images: Iterable[np.ndarray], total: int, show: bool | None,
              desc: str) -> Iterable[np.ndarray]:
    from tqdm import tqdm

    if show is None:
        show = sys.stderr.isatty()
    if not show:
        return images
    return tqdm(images, total=total, desc=desc, unit="frame", leave=False, file=sys.stderr)


def record_turntable(
    volume: "Volume",
    camera: Camera,
    settings: RenderSettings,
    size: tuple[int, int],
    path: str | os.PathLike[str] | None = None,
    *,
    frames: int = 36,
    axis: AxisLike = None,
    start: float = 0.0,
    end: float = 360.0,
    back_and_forth: bool = False,
    fps: float = 15.0,
    renderer: "MipRenderer | None" = None,
    progress: bool | None = False,
) -> Path:
    """Render a turntable and write it; returns the path written.

    With ``path`` None the movie goes to ``glmip-turntable-N.gif`` in the current directory,
    N the first unused number (never overwrites; the window's ``t`` key). ``progress`` None
    shows a bar when stderr is a terminal.
    """
    if path is None:
        # Claim the name by creating it empty now, so two recordings never pick the same N.
        directory = Path.cwd()
        while True:
            target = next_free_path(directory, "glmip-turntable", ".gif")
            try:
                fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
                os.close(fd)
                break
            except FileExistsError:
                continue
        path = target
        claimed = True
    else:
        claimed = False
        movie_kind(path)  # refuse a bad target before rendering anything
    n = len(turntable_angles(frames, start, end, back_and_forth))
    images = turntable_frames(volume, camera, settings, size, frames, axis, start, end,
                              back_and_forth, renderer=renderer)
    try:
        return write_movie(path, _progress(images, n, progress, "turntable"), fps)
    except BaseException:
        if claimed:
            Path(path).unlink(missing_ok=True)
        raise
