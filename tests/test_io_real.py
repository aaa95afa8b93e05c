"""Real files: the optional shared data folder beside the checkout, nibabel's and pydicom's own test data."""

from __future__ import annotations

import os

import numpy as np
import pytest

import io_corpus as C
from glmip.io import load, save

SHARED = C.SHARED_DATA
needs_shared = pytest.mark.skipif(not SHARED.is_dir(),
                                  reason=f"../shared/data not found beside the checkout ({SHARED})")

# file: (shape, dtype, spacing, RAS affine diagonal, translation)
EXPECTED = {
    "aorta.mha": ((157, 393, 34), "float32", (0.878906, 0.878906, 1.50009),
                  (0.878906, 0.878906, 1.50009), (156.445, 24.6094, 0)),  # LPS flips -> RAS
    # VTK files are LPS (VTK's physical frame): x and y flip on the way to RAS
    "vase.vti": ((115, 101, 75), "uint8", (1, 1, 1), (-1, -1, 1), (0, 0, 0)),
    "vase_4comp.vti": ((115, 101, 75), "uint8", (1, 1, 1), (-1, -1, 1), (0, 0, 0)),
    "hydrogen.vti": ((64, 64, 64), "float32", (1, 1, 1), (-1, -1, 1), (0, 0, 0)),
    "carotid.vtk": ((76, 49, 45), "float32", (1, 1, 1), (-1, -1, 1), (-100, -80, 1)),
    "HeadMRVolume.mhd": ((48, 62, 42), "uint8", (4, 4, 4), (-4, -4, 4), (0, 0, 0)),
    "frogtissue.mhd": ((500, 470, 136), "uint8", (1, 1, 1.5), (-1, -1, 1.5), (0, 0, 0)),
    # 16 *time* frames (FrameIncrementPointer = FrameTime): frame 0, one 10 mm slice
    "mr-dicom.dcm": ((256, 256, 1), "uint8", (1, 1, 10), (-1, -1, 10), (0, 0, 0)),
}


@needs_shared
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_data(name):
    shape, dtype, spacing, diag, origin = EXPECTED[name]
    vol = load(SHARED / name)
    assert vol.shape == shape and str(vol.data.dtype) == dtype
    np.testing.assert_allclose(vol.spacing, spacing, rtol=1e-6)
    expect = np.diag([*diag, 1.0])
    expect[:3, 3] = origin
    np.testing.assert_allclose(vol.affine, expect, rtol=1e-6, atol=1e-9)
    assert vol.value_range is not None


@needs_shared
def test_shared_values():
    assert load(SHARED / "aorta.mha").value_range == pytest.approx((0, 2570.2), abs=0.1)
    assert load(SHARED / "frogtissue.mhd").value_range == (0, 29)
    assert load(SHARED / "mr-dicom.dcm").value_range == (0, 252)
    carotid = load(SHARED / "carotid.vtk", array="vectors", component=0)
    assert carotid.meta["arrays"] == ["scalars", "vectors"]
    vase = load(SHARED / "vase_4comp.vti", component=3)
    assert vase.meta["components"] == 4 and vase.value_range == (0, 239)
    assert load(SHARED / "vase.vti").meta["arrays"] == ["SLCImage"]


@needs_shared
def test_frogtissue_memory_is_one_array():
    """Loading keeps one copy of the data: the decompressed buffer *is* the array."""
    vol = load(SHARED / "frogtissue.mhd")
    assert vol.data.flags["F_CONTIGUOUS"] and vol.data.base is not None
    assert vol.data.base.nbytes == vol.data.nbytes  # no larger intermediate kept


@needs_shared
def test_same_scene_from_every_written_format(tmp_path):
    """aorta.mha converted to .nii.gz, .nrrd, .vti, .mha: identical data and affine (the NIfTI
    sform holds float32, so there the affine agrees to float32 precision)."""
    ref = load(SHARED / "aorta.mha")
    for suffix in (".nrrd", ".vti", ".mha", ".mhd", ".npz"):
        save(ref, tmp_path / f"aorta{suffix}")
        vol = load(tmp_path / f"aorta{suffix}")
        np.testing.assert_array_equal(vol.data, ref.data)
        np.testing.assert_array_equal(vol.affine, ref.affine)
    save(ref, tmp_path / "aorta.nii.gz")
    vol = load(tmp_path / "aorta.nii.gz")
    np.testing.assert_array_equal(vol.data, ref.data)
    np.testing.assert_array_equal(vol.affine, ref.affine.astype(np.float32))


# --- nibabel's test data ------------------------------------------------------------------------
def _nib(name):
    from nibabel.testing import data_path

    p = os.path.join(data_path, name)
    if not os.path.exists(p):
        pytest.skip(f"nibabel test file {name} not installed")
    return p


