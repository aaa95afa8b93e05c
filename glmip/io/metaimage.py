"""MetaImage (``.mha`` with inline data, ``.mhd`` with a separate ``.raw``/``.zraw``).

A small reader and writer of our own: the format is a text header of ``Key = value`` lines.
Geometry is LPS (ITK); rows of ``TransformMatrix`` are the directions of the array axes. We
convert to RAS by negating the first two world axes (docs/conventions.md).
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np

from ..volume import Volume
from .registry import (InputError, check_size, data_file, inflate, pick_frame, real_values,
                       register_reader, register_writer)

_TYPES = {
    "MET_UCHAR": np.uint8,
    "MET_CHAR": np.int8,
    "MET_USHORT": np.uint16,
    "MET_SHORT": np.int16,
    "MET_UINT": np.uint32,
    "MET_INT": np.int32,
    "MET_ULONG": np.uint64,
    "MET_LONG": np.int64,
    "MET_ULONG_LONG": np.uint64,
    "MET_LONG_LONG": np.int64,
    "MET_FLOAT": np.float32,
    "MET_DOUBLE": np.float64,
}
_MET_NAMES = {np.dtype(v).newbyteorder("<"): k for k, v in reversed(list(_TYPES.items()))}
_MAX_HEADER = 64 * 1024


def _read_header(path: Path) -> tuple[dict[str, str], int]:
    """Parse header lines up to and including ``ElementDataFile``; return (fields, data offset)."""
    fields: dict[str, str] = {}
    with open(path, "rb") as f:
        head = f.read(_MAX_HEADER)
    pos = 0
    while pos < len(head):
        end = head.find(b"\n", pos)
        if end < 0:
            end = len(head)
        line = head[pos:end].decode("latin-1").strip()
        pos = end + 1
        if not line:
            continue
        if "=" not in line:
            raise InputError(f"{path}: not a MetaImage header (line {line[:40]!r})")
        key, value = (s.strip() for s in line.split("=", 1))
        fields[key] = value
        if key == "ElementDataFile":
            return fields, pos
    raise InputError(f"{path}: MetaImage header has no ElementDataFile line")


def _numbers(path: Path, fields: dict[str, str], key: str, n: int,
             default: list[float]) -> list[float]:
    if key not in fields:
        return default
    try:
        vals = [float(v) for v in fields[key].split()]
    except ValueError:
        raise InputError(f"{path}: bad {key} '{fields[key][:40]}'") from None
    if len(vals) != n:
        raise InputError(f"{path}: {key} has {len(vals)} values, expected {n}")
    if not all(np.isfinite(vals)):
        raise InputError(f"{path}: non-finite value in {key}")
    return vals


def _flag(fields: dict[str, str], *keys: str) -> bool:
    for k in keys:
        if k in fields:
            return fields[k].strip().lower() == "true"
    return False


@register_reader(".mha", ".mhd")
def read_metaimage(path: Path, frame: int | None = None, component: int | None = None,
                   allow_outside_data: bool = False, **_: object) -> Volume:
    # Long on purpose: the format's header is checked in file order, one step per field, so
    # the function reads like the format's grammar; split, the order would be lost.
    fields, offset = _read_header(path)
    ndims = _numbers(path, fields, "NDims", 1, [3])[0]
    if ndims != int(ndims) or not 3 <= ndims <= 4:
        raise InputError(f"{path}: a volume needs 3 dimensions, the file has NDims = "
                         f"{fields.get('NDims')}")
    ndims = int(ndims)
    dims_f = _numbers(path, fields, "DimSize", ndims, [0] * ndims)
    dims = [int(v) for v in dims_f]
    if min(dims) < 1 or dims != dims_f:
        raise InputError(f"{path}: zero-sized, negative or missing DimSize {fields.get('DimSize')}")
    etype = fields.get("ElementType", "")
    if etype not in _TYPES:
        raise InputError(f"{path}: unsupported ElementType '{etype[:30]}'")
    ncomp_f = _numbers(path, fields, "ElementNumberOfChannels", 1, [1])[0]
    ncomp = int(ncomp_f)
    if ncomp < 1 or ncomp != ncomp_f:
        raise InputError(f"{path}: bad ElementNumberOfChannels {fields['ElementNumberOfChannels']}")
    msb = _flag(fields, "BinaryDataByteOrderMSB", "ElementByteOrderMSB")
    dtype = np.dtype(_TYPES[etype]).newbyteorder(">" if msb else "<")
    count = int(np.prod(dims, dtype=object)) * ncomp
    nbytes = count * dtype.itemsize

    datafile = fields["ElementDataFile"]
    if datafile.upper() == "LOCAL":
        src, start = path, offset
    elif datafile.upper().startswith("LIST") or "%" in datafile:
        raise InputError(f"{path}: data split over several files ({datafile[:30]}) is not "
                         f"supported")
    else:
        src = data_file(path, datafile, allow_outside_data)
        if not os.access(src, os.R_OK):
            raise InputError(f"{path}: permission denied on data file {datafile}")
        start = int(_numbers(path, fields, "HeaderSize", 1, [0])[0])
    size = os.path.getsize(src)
    if not _flag(fields, "BinaryData") and "BinaryData" in fields:
        raise InputError(f"{path}: ASCII MetaImage data is not supported")
    if _flag(fields, "CompressedData"):
        csize = size - start  # CompressedDataSize is not always right: zlib knows the end
        check_size(path, nbytes, compressed=max(csize, 0))
        with open(src, "rb") as f:
            f.seek(start)
            packed = f.read(max(csize, 0))
        flat = inflate(path, packed, nbytes).view(dtype)
    else:
        if start < 0:  # HeaderSize = -1: the data is the last bytes of the file
            start = size - nbytes
        check_size(path, nbytes, available=size - max(start, 0))
        # One read straight into the array: no intermediate copy.
        flat = np.fromfile(src, dtype=dtype, count=count, offset=start)
        if flat.size < count:
            raise InputError(f"{path}: data is truncated ({flat.size} of {count} values)")
    # The file is x-fastest (components fastest of all): Fortran order, no copy.
    data = flat.reshape([ncomp] + dims, order="F")
    if ncomp > 1:
        c = 0 if component is None else int(component)
        if not 0 <= c < ncomp:
            raise InputError(f"{path}: component {c} out of range (the image has {ncomp})")
        data = np.asfortranarray(data[c])
    else:
        data = data[0]
    if ndims == 4:
        data = pick_frame(path, data, frame)

    spacing = _numbers(path, fields, "ElementSpacing", ndims, [1.0] * ndims)[:3]
    origin = [0.0, 0.0, 0.0]
    for key in ("Offset", "Position", "Origin"):
        if key in fields:
            origin = _numbers(path, fields, key, ndims, [0.0] * ndims)[:3]
            break
    rows = np.eye(3)
    for key in ("TransformMatrix", "Rotation", "Orientation"):
        if key in fields:
            rows = np.array(_numbers(path, fields, key, ndims * ndims, []),
                            dtype=np.float64).reshape(ndims, ndims)[:3, :3]
            break
    affine = np.eye(4)
    affine[:3, :3] = rows.T * np.array(spacing)  # column i = direction of axis i * spacing
    affine[:3, 3] = origin
    affine[:2] *= -1  # LPS -> RAS
    affine[affine == 0] = 0.0  # no -0.0 in the printed affine
    vol = Volume(data, affine, name=str(path))
    vol.meta["components"] = ncomp
    if src != path:
        vol.meta["data_file"] = str(src)
    return vol


def _fmt(values) -> str:
    return " ".join(repr(float(v)) for v in values)


def metaimage_header(volume: Volume, data: np.ndarray, datafile: str,
                     compressed_size: int | None) -> str:
    aff = volume.affine.copy()
    aff[:2] *= -1  # RAS -> LPS
    aff[aff == 0] = 0.0
    spacing = np.linalg.norm(aff[:3, :3], axis=0)
    rows = (aff[:3, :3] / spacing).T  # row i = direction of array axis i
    lines = [
        "ObjectType = Image",
        "NDims = 3",
        "BinaryData = True",
        "BinaryDataByteOrderMSB = False",
        f"CompressedData = {compressed_size is not None}",
    ]
    if compressed_size is not None:
        lines.append(f"CompressedDataSize = {compressed_size}")
    lines += [
        f"TransformMatrix = {_fmt(rows.ravel())}",
        f"Offset = {_fmt(aff[:3, 3])}",
        "CenterOfRotation = 0 0 0",
        f"ElementSpacing = {_fmt(spacing)}",
        f"DimSize = {' '.join(str(n) for n in data.shape)}",
        f"ElementType = {_MET_NAMES[data.dtype.newbyteorder('<')]}",
        f"ElementDataFile = {datafile}",
    ]
    return "\n".join(lines) + "\n"


def _le_bytes(data: np.ndarray) -> bytes:
    return np.asarray(data, dtype=data.dtype.newbyteorder("<")).tobytes(order="F")


@register_writer(".mha")
def write_mha(volume: Volume, path: Path) -> None:
    """Inline data, zlib-compressed (what ITK writes with compression on)."""
    data = real_values(volume)
    packed = zlib.compress(_le_bytes(data), 6)
    header = metaimage_header(volume, data, "LOCAL", len(packed))
    with open(path, "wb") as f:
        f.write(header.encode("ascii"))
        f.write(packed)


@register_writer(".mhd")
def write_mhd(volume: Volume, path: Path) -> None:
    """Header plus an uncompressed ``.raw`` file beside it (same stem)."""
    data = real_values(volume)
    raw = path.with_suffix(".raw")
    with open(raw, "wb") as f:
        for k in range(data.shape[2]):  # slice by slice: no full-size temporary
            f.write(_le_bytes(data[:, :, k]))
    path.write_text(metaimage_header(volume, data, raw.name, None), encoding="ascii")
