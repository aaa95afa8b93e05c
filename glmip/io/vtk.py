"""VTK images: XML ImageData (``.vti``) and legacy ``STRUCTURED_POINTS`` (``.vtk``).

Small readers and writers of our own (VTK itself is a heavy dependency). VTK's image
coordinates are its physical frame, which is ITK's LPS (VTK >= 9 reads and writes Origin,
Spacing and Direction of MetaImage, NRRD and DICOM that way): the numbers in the file are LPS
and are converted to glmip's RAS world by negating the first two axes (docs/formats.md,
docs/conventions.md). For ``.vti``: voxel ``ijk`` (extent indices) is at LPS
``Origin + Direction @ (Spacing * ijk)``, ``Direction`` row-major with columns = axis
directions. Legacy ``.vtk`` has no Direction: its axes are +L, +P, +S with positive spacing.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ..volume import Volume
from .registry import (DEFLATE_MAX_RATIO, OTHER_MAX_RATIO, InputError, check_size,
                       decompress_limited, real_values, register_reader, register_writer)

_XML_TYPES = {
    "Int8": "i1", "UInt8": "u1", "Int16": "i2", "UInt16": "u2", "Int32": "i4", "UInt32": "u4",
    "Int64": "i8", "UInt64": "u8", "Float32": "f4", "Float64": "f8", "Char": "i1",
    "UnsignedChar": "u1", "Short": "i2", "UnsignedShort": "u2", "Int": "i4",
    "UnsignedInt": "u4", "Float": "f4", "Double": "f8",
}
# RAS <-> LPS: negate the first two world axes (its own inverse).
_FLIP = np.diag([-1.0, -1.0, 1.0, 1.0])


def lps_to_ras(affine_lps: np.ndarray) -> np.ndarray:
    out = _FLIP @ affine_lps
    out[out == 0] = 0.0  # no -0.0
    return out


ras_to_lps = lps_to_ras

_XML_NAMES = {"u1": "UInt8", "i1": "Int8", "u2": "UInt16", "i2": "Int16", "f4": "Float32"}


def _choose(path: Path, arrays: list[tuple[str, int]], active: str | None,
            array: str | None, component: int | None) -> tuple[int, int]:
    """Pick (array index, component) from ``[(name, ncomp), ...]`` by the user's options."""
    names = [a[0] for a in arrays]
    if not arrays:
        raise InputError(f"{path}: the image has no point-data arrays")
    if array is not None:
        if array not in names:
            raise InputError(f"{path}: no array named '{array}' (available: "
                             f"{', '.join(names)})")
        idx = names.index(array)
    elif active in names:
        idx = names.index(active)
    else:
        idx = 0
    ncomp = arrays[idx][1]
    c = 0 if component is None else int(component)
    if not 0 <= c < ncomp:
        raise InputError(f"{path}: component {c} out of range (array '{names[idx]}' has "
                         f"{ncomp})")
    return idx, c


def _component(flat: np.ndarray, dims: list[int], ncomp: int, c: int) -> np.ndarray:
    """x-fastest flat data (components fastest of all) -> [i, j, k] Fortran-ordered array."""
    data = flat.reshape([ncomp] + dims, order="F")
    return data[0] if ncomp == 1 else np.asfortranarray(data[c])


# --- XML ImageData --------------------------------------------------------------------------
def _floats(path: Path, text: str | None, n: int, default: list[float], what: str) -> np.ndarray:
    if text is None:
        return np.array(default, dtype=np.float64)
    try:
        vals = np.array([float(v) for v in text.split()], dtype=np.float64)
    except ValueError:
        raise InputError(f"{path}: bad {what} '{text[:40]}'") from None
    if vals.size != n or not np.all(np.isfinite(vals)):
        raise InputError(f"{path}: {what} needs {n} finite numbers, got '{text[:60]}'")
    return vals


