"""The registry that maps file types to reader and writer functions, plus the checks every
reader shares: content sniffing, directory handling, size-bomb guards and atomic saving."""

from __future__ import annotations

import errno
import logging
import os
import stat
import warnings
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import InputError, OutputError, VolumeError
from ..outputs import check_output_file, staged_folder
from ..volume import Volume

Reader = Callable[..., Volume]
Writer = Callable[[Volume, Path], None]

_READERS: dict[str, Reader] = {}
_WRITERS: dict[str, Writer] = {}
# Directory readers: (probe(dir) -> bool, reader) tried in order (DICOM, then image stacks).
_DIR_READERS: list[tuple[Callable[[Path], bool], Reader]] = []

# Never allocate more than this for one image, whatever a header claims (GLMIP_MAX_BYTES).
MAX_BYTES = int(os.environ.get("GLMIP_MAX_BYTES", 2**34))
# Deflate cannot expand data by more than ~1032:1, so a zlib/gzip stream of n bytes cannot
# hold more than this many times n: a header promising more is lying (or a bomb).
DEFLATE_MAX_RATIO = 1100
# bzip2 and LZMA can expand further (long runs); a header promising more than this many times
# the compressed size is refused before anything is allocated (docs/formats.md, "Limits").
OTHER_MAX_RATIO = 20000
_RATIOS = {"zlib": DEFLATE_MAX_RATIO, "gzip": DEFLATE_MAX_RATIO, "deflate": DEFLATE_MAX_RATIO,
           "bzip2": OTHER_MAX_RATIO, "lzma": OTHER_MAX_RATIO}


_DOUBLE_SUFFIXES = (".nii.gz", ".img.gz", ".hdr.gz", ".mnc.gz", ".nrrd.gz")


def _suffix(path: Path) -> str:
    """Lower-case file type, keeping double suffixes such as ``.nii.gz``."""
    name = path.name.lower()
    for double in _DOUBLE_SUFFIXES:
        if name.endswith(double):
            return double
    return path.suffix.lower()


def register_reader(*suffixes: str) -> Callable[[Reader], Reader]:
    def deco(fn: Reader) -> Reader:
        for s in suffixes:
            _READERS[s] = fn
        return fn

    return deco


def register_writer(*suffixes: str) -> Callable[[Writer], Writer]:
    def deco(fn: Writer) -> Writer:
        for s in suffixes:
            _WRITERS[s] = fn
        return fn

    return deco


def register_directory_reader(probe: Callable[[Path], bool]) -> Callable[[Reader], Reader]:
    def deco(fn: Reader) -> Reader:
        _DIR_READERS.append((probe, fn))
        return fn

    return deco


# --- content sniffing -----------------------------------------------------------------------
# What the first bytes of each family look like. ``None`` from sniff() means "no idea" (text
# formats such as MetaImage or PAR, MGH without magic); only a confident answer that disagrees
# with the extension is refused.
_FAMILY = {
    ".nii": "nifti", ".hdr": "nifti", ".img": None, ".nii.gz": "gzip", ".img.gz": "gzip",
    ".hdr.gz": "gzip", ".mgz": "gzip", ".mgh": None, ".mnc": ("netcdf", "hdf5"),
    ".mnc.gz": "gzip", ".par": None, ".rec": None, ".mha": "metaimage", ".mhd": "metaimage",
    ".nrrd": "nrrd", ".nhdr": "nrrd", ".nrrd.gz": "gzip", ".vti": "xml", ".vtk": "vtk",
    ".dcm": "dicom", ".dicom": "dicom", ".ima": "dicom", ".tif": "tiff", ".tiff": "tiff",
    ".png": "png", ".npy": "npy", ".npz": "zip", ".zip": "zip",
}
_NAMES = {
    "nifti": "NIfTI/Analyze", "nifti2": "NIfTI-2", "gzip": "gzip-compressed", "netcdf": "MINC-1",
    "hdf5": "MINC-2/HDF5", "metaimage": "MetaImage", "nrrd": "NRRD", "xml": "XML (VTK)",
    "vtk": "legacy VTK", "dicom": "DICOM", "tiff": "TIFF", "png": "PNG", "npy": "NumPy .npy",
    "zip": "zip (.npz, Zarr zip store)",
}
# Families whose files always start with their magic bytes.
_STRICT = {"gzip", "nrrd", "npy", "zip", "png", "tiff", "xml", "vtk", "netcdf", "hdf5"}
# The family a file without a known extension is read as.
_SNIFFED_SUFFIX = {
    "nifti": ".nii", "nifti2": ".nii", "metaimage": ".mha", "nrrd": ".nrrd", "xml": ".vti",
    "vtk": ".vtk", "dicom": ".dcm", "tiff": ".tif", "png": ".png", "npy": ".npy",
    "zip": ".npz", "netcdf": ".mnc", "hdf5": ".mnc",
}


