"""PNG writing (Pillow): rows top-first, 8-bit grey or RGB (16-bit grey for quantitative
images), parameters as text chunks, written atomically (temporary file, then rename)."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Mapping

import numpy as np

__all__ = ["encode_png", "save_png", "atomic_write", "next_free_path", "save_png_new",
           "file_mode"]


def file_mode() -> int:
    """Mode for new files: 0o666 less the process's umask (as open() would give)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _pil_image(image: np.ndarray):  # -> PIL.Image.Image
    from PIL import Image  # imported when a PNG is written: not on every glmip import

    if image.dtype == np.uint16 and image.ndim == 2:
        return Image.fromarray(image.astype("<u2"))
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"expected a uint8 (rows, cols[, 3]) image, got {image.dtype} {image.shape}")
    return Image.fromarray(image)


def encode_png(image: np.ndarray, text: Mapping[str, object] | None = None) -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(str(key), str(value))
    buf = io.BytesIO()
    _pil_image(image).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def atomic_write(path: str | os.PathLike[str], payload: bytes) -> Path:
    """Write ``payload`` to a temporary file beside ``path``, then rename it into place."""
    from .errors import UsageError

    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise UsageError(f"{path}: cannot write ({exc.strerror})") from None
        raise
    return path


def save_png(path: str | os.PathLike[str], image: np.ndarray,
             text: Mapping[str, object] | None = None) -> Path:
    """Save ``image`` (uint8 grey/RGB or uint16 grey) as a PNG, atomically."""
    return atomic_write(path, encode_png(image, text))


def next_free_path(directory: str | os.PathLike[str], stem: str = "glmip-screenshot",
                   suffix: str = ".png") -> Path:
    """``<stem>-N<suffix>`` with the first N (from 1) not yet taken."""
    n = 1
    while True:
        candidate = Path(directory) / f"{stem}-{n}{suffix}"
        if not candidate.exists():
            return candidate
        n += 1


def save_png_new(directory: str | os.PathLike[str], image: np.ndarray,
                 text: Mapping[str, object] | None = None, stem: str = "glmip-screenshot") -> Path:
    """Save as ``<stem>-N.png`` with the first unused N; never overwrites, even in a race
    (the finished file is hard-linked into place, which fails if the name exists)."""
    directory = Path(directory)
    payload = encode_png(image, text)
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.chmod(tmp, file_mode())
        n = 1
        while True:
            candidate = directory / f"{stem}-{n}.png"
            try:
                os.link(tmp, candidate)
                return candidate
            except FileExistsError:
                n += 1
    finally:
        os.unlink(tmp)
