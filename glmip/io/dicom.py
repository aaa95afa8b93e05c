"""DICOM through pydicom: a file of a series (-> the series in its directory), a directory, or
one multi-frame file.

Slices are sorted by their position along the slice normal; the third axis of the affine is
the step between the first and last positions divided by their count (so spacing comes from
the positions, and a tilted gantry gives an honest sheared affine). Array axis i runs along
the Image Orientation row direction (increasing column index), j along the column direction,
so each slice is ``pixel_array.T``. Patient coordinates are LPS, converted to RAS.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..volume import Volume
from .registry import DEFLATE_MAX_RATIO, decompress_limited
from .registry import InputError, check_size, register_directory_reader, register_reader

_MAX_FILES = 100_000
# Uncompressed transfer syntaxes: the pixel data size can be checked against the file size.
_NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"}


def _is_dicom_file(f: Path) -> bool:
    try:
        with open(f, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return head[128:132] == b"DICM" or f.suffix.lower() in (".dcm", ".ima", ".dicom")


def _dicom_files(d: Path) -> list[Path]:
    try:
        names = sorted(os.listdir(d))
    except OSError as exc:
        raise InputError(f"{d}: cannot list directory ({exc.strerror})") from None
    files = [d / n for n in names[:_MAX_FILES] if (d / n).is_file() and n != "DICOMDIR"]
    return [f for f in files if _is_dicom_file(f)]


def _headers(files: list[Path]):
    out = []
    for f in files:
        try:
            ds = _dcmread(f, stop_before_pixels=True)
        except InputError as exc:
            if "deflated" in str(exc):
                raise  # a deflate bomb beside the file is refused, not skipped silently
            continue
        except Exception:
            continue  # not DICOM after all, or unreadable: not part of any series
        if "Rows" in ds and "Columns" in ds:
            out.append((f, ds))
    return out


def _series_of(headers) -> dict[str, list]:
    series: dict[str, list] = {}
    for f, ds in headers:
        series.setdefault(str(ds.get("SeriesInstanceUID", "unknown")), []).append((f, ds))
    return series


def _pick_series(where: Path, series: dict[str, list], choice: str | None) -> list:
    uids = sorted(series, key=lambda u: (str(series[u][0][1].get("SeriesNumber", "")), u))
    if choice is not None:
        if choice in series:
            return series[choice]
        if str(choice).isdigit() and 1 <= int(choice) <= len(uids):
            return series[uids[int(choice) - 1]]
        raise InputError(f"{where}: no series '{choice}' (there are {len(uids)}: use 1.."
                         f"{len(uids)} or a Series Instance UID)")
    if len(uids) == 1:
        return series[uids[0]]
    listing = "; ".join(
        f"{n}) {u} {series[u][0][1].get('Modality', '')} "
        f"'{str(series[u][0][1].get('SeriesDescription', ''))[:30]}' {len(series[u])} files"
        for n, u in enumerate(uids, 1))
    raise InputError(f"{where}: {len(uids)} DICOM series, choose one with --series N or UID: "
                     f"{listing}")


# Patient, study and series attributes kept of the source in ``Volume.meta["dicom"]`` (plain
# strings, so a volume travels to worker processes): a derived picture written as DICOM
# (glmip/dicom_out.py) joins the same patient and study.
SOURCE_ATTRIBUTES = (
    "PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex",
    "PatientAge", "OtherPatientIDs", "StudyInstanceUID", "StudyDate", "StudyTime", "StudyID",
    "AccessionNumber", "ReferringPhysicianName", "StudyDescription", "Modality",
    "SeriesInstanceUID", "SeriesNumber", "SeriesDescription", "FrameOfReferenceUID",
    "SOPClassUID", "SOPInstanceUID", "BodyPartExamined", "PatientPosition",
)


def _source_attributes(ds) -> dict[str, str]:
    """The source's patient/study/series attributes that are present and not empty, as text
    (pydicom has already decoded them from the file's character set)."""
    kept: dict[str, str] = {}
    for key in SOURCE_ATTRIBUTES:
        try:
            value = ds.get(key)
        except Exception:  # a malformed value: leave it out
            continue
        if value is None:
            continue
        text = "\\".join(str(v) for v in value) if type(value).__name__ == "MultiValue" \
            else str(value)
        if text.strip():
            kept[key] = text.strip()
    return kept


def _keep_source(vol: Volume, ds) -> Volume:
    vol.meta["dicom"] = _source_attributes(ds)
    return vol


def _floats(ds, key: str, n: int, default):
    v = ds.get(key) if ds is not None else None
    if v is None or isinstance(v, (str, bytes, int, float)):
        v = [] if v is None or v == "" else [v]
    try:
        vals = [float(x) for x in v]
    except (TypeError, ValueError):
        vals = []
    if len(vals) != n or not all(np.isfinite(vals)):
        return list(default) if default is not None else None
    return vals


def _frame_item(ds, seq: str, index: int | None, key: str):
    """An attribute from the per-frame (or shared) functional groups of an enhanced file."""
    groups = []
    if index is not None and "PerFrameFunctionalGroupsSequence" in ds:
        pf = ds.PerFrameFunctionalGroupsSequence
        if index < len(pf):
            groups.append(pf[index])
    if "SharedFunctionalGroupsSequence" in ds and len(ds.SharedFunctionalGroupsSequence):
        groups.append(ds.SharedFunctionalGroupsSequence[0])
    for g in groups:
        if seq in g and len(g[seq].value):
            item = g[seq].value[0]
            if key in item:
                return item
    return None


def _check_pixels(path: Path, ds, frames: int) -> None:
    """Size-bomb guard: Rows x Columns x frames must fit in the file (uncompressed data)."""
    rows, cols = int(ds.Rows), int(ds.Columns)
    spp = int(ds.get("SamplesPerPixel", 1) or 1)
    bits = int(ds.get("BitsAllocated", 16) or 16)
    if rows < 1 or cols < 1 or frames < 1:
        raise InputError(f"{path}: zero-sized image ({rows} x {cols} x {frames})")
    if spp != 1:
        raise InputError(f"{path}: colour DICOM ({spp} samples per pixel) is not supported")
    nbytes = rows * cols * frames * max(bits // 8, 1)
    ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "1.2.840.10008.1.2"))
    check_size(path, nbytes, available=os.path.getsize(path) if ts in _NATIVE else None,
               what="pixel data")


