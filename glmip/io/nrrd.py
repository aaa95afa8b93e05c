"""NRRD (``.nrrd`` with attached data, ``.nhdr`` with a detached data file) via pynrrd.

pynrrd parses the header; the data of every encoding (raw, ascii, gzip, bzip2) is read here
straight into one array, after the size-bomb guards, decompression streamed with the declared
size as a running limit (pynrrd would inflate a bomb whole). ``space directions`` are per-axis
vectors in the stated ``space``; LPS (and LAS) are converted to RAS. A file with no ``space``
is taken as RAS (glmip's world; note that ITK would read it as LPS).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..volume import Volume
from .registry import (InputError, check_size, data_file, decompress_limited, real_values,
                       register_reader, register_writer)

# Sign flips taking each named space to RAS.
_SPACES = {
    "right-anterior-superior": (1, 1, 1), "ras": (1, 1, 1),
    "left-posterior-superior": (-1, -1, 1), "lps": (-1, -1, 1),
    "left-anterior-superior": (-1, 1, 1), "las": (-1, 1, 1),
    "scanner-xyz": (1, 1, 1), "3d-right-handed": (1, 1, 1),
}


def _read_data(path: Path, header: dict, fh, dtype: np.dtype, count: int,
               allow_outside_data: bool = False) -> np.ndarray:
    """The data, read here for every encoding (raw, ascii, gzip, bzip2), with the size
    guards: a regular, confined data file; decompression streamed with the declared size as a
    running limit. ``line skip`` skips lines of the file, ``byte skip`` bytes of the
    (decompressed) data, as teem does."""
    nbytes = count * dtype.itemsize
    check_size(path, nbytes)
    encoding = str(header.get("encoding", "")).lower()
    datafile = header.get("datafile", header.get("data file"))
    try:
        line_skip = int(header.get("lineskip", header.get("line skip", 0)))
        byte_skip = int(header.get("byteskip", header.get("byte skip", 0)))
    except (TypeError, ValueError):
        raise InputError(f"{path}: bad line skip or byte skip") from None
    if line_skip < 0 or byte_skip < -1:
        raise InputError(f"{path}: bad line skip {line_skip} or byte skip {byte_skip}")
    if datafile is not None:
        name = str(datafile).strip()
        if name.startswith("LIST") or "%" in name:
            raise InputError(f"{path}: data split over several files ({name[:30]}) is not "
                             f"supported")
        src, start = data_file(path, name, allow_outside_data), 0
    else:
        src, start = path, fh.tell()
    size = os.path.getsize(src)
    with open(src, "rb") as f:
        f.seek(start)
        for _ in range(line_skip):
            line = f.readline(1 << 16)
            if not line:
                raise InputError(f"{path}: line skip {line_skip} runs past the end of the file")
        pos = f.tell()
        if encoding == "raw":
            offset = size - nbytes if byte_skip == -1 else pos + byte_skip
            check_size(path, nbytes, available=size - max(offset, 0))
            flat = np.fromfile(src, dtype=dtype, count=count, offset=offset)
            if flat.size < count:
                raise InputError(f"{path}: data is truncated ({flat.size} of {count} values)")
            return flat
        if encoding in ("ascii", "text", "txt"):
            check_size(path, count, available=(size - pos + 1) // 2,
                       what="text data (values)")
            f.seek(pos + max(byte_skip, 0))
            try:
                flat = np.fromfile(f, dtype=np.float64, count=count, sep=" ")
            except ValueError:
                raise InputError(f"{path}: bad number in ASCII data") from None
            if flat.size < count:
                raise InputError(f"{path}: data is truncated ({flat.size} of {count} values)")
            return flat.astype(dtype)
        kind = {"gzip": "gzip", "gz": "gzip", "bzip2": "bzip2", "bz2": "bzip2"}.get(encoding)
        if kind is None:
            raise InputError(f"{path}: unsupported encoding '{encoding[:20]}'")
        if byte_skip == -1:
            raise InputError(f"{path}: byte skip -1 with {encoding} data is not supported")
        raw = decompress_limited(path, f, nbytes + byte_skip, kind, compressed=size - pos,
                                 what=f"{encoding} data")
    return raw[byte_skip:].view(dtype)


@register_reader(".nrrd", ".nhdr", ".nrrd.gz")
def read_nrrd(path: Path, frame: int | None = None, component: int | None = None,
              allow_outside_data: bool = False, **_: object) -> Volume:
    # Long on purpose: the format's header is checked in file order, one step per field, so
    # the function reads like the format's grammar; split, the order would be lost.
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
        flat = _read_data(path, header, fh, dtype, count, allow_outside_data)
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
