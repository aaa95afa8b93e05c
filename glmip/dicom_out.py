"""Pictures as DICOM Secondary Capture objects (pydicom): picture(s) + recipe + source -> bytes.

Pure encoding, no GL and no files: ``glmip/pipeline.py`` renders, this module encodes, and
``glmip/outputs.py`` writes (atomically, a series all or nothing).

- one picture -> a *Secondary Capture Image* (``1.2.840.10008.5.1.4.1.1.7``);
- a turntable as one file -> a *Multi-frame Grayscale Byte SC* (``...7.2``) or *Multi-frame
  True Color SC* (``...7.4``) object, frames played at the movie's rate (Cine: Frame Time);
- a turntable as a series -> one Secondary Capture Image per frame, one new series.

Every object: patient and study copied from the source DICOM when there is one
(``Volume.meta["dicom"]``, kept by ``glmip/io/dicom.py``; old-style dates such as
``1995.06.26`` are normalised, values a DICOM date/time/UID cannot hold are left out), else
empty patient attributes and a new study; a new Series and SOP Instance UID; ImageType
``DERIVED\\SECONDARY``; Conversion Type ``WSD``; a Series Description naming the projection
(mode, view, window/level); MONOCHROME2 for grey pictures, RGB for colour ones, 8 bits; the
glmip recipe as JSON in **Image Comments (0020,4000)** (``Recipe.from_json(ds.ImageComments)``
reads it back) and the command that reproduces the picture in Derivation Description.

pydicom rather than highdicom: highdicom's ``SCImage`` makes single-frame Secondary Capture
only, and pydicom is already a dependency.
"""

from __future__ import annotations

import datetime as _dt
import io
import re
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from .errors import UsageError
from .options import GREY_COLORMAPS
from .version import __version__

if TYPE_CHECKING:
    from .recipe import Recipe

__all__ = ["SC_IMAGE", "MULTIFRAME_GREY", "MULTIFRAME_RGB", "DICOM_SUFFIXES", "is_dicom_path",
           "description", "new_uid", "picture_object", "movie_object", "series_objects"]

SC_IMAGE = "1.2.840.10008.5.1.4.1.1.7"
MULTIFRAME_GREY = "1.2.840.10008.5.1.4.1.1.7.2"  # Multi-frame Grayscale Byte SC
MULTIFRAME_RGB = "1.2.840.10008.5.1.4.1.1.7.4"  # Multi-frame True Color SC
DICOM_SUFFIXES = (".dcm", ".dicom")
_FRAME_TIME = 0x00181063

# What is copied of the source, by DICOM value representation (for the checks below).
_PATIENT = {"PatientName": "PN", "PatientID": "LO", "IssuerOfPatientID": "LO",
            "PatientBirthDate": "DA", "PatientSex": "CS", "PatientAge": "AS"}
_STUDY = {"StudyInstanceUID": "UI", "StudyDate": "DA", "StudyTime": "TM", "StudyID": "SH",
          "AccessionNumber": "SH", "ReferringPhysicianName": "PN", "StudyDescription": "LO"}
_SERIES = {"BodyPartExamined": "CS"}
_LENGTH = {"LO": 64, "SH": 16, "CS": 16, "PN": 64 * 5, "UI": 64, "AS": 4}
_TYPE2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate",
          "StudyTime", "StudyID", "AccessionNumber", "ReferringPhysicianName")


def is_dicom_path(path: Any) -> bool:
    return str(path).lower().endswith(DICOM_SUFFIXES)


def new_uid() -> str:
    from pydicom.uid import generate_uid

    return str(generate_uid())


def _date(text: str) -> str | None:
    digits = text.strip().replace(".", "").replace("-", "").replace("/", "")
    if not re.fullmatch(r"\d{8}", digits):
        return None
    try:
        _dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None
    return digits


def _time(text: str) -> str | None:
    t = text.strip().replace(":", "")
    return t if re.fullmatch(r"([01]\d|2[0-3])([0-5]\d([0-5]\d(\.\d{1,6})?)?)?", t) else None


def _clean(value: str, vr: str) -> str | None:
    """A source value as the VR allows, or None (left out) when it cannot be."""
    if vr == "DA":
        return _date(value)
    if vr == "TM":
        return _time(value)
    if vr == "UI":
        return value if re.fullmatch(r"[0-9]+(\.[0-9]+)*", value) and len(value) <= 64 \
            else None
    if vr == "CS":
        value = value.upper()
        if not re.fullmatch(r"[A-Z0-9 _]*", value):
            return None
    if vr == "AS" and not re.fullmatch(r"\d{3}[DWMY]", value):
        return None
    return value[: _LENGTH.get(vr, 64)]