def _affine(iop, pixel_spacing, first_pos, step) -> np.ndarray:
    row, col = np.array(iop[:3]), np.array(iop[3:])
    aff = np.eye(4)
    aff[:3, 0] = row * pixel_spacing[1]  # i: along a row (column spacing)
    aff[:3, 1] = col * pixel_spacing[0]  # j: down a column (row spacing)
    aff[:3, 2] = step
    aff[:3, 3] = first_pos
    aff[:2] *= -1  # LPS -> RAS
    aff[aff == 0] = 0.0
    return aff


def _rescale(src, ds) -> tuple[float, float]:
    """Rescale slope and intercept (times the RT Dose grid scaling)."""
    slope = float(src.get("RescaleSlope", 1) or 1)
    inter = float(src.get("RescaleIntercept", 0) or 0)
    grid = ds.get("DoseGridScaling")
    if grid is not None and float(grid) > 0:
        slope, inter = slope * float(grid), inter * float(grid)
    return slope, inter


def _scaling(items: list) -> tuple[float, float] | None:
    """Common (slope, intercept) of all slices, or None when they differ."""
    pairs = {(float(s), float(i)) for s, i in items}
    return pairs.pop() if len(pairs) == 1 else None


# Frame Increment Pointer values that make the frames *time* frames (Frame Time, Frame Time
# Vector, Trigger times): such a file is 2-D + time, not a stack of slices (docs/formats.md).
_TEMPORAL_POINTERS = {0x00181063, 0x00181065, 0x00181060, 0x00200100}


def _is_temporal(ds) -> bool:
    fip = ds.get("FrameIncrementPointer")
    if fip is None:
        return False
    tags = fip if isinstance(fip, (list, tuple)) or type(fip).__name__ == "MultiValue" \
        else [fip]
    return any(int(t) in _TEMPORAL_POINTERS for t in tags) and \
        "PerFrameFunctionalGroupsSequence" not in ds