@pytest.mark.parametrize("name", ["example4d.nii.gz", "anatomical.nii", "example_nifti2.nii.gz",
                                  "standard.nii.gz", "test.mgz", "tiny.mnc",
                                  "minc1_1_scale.mnc", "minc2_1_scale.mnc", "small.mnc",
                                  "phantom_EPI_asc_CLEAR_2_1.PAR", "phantom_varscale.PAR",
                                  "minc1_4d.mnc", "minc2_4d.mnc", "functional.nii"])
def test_nibabel_files(name):
    import nibabel as nib

    if name.startswith("minc2"):
        pytest.importorskip("h5py", reason="MINC-2 needs h5py")
    img = nib.load(_nib(name))
    vol = load(_nib(name))
    np.testing.assert_allclose(vol.affine, img.affine)
    assert vol.shape == tuple(img.shape[:3])
    expect = np.asanyarray(img.dataobj[(slice(None),) * 3 + (0,) * (img.ndim - 3)])
    np.testing.assert_allclose(vol.real(vol.data), expect, rtol=1e-5, atol=1e-6)


def test_nibabel_native_dtype_and_scaling():
    vol = load(_nib("example4d.nii.gz"), frame=1)
    assert vol.data.dtype == np.int16 and vol.meta["frames"] == 2
    anat = load(_nib("anatomical.nii"))  # big-endian int16 on disk
    assert anat.data.dtype == np.int16 and anat.orientation == "LAS"


# --- pydicom's test data ------------------------------------------------------------------------
def _pydicom(name):
    from pydicom.data import get_testdata_file

    p = get_testdata_file(name)
    if p is None:
        pytest.skip(f"pydicom test file {name} not installed")
    return p


def test_pydicom_multiframe_rtdose():
    vol = load(_pydicom("rtdose.dcm"))
    assert vol.shape == (10, 10, 15)
    assert vol.orientation == "LPS"  # identity IOP in LPS patient space
    np.testing.assert_allclose(vol.spacing, [10, 10, 5])  # GridFrameOffsetVector: 5 mm
    np.testing.assert_allclose(vol.affine[:3, 3], [-189.43125, -199.43125, -761.87])


def test_analyze_pair(tmp_path):
    import nibabel as nib

    img = nib.AnalyzeImage(C.ref_data(np.int16), C.AXIS_ALIGNED)
    nib.save(img, tmp_path / "a.img")
    for name in ("a.hdr", "a.img"):
        vol = load(tmp_path / name)
        np.testing.assert_array_equal(vol.data, C.ref_data(np.int16))
        np.testing.assert_array_equal(vol.affine, nib.load(tmp_path / name).affine)


def test_pydicom_ct_series_directory():
    import pydicom

    d = os.path.join(os.path.dirname(_pydicom("CT_small.dcm")), "dicomdirtests", "98892001",
                     "CT5N")
    if not os.path.isdir(d):
        pytest.skip("pydicom dicomdirtests not installed")
    vol = load(d)
    files = [pydicom.dcmread(os.path.join(d, f)) for f in os.listdir(d)]
    files.sort(key=lambda ds: float(ds.ImagePositionPatient[2]))
    assert vol.shape == (files[0].Columns, files[0].Rows, len(files))
    np.testing.assert_array_equal(vol.data[:, :, 0], files[0].pixel_array.T)
    assert (vol.slope, vol.inter) == (float(files[0].RescaleSlope),
                                      float(files[0].RescaleIntercept))
    # voxel (0,0,0) is the first slice's Image Position, in RAS
    lps = np.array([float(v) for v in files[0].ImagePositionPatient])
    np.testing.assert_allclose(vol.affine[:3, 3], lps * [-1, -1, 1])


def test_pydicom_single_slice_is_refused():
    from glmip.io import InputError

    with pytest.raises(InputError, match="single 2-D DICOM slice"):
        load(_pydicom("CT_small.dcm"))


@needs_shared
def test_dicom_temporal_multiframe_is_4d(tmp_path):
    """mr-dicom.dcm's 16 frames are time frames (FrameIncrementPointer = FrameTime): one
    frame at a time, chosen with ``frame``; a directory holding only it loads like the file."""
    import shutil

    vol = load(SHARED / "mr-dicom.dcm")
    assert vol.meta["frames"] == 16 and vol.meta["frame"] == 0 and vol.shape == (256, 256, 1)
    f5 = load(SHARED / "mr-dicom.dcm", frame=5)
    assert f5.meta["frame"] == 5 and not np.array_equal(f5.data, vol.data)
    from glmip.io import InputError

    with pytest.raises(InputError, match="frame 16 out of range"):
        load(SHARED / "mr-dicom.dcm", frame=16)
    d = tmp_path / "only"
    d.mkdir()
    shutil.copy(SHARED / "mr-dicom.dcm", d)
    from_dir = load(d, frame=5)
    np.testing.assert_array_equal(from_dir.data, f5.data)
    np.testing.assert_array_equal(from_dir.affine, f5.affine)