def _fmt(v: Any) -> str:
    return f"{float(v):.4g}" if isinstance(v, (int, float)) else str(v)


def description(recipe: "Recipe", frames: int | None = None) -> str:
    """Series Description (at most 64 characters): ``glmip MIP anterior W700 L200``, the mode
    and the views, window/level (as resolved), and the turntable's frames and axis."""
    mode = str(recipe.get("mode") or "mip")
    views = ",".join(label for label, _ in recipe.cameras())
    parts = ["glmip", mode.upper(), views]
    if recipe.get("colormap") not in (None, *GREY_COLORMAPS):
        parts.append(str(recipe.get("colormap")))
    window, level = recipe.get("window"), recipe.get("level")
    if window is not None and level is not None:
        parts.append(f"W{_fmt(window)} L{_fmt(level)}")
    if recipe.kind == "turntable":
        m = recipe.movie_options()
        axis = m["axis"]
        axis = "".join(axis) if isinstance(axis, list) and all(isinstance(a, str) for a in axis) \
            else ("up" if axis is None else " ".join(_fmt(a) for a in np.ravel(axis)))
        parts.append(f"turntable {frames or m['frames']}f about {axis}")
    if recipe.frame_index is not None:
        parts.append(f"frame {recipe.frame_index + 1}")
    return " ".join(parts)[:64]


def _pixels(images: Sequence[np.ndarray]) -> tuple[np.ndarray, bool]:
    """Frames as one uint8 array (frames, rows, cols[, 3]); True when colour."""
    if not images:
        raise UsageError("no pictures to write as DICOM")
    colour = any(im.ndim == 3 for im in images)
    out = []
    for im in images:
        im = np.asarray(im)
        if im.dtype != np.uint8:
            raise UsageError(f"DICOM output takes uint8 pictures, got {im.dtype}")
        if im.ndim == 3:
            im = im[..., :3]
        elif colour:
            im = np.repeat(im[..., None], 3, axis=2)
        out.append(im)
    shapes = {im.shape for im in out}
    if len(shapes) != 1:
        raise UsageError(f"pictures of different sizes cannot share a DICOM object: {shapes}")
    return np.ascontiguousarray(np.stack(out)), colour


def _needs_utf8(ds) -> bool:
    for elem in ds.iterall():
        v = elem.value
        if isinstance(v, (str, bytes)) or type(v).__name__ == "PersonName":
            if not str(v).isascii():
                return True
    return False