def _read_temporal(path: Path, ds, frame: int | None) -> Volume:
    """One time frame of a 2-D + time multi-frame file: a one-slice volume."""
    nframes = int(ds.NumberOfFrames)
    f = 0 if frame is None else int(frame)
    if not 0 <= f < nframes:
        raise InputError(f"{path}: frame {f} out of range (the file has {nframes} time "
                         f"frames)")
    _check_pixels(path, ds, nframes)
    pixels = ds.pixel_array
    if pixels.ndim != 3:
        raise InputError(f"{path}: unexpected pixel array shape {pixels.shape}")
    iop = _floats(ds, "ImageOrientationPatient", 6, [1, 0, 0, 0, 1, 0])
    ps = _floats(ds, "PixelSpacing", 2, None) or _floats(ds, "ImagerPixelSpacing", 2, [1, 1])
    normal = np.cross(iop[:3], iop[3:])
    thick = (_floats(ds, "SliceThickness", 1, None) or [1.0])[0] or 1.0
    first = np.array(_floats(ds, "ImagePositionPatient", 3, [0, 0, 0]), dtype=np.float64)
    data = np.asfortranarray(pixels[f].T[:, :, None])
    slope, inter = _rescale(ds, ds)
    vol = Volume(data, _affine(iop, ps, first, normal * abs(thick)),
                 slope=float(slope) or 1.0, inter=float(inter), name=str(path))
    vol.meta.update(frames=nframes, frame=f, slices=1)
    return _keep_source(vol, ds)


def _read_multiframe(path: Path, ds, frame: int | None = None) -> Volume:
    if _is_temporal(ds):
        return _read_temporal(path, ds, frame)
    nframes = int(ds.NumberOfFrames)
    _check_pixels(path, ds, nframes)
    pixels = ds.pixel_array  # (frames, rows, cols)
    if pixels.ndim != 3:
        raise InputError(f"{path}: unexpected pixel array shape {pixels.shape}")
    po = _frame_item(ds, "PlaneOrientationSequence", 0, "ImageOrientationPatient")
    iop = _floats(po if po is not None else ds, "ImageOrientationPatient", 6,
                  [1, 0, 0, 0, 1, 0])
    pm = _frame_item(ds, "PixelMeasuresSequence", 0, "PixelSpacing")
    src = pm if pm is not None else ds
    ps = _floats(src, "PixelSpacing", 2, None) or _floats(ds, "ImagerPixelSpacing", 2, [1, 1])
    normal = np.cross(iop[:3], iop[3:])
    positions, scales = [], []
    for f in range(nframes):
        pp = _frame_item(ds, "PlanePositionSequence", f, "ImagePositionPatient")
        positions.append(_floats(pp, "ImagePositionPatient", 3, None) if pp is not None
                         else None)
        pv = _frame_item(ds, "PixelValueTransformationSequence", f, "RescaleSlope")
        src = pv if pv is not None else ds
        scales.append(_rescale(src, ds))
    if all(p is not None for p in positions):
        order = np.argsort([float(np.dot(p, normal)) for p in positions], kind="stable")
        pos = np.array(positions, dtype=np.float64)[order]
    else:
        # Plain multi-frame without per-frame positions: frames stacked along the normal, at
        # the RT Dose GridFrameOffsetVector or at the slice spacing.
        first = np.array(_floats(ds, "ImagePositionPatient", 3, [0, 0, 0]))
        offsets = _floats(ds, "GridFrameOffsetVector", nframes, None)
        if offsets is None:
            gap = (_floats(ds, "SpacingBetweenSlices", 1, None)
                   or _floats(pm if pm is not None else ds, "SliceThickness", 1, None)
                   or [1.0])[0]
            offsets = list(np.arange(nframes) * gap)
        order = np.argsort(offsets, kind="stable")
        pos = first + np.outer(np.asarray(offsets)[order], normal)
    data = np.asfortranarray(pixels[order].transpose(2, 1, 0))
    return _keep_source(_finish(path, data, iop, ps, pos, [scales[i] for i in order]), ds)