def sniff(head: bytes) -> str | None:
    """Best guess of a file's family from its first bytes (at least 512 of them if present)."""
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:7] == b"NRRD000":
        return "nrrd"
    if head[:6] == b"\x93NUMPY":
        return "npy"
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[128:132] == b"DICM":  # before TIFF: a DICOM preamble may hold a TIFF header
        return "dicom"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:4] in (b"CDF\x01", b"CDF\x02"):
        return "netcdf"
    if head[:8] == b"\x89HDF\r\n\x1a\n":
        return "hdf5"
    if head[:14].lower() == b"# vtk datafile":
        return "vtk"
    if head.lstrip()[:5] in (b"<?xml", b"<VTKF"):
        return "xml"
    if len(head) >= 348 and head[344:348] in (b"n+1\x00", b"ni1\x00"):
        return "nifti"
    if len(head) >= 8 and head[4:8] in (b"n+2\x00", b"ni2\x00"):
        return "nifti2"
    first = head.split(b"\n", 1)[0].strip()
    if first.split(b"=")[0].strip() in (b"ObjectType", b"NDims", b"Comment", b"DimSize"):
        return "metaimage"
    return None


def _check_content(path: Path, suffix: str) -> str:
    """Return the suffix to read ``path`` as, refusing content that contradicts its name."""
    with open(path, "rb") as f:
        head = f.read(1024)
    if not head:
        raise InputError(f"{path}: the file is empty")
    found = sniff(head)
    expected = _FAMILY.get(suffix, "unknown")
    if suffix not in _READERS:
        if found in _SNIFFED_SUFFIX:
            return _SNIFFED_SUFFIX[found]
        known = " ".join(sorted(_READERS))
        raise InputError(f"{path}: unknown file type '{suffix or path.name}' (known: {known})")
    if expected is None:
        return suffix  # nothing to compare (formats without magic); the reader checks
    allowed = expected if isinstance(expected, tuple) else (expected,)
    if found is None:
        if not set(allowed) & _STRICT:
            return suffix
        raise InputError(f"{path}: content is not {' or '.join(_NAMES[a] for a in allowed)} "
                         f"data, not what the name '{suffix}' says")
    if found == "nifti2" and "nifti" in allowed:
        return suffix
    if found not in allowed:
        raise InputError(
            f"{path}: content is {_NAMES.get(found, found)}, not what the name "
            f"'{suffix}' says ({' or '.join(_NAMES.get(a, a) for a in allowed)})"
        )
    return suffix


# --- guards readers share -------------------------------------------------------------------
_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISDIR, "a directory"))


def stat_input(path: Path, what: str = "") -> os.stat_result:
    """``os.stat`` (following links) with one-line errors: missing, link loop, no access."""
    label = f"{what} {path}" if what else str(path)
    try:
        return os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"{label}: symbolic link loop") from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise InputError(f"{label}: no such file or directory") from None
        raise InputError(f"{label}: cannot read ({exc.strerror or exc})") from None
    except (RuntimeError, ValueError) as exc:  # embedded NUL and the like
        raise InputError(f"{label}: cannot read ({exc})") from None


def regular_file(path: Path, what: str = "") -> Path:
    """Refuse anything that is not a regular file (a FIFO or /dev/zero would be read forever)."""
    st = stat_input(path, what)
    if not stat.S_ISREG(st.st_mode):
        kind = next((k for test, k in _KINDS if test(st.st_mode)), "not a regular file")
        label = f"{what} {path}" if what else str(path)
        raise InputError(f"{label}: {kind}, not a regular file")
    return path