def _dataset(images: Sequence[np.ndarray], recipe: "Recipe", source: Mapping[str, str] | None,
             *, sop_class: str, series_uid: str, study_uid: str | None, instance: int,
             output: str | None, frame_time_ms: float | None = None):
    # Long on purpose: one attribute after another, in the order of the Secondary Capture
    # IOD's modules (patient, study, series, equipment, image, pixels), as the standard lists.
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID

    pixels, colour = _pixels(images)
    frames = pixels.shape[0]
    multiframe = sop_class != SC_IMAGE
    if not multiframe and frames != 1:
        raise UsageError("a Secondary Capture Image holds one picture")
    source = dict(source or {})
    now = _dt.datetime.now()
    date, time = now.strftime("%Y%m%d"), now.strftime("%H%M%S.%f")

    ds = Dataset()
    sop_uid = new_uid()
    # Patient and study: copied from the source (type 2: present, empty when unknown).
    for key, vr in {**_PATIENT, **_STUDY, **_SERIES}.items():
        value = source.get(key)
        value = _clean(value, vr) if value else None
        if value is not None:
            setattr(ds, key, value)
        elif key in _TYPE2:
            setattr(ds, key, "")
    ds.StudyInstanceUID = ds.get("StudyInstanceUID") or study_uid or new_uid()
    # General Series: a new series of the source's modality (OT without a source).
    modality = _clean(source.get("Modality", ""), "CS") if source.get("Modality") else None
    ds.Modality = modality or "OT"
    ds.SeriesInstanceUID = series_uid
    try:
        ds.SeriesNumber = 1000 + int(source.get("SeriesNumber", 0))
    except ValueError:
        ds.SeriesNumber = 1000
    ds.SeriesDate, ds.SeriesTime = date, time
    ds.Laterality = ""  # type 2C: a projection of a whole volume has no one side
    ds.SeriesDescription = description(recipe, frames if multiframe else None)
    # SC Equipment
    ds.ConversionType = "WSD"
    ds.SecondaryCaptureDeviceManufacturer = "glmip"
    ds.SecondaryCaptureDeviceSoftwareVersions = __version__
    ds.Manufacturer = "glmip"
    ds.SoftwareVersions = __version__
    # General Image
    ds.InstanceNumber = instance
    ds.PatientOrientation = ""
    ds.ContentDate, ds.ContentTime = date, time
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.DerivationDescription = _derivation(recipe, source, output)
    ds.ImageComments = recipe.to_json()
    ds.BurnedInAnnotation = "NO"
    # SC Image
    ds.DateOfSecondaryCapture, ds.TimeOfSecondaryCapture = date, time
    # Image Pixel
    ds.SamplesPerPixel = 3 if colour else 1
    ds.PhotometricInterpretation = "RGB" if colour else "MONOCHROME2"
    if colour:
        ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = int(pixels.shape[1]), int(pixels.shape[2])
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if multiframe:
        ds.NumberOfFrames = frames
        ds.FrameIncrementPointer = _FRAME_TIME
        ds.FrameTime = f"{frame_time_ms or 100.0:.6g}"
        if not colour:  # SC Multi-frame Image: grey byte values are the stored values
            ds.PresentationLUTShape = "IDENTITY"
            ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "US"
    ds.PixelData = pixels.tobytes()
    # SOP Common
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop_uid
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time
    if _needs_utf8(ds):
        ds.SpecificCharacterSet = "ISO_IR 192"

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = f"GLMIP_{__version__}"[:16]
    ds.file_meta = meta
    return ds


def _derivation(recipe: "Recipe", source: Mapping[str, str], output: str | None) -> str:
    what = f"{str(recipe.get('mode') or 'mip').upper()} by glmip {__version__}"
    if source.get("SeriesInstanceUID"):
        what += f" of series {source['SeriesInstanceUID']}"
    if output is not None:
        from .recipe import reproduction_path

        again = recipe.command(reproduction_path(output))
        if output.endswith(("/", "\\")):
            again += " --format dicom"
        command = f"{what}; reproduce: {again}"
        if len(command) <= 1024:
            return command
    return what[:1024]


def _encode(ds) -> bytes:
    import pydicom

    buf = io.BytesIO()
    try:
        pydicom.dcmwrite(buf, ds, enforce_file_format=True)
    except TypeError:  # pydicom 2
        pydicom.dcmwrite(buf, ds, write_like_original=False)
    return buf.getvalue()


def picture_object(image: np.ndarray, recipe: "Recipe", source: Mapping[str, str] | None = None,
                   *, series_uid: str | None = None, study_uid: str | None = None,
                   instance: int = 1, output: str | None = None) -> bytes:
    """One picture (uint8 grey or RGB, rows top-first) as a Secondary Capture Image file."""
    return _encode(_dataset([image], recipe, source, sop_class=SC_IMAGE,
                            series_uid=series_uid or new_uid(), study_uid=study_uid,
                            instance=instance, output=output))


def movie_object(images: Sequence[np.ndarray], recipe: "Recipe",
                 source: Mapping[str, str] | None = None, *, fps: float = 15.0,
                 output: str | None = None) -> bytes:
    """A turntable's frames as one multi-frame Secondary Capture object (grey or colour)."""
    colour = any(np.ndim(im) == 3 for im in images)  # as _pixels decides it
    return _encode(_dataset(images, recipe, source,
                            sop_class=MULTIFRAME_RGB if colour else MULTIFRAME_GREY,
                            series_uid=new_uid(), study_uid=None, instance=1, output=output,
                            frame_time_ms=1000.0 / fps))


def series_objects(images: Iterable[np.ndarray], recipe: "Recipe",
                   source: Mapping[str, str] | None = None,
                   output: str | None = None) -> Iterator[bytes]:
    """A turntable's frames as a series, one at a time: one Secondary Capture Image per frame
    (instance numbers from 1, each carrying its frame's recipe), one new series and, without
    a source study, one new study."""
    series_uid, study_uid = new_uid(), new_uid()
    for k, im in enumerate(images):
        yield picture_object(im, recipe.frame(k), source, series_uid=series_uid,
                             study_uid=study_uid, instance=k + 1, output=output)
