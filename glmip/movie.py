"""Turntable movies: the MIP turning about an axis, written as a GIF, an MP4 or PNG frames.

Angles follow docs/conventions.md ("Projection modes, slabs and movies"): frame ``k`` shows the start
view rotated by ``start + k * (end - start) / frames`` degrees about ``axis`` through the framing
centre, counter-clockwise seen from the axis tip, end excluded (so a 0 -> 360 loop does not show
the first picture twice). ``axis`` defaults to the view's up direction. ``back_and_forth`` plays
the frames forward, then backward without repeating the two ends.

Pure camera math and movie writing (no GL): the frames are rendered by
``glmip/pipeline.py``. Outputs appear whole or not at all (``glmip/outputs.py``), and carry the
recipe (GIF comment, PNG text chunks).
"""

from __future__ import annotations

import importlib.util
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence, Union

import numpy as np

from .camera import Camera
from .errors import OutputError, UsageError
from .outputs import is_directory_target, temporary_beside, write_frames
from .pngio import encode_png

if TYPE_CHECKING:
    from .recipe import Recipe

__all__ = ["AXES", "MOVIE_SUFFIXES", "parse_axis", "axis_value", "turntable_angles",
           "turntable_cameras", "movie_kind", "write_movie"]

AXES = {
    "R": (1.0, 0.0, 0.0), "L": (-1.0, 0.0, 0.0),
    "A": (0.0, 1.0, 0.0), "P": (0.0, -1.0, 0.0),
    "S": (0.0, 0.0, 1.0), "I": (0.0, 0.0, -1.0),
    "X": (1.0, 0.0, 0.0), "Y": (0.0, 1.0, 0.0), "Z": (0.0, 0.0, 1.0),
}
MOVIE_SUFFIXES = (".gif", ".mp4")
MAX_FRAMES = 10000
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
    if not 1 <= frames <= MAX_FRAMES:
        raise UsageError(f"frames must be between 1 and {MAX_FRAMES}, got {frames}")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise UsageError(f"start and end must be finite angles, got {start} and {end}")
    forward = [start + k * (end - start) / frames for k in range(frames)]
    return forward + forward[-2:0:-1] if back_and_forth else forward


def axis_value(words: AxisLike) -> AxisLike:
    """The ``axis`` option as given on the command line (``["S"]``, ``["1", "0", "0"]``) or
    in the API (``"S"``, three numbers, None) -> a letter, three floats or None."""
    if words is None or isinstance(words, str):
        return words
    words = list(np.ravel(words))
    if len(words) == 1 and isinstance(words[0], str):
        return words[0]
    if len(words) == 3:
        try:
            return [float(v) for v in words]
        except ValueError:
            pass
    raise UsageError(f"axis takes a letter (S, A, R...) or three numbers, got "
                     f"{' '.join(map(str, words))}")


def turntable_cameras(camera: Camera, frames: int = 36, axis: AxisLike = None,
                      start: float = 0.0, end: float = 360.0,
                      back_and_forth: bool = False) -> list[Camera]:
    """The camera of every frame (pure math, no GL)."""
    vec = parse_axis(axis, camera)
    return [camera.rotated(vec, a) for a in turntable_angles(frames, start, end, back_and_forth)]


# --- writing ------------------------------------------------------------------------------
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


def _gif_delay_ms(fps: float) -> int:
    """GIF delays are whole hundredths of a second (and browsers slow anything under 20 ms)."""
    return max(2, round(100 / fps)) * 10


def _write_gif(path: Path, images: Iterable[np.ndarray], fps: float, comment: str) -> int:
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
    with temporary_beside(path) as tmp:
        pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:],
                         duration=_gif_delay_ms(fps), loop=0, optimize=False,
                         comment=comment.encode())
    return len(pictures)


def _write_mp4(path: Path, images: Iterable[np.ndarray], fps: float, comment: str) -> int:
    import imageio.v2 as imageio

    n = 0
    with temporary_beside(path) as tmp:
        # macro_block_size=2: sizes only need to be even for yuv420p (odd ones are padded).
        writer = imageio.get_writer(tmp, format="FFMPEG", mode="I", fps=fps, codec="libx264",
                                    quality=8, pixelformat="yuv420p", macro_block_size=2,
                                    output_params=["-metadata", f"comment={comment}"])
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
    return n


def _write_series(directory: Path, images: Iterable[np.ndarray],
                  recipe: "Recipe | None") -> int:
    """PNG frames (:func:`glmip.outputs.write_frames`: a failed movie leaves none behind),
    each with its frame's recipe."""
    def text(k: int) -> dict[str, str]:
        if recipe is None:
            return {"glmip:frame": str(k)}
        return recipe.frame(k).to_text(f"{directory}{os.sep}")

    return write_frames(directory, (encode_png(img, text(k)) for k, img in enumerate(images)),
                        ".png")


def write_movie(path: str | os.PathLike[str], images: Iterable[np.ndarray],
                fps: float = 15.0, recipe: "Recipe | None" = None) -> Path:
    """Write frames to ``path``: ``.gif`` (Pillow, loops forever), ``.mp4`` (H.264 through
    imageio-ffmpeg) or a directory (``frame_0000.png``...), with ``recipe`` inside (GIF
    comment, MP4 comment, each PNG's text chunks). Frames may be a generator: MP4 and PNG
    series stream them, GIF keeps them (palette images, one byte a pixel) until the end."""
    if not fps > 0:
        raise UsageError(f"fps must be greater than 0, got {fps}")
    kind = movie_kind(path)
    target = Path(path)
    if kind != "dir" and not (target.parent if str(target.parent) else Path(".")).is_dir():
        raise OutputError(f"{path}: output directory {target.parent} does not exist")
    comment = recipe.to_json() if recipe is not None else ""
    try:
        if kind == "gif":
            _write_gif(target, images, fps, comment)
        elif kind == "mp4":
            _write_mp4(target, images, fps, comment)
        else:
            _write_series(target, images, recipe)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    return target