class _Blocks:
    """Decoder of one binary DataArray (VTK's header + optional compressed blocks)."""

    def __init__(self, path: Path, root: ET.Element, appended: bytes | None,
                 appended_encoding: str) -> None:
        self.path = path
        self.order = "<" if root.get("byte_order", "LittleEndian") == "LittleEndian" else ">"
        htype = root.get("header_type", "UInt32")
        if htype not in ("UInt32", "UInt64"):
            raise InputError(f"{path}: unsupported header_type '{htype}'")
        self.htype = np.dtype(self.order + ("u4" if htype == "UInt32" else "u8"))
        compressor = root.get("compressor")
        self.compressor = None
        if compressor:
            if compressor == "vtkZLibDataCompressor":
                self.compressor = "zlib"
            elif compressor == "vtkLZMADataCompressor":
                self.compressor = "lzma"
            else:
                raise InputError(f"{path}: unsupported compressor '{compressor}'")
        self.appended = appended
        self.appended_encoding = appended_encoding

    def _ints(self, raw: bytes, n: int) -> list[int]:
        need = n * self.htype.itemsize
        if len(raw) < need:
            raise InputError(f"{self.path}: data array header is truncated")
        return [int(v) for v in np.frombuffer(raw[:need], dtype=self.htype)]

    def _b64(self, text: bytes) -> bytes:
        try:
            return base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise InputError(f"{self.path}: bad base64 data ({exc})") from None

    def decode(self, payload: bytes, is_base64: bool, nbytes: int) -> bytes:
        """Return ``nbytes`` of array data from the bytes at the array's position."""
        # Long on purpose: VTK's block layout (header, compressed block sizes, blocks) is
        # decoded in the order it is stored, with a size check at each step.
        hs = self.htype.itemsize
        if self.compressor is None:
            if is_base64:
                # header and data are encoded together; decode just what is needed
                need = 4 * -(-(hs + nbytes) // 3)
                raw = self._b64(payload[:need])
            else:
                raw = payload[: hs + nbytes]
            (declared,) = self._ints(raw, 1)
            if declared < nbytes:
                raise InputError(f"{self.path}: data array holds {declared} bytes, the extent "
                                 f"needs {nbytes}")
            data = raw[hs : hs + nbytes]
            if len(data) < nbytes:
                raise InputError(f"{self.path}: data is truncated ({len(data)} of {nbytes} "
                                 f"bytes)")
            return data
        # compressed: [nblocks, blocksize, lastblocksize, csize_0 ... csize_n-1] then blocks;
        # in base64 the header is encoded on its own, then the blocks together.
        if is_base64:
            first = self._b64(payload[: 4 * hs])
            nblocks = self._ints(first, 1)[0]
            check_size(self.path, nblocks * hs, available=len(payload), what="block table")
            hlen = 4 * -(-((3 + nblocks) * hs) // 3)
            header = self._b64(payload[:hlen])
            rest_b64 = payload[hlen:]
        else:
            nblocks = self._ints(payload, 1)[0]
            check_size(self.path, nblocks * hs, available=len(payload), what="block table")
            header = payload[: (3 + nblocks) * hs]
            rest_b64 = None
        nb, bsize, last, *csizes = self._ints(header, 3 + nblocks)
        total = (nb - 1) * bsize + (last or bsize) if nb else 0
        if total < nbytes:
            raise InputError(f"{self.path}: data array holds {total} bytes, the extent needs "
                             f"{nbytes}")
        ctotal = sum(csizes)
        if is_base64:
            blocks = self._b64(rest_b64[: 4 * -(-ctotal // 3)])
        else:
            blocks = payload[(3 + nblocks) * hs : (3 + nblocks) * hs + ctotal]
        if len(blocks) < ctotal:
            raise InputError(f"{self.path}: compressed data is truncated")
        check_size(self.path, nbytes, compressed=ctotal,
                   ratio=DEFLATE_MAX_RATIO if self.compressor == "zlib" else OTHER_MAX_RATIO)
        out = bytearray(nbytes)
        pos = src = 0
        for b, cs in enumerate(csizes):
            if pos >= nbytes:
                break
            expect = bsize if b < nb - 1 or not last else last
            # each block streams into at most its declared size (+1 to see an overlong one)
            piece = decompress_limited(self.path, blocks[src : src + cs], expect + 1,
                                       self.compressor, compressed=cs, exact=False).tobytes()
            if len(piece) != expect:
                raise InputError(f"{self.path}: compressed block {b} has {len(piece)} bytes, "
                                 f"expected {expect}")
            piece = piece[: nbytes - pos]
            out[pos : pos + len(piece)] = piece
            pos += len(piece)
            src += cs
        return out if pos == nbytes else self._short(pos, nbytes)

    def _short(self, got: int, want: int) -> bytes:
        raise InputError(f"{self.path}: data is truncated ({got} of {want} bytes)")


def _split_appended(path: Path, text: bytes) -> tuple[bytes, bytes | None, str]:
    """Split off ``<AppendedData>`` (raw bytes are not XML) from the parseable part."""
    i = text.find(b"<AppendedData")
    if i < 0:
        return text, None, ""
    tag_end = text.find(b">", i)
    under = text.find(b"_", tag_end)
    if tag_end < 0 or under < 0:
        raise InputError(f"{path}: malformed AppendedData section")
    m = re.search(rb'encoding\s*=\s*"([^"]*)"', text[i:tag_end])
    encoding = m.group(1).decode() if m else "raw"
    return text[:i] + b"</VTKFile>", text[under + 1 :], encoding


@register_reader(".vti")
def read_vti(path: Path, array: str | None = None, component: int | None = None,
             all_arrays: bool = False, **_: object) -> Volume:
    # Long on purpose: the format's header is checked in file order, one step per field, so
    # the function reads like the format's grammar; split, the order would be lost.
    text = path.read_bytes()
    if not text.rstrip().endswith(b"</VTKFile>"):
        raise InputError(f"{path}: the file is truncated (no closing </VTKFile>)")
    xml_part, appended, app_enc = _split_appended(path, text)
    if b"<!DOCTYPE" in xml_part or b"<!ENTITY" in xml_part:
        raise InputError(f"{path}: XML with a DOCTYPE/ENTITY declaration is refused")
    try:
        root = ET.fromstring(xml_part)
    except ET.ParseError as exc:
        raise InputError(f"{path}: not valid VTK XML ({exc})") from None
    if root.tag != "VTKFile" or root.get("type") != "ImageData":
        raise InputError(f"{path}: not a VTK ImageData file (type "
                         f"'{root.get('type', root.tag)}')")
    image = root.find("ImageData")
    if image is None:
        raise InputError(f"{path}: no ImageData element")
    pieces = image.findall("Piece")
    if len(pieces) != 1:
        raise InputError(f"{path}: {len(pieces)} pieces; only single-piece images are supported")
    piece = pieces[0]
    extent = _floats(path, piece.get("Extent", image.get("WholeExtent")), 6, [], "Extent")
    if np.any(extent != np.round(extent)):
        raise InputError(f"{path}: extent must be integers")
    ext = extent.astype(np.int64)
    dims = [int(ext[2 * a + 1] - ext[2 * a] + 1) for a in range(3)]
    if min(dims) < 1:
        raise InputError(f"{path}: empty or negative extent {list(ext)}")
    origin = _floats(path, image.get("Origin"), 3, [0, 0, 0], "Origin")
    spacing = _floats(path, image.get("Spacing"), 3, [1, 1, 1], "Spacing")
    direction = _floats(path, image.get("Direction"), 9, list(np.eye(3).ravel()),
                        "Direction").reshape(3, 3)

    pdata = piece.find("PointData")
    elems = [] if pdata is None else pdata.findall("DataArray")
    if not elems and piece.find("CellData") is not None and piece.find("CellData").findall(
            "DataArray"):
        raise InputError(f"{path}: the image has only cell data; point data is needed")
    arrays = []
    for e in elems:
        try:
            ncomp = int(e.get("NumberOfComponents", "1"))
        except ValueError:
            raise InputError(f"{path}: bad NumberOfComponents") from None
        if ncomp < 1:
            raise InputError(f"{path}: bad NumberOfComponents {ncomp}")
        arrays.append((e.get("Name", f"array{len(arrays)}"), ncomp))
    active = None if pdata is None else pdata.get("Scalars")
    idx, c = _choose(path, arrays, active, array, component)
    blocks = _Blocks(path, root, appended, app_enc)
    npoints = int(np.prod(dims, dtype=object))
    ncomp = arrays[idx][1]
    flat = _decode_array(path, elems[idx], blocks, appended, app_enc, npoints * ncomp)
    data = _component(flat, dims, ncomp, c)
    if all_arrays:  # every array as stored, for a pass-through copy (copy_image)
        point = []
        for e, (name, nc) in zip(elems, arrays):
            arr = flat if e is elems[idx] else _decode_array(path, e, blocks, appended,
                                                             app_enc, npoints * nc)
            point.append({"name": name, "components": nc, "data": arr})
        field = []
        fdata = image.find("FieldData")
        for e in [] if fdata is None else fdata.findall("DataArray"):
            try:
                nc = int(e.get("NumberOfComponents", "1"))
                nt = int(e.get("NumberOfTuples", "0"))
            except ValueError:
                raise InputError(f"{path}: bad field-data array size") from None
            if nc < 1 or nt < 0:
                raise InputError(f"{path}: bad field-data array size")
            field.append({"name": e.get("Name", f"field{len(field)}"), "components": nc,
                          "data": _decode_array(path, e, blocks, appended, app_enc, nc * nt)})
        extra = {"point_data": point, "field_data": field, "active": arrays[idx][0]}
    else:
        extra = {}

    affine = np.eye(4)  # LPS (VTK's physical frame)
    affine[:3, :3] = direction * spacing  # column a = Direction[:, a] * spacing[a]
    affine[:3, 3] = origin + affine[:3, :3] @ ext[0::2]
    vol = Volume(data, lps_to_ras(affine), name=str(path))
    vol.meta.update(arrays=[a[0] for a in arrays], array=arrays[idx][0], components=ncomp,
                    component=c, array_components=[a[1] for a in arrays], **extra)
    return vol


def _decode_array(path: Path, elem: ET.Element, blocks: _Blocks, appended: bytes | None,
                  app_enc: str, count: int) -> np.ndarray:
    """The ``count`` values of one DataArray (ascii, inline binary or appended), as stored."""
    tname = elem.get("type", "")
    if tname not in _XML_TYPES:
        raise InputError(f"{path}: unsupported data type '{tname[:20]}'")
    dtype = np.dtype(blocks.order + _XML_TYPES[tname])
    nbytes = count * dtype.itemsize
    check_size(path, nbytes)
    fmt = elem.get("format", "ascii")
    if fmt == "ascii":
        txt = elem.text or ""
        check_size(path, count, available=(len(txt) + 1) // 2, what="text data (values)")
        try:
            flat = np.array(txt.split()[:count], dtype=np.float64).astype(dtype)
        except ValueError:
            raise InputError(f"{path}: bad number in ASCII data") from None
        if flat.size < count:
            raise InputError(f"{path}: data is truncated ({flat.size} of {count} values)")
        return flat
    if fmt == "binary":
        payload = "".join((elem.text or "").split()).encode("ascii")
        if blocks.compressor is None:
            check_size(path, nbytes, available=len(payload) * 3 // 4)
        return np.frombuffer(blocks.decode(payload, True, nbytes), dtype=dtype)
    if fmt == "appended":
        if appended is None:
            raise InputError(f"{path}: array refers to appended data but there is none")
        try:
            offset = int(elem.get("offset", "0"))
        except ValueError:
            raise InputError(f"{path}: bad appended-data offset") from None
        if not 0 <= offset <= len(appended):
            raise InputError(f"{path}: appended-data offset {offset} is beyond the file end")
        is_b64 = app_enc == "base64"
        payload = memoryview(appended)[offset:]
        if is_b64:
            payload = bytes(payload)
            payload = payload[: max(payload.find(b"<"), 0) or len(payload)]
            payload = b"".join(payload.split())
        if blocks.compressor is None:
            avail = len(payload) * 3 // 4 if is_b64 else len(payload)
            check_size(path, nbytes, available=avail - blocks.htype.itemsize)
        return np.frombuffer(blocks.decode(payload, is_b64, nbytes), dtype=dtype)
    raise InputError(f"{path}: unsupported DataArray format '{fmt[:20]}'")


_ALL_XML_NAMES = {"i1": "Int8", "u1": "UInt8", "i2": "Int16", "u2": "UInt16", "i4": "Int32",
                  "u4": "UInt32", "i8": "Int64", "u8": "UInt64", "f4": "Float32",
                  "f8": "Float64"}


def _arrays_to_write(volume: Volume, path: Path) -> tuple[list[dict], list[dict], str]:
    """(point arrays, field arrays, active name) to write: every array the file had when the
    volume was read with ``all_arrays=True`` (a pass-through copy), else the volume's values."""
    npoints = int(np.prod(volume.shape))
    point = volume.meta.get("point_data")
    if point and all(a["data"].size == npoints * a["components"] for a in point):
        return point, volume.meta.get("field_data", []), volume.meta.get("active") or \
            point[0]["name"]
    data = real_values(volume)
    return [{"name": "scalars", "components": 1, "data": data}], [], "scalars"


def _flat_le(arr: np.ndarray) -> np.ndarray:
    """x-fastest (components fastest of all) little-endian values of a stored or [i,j,k] array."""
    dt = arr.dtype.newbyteorder("<")
    if arr.ndim == 3:
        arr = arr.ravel(order="F")
    return np.ascontiguousarray(arr, dtype=dt)


@register_writer(".vti")
def write_vti(volume: Volume, path: Path) -> None:
    """Raw appended data (UInt64 header), Origin, Spacing and Direction (VTK >= 9), in LPS;
    every point-data and field-data array of a pass-through copy, names and components kept."""
    # Long on purpose: the XML is written in the order VTK expects it, element by element.
    aff = ras_to_lps(volume.affine)
    spacing = np.linalg.norm(aff[:3, :3], axis=0)
    direction = aff[:3, :3] / spacing
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-9):
        raise InputError(f"{path}: .vti cannot store a sheared affine (axes not orthogonal); "
                         f"write .nii.gz, .nrrd or .mha")
    point, field, active = _arrays_to_write(volume, path)
    nx, ny, nz = volume.shape

    def nums(v) -> str:
        return " ".join(repr(float(x)) for x in np.ravel(v))

    def name(text: str) -> str:
        from xml.sax.saxutils import quoteattr
        return quoteattr(text)

    blobs: list[np.ndarray] = []
    offset = 0

    def element(a: dict, tuples: int | None) -> str:
        nonlocal offset
        arr = a["data"]
        if arr.ndim != 3:
            arr = _flat_le(arr)
        t = _ALL_XML_NAMES.get(np.dtype(arr.dtype).str[1:])
        if t is None:
            raise InputError(f"{path}: cannot write array {a['name']!r} of type {arr.dtype}")
        blobs.append(arr)
        extra = f' NumberOfTuples="{tuples}"' if tuples is not None else ""
        out = (f'        <DataArray type="{t}" Name={name(a["name"])} '
               f'NumberOfComponents="{int(a["components"])}"{extra} format="appended" '
               f'offset="{offset}"/>\n')
        offset += 8 + arr.nbytes
        return out

    fields = "".join(element(a, a["data"].size // a["components"]) for a in field)
    points = "".join(element(a, None) for a in point)
    head = (
        '<?xml version="1.0"?>\n'
        '<VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" '
        'header_type="UInt64">\n'
        f'  <ImageData WholeExtent="0 {nx - 1} 0 {ny - 1} 0 {nz - 1}" '
        f'Origin="{nums(aff[:3, 3])}" Spacing="{nums(spacing)}" '
        f'Direction="{nums(direction)}">\n'
        + (f"    <FieldData>\n{fields}    </FieldData>\n" if field else "")
        + f'    <Piece Extent="0 {nx - 1} 0 {ny - 1} 0 {nz - 1}">\n'
        f'      <PointData Scalars={name(active)}>\n{points}'
        "      </PointData>\n"
        "    </Piece>\n"
        "  </ImageData>\n"
        '  <AppendedData encoding="raw">\n   _'
    )
    with open(path, "wb") as f:
        f.write(head.encode("utf-8"))
        for arr in blobs:
            f.write(np.array([arr.nbytes], dtype="<u8").tobytes())
            if arr.ndim == 3:  # the volume's values: slice by slice, no full-size copy
                le = arr.dtype.newbyteorder("<")
                for k in range(arr.shape[2]):
                    f.write(np.asarray(arr[:, :, k], dtype=le).tobytes(order="F"))
            else:
                f.write(arr.tobytes())
        f.write(b"\n  </AppendedData>\n</VTKFile>\n")


# --- legacy .vtk ----------------------------------------------------------------------------
_LEGACY_TYPES = {
    "bit": None, "unsigned_char": "u1", "char": "i1", "signed_char": "i1",
    "unsigned_short": "u2", "short": "i2", "unsigned_int": "u4", "int": "i4",
    "unsigned_long": "u8", "long": "i8", "float": "f4", "double": "f8",
    "vtktypeint64": "i8", "vtktypeuint64": "u8", "vtkidtype": "i8",
}
_WORD = re.compile(rb"\S+")



class _Legacy:
    """Cursor over a legacy VTK file: header lines are text, data is text or big-endian binary."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.buf = path.read_bytes()
        self.pos = 0

    def line(self) -> str:
        while self.pos < len(self.buf):
            end = self.buf.find(b"\n", self.pos)
            end = len(self.buf) if end < 0 else end
            text = self.buf[self.pos:end].decode("latin-1").strip()
            self.pos = end + 1
            if text:
                return text
        return ""

    def values(self, count: int, dtype: str, binary: bool) -> np.ndarray:
        if binary:
            dt = np.dtype(">" + dtype)
            nbytes = count * dt.itemsize
            check_size(self.path, nbytes, available=len(self.buf) - self.pos)
            out = np.frombuffer(self.buf, dtype=dt, count=count, offset=self.pos)
            self.pos += nbytes
            return out
        # ASCII: each value needs at least one digit and a separator
        check_size(self.path, count, available=(len(self.buf) - self.pos + 1) // 2,
                   what="text data (values)")
        words: list[bytes] = []
        while len(words) < count and self.pos < len(self.buf):
            end = min(len(self.buf), self.pos + (1 << 22))
            nl = self.buf.find(b"\n", end)
            end = len(self.buf) if nl < 0 else nl + 1
            chunk = self.buf[self.pos:end].split()
            need = count - len(words)
            if len(chunk) > need:  # stop right after the last value we need
                last = next(itertools.islice(_WORD.finditer(self.buf, self.pos), need - 1, None))
                words += chunk[:need]
                self.pos = last.end()
                break
            words += chunk
            self.pos = end
        if len(words) < count:
            raise InputError(f"{self.path}: data is truncated ({len(words)} of {count} values)")
        try:
            return np.array(words, dtype=np.float64).astype(dtype)
        except ValueError:
            raise InputError(f"{self.path}: bad number in ASCII data") from None


def _legacy_dtype(path: Path, name: str) -> str:
    t = _LEGACY_TYPES.get(name.lower(), "?")
    if t is None or t == "?":
        raise InputError(f"{path}: unsupported data type '{name[:20]}'")
    return t


@register_reader(".vtk")
def read_vtk(path: Path, array: str | None = None, component: int | None = None,
             all_arrays: bool = False, **_: object) -> Volume:
    # Long on purpose: the format's header is checked in file order, one step per field, so
    # the function reads like the format's grammar; split, the order would be lost.
    r = _Legacy(path)
    if not r.line().lower().startswith("# vtk datafile"):
        raise InputError(f"{path}: not a legacy VTK file")
    r.line()  # title
    mode = r.line().upper()
    if mode not in ("ASCII", "BINARY"):
        raise InputError(f"{path}: expected ASCII or BINARY, got '{mode[:20]}'")
    binary = mode == "BINARY"
    ds = r.line().split()
    if len(ds) != 2 or ds[0].upper() != "DATASET":
        raise InputError(f"{path}: missing DATASET line")
    if ds[1].upper() != "STRUCTURED_POINTS":
        raise InputError(f"{path}: dataset {ds[1][:30]} is not an image (STRUCTURED_POINTS)")
    dims = origin = spacing = None
    npoints = None
    field: list[dict] = []
    while True:
        words = r.line().split()
        if not words:
            raise InputError(f"{path}: no POINT_DATA section")
        key = words[0].upper()
        try:
            if key == "DIMENSIONS":
                dims = [int(w) for w in words[1:4]]
            elif key in ("SPACING", "ASPECT_RATIO"):
                spacing = [float(w) for w in words[1:4]]
            elif key == "ORIGIN":
                origin = [float(w) for w in words[1:4]]
            elif key == "POINT_DATA":
                npoints = int(words[1])
                break
            elif key == "FIELD":  # the dataset's field data
                for _ in range(int(words[2])):
                    f = r.line().split()
                    ncomp, ntup = int(f[1]), int(f[2])
                    if ncomp < 1 or ntup < 0:
                        raise InputError(f"{path}: bad field array '{f[0][:30]}'")
                    vals = r.values(ncomp * ntup, _legacy_dtype(path, f[3]), binary)
                    field.append({"name": f[0], "components": ncomp, "data": vals})
                    _skip_metadata(r)
            elif key == "CELL_DATA":
                raise InputError(f"{path}: {key} before POINT_DATA is not supported")
            elif key == "METADATA":
                while r.line():
                    pass
        except (ValueError, IndexError):
            raise InputError(f"{path}: bad {key} line") from None
    if dims is None or len(dims) != 3:
        raise InputError(f"{path}: missing or bad DIMENSIONS")
    if min(dims) < 1:
        raise InputError(f"{path}: zero-sized axis in DIMENSIONS {dims}")
    spacing = spacing or [1.0, 1.0, 1.0]
    origin = origin or [0.0, 0.0, 0.0]
    if len(spacing) != 3 or len(origin) != 3:
        raise InputError(f"{path}: bad SPACING or ORIGIN")
    n = int(np.prod(dims, dtype=object))
    if npoints != n:
        raise InputError(f"{path}: POINT_DATA {npoints} does not match DIMENSIONS {dims}")

    # Collect the point-data arrays: (name, ncomp, dtype, data-position); read only the chosen.
    found: list[tuple[str, int, str, int]] = []
    active = None
    while True:
        line = r.line()
        if not line:
            break
        words = line.split()
        key = words[0].upper()
        try:
            if key == "SCALARS":
                ncomp = int(words[3]) if len(words) > 3 else 1
                dt = _legacy_dtype(path, words[2])
                save = r.pos
                nxt = r.line()
                if not nxt.upper().startswith("LOOKUP_TABLE"):
                    r.pos = save
                entries = [(words[1], ncomp, dt)]
                active = active or words[1]
            elif key in ("VECTORS", "NORMALS"):
                entries = [(words[1], 3, _legacy_dtype(path, words[2]))]
            elif key == "TENSORS":
                entries = [(words[1], 9, _legacy_dtype(path, words[2]))]
            elif key == "TEXTURE_COORDINATES":
                entries = [(words[1], int(words[2]), _legacy_dtype(path, words[3]))]
            elif key == "COLOR_SCALARS":
                entries = [(words[1], int(words[2]), "u1" if binary else "f4")]
            elif key == "LOOKUP_TABLE":  # a table's own data: 4 values per entry
                r.values(4 * int(words[2]), "u1" if binary else "f4", binary)
                continue
            elif key == "FIELD":
                entries = []
                for _ in range(int(words[2])):
                    f = r.line().split()
                    ncomp, ntup = int(f[1]), int(f[2])
                    if ntup != n:
                        raise InputError(f"{path}: field array '{f[0]}' has {ntup} tuples, "
                                         f"expected {n}")
                    entries.append((f[0], ncomp, _legacy_dtype(path, f[3])))
                    found.append((f[0], ncomp, entries[-1][2], r.pos))
                    r.values(n * ncomp, entries[-1][2], binary)
                    _skip_metadata(r)
                continue
            elif key == "METADATA":
                while r.line():
                    pass
                continue
            elif key == "CELL_DATA":
                break  # cell arrays are not image samples
            else:
                raise InputError(f"{path}: unexpected '{line[:30]}' in POINT_DATA")
        except (ValueError, IndexError):
            raise InputError(f"{path}: bad line '{line[:40]}'") from None
        name, ncomp, dt = entries[0]
        if ncomp < 1:
            raise InputError(f"{path}: bad number of components in '{line[:40]}'")
        found.append((name, ncomp, dt, r.pos))
        r.values(n * ncomp, dt, binary)  # validate and skip
        _skip_metadata(r)
    idx, c = _choose(path, [(f[0], f[1]) for f in found], active, array, component)
    name, ncomp, dt, pos = found[idx]
    r.pos = pos
    flat = r.values(n * ncomp, dt, binary)
    data = _component(flat, dims, ncomp, c)
    extra: dict = {}
    if all_arrays:  # every array as stored, for a pass-through copy (copy_image)
        point = []
        for fname, fnc, fdt, fpos in found:
            r.pos = fpos
            point.append({"name": fname, "components": fnc,
                          "data": r.values(n * fnc, fdt, binary)})
        extra = {"point_data": point, "field_data": field, "active": name}
    affine = np.diag(spacing + [1.0])  # LPS (VTK's physical frame)
    affine[:3, 3] = origin
    vol = Volume(data, lps_to_ras(affine), name=str(path))
    vol.meta.update(arrays=[f[0] for f in found], array=name, components=ncomp, component=c,
                    array_components=[f[1] for f in found], **extra)
    return vol


def _skip_metadata(r: _Legacy) -> None:
    save = r.pos
    if r.line().upper() == "METADATA":
        while r.line():
            pass
        # METADATA blocks end with a blank line; r.line() skipped it
    else:
        r.pos = save


_ALL_LEGACY_NAMES = {"u1": "unsigned_char", "i1": "char", "u2": "unsigned_short", "i2": "short",
                     "u4": "unsigned_int", "i4": "int", "u8": "vtktypeuint64",
                     "i8": "vtktypeint64", "f4": "float", "f8": "double"}


@register_writer(".vtk")
def write_vtk(volume: Volume, path: Path) -> None:
    """Binary (big-endian) STRUCTURED_POINTS: LPS origin and positive spacing only (no
    Direction), so the volume's axes must be +L, +P, +S (orientation code LPS). A pass-through
    copy writes every point-data array (the active one as SCALARS, the others as a FIELD) and
    the dataset's field data, names and components kept."""
    lps = ras_to_lps(volume.affine)
    m = lps[:3, :3]
    spacing = np.diag(m)
    if np.any(m != np.diag(spacing)) or np.any(spacing <= 0):
        raise InputError(f"{path}: legacy .vtk stores only an LPS origin and positive spacing "
                         f"(axes L, P, S); this volume is {volume.orientation}-oriented "
                         f"(write .vti, .nii.gz, .nrrd or .mha)")
    point, field, active = _arrays_to_write(volume, path)
    for a in point + field:
        if any(ch.isspace() for ch in a["name"]) or not a["name"]:
            raise InputError(f"{path}: legacy .vtk cannot store the array name {a['name']!r} "
                             f"(write .vti)")
    nx, ny, nz = volume.shape
    first = next(a for a in point if a["name"] == active)
    rest = [a for a in point if a is not first]

    def typename(a: dict) -> str:
        t = _ALL_LEGACY_NAMES.get(np.dtype(a["data"].dtype).str[1:])
        if t is None:
            raise InputError(f"{path}: cannot write array {a['name']!r} of type "
                             f"{a['data'].dtype}")
        return t

    def blob(f, a: dict) -> None:
        arr = a["data"]
        dt = np.dtype(">" + np.dtype(arr.dtype).str[1:])
        if arr.ndim == 3:
            for k in range(arr.shape[2]):
                f.write(np.asarray(arr[:, :, k], dtype=dt).tobytes(order="F"))
        else:
            f.write(np.asarray(arr, dtype=dt).tobytes())
        f.write(b"\n")

    def field_block(f, arrays: list[dict]) -> None:
        f.write(f"FIELD FieldData {len(arrays)}\n".encode())
        for a in arrays:
            nc = int(a["components"])
            f.write(f"{a['name']} {nc} {a['data'].size // nc} {typename(a)}\n".encode())
            blob(f, a)

    with open(path, "wb") as f:
        f.write(b"# vtk DataFile Version 3.0\nglmip\nBINARY\nDATASET STRUCTURED_POINTS\n")
        if field:
            field_block(f, field)
        f.write((f"DIMENSIONS {nx} {ny} {nz}\n"
                 f"SPACING {' '.join(repr(float(s)) for s in spacing)}\n"
                 f"ORIGIN {' '.join(repr(float(o)) for o in lps[:3, 3])}\n"
                 f"POINT_DATA {nx * ny * nz}\n"
                 f"SCALARS {first['name']} {typename(first)} {int(first['components'])}\n"
                 "LOOKUP_TABLE default\n").encode())
        blob(f, first)
        if rest:
            field_block(f, rest)
