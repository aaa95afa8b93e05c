"""MetaImage (``.mha`` with inline data, ``.mhd`` with a separate ``.raw``/``.zraw``).

A small reader of our own: the format is a text header of ``Key = value`` lines. Geometry is
LPS (ITK); rows of ``TransformMatrix`` are the directions of the array axes. We convert to RAS
by negating the first two world axes (CONVENTIONS.md).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from ..volume import Volume
from .registry import InputError, register_reader

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


def _numbers(path: Path, fields: dict[str, str], key: str, n: int, default: list[float]) -> list[float]:
    if key not in fields:
        return default
    try:
        vals = [float(v) for v in fields[key].split()]
    except ValueError:
        raise InputError(f"{path}: bad {key} '{fields[key]}'") from None
    if len(vals) != n:
        raise InputError(f"{path}: {key} has {len(vals)} values, expected {n}")
    return vals


@register_reader(".mha", ".mhd")
def read_metaimage(path: Path, **_: object) -> Volume:
    fields, offset = _read_header(path)
    ndims = int(_numbers(path, fields, "NDims", 1, [3])[0])
    if ndims != 3:
        raise InputError(f"{path}: a volume needs 3 dimensions, the file has {ndims}")
    dims = [int(v) for v in _numbers(path, fields, "DimSize", 3, [0, 0, 0])]
    if min(dims) < 1:
        raise InputError(f"{path}: zero-sized or missing DimSize {dims}")
    etype = fields.get("ElementType", "")
    if etype not in _TYPES:
        raise InputError(f"{path}: unsupported ElementType '{etype}'")
    ncomp = int(_numbers(path, fields, "ElementNumberOfChannels", 1, [1])[0])
    if ncomp != 1:
        raise InputError(f"{path}: {ncomp}-channel images are not supported")
    msb = (fields.get("BinaryDataByteOrderMSB") or fields.get("ElementByteOrderMSB", "False"))
    dtype = np.dtype(_TYPES[etype]).newbyteorder(">" if msb.lower() == "true" else "<")
    nbytes = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize

    datafile = fields["ElementDataFile"]
    if datafile.upper() == "LOCAL":
        src, start = path, offset
    else:
        src, start = path.parent / datafile, int(fields.get("HeaderSize", "0"))
        if not src.is_file():
            raise InputError(f"{path}: data file {src.name} not found")
    compressed = fields.get("CompressedData", "False").lower() == "true"
    with open(src, "rb") as f:
        f.seek(start)
        raw = f.read() if compressed else f.read(nbytes)
    if compressed:
        dec = zlib.decompressobj()
        try:
            buf = dec.decompress(raw, nbytes)
        except zlib.error as exc:
            raise InputError(f"{path}: corrupted compressed data ({exc})") from None
        raw = buf
    if len(raw) < nbytes:
        raise InputError(f"{path}: data is truncated ({len(raw)} of {nbytes} bytes)")
    # The file is x-fastest: that is Fortran order for an [i, j, k] array (no copy).
    data = np.frombuffer(raw, dtype=dtype, count=int(np.prod(dims))).reshape(dims, order="F")

    spacing = _numbers(path, fields, "ElementSpacing", 3, [1.0, 1.0, 1.0])
    origin = None
    for key in ("Offset", "Position", "Origin"):
        if key in fields:
            origin = _numbers(path, fields, key, 3, [0.0] * 3)
            break
    origin = origin or [0.0, 0.0, 0.0]
    tm = None
    for key in ("TransformMatrix", "Rotation", "Orientation"):
        if key in fields:
            tm = _numbers(path, fields, key, 9, [])
            break
    rows = np.array(tm if tm else np.eye(3).ravel(), dtype=np.float64).reshape(3, 3)
    affine = np.eye(4)
    affine[:3, :3] = rows.T * np.array(spacing)  # column i = direction of axis i * spacing
    affine[:3, 3] = origin
    affine[:2] *= -1  # LPS -> RAS
    return Volume(data, affine, name=str(path))
