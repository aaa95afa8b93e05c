"""NRRD (``.nrrd`` with attached data, ``.nhdr`` with a detached data file) via pynrrd.

pynrrd parses the header; raw and gzip data are read here straight into one array (after the
size-bomb guard), other encodings (ascii, bzip2) by pynrrd. ``space directions`` are per-axis
vectors in the stated ``space``; LPS (and LAS) are converted to RAS. A file with no ``space``
is taken as RAS, like a VTK image.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..volume import Volume
from .registry import (MAX_BYTES, InputError, check_size, inflate, real_values,
                       register_reader, register_writer)

# Sign flips taking each named space to RAS.
_SPACES = {
    "right-anterior-superior": (1, 1, 1), "ras": (1, 1, 1),
    "left-posterior-superior": (-1, -1, 1), "lps": (-1, -1, 1),
    "left-anterior-superior": (-1, 1, 1), "las": (-1, 1, 1),
    "scanner-xyz": (1, 1, 1), "3d-right-handed": (1, 1, 1),
}


def _read_data(path: Path, header: dict, fh, dtype: np.dtype, count: int) -> np.ndarray:
    import nrrd

    nbytes = count * dtype.itemsize
    encoding = str(header.get("encoding", "")).lower()
    datafile = header.get("datafile", header.get("data file"))
    line_skip = int(header.get("lineskip", header.get("line skip", 0)))
    byte_skip = int(header.get("byteskip", header.get("byte skip", 0)))
    simple = encoding in ("raw", "gzip", "gz") and line_skip == 0 and byte_skip >= 0
    if datafile is not None:
        if str(datafile).startswith("LIST") or " " in str(datafile).strip():
            simple = False
        else:
            src = Path(datafile) if os.path.isabs(datafile) else path.parent / datafile
            if not src.is_file():
                raise InputError(f"{path}: data file {datafile} not found")
            start = 0
    else:
        src, start = path, fh.tell()
    if not simple:
        if nbytes > MAX_BYTES:
            check_size(path, nbytes)
        if encoding in ("ascii", "text", "txt"):
            size = os.path.getsize(src if datafile is not None else path)
            check_size(path, count, available=size, what="text data (values)")
        return nrrd.read_data(header, fh, str(path), index_order="F")
    size = os.path.getsize(src)
    if encoding == "raw":
        check_size(path, nbytes, available=size - start - byte_skip)
        flat = np.fromfile(src, dtype=dtype, count=count, offset=start + byte_skip)
        if flat.size < count:
            raise InputError(f"{path}: data is truncated ({flat.size} of {count} values)")
        return flat
    with open(src, "rb") as f:
        f.seek(start)
        packed = f.read()
    # byte skip applies after decompression
    raw = inflate(path, packed, nbytes + byte_skip, wbits=47)  # 47: zlib or gzip header
    return raw[byte_skip:].view(dtype)


@register_reader(".nrrd", ".nhdr", ".nrrd.gz")
def read_nrrd(path: Path, frame: int | None = None, component: int | None = None,
              **_: object) -> Volume:
    import nrrd

    with open(path, "rb") as fh:
        header = nrrd.read_header(fh)
        sizes = [int(n) for n in header["sizes"]]
        if min(sizes) < 1:
            raise InputError(f"{path}: zero-sized axis in sizes {sizes}")
        if len(sizes) < 3:
            raise InputError(f"{path}: a volume needs 3 dimensions, the image has sizes {sizes}")
        if len(sizes) > 4:
            raise InputError(f"{path}: {len(sizes)}-D images are not supported (sizes {sizes})")
        dtype = nrrd.reader._determine_datatype(header)
        count = int(np.prod(sizes, dtype=object))
        flat = _read_data(path, header, fh, dtype, count)
    if flat.size != count:
        raise InputError(f"{path}: data has {flat.size} values, the header promises {count}")
    data = flat.reshape(sizes, order="F")

    ndim = len(sizes)
    directions = header.get("space directions")
    spatial = list(range(ndim))
    if directions is not None:
        directions = np.asarray(directions, dtype=np.float64)
        spatial = [a for a in range(ndim) if np.all(np.isfinite(directions[a]))]
    elif ndim == 4:
        kinds = [str(k).lower() for k in header.get("kinds", [])]
        nonspatial = [a for a, k in enumerate(kinds) if k not in ("domain", "space")]
        spatial = [a for a in range(4) if a not in nonspatial[:1]] if nonspatial else [0, 1, 2]
    if len(spatial) != 3:
        raise InputError(f"{path}: needs 3 spatial axes, the file has {len(spatial)}")
    if ndim == 4:
        extra = next(a for a in range(4) if a not in spatial)
        pick = component if extra == 0 else frame
        what = "component" if extra == 0 else "frame"
        idx = 0 if pick is None else int(pick)
        if not 0 <= idx < sizes[extra]:
            raise InputError(f"{path}: {what} {idx} out of range (the file has {sizes[extra]})")
        data = np.take(data, idx, axis=extra)
        if extra == 0:
            data = np.asfortranarray(data)

    affine = np.eye(4)
    if directions is not None:
        affine[:3, :3] = directions[spatial].T[:3]  # column = direction vector of each axis
        origin = header.get("space origin")
        if origin is not None:
            affine[:3, 3] = np.asarray(origin, dtype=np.float64)[:3]
    else:
        spacings = header.get("spacings")
        if spacings is not None:
            sp = np.asarray(spacings, dtype=np.float64)[spatial]
            affine[:3, :3] = np.diag(np.where(np.isfinite(sp), sp, 1.0))
        mins = header.get("axis mins", header.get("axismins"))
        if mins is not None:
            mn = np.asarray(mins, dtype=np.float64)[spatial]
            affine[:3, 3] = np.where(np.isfinite(mn), mn, 0.0)
    space = str(header.get("space", "right-anterior-superior")).lower()
    if space not in _SPACES:
        raise InputError(f"{path}: unsupported space '{space}'")
    affine[:3] *= np.array(_SPACES[space], dtype=np.float64)[:, None]
    affine[affine == 0] = 0.0  # no -0.0
    vol = Volume(data, affine, name=str(path))
    return vol


@register_writer(".nrrd")
def write_nrrd(volume: Volume, path: Path) -> None:
    """gzip-encoded, ``space: left-posterior-superior`` (what Slicer and ITK expect)."""
    import nrrd

    aff = volume.affine.copy()
    aff[:2] *= -1  # RAS -> LPS
    aff[aff == 0] = 0.0
    header = {
        "space": "left-posterior-superior",
        "space directions": aff[:3, :3].T,
        "space origin": aff[:3, 3],
        "kinds": ["domain", "domain", "domain"],
        "encoding": "gzip",
        "endian": "little",
    }
    data = real_values(volume)
    data = np.asarray(data, dtype=data.dtype.newbyteorder("<"))
    nrrd.write(str(path), data, header, index_order="F")
