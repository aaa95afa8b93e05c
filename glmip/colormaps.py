"""Colour tables (256 RGB entries, 0..1). ``grey`` and ``inverted`` are exact ramps (index/255);
every other name comes from the ``cmap`` package (matplotlib's perceptual maps, hot, ...),
a maintained source rather than hand-typed tables."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .options import COLORMAP_CHOICES, GREY_COLORMAPS

__all__ = ["colormap_lut"]


@lru_cache(maxsize=32)
def colormap_lut(name: str) -> np.ndarray:
    """(256, 3) float32 table for ``name``; ValueError naming the map if it is unknown."""
    ramp = np.arange(256, dtype=np.float32) / 255.0
    if name in GREY_COLORMAPS:
        return np.repeat(ramp[:, None], 3, axis=1)
    if name in ("inverted", "inverted-grey", "gray_r", "grey_r"):
        return np.repeat(ramp[::-1, None], 3, axis=1)
    from cmap import Colormap

    try:
        lut = Colormap(name).lut(256)
    except Exception:
        known = ", ".join(COLORMAP_CHOICES)
        raise ValueError(f"unknown colormap '{name}' (try {known})") from None
    out = np.asarray(lut[:, :3], dtype=np.float32)
    out.flags.writeable = False  # shared by the cache
    return out