def data_file(header: Path, name: str, allow_outside: bool = False,
              what: str = "data file") -> Path:
    """The detached data file ``name`` of ``header``: a regular file, and inside the header's
    folder unless ``allow_outside`` (reader option ``allow_outside_data``, docs/formats.md)."""
    src = Path(name) if os.path.isabs(name) else header.parent / name
    if not os.path.lexists(src):
        raise InputError(f"{header}: {what} {name} not found")
    regular_file(src, f"{header}: {what}")
    if not allow_outside:
        try:
            real = src.resolve(strict=True)
            base = header.parent.resolve(strict=True)
        except (OSError, RuntimeError):
            raise InputError(f"{header}: {what} {name}: symbolic link loop") from None
        if real != base and base not in real.parents:
            raise InputError(f"{header}: {what} {name} lies outside the header's folder "
                             f"(allow it with --allow-outside-data)")
    return src


def escape(text: str) -> str:
    """Control characters and terminal escapes shown as ``\x1b``-style escapes, never raw."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)

def check_size(path: Path, nbytes: int, available: int | None = None,
               compressed: int | None = None, what: str = "data",
               ratio: int = DEFLATE_MAX_RATIO) -> None:
    """Refuse a header whose declared data size cannot be true, before allocating anything.

    ``available``: bytes of uncompressed data present in the file; ``compressed``: size of a
    deflate (zlib/gzip) stream that must expand to ``nbytes``.
    """
    if nbytes > MAX_BYTES:
        raise InputError(f"{path}: header declares {nbytes} bytes of {what}, more than the "
                         f"{MAX_BYTES}-byte limit (set GLMIP_MAX_BYTES to raise it)")
    if available is not None and nbytes > available:
        raise InputError(f"{path}: {what} is truncated: header promises {nbytes} bytes, "
                         f"the file holds {max(available, 0)}")
    if compressed is not None and nbytes > ratio * compressed + 4096:
        raise InputError(f"{path}: header promises {nbytes} bytes but {compressed} compressed "
                         f"bytes cannot expand to that (truncated file or size bomb)")


def inflate(path: Path, data: bytes | memoryview, nbytes: int, wbits: int = zlib.MAX_WBITS,
            what: str = "compressed data") -> np.ndarray:
    """Decompress a zlib (or, with ``wbits=31``, gzip) stream into exactly ``nbytes`` bytes.

    Writes into one preallocated buffer (no second copy of the image), and stops at
    ``nbytes`` however much the stream would expand.
    """
    check_size(path, nbytes, compressed=len(data), what=what)
    out = np.empty(nbytes, dtype=np.uint8)
    dec = zlib.decompressobj(wbits)
    pos, chunk = 0, 1 << 20  # small pieces: the peak stays at the array plus ~2 MiB
    src = memoryview(data)
    try:
        while pos < nbytes:
            piece = dec.decompress(src, min(chunk, nbytes - pos))
            if not piece:
                if dec.eof or not dec.unconsumed_tail:
                    break
            out[pos : pos + len(piece)] = np.frombuffer(piece, dtype=np.uint8)
            pos += len(piece)
            src = dec.unconsumed_tail
    except zlib.error as exc:
        raise InputError(f"{path}: corrupted {what} ({exc})") from None
    if pos < nbytes:
        raise InputError(f"{path}: {what} is truncated ({pos} of {nbytes} bytes)")
    return out


def _decompressor(kind: str):
    import bz2
    import lzma

    if kind == "zlib":
        return zlib.decompressobj(zlib.MAX_WBITS)
    if kind == "gzip":
        return zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header
    if kind == "deflate":
        return zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate (DICOM deflated syntax)
    if kind == "bzip2":
        return bz2.BZ2Decompressor()
    if kind == "lzma":
        return lzma.LZMADecompressor()
    raise ValueError(kind)


def decompress_limited(path: Path, source: Any, nbytes: int, kind: str,
                       compressed: int | None = None, what: str = "compressed data",
                       exact: bool = True) -> np.ndarray:
    """Stream-decompress ``source`` (bytes, or a binary file object read in 1 MiB pieces) into
    at most ``nbytes`` bytes, the running limit: the output never grows past it, whatever the
    stream would expand to. Before allocating, ``nbytes`` is checked against MAX_BYTES and,
    given ``compressed`` (the input size), against the format's expansion ratio. With
    ``exact``, a stream shorter than ``nbytes`` is refused as truncated; else the output is
    cut to what the stream held."""
    import bz2  # noqa: F401  (errors below)
    import lzma

    check_size(path, nbytes, compressed=compressed, what=what, ratio=_RATIOS[kind])
    out = np.empty(nbytes, dtype=np.uint8)
    dec = _decompressor(kind)
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source)
        pieces = (view[i : i + (1 << 20)] for i in range(0, len(view), 1 << 20))
    else:
        pieces = iter(lambda: source.read(1 << 20), b"")
    pos = 0
    errors = (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError)
    try:
        for piece in pieces:
            data = piece
            while pos < nbytes:
                if kind in ("zlib", "gzip", "deflate"):
                    got = dec.decompress(data, nbytes - pos)
                    data = dec.unconsumed_tail
                    more = bool(data) and not dec.eof
                else:
                    got = dec.decompress(data, nbytes - pos)
                    data = b""
                    more = not dec.eof and not dec.needs_input
                out[pos : pos + len(got)] = np.frombuffer(got, dtype=np.uint8)
                pos += len(got)
                if not more:
                    break
            if pos >= nbytes or dec.eof:
                break
    except errors as exc:
        raise InputError(f"{path}: corrupted {what} ({exc})") from None
    if pos < nbytes:
        if exact:
            raise InputError(f"{path}: {what} is truncated ({pos} of {nbytes} bytes)")
        return out[:pos]
    return out


def pick_frame(path: Path, arr: np.ndarray, frame: int | None, axis: int = 3,
               what: str = "frame") -> np.ndarray:
    """Take index ``frame`` of ``axis`` from a 4-D array (refusing 1-D, 2-D, 5-D and more)."""
    if arr.ndim == 3:
        return arr
    if arr.ndim < 3:
        raise InputError(f"{path}: a volume needs 3 dimensions, the image has shape "
                         f"{tuple(arr.shape)}")
    if arr.ndim > 4:
        raise InputError(f"{path}: {arr.ndim}-D images are not supported "
                         f"(shape {tuple(arr.shape)})")
    n = arr.shape[axis]
    f = 0 if frame is None else int(frame)
    if not 0 <= f < n:
        raise InputError(f"{path}: {what} {f} out of range (the file has {n})")
    return np.take(arr, f, axis=axis) if n > 1 else arr.reshape(
        [s for a, s in enumerate(arr.shape) if a != axis])


def geometry_affine(spacing: Any = None, origin: Any = None) -> np.ndarray:
    """Affine for formats without geometry: ``--spacing`` and ``--origin`` (default 1 mm, 0)."""
    aff = np.eye(4)
    if spacing is not None:
        s = np.asarray(spacing, dtype=np.float64)
        if s.shape != (3,) or not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise VolumeError(f"spacing must be three positive numbers, got {spacing}")
        aff[:3, :3] = np.diag(s)
    if origin is not None:
        o = np.asarray(origin, dtype=np.float64)
        if o.shape != (3,) or not np.all(np.isfinite(o)):
            raise VolumeError(f"origin must be three finite numbers, got {origin}")
        aff[:3, 3] = o
    return aff


def real_values(volume: Volume) -> np.ndarray:
    """The data for a format that stores no scaling: as is, or real values in float32."""
    if volume.slope == 1 and volume.inter == 0:
        return volume.data
    return (volume.data.astype(np.float32) * np.float32(volume.slope)
            + np.float32(volume.inter))


# --- loading --------------------------------------------------------------------------------
def _one_line(p: Path, msg: str) -> str:
    """One printable line naming ``p``: whitespace runs collapsed, control characters (from
    file names and headers) escaped."""
    msg = msg.replace(str(p), escape(str(p)))
    msg = " ".join(msg.split())
    msg = escape(msg)
    return msg if escape(str(p)) in msg else f"{escape(str(p))}: {msg}"


def _read(p: Path, options: dict[str, Any]) -> Volume:
    st = stat_input(p)
    if stat.S_ISDIR(st.st_mode):
        if not os.access(p, os.R_OK | os.X_OK):
            raise InputError(f"{p}: permission denied")
        for probe, fn in _DIR_READERS:
            if probe(p):
                return fn(p, **options)
        raise InputError(f"{p}: the directory holds no DICOM series or image stack")
    regular_file(p)
    if not os.access(p, os.R_OK):
        raise InputError(f"{p}: permission denied")
    suffix = _check_content(p, _suffix(p))
    return _READERS[suffix](p, **options)


def load(path: str | os.PathLike[str], **options: Any) -> Volume:
    """Read a volume. ``options`` are reader options (``frame``, ``array``, ``component``,
    ``series``, ``spacing``, ``origin``, ``allow_outside_data``); a reader ignores those that
    do not apply. Every failure is one printable line (InputError)."""
    p = Path(path)
    try:
        # Libraries warn and log on odd files; the caller gets one error line or a volume.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.disable(logging.CRITICAL)
            try:
                vol = _read(p, options)
            finally:
                logging.disable(logging.NOTSET)
    except InputError as exc:
        raise InputError(_one_line(p, str(exc))) from None
    except VolumeError as exc:
        raise InputError(_one_line(p, str(exc))) from None
    except MemoryError:
        raise InputError(f"{escape(str(p))}: the image is too large to load into memory"
                         ) from None
    except RecursionError:
        raise InputError(f"{escape(str(p))}: cannot read (nesting too deep)") from None
    except Exception as exc:  # a reader's library failed on a broken file
        text = str(exc).strip()
        msg = text.splitlines()[0] if text else type(exc).__name__
        raise InputError(_one_line(p, f"{p}: cannot read ({type(exc).__name__}: {msg})"[:400])
                         ) from None
    if not vol.name:
        vol.name = str(p)
    return vol


# --- saving ---------------------------------------------------------------------------------
def writable_suffixes() -> list[str]:
    return sorted(_WRITERS)


def save(volume: Volume, path: str | os.PathLike[str]) -> None:
    """Write a volume in the format of ``path``'s extension, atomically.

    The writer works in a temporary folder beside the destination (``outputs.staged_folder``);
    the files it made are then moved into place, companion data files first, the named file
    last. On any failure nothing is left behind and earlier outputs stay intact.
    """
    p = Path(path)
    fn = _WRITERS.get(_suffix(p))
    if fn is None:
        known = " ".join(sorted(_WRITERS)) or "none yet"
        raise InputError(escape(f"{p}: cannot write '{_suffix(p) or p.name}' files "
                                f"(known: {known})"))
    try:
        check_output_file(p)
    except OutputError as exc:
        raise OutputError(escape(str(exc))) from None
    with staged_folder(p.parent if str(p.parent) else ".", escape(str(p)), last=p.name) as tmp:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn(volume, tmp / p.name)
        except (InputError, VolumeError) as exc:
            # The writer saw the staging folder's name; the user knows only the output's.
            msg = str(exc).replace(f"{tmp / p.name}: ", "").replace(str(tmp / p.name), str(p))
            raise InputError(_one_line(p, msg)) from None
        except OSError as exc:
            raise OutputError(escape(f"{p}: cannot write ({exc.strerror or exc})")) from None


def readable_suffixes() -> set[str]:
    """The file types :func:`load` reads (lower-case suffixes, ``.nii.gz`` style)."""
    return set(_READERS)


suffix_of = _suffix


def copy_image(src: str | os.PathLike[str], dst: str | os.PathLike[str],
               **options: Any) -> Volume:
    """Write the image ``src`` to ``dst`` as it was (vmtk's ``-ofile`` pass-through).

    A VTK image (.vti, .vtk) keeps every point-data array, with its name, components and
    stored type, and its field data, bit for bit, when ``dst`` is a VTK image too; other
    formats store the volume's values (the chosen array and component). Returns the volume.
    """
    vol = load(src, all_arrays=True, **options)
    save(vol, dst)
    return vol
