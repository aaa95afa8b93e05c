"""The napari reader: every format glmip reads, as napari image layers in glmip's world.

Geometry: the layer's data is the volume's array ``data[i, j, k]`` as it is (no transpose, no
copy) and its ``affine`` is the volume's 4x4 voxel -> RAS matrix, so napari's world axes 0, 1, 2
are R, A, S in millimetres and every voxel lands at its RAS position (``layer.data_to_world``
of a voxel index equals ``volume.affine @ [i, j, k, 1]``). napari >= 0.6 draws that world
right-handed (its default camera orientation), so its 3-D view is a true view, never a mirror.

Values: real values (``stored * slope + inter``) as float32 when the file scales them, the
stored array (integers stay integers) when it does not. Contrast limits are glmip's automatic
window (the full finite range); the layer's metadata holds the :class:`~glmip.volume.Volume`
(``glmip_volume``) and the file it came from (``glmip_path``), which the dock widget renders.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..io import load, readable_suffixes, suffix_of
from ..settings import RenderSettings, resolve_window
from ..volume import Volume

__all__ = ["get_reader", "read", "layer_data", "volume_layer_data"]

LayerData = tuple[Any, dict[str, Any], str]
_DICOM_SUFFIXES = (".dcm", ".dicom", ".ima")


def _is_image_folder(folder: Path) -> bool:
    """A folder glmip may read: DICOM files (by suffix or the DICM magic) or an image stack."""
    try:
        entries = sorted(p for p in folder.iterdir() if p.is_file())
    except OSError:
        return False
    readable = readable_suffixes()
    for p in entries[:200]:
        name = p.name.lower()
        if name.endswith(_DICOM_SUFFIXES) or any(name.endswith(s) for s in readable):
            return True
    for p in entries[:20]:
        try:
            with open(p, "rb") as f:
                f.seek(128)
                if f.read(4) == b"DICM":
                    return True
        except OSError:
            continue
    return False


def _readable(path: str | os.PathLike[str]) -> bool:
    p = Path(path)
    if p.is_dir():
        return _is_image_folder(p)
    try:
        return suffix_of(p) in readable_suffixes()
    except Exception:
        return False


def get_reader(path: str | Sequence[str]) -> Callable[[Any], list[LayerData]] | None:
    """npe2 reader hook: :func:`read` when glmip reads ``path`` (a file, a folder or a list of
    them), else None so napari asks another plugin."""
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    if not paths or not all(_readable(p) for p in paths):
        return None
    return read


def volume_layer_data(volume: Volume, path: str | None = None,
                      name: str | None = None) -> LayerData:
    """One napari image layer for a glmip volume (geometry, values and metadata as above)."""
    if volume.slope == 1.0 and volume.inter == 0.0:
        data = volume.data
    else:
        data = (volume.data.astype(np.float32) * np.float32(volume.slope)
                + np.float32(volume.inter))
    window, level = resolve_window(volume, RenderSettings())
    label = name or (Path(path).name if path else volume.name) or "volume"
    for suffix in sorted(readable_suffixes(), key=len, reverse=True):
        if label.lower().endswith(suffix) and len(label) > len(suffix):
            label = label[: -len(suffix)]
            break
    kwargs: dict[str, Any] = {
        "name": label,
        "affine": volume.affine.copy(),
        "contrast_limits": (float(level - window / 2), float(level + window / 2)),
        "colormap": "gray",
        "rendering": "mip",
        "metadata": {"glmip_volume": volume, "glmip_path": path},
    }
    return data, kwargs, "image"


def layer_data(path: str | os.PathLike[str], **reader_options: Any) -> LayerData:
    """The layer of one file or folder (``reader_options`` as for :func:`glmip.load`)."""
    volume = load(path, **reader_options)
    return volume_layer_data(volume, str(path))


def read(path: str | Sequence[str]) -> list[LayerData]:
    """npe2 reader: one image layer per path."""
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    return [layer_data(p) for p in paths]
