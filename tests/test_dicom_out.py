"""DICOM output (glmip/dicom_out.py through the pipeline) and glmip.rotating_mip.

Every object is read back with pydicom: pixels equal the PNG's (or the PNG frames'), patient
and study are the source's, series and instance UIDs are new, ImageType DERIVED\\SECONDARY,
the recipe is in Image Comments. Validated with dicom3tools' ``dciodvfy`` where installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import io_corpus as C
from glmip import dicom_out
from glmip.cli import main
from glmip.recipe import Recipe

pydicom = pytest.importorskip("pydicom")

PATIENT = {"PatientName": "Müller^Jörg", "PatientID": "P-0042", "PatientBirthDate": "19700102",
           "PatientSex": "M", "StudyDate": "20240131", "StudyTime": "101500",
           "StudyID": "S7", "AccessionNumber": "ACC123", "StudyDescription": "CTA neck",
           "ReferringPhysicianName": "Who^Doctor"}
STUDY_UID = "1.2.826.0.1.3680043.8.498.2"
SOURCE_SERIES = "1.2.826.0.1.3680043.8.498.1"


@pytest.fixture
def series(tmp_path):
    """A CT series written by pydicom with patient and study attributes (Latin-1 names)."""
    data = C.ref_data()
    C.dicom_series(tmp_path / "ct", data)
    for f in sorted((tmp_path / "ct").iterdir()):
        ds = pydicom.dcmread(f)
        ds.SpecificCharacterSet = "ISO_IR 100"
        for k, v in PATIENT.items():
            setattr(ds, k, v)
        ds.SeriesNumber = 3
        ds.save_as(f, enforce_file_format=True)
    return tmp_path / "ct"


def dciodvfy_errors(path: Path) -> list[str]:
    """dciodvfy's error lines for a file (warnings are not errors)."""
    exe = shutil.which("dciodvfy")
    if exe is None:
        pytest.skip("dciodvfy not installed (Debian package dicom3tools)")
    run = subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]


def check_copied(ds, source_series: str = SOURCE_SERIES) -> None:
    for k, v in PATIENT.items():
        assert str(ds.get(k)) == v, k
    assert ds.StudyInstanceUID == STUDY_UID
    assert ds.SeriesInstanceUID != source_series
    assert list(ds.ImageType) == ["DERIVED", "SECONDARY"]
    assert ds.Modality == "CT" and ds.ConversionType == "WSD"
    assert ds.SeriesNumber == 1003
    assert ds.SpecificCharacterSet == "ISO_IR 192"


# --- the pure encoder ------------------------------------------------------------------------
def test_picture_object_grey_and_rgb_read_back(rng):
    recipe = Recipe("in.nii.gz", {"view": "anterior", "window": 700.0, "level": 200.0,
                                  "mode": "mip"})
    grey = rng.integers(0, 256, (30, 40), dtype=np.uint8)
    ds = pydicom.dcmread(pydicom.filebase.DicomBytesIO(
        dicom_out.picture_object(grey, recipe, None, output="x.dcm")))
    assert ds.SOPClassUID == dicom_out.SC_IMAGE
    assert ds.PhotometricInterpretation == "MONOCHROME2" and ds.SamplesPerPixel == 1
    assert np.array_equal(ds.pixel_array, grey)
    assert ds.SeriesDescription == "glmip MIP anterior W700 L200"
    assert Recipe.from_json(ds.ImageComments) == recipe
    assert "reproduce: glmip render in.nii.gz -o x-reproduced.dcm" in ds.DerivationDescription
    assert ds.PatientName == "" and ds.Modality == "OT" and ds.StudyInstanceUID
    assert "SpecificCharacterSet" not in ds
    rgb = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    ds = pydicom.dcmread(pydicom.filebase.DicomBytesIO(
        dicom_out.picture_object(rgb, recipe.replace(colormap="hot"))))
    assert ds.PhotometricInterpretation == "RGB" and ds.PlanarConfiguration == 0
    assert np.array_equal(ds.pixel_array, rgb)
    assert "hot" in ds.SeriesDescription


