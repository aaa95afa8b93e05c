"""NumPy ``.npy`` and ``.npz`` (``np.load`` with ``allow_pickle=False``).

``.npy`` holds no geometry: ``--spacing`` / ``--origin`` give it, and the writer refuses any
volume whose affine is not the identity (it would be lost). ``.npz`` written by glmip holds
``data``, ``affine``, ``slope`` and ``inter``; other ``.npz`` files are read like ``.npy``
(choose an array with ``--array``).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from ..volume import Volume
from .registry import (InputError, check_size, geometry_affine, pick_frame, register_reader,
                       register_writer)


def _npy_header(path: Path, fh) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a .npy header, without reading the data."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fh)
        else:
            shape, _, dtype = fmt.read_array_header_2_0(fh)
    except ValueError as exc:
        raise InputError(f"{path}: bad .npy header ({exc})") from None
    if dtype.hasobject:
        raise InputError(f"{path}: object arrays are refused (they would need pickle)")
    return tuple(int(n) for n in shape), dtype


def _volume(path: Path, arr: np.ndarray, affine: np.ndarray, frame, slope=1.0, inter=0.0):
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{path}: unsupported array type {arr.dtype}")
    arr = pick_frame(path, arr, frame)
    return Volume(arr, affine, slope=slope, inter=inter, name=str(path))


@register_reader(".npy")
def read_npy(path: Path, frame: int | None = None, spacing=None, origin=None,
             **_: object) -> Volume:
    with open(path, "rb") as fh:
        shape, dtype = _npy_header(path, fh)
        offset = fh.tell()
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    check_size(path, nbytes, available=os.path.getsize(path) - offset)
    if 0 in shape:
        raise InputError(f"{path}: zero-sized axis in shape {shape}")
    arr = np.load(path, mmap_mode="r", allow_pickle=False)  # pages in on demand
    return _volume(path, arr, geometry_affine(spacing, origin), frame)


@register_reader(".npz")
def read_npz(path: Path, frame: int | None = None, array: str | None = None, spacing=None,
             origin=None, **_: object) -> Volume:
    with zipfile.ZipFile(path) as zf:
        infos = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}
        if not infos:
            raise InputError(f"{path}: the archive holds no arrays")
        names = list(infos)
        if array is not None:
            if array not in infos:
                raise InputError(f"{path}: no array named '{array}' (available: "
                                 f"{', '.join(names)})")
            name = array
        elif "data" in infos:
            name = "data"
        else:
            volumes = [n for n in names if n not in ("affine", "slope", "inter")]
            name = volumes[0] if volumes else names[0]
        # size-bomb guard from the array's own header, before numpy allocates it
        info = infos[name]
        with zf.open(info) as fh:
            shape, dtype = _npy_header(path, fh)
        nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        compressed = info.compress_size if info.compress_type == zipfile.ZIP_DEFLATED else None
        check_size(path, nbytes, available=None if compressed else info.compress_size,
                   compressed=compressed, what=f"array '{name}'")
        if 0 in shape:
            raise InputError(f"{path}: zero-sized axis in shape {shape}")
        # The other members read (affine, slope, inter) are small: their declared size in the
        # zip directory is checked before reading (zipfile never inflates past it).
        for other in ("affine", "slope", "inter"):
            if name == "data" and other in infos and infos[other].file_size > 4096:
                raise InputError(f"{path}: member '{other}' declares "
                                 f"{infos[other].file_size} bytes where a few numbers belong")
        if info.file_size > nbytes + 4096:
            raise InputError(f"{path}: member '{name}' declares {info.file_size} bytes for "
                             f"{nbytes} bytes of data")
    with np.load(path, allow_pickle=False) as npz:
        arr = npz[name]
        affine = geometry_affine(spacing, origin)
        slope, inter = 1.0, 0.0
        if name == "data" and "affine" in infos:
            affine = np.asarray(npz["affine"], dtype=np.float64)
            slope = float(npz["slope"]) if "slope" in infos else 1.0
            inter = float(npz["inter"]) if "inter" in infos else 0.0
    return _volume(path, arr, affine, frame, slope, inter)


@register_writer(".npy")
def write_npy(volume: Volume, path: Path) -> None:
    if not np.array_equal(volume.affine, np.eye(4)) or volume.slope != 1 or volume.inter != 0:
        raise InputError(f"{path}: .npy stores no geometry or scaling, and this volume has "
                         f"an affine other than the identity or a value scaling; write .npz "
                         f"(which keeps them), .nii.gz, .nrrd or .mha")
    np.save(path, volume.data, allow_pickle=False)


@register_writer(".npz")
def write_npz(volume: Volume, path: Path) -> None:
    """Compressed archive with ``data``, ``affine``, ``slope``, ``inter``."""
    with open(path, "wb") as f:  # a file object: numpy must not append its own '.npz'
        np.savez_compressed(f, data=volume.data, affine=volume.affine,
                            slope=np.float64(volume.slope), inter=np.float64(volume.inter))
