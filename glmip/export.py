"""Quantitative exports: the projected real values and the position of each ray's maximum.

The 8-bit PNG shows window/level; these keep the numbers. Formats by extension:
``.npy`` (float32), ``.nii``/``.nii.gz`` (float32, with an affine placing pixels on the image
plane in world mm), ``.tif``/``.tiff`` (float32), ``.png`` (16-bit grey; integer-valued data is
stored exactly as ``value - offset``; the mapping is in the text chunk ``glmip:value``).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

from typing import TYPE_CHECKING, Mapping

from .errors import OutputError
from .outputs import write_file
from .pngio import encode_png

if TYPE_CHECKING:
    from .raycast import Projection

__all__ = ["VALUE_SUFFIXES", "values_payload", "depth_map_payload", "save_values",
           "save_depth_map", "value_suffix"]

VALUE_SUFFIXES = (".npy", ".nii", ".nii.gz", ".tif", ".tiff", ".png")


def value_suffix(path: str | os.PathLike[str]) -> str:
    name = str(path).lower()
    for s in VALUE_SUFFIXES:
        if name.endswith(s):
            return s
    raise OutputError(f"{path}: use one of {', '.join(VALUE_SUFFIXES)}")


def _plane_affine(proj: "Projection") -> np.ndarray:
    """Pixel (col, row, 0) -> world point on the image plane through the framing centre."""
    f = proj.frame
    affine = np.eye(4)
    affine[:3, 0] = f.right * f.pixel_size
    affine[:3, 1] = -f.up * f.pixel_size
    affine[:3, 2] = f.view_dir * f.pixel_size
    affine[:3, 3] = f.pixel_point(0, 0)
    return affine


def _payload(array: np.ndarray, suffix: str, proj: "Projection", text: Mapping[str, str]) -> bytes:
    """File contents for a (rows, cols[, n]) float32 array."""
    if suffix == ".npy":
        buf = io.BytesIO()
        np.save(buf, array.astype(np.float32))
        return buf.getvalue()
    if suffix in (".nii", ".nii.gz"):
        import nibabel as nib

        # NIfTI is x-fastest: (cols, rows, 1[, n]).
        vol = np.swapaxes(array, 0, 1)[:, :, None, ...].astype(np.float32)
        img = nib.Nifti1Image(vol, _plane_affine(proj))
        img.header["descrip"] = str(text.get("glmip:what", ""))[:79].encode()
        if "glmip:recipe" in text:  # the recipe as a NIfTI "comment" extension
            img.header.extensions.append(
                nib.nifti1.Nifti1Extension("comment", text["glmip:recipe"].encode()))
        return img.to_bytes() if suffix == ".nii" else _gzip(img.to_bytes())
    if suffix in (".tif", ".tiff"):
        import tifffile

        buf = io.BytesIO()
        tifffile.imwrite(buf, array.astype(np.float32), description=json.dumps(dict(text)))
        return buf.getvalue()
    raise OutputError(f"{suffix} cannot hold this data")


def _gzip(raw: bytes) -> bytes:
    import gzip

    return gzip.compress(raw, compresslevel=6, mtime=0)


def values_payload(path: str | os.PathLike[str], proj: "Projection",
                   text: Mapping[str, str]) -> bytes:
    """File contents of the projected real values (NaN where rays missed; 0 in a 16-bit PNG)."""
    suffix = value_suffix(path)
    values = proj.value
    if suffix != ".png":
        return _payload(values, suffix, proj, {**text, "glmip:what": "values"})
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    integral = finite.size and np.allclose(finite, np.round(finite), atol=1e-3) and hi - lo < 65535
    if integral:
        scale, offset = 1.0, float(np.floor(lo) - 1)  # 0 is kept for rays that missed
    else:
        scale, offset = 65534.0 / max(hi - lo, 1e-30), float(lo)
    add = 0 if integral else 1
    png = np.where(np.isfinite(values), np.round((values - offset) * scale) + add, 0)
    png16 = np.clip(png, 0, 65535).astype(np.uint16)
    mapping = f"value = (png - {add}) / {scale!r} + {offset!r}; png 0 = no sample"
    return encode_png(png16, {**text, "glmip:value": mapping})


def depth_map_payload(path: str | os.PathLike[str], proj: "Projection",
                      text: Mapping[str, str]) -> bytes:
    """Per pixel: world x, y, z (RAS mm) of the ray's maximum and its distance along the view
    axis from the image plane through the framing centre; NaN where the ray missed."""
    suffix = value_suffix(path)
    if suffix == ".png":
        raise OutputError(f"{path}: a depth map needs .npy, .nii.gz or .tif")
    pos = proj.positions()
    depth = (pos - proj.frame.center) @ proj.frame.view_dir
    array = np.concatenate([pos, depth[..., None]], axis=-1).astype(np.float32)
    return _payload(array, suffix, proj, {**text, "glmip:what": "x y z depth"})


def save_values(path: str | os.PathLike[str], proj: "Projection",
                text: Mapping[str, str]) -> Path:
    return write_file(path, values_payload(path, proj, text))


def save_depth_map(path: str | os.PathLike[str], proj: "Projection",
                   text: Mapping[str, str]) -> Path:
    return write_file(path, depth_map_payload(path, proj, text))