def test_source_values_a_dicom_type_cannot_hold_are_normalised_or_left_out():
    src = {"StudyDate": "1995.06.26", "StudyTime": "11:20:00", "PatientBirthDate": "19951332",
           "StudyInstanceUID": "1.2.3", "Modality": "mr", "PatientAge": "forty"}
    ds = pydicom.dcmread(pydicom.filebase.DicomBytesIO(dicom_out.picture_object(
        np.zeros((4, 4), np.uint8), Recipe("x"), src)))
    assert ds.StudyDate == "19950626" and ds.StudyTime == "112000"
    assert ds.PatientBirthDate == "" and "PatientAge" not in ds
    assert ds.StudyInstanceUID == "1.2.3" and ds.Modality == "MR"


# --- glmip render ----------------------------------------------------------------------------
def test_render_dicom_series_to_dcm_copies_patient_and_study(series, tmp_path):
    png, dcm = tmp_path / "a.png", tmp_path / "a.dcm"
    opts = ["--view", "anterior", "--size", "48x40", "--window", "500", "--level", "100"]
    assert main(["render", str(series), "-o", str(png), *opts]) == 0
    assert main(["render", str(series), "-o", str(dcm), *opts]) == 0
    ds = pydicom.dcmread(dcm)
    assert np.array_equal(ds.pixel_array, np.asarray(Image.open(png)))
    check_copied(ds)
    assert ds.SeriesDescription == "glmip MIP anterior W500 L100"
    assert Recipe.from_json(ds.ImageComments) == Recipe.from_text(Image.open(png).text)
    assert dciodvfy_errors(dcm) == []