def _finish(path: Path, data: np.ndarray, iop, ps, pos: np.ndarray, scales) -> Volume:
    n = len(pos)
    if n < 2:
        raise InputError(f"{path}: a single 2-D DICOM slice, not a volume")
    steps = np.diff(pos, axis=0)
    step = (pos[-1] - pos[0]) / (n - 1)
    gaps = np.linalg.norm(steps, axis=1)
    if np.any(gaps < 1e-6 * max(1.0, float(np.linalg.norm(step)))):
        raise InputError(f"{path}: several slices share a position (a time series or several "
                         f"echoes?); split the series")
    normal = np.cross(iop[:3], iop[3:])
    normal = normal / (np.linalg.norm(normal) or 1.0)
    along = steps @ normal
    off = np.linalg.norm(steps - np.outer(along, normal), axis=1)
    if np.any(off > 0.05 * np.maximum(np.abs(along), 1e-9)):
        raise InputError(f"{path}: slice positions do not lie along the slice normal (a slice "
                         f"is displaced sideways by up to {off.max():.4g} mm); cannot stack")
    if np.max(np.abs(steps - step)) > 0.05 * np.linalg.norm(step):
        raise InputError(f"{path}: slice positions are not evenly spaced along one line "
                         f"(gaps {gaps.min():.4g} to {gaps.max():.4g} mm)")
    scaling = _scaling(scales)
    slope, inter = scaling if scaling is not None else (1.0, 0.0)
    if scaling is None:  # per-slice rescale: real values
        s = np.array([float(a) for a, _ in scales], dtype=np.float32)
        b = np.array([float(c) for _, c in scales], dtype=np.float32)
        data = data.astype(np.float32) * s + b
    aff = _affine(iop, ps, pos[0], step)
    vol = Volume(data, aff, slope=slope if slope != 0 else 1.0, inter=inter, name=str(path))
    vol.meta["slices"] = n
    return vol


def _read_series(where: Path, headers) -> Volume:
    ds0 = headers[0][1]
    iop = _floats(ds0, "ImageOrientationPatient", 6, [1, 0, 0, 0, 1, 0])
    ps = _floats(ds0, "PixelSpacing", 2, None) or _floats(ds0, "ImagerPixelSpacing", 2, [1, 1])
    normal = np.cross(iop[:3], iop[3:])
    rows, cols = int(ds0.Rows), int(ds0.Columns)
    if len(headers) < 2:
        raise InputError(f"{where}: a single 2-D DICOM slice, not a volume")
    keyed = []
    for f, ds in headers:
        if int(ds.Rows) != rows or int(ds.Columns) != cols:
            raise InputError(f"{f}: slice size {ds.Rows} x {ds.Columns} differs from the "
                             f"series' {rows} x {cols}")
        p = _floats(ds, "ImagePositionPatient", 3, None)
        if p is None:
            raise InputError(f"{f}: slice without Image Position (Patient); cannot stack")
        o = _floats(ds, "ImageOrientationPatient", 6, [1, 0, 0, 0, 1, 0])
        if np.max(np.abs(np.subtract(o, iop))) > 1e-3:
            raise InputError(f"{where}: slices are not parallel (Image Orientation (Patient) "
                             f"of {f.name} differs from the first slice's: a radial or "
                             f"multi-plane series cannot be stacked)")
        keyed.append((float(np.dot(p, normal)), p, f, ds))
    keyed.sort(key=lambda t: t[0])
    data = None
    scales = []
    for k, (_, _, f, hdr) in enumerate(keyed):
        _check_pixels(f, hdr, 1)
        ds = _dcmread(f)
        pix = ds.pixel_array
        if pix.shape != (rows, cols):
            raise InputError(f"{f}: pixel data shape {pix.shape}, expected {(rows, cols)}")
        if data is None:
            data = np.empty((cols, rows, len(keyed)), dtype=pix.dtype, order="F")
        elif pix.dtype != data.dtype:
            raise InputError(f"{f}: pixel type {pix.dtype} differs from the series' "
                             f"{data.dtype}")
        data[:, :, k] = pix.T
        scales.append(_rescale(ds, ds))
    pos = np.array([t[1] for t in keyed], dtype=np.float64)
    vol = _finish(where, data, iop, ps, pos, scales)
    vol.meta["series"] = str(ds0.get("SeriesInstanceUID", ""))
    return _keep_source(vol, ds0)


_DEFLATED = "1.2.840.10008.1.2.1.99"
_HEADER_PREFIX = 1 << 20  # inflated bytes enough to hold a header (group 2 to Pixel Data)


