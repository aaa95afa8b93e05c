"""PNG encoding (Pillow): rows top-first, 8-bit grey or RGB (16-bit grey for quantitative
images), the recipe as text chunks; files are written through ``glmip/outputs.py``."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Mapping

import numpy as np

from .outputs import write_file

__all__ = ["encode_png", "save_png", "read_text"]


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


def save_png(path: str | os.PathLike[str], image: np.ndarray,
             text: Mapping[str, object] | None = None) -> Path:
    """Save ``image`` (uint8 grey/RGB or uint16 grey) as a PNG, atomically."""
    return write_file(path, encode_png(image, text))


def read_text(path: str | os.PathLike[str]) -> dict[str, str]:
    """The text chunks of a PNG (where glmip keeps a picture's recipe)."""
    from PIL import Image

    with Image.open(path) as img:
        return dict(getattr(img, "text", {}) or {})