def test_render_batch_format_dicom_writes_dcm_files(series, tmp_path):
    out = tmp_path / "out"
    assert main(["render", str(series), "-o", f"{out}/", "--format", "dicom", "--size", "32",
                 "--view", "anterior,left", "--quiet"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["ct_anterior.dcm", "ct_left.dcm"]
    a, b = (pydicom.dcmread(out / n) for n in names)
    check_copied(a)
    assert a.SOPInstanceUID != b.SOPInstanceUID and "left" in b.SeriesDescription


def test_render_shared_mr_file_keeps_its_patient_and_study(shared_data, tmp_path):
    dcm = tmp_path / "mr.dcm"
    assert main(["render", str(shared_data / "mr-dicom.dcm"), "-o", str(dcm),
                 "--size", "64"]) == 0
    ds = pydicom.dcmread(dcm)
    src = pydicom.dcmread(shared_data / "mr-dicom.dcm", stop_before_pixels=True)
    assert ds.PatientName == src.PatientName and ds.StudyInstanceUID == src.StudyInstanceUID
    assert ds.StudyDescription == src.StudyDescription and ds.Modality == "MR"
    assert ds.StudyDate == "19950626"  # the file's 1995.06.26, as a DICOM date
    assert ds.SeriesInstanceUID != src.SeriesInstanceUID
    # The only error is the source's own study UID, copied as it is (it must match its study).
    errors = dciodvfy_errors(dcm)
    assert all("Illegal root for UID" in e and "Study Instance UID" in e for e in errors)


def test_render_format_and_suffix_must_agree(series, tmp_path, capsys):
    assert main(["render", str(series), "-o", str(tmp_path / "a.png"), "--format",
                 "dicom"]) == 2
    assert "the dicom format writes .dcm files" in capsys.readouterr().err
    assert main(["render", str(series), "-o", str(tmp_path / "a.jpg")]) == 2
    assert not list(tmp_path.glob("a.*"))


# --- glmip turntable -------------------------------------------------------------------------
def test_turntable_multiframe_object_matches_png_frames(series, tmp_path):
    opts = ["--frames", "5", "--size", "32x24", "--axis", "S", "--view", "anterior"]
    assert main(["turntable", str(series), "-o", str(tmp_path / "png") + "/", *opts,
                 "--quiet"]) == 0
    assert main(["turntable", str(series), "-o", str(tmp_path / "t.dcm"), *opts,
                 "--quiet", "--fps", "10"]) == 0
    ds = pydicom.dcmread(tmp_path / "t.dcm")
    assert ds.SOPClassUID == dicom_out.MULTIFRAME_GREY and ds.NumberOfFrames == 5
    assert float(ds.FrameTime) == 100.0
    pngs = np.stack([np.asarray(Image.open(tmp_path / "png" / f"frame_{k:04d}.png"))
                     for k in range(5)])
    assert np.array_equal(ds.pixel_array, pngs)
    check_copied(ds)
    assert "turntable 5f about S" in ds.SeriesDescription
    assert Recipe.from_json(ds.ImageComments).kind == "turntable"
    assert dciodvfy_errors(tmp_path / "t.dcm") == []


def test_turntable_colour_series_one_file_per_frame(series, tmp_path):
    out = tmp_path / "series"
    assert main(["turntable", str(series), "-o", f"{out}/", "--format", "dicom",
                 "--frames", "3", "--size", "24", "--colormap", "hot", "--quiet"]) == 0
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [f"frame_{k:04d}.dcm" for k in range(3)]
    objs = [pydicom.dcmread(f) for f in files]
    assert len({o.SeriesInstanceUID for o in objs}) == 1
    assert len({o.SOPInstanceUID for o in objs}) == 3
    assert [o.InstanceNumber for o in objs] == [1, 2, 3]
    assert all(o.PhotometricInterpretation == "RGB" for o in objs)
    assert [Recipe.from_json(o.ImageComments).frame_index for o in objs] == [0, 1, 2]
    check_copied(objs[0])
    assert dciodvfy_errors(files[0]) == []


def test_a_failed_dicom_series_leaves_nothing(series, tmp_path, monkeypatch, capsys):
    real = dicom_out.picture_object
    calls = []

    def failing(*a, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(*a, **kw)

    monkeypatch.setattr(dicom_out, "picture_object", failing)
    out = tmp_path / "series"
    assert main(["turntable", str(series), "-o", f"{out}/", "--format", "dicom",
                 "--frames", "4", "--size", "16", "--quiet"]) == 2
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ct"]


# --- glmip.rotating_mip ----------------------------------------------------------------------
def test_rotating_mip_frames_files_and_reserved_parameters(tmp_path, rng):
    import glmip

    vol = rng.integers(0, 1000, (20, 16, 12)).astype(np.int16)
    frames = glmip.rotating_mip(vol, frames=4, size=24)
    assert frames.shape == (4, 24, 24) and frames.dtype == np.uint8
    # frame 0 is the anterior view; each frame equals the turntable's frame
    first = glmip.render(vol, view="anterior", size=24)
    assert np.array_equal(frames[0], first)
    gif = glmip.rotating_mip(vol, frames=4, size=24, out=tmp_path / "r.gif")
    assert gif.exists() and Image.open(gif).n_frames == 4
    dcm = glmip.rotating_mip(vol, frames=4, size=24, out=tmp_path / "r.dcm")
    assert pydicom.dcmread(dcm).NumberOfFrames == 4
    series = glmip.rotating_mip(vol, frames=2, size=24, out=f"{tmp_path}/s/", format="dicom")
    assert len(list(Path(series).glob("*.dcm"))) == 2
    fused = glmip.rotating_mip(vol, fuse=vol, frames=2, size=24)  # tests/test_fusion.py
    assert fused.shape == (2, 24, 24, 3)
    # a mask removes what it excludes; labels colour the picture; both also into a movie file
    keep = np.ones(vol.shape, np.uint8)
    keep[:, :, 6:] = 0
    masked = glmip.rotating_mip(vol, mask=keep, frames=2, size=24)
    assert np.array_equal(masked[0], glmip.render(vol, view="anterior", size=24, mask=keep))
    assert not np.array_equal(masked[0], frames[0])
    seg = (vol > 900).astype(np.uint8)
    labelled = glmip.rotating_mip(vol, labels=seg, frames=2, size=24, out=tmp_path / "l.gif")
    assert labelled.exists() and Image.open(labelled).n_frames == 2
    with pytest.raises(TypeError, match="unknown option 'nonsense'"):
        glmip.rotating_mip(vol, nonsense=1)