def _inflated(path: Path, **kw):
    """A Deflated Explicit VR Little Endian file, inflated with a running limit.

    pydicom inflates the whole dataset in memory (a few kB can hold gigabytes). Here: inflate
    at most 1 MiB, read the image size from that header, then inflate at most the header
    plus the declared pixel data (and 64 KiB for trailing elements); a stream that would
    expand further is refused. The result is read as Explicit VR Little Endian.
    """
    import io

    import pydicom
    from pydicom.filereader import _read_file_meta_info, read_preamble
    from pydicom.filewriter import write_file_meta_info
    from pydicom.uid import ExplicitVRLittleEndian

    with open(path, "rb") as fh:
        preamble = read_preamble(fh, False)
        meta = _read_file_meta_info(fh)
        start = fh.tell()
    size = os.path.getsize(path)

    def inflate_upto(limit: int) -> bytes:
        with open(path, "rb") as fh:
            fh.seek(start)
            return decompress_limited(path, fh, limit, "deflate", exact=False,
                                      what="deflated DICOM data").tobytes()

    def as_plain(body: bytes, **options):
        m = pydicom.dataset.FileMetaDataset(meta)
        m.TransferSyntaxUID = ExplicitVRLittleEndian
        buf = io.BytesIO()
        buf.write(preamble or b"\0" * 128)
        buf.write(b"DICM")
        write_file_meta_info(buf, m, enforce_standard=False)
        buf.write(body)
        buf.seek(0)
        return pydicom.dcmread(buf, **options)

    prefix = inflate_upto(min(_HEADER_PREFIX, DEFLATE_MAX_RATIO * size + 4096))
    head = as_plain(prefix, stop_before_pixels=True)
    rows, cols = int(head.get("Rows", 0) or 0), int(head.get("Columns", 0) or 0)
    if "PixelData" in head or (rows and cols):
        pass
    elif len(prefix) >= _HEADER_PREFIX:
        raise InputError(f"{path}: deflated DICOM header does not end within "
                         f"{_HEADER_PREFIX} inflated bytes (size bomb?)")
    frames = int(head.get("NumberOfFrames", 1) or 1)
    spp = int(head.get("SamplesPerPixel", 1) or 1)
    bits = int(head.get("BitsAllocated", 8) or 8)
    pixels = rows * cols * frames * spp * max(-(-bits // 8), 1)
    limit = min(len(prefix), _HEADER_PREFIX) + pixels + (64 << 10)
    check_size(path, pixels, compressed=size, what="deflated pixel data")
    body = inflate_upto(limit + 1)
    if len(body) > limit:
        raise InputError(f"{path}: deflated DICOM data expands beyond the {pixels} bytes of "
                         f"pixels its header declares (size bomb?)")
    ds = as_plain(body, **kw)
    ds.file_meta.TransferSyntaxUID = _DEFLATED  # say what the file is
    return ds


def _dcmread(path: Path, **kw):
    """pydicom.dcmread, also for files without the 128-byte preamble and 'DICM' prefix, and
    for deflated files with a running inflation limit (see _inflated)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        meta = pydicom.filereader.read_file_meta_info(str(path))
    except Exception:
        meta = None
    if meta is not None and str(meta.get("TransferSyntaxUID", "")) == _DEFLATED:
        return _inflated(path, **kw)
    try:
        return pydicom.dcmread(str(path), **kw)
    except InvalidDicomError:
        ds = pydicom.dcmread(str(path), force=True, **kw)
        if len(ds) == 0:
            raise InputError(f"{path}: not a DICOM file") from None
        return ds


@register_reader(".dcm", ".dicom", ".ima")
def read_dicom(path: Path, series: str | None = None, frame: int | None = None,
               **_: object) -> Volume:
    if path.is_dir():
        headers = _headers(_dicom_files(path))
        if not headers:
            raise InputError(f"{path}: the directory holds no DICOM images")
        picked = _pick_series(path, _series_of(headers), series)
        if len(picked) == 1 and int(picked[0][1].get("NumberOfFrames", 1) or 1) > 1:
            return _read_multiframe(picked[0][0], _dcmread(picked[0][0]), frame)
        return _read_series(path, picked)
    ds = _dcmread(path, stop_before_pixels=True)
    if "Rows" not in ds or "Columns" not in ds:
        raise InputError(f"{path}: DICOM file without an image")
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        full = _dcmread(path)
        return _read_multiframe(path, full, frame)
    # One slice of a series: read the whole series from its directory.
    uid = str(ds.get("SeriesInstanceUID", "unknown"))
    siblings = [f for f in _dicom_files(path.parent) if f != path]
    headers = [(path, ds)] + [h for h in _headers(siblings)
                              if str(h[1].get("SeriesInstanceUID", "unknown")) == uid]
    return _read_series(path, headers)


@register_directory_reader(lambda d: bool(_dicom_files(d)))
def read_dicom_dir(path: Path, series: str | None = None, frame: int | None = None,
                   **_: object) -> Volume:
    return read_dicom(path, series=series, frame=frame)
