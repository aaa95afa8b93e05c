"""Real NIfTI files that ship with dipy and nilearn (installed with the test extra) load with
nibabel's geometry and render as docs/conventions.md says."""

from __future__ import annotations

import glob
import os

import nibabel as nib
import numpy as np
import pytest

import glmip
from glmip.camera import Camera
from glmip.settings import RenderSettings
from reference import window_grey


def _files(package: str, pattern: str) -> list[str]:
    mod = pytest.importorskip(package, reason=f"{package} is not installed (pip install .[test])")
    return sorted(glob.glob(os.path.join(os.path.dirname(mod.__file__), pattern)))


@pytest.mark.parametrize("package,pattern", [
    ("dipy", "data/files/*.nii.gz"),
    ("nilearn", "datasets/data/*.nii.gz"),
])
def test_every_bundled_nifti_loads_with_nibabels_geometry(package, pattern):
    files = _files(package, pattern)
    assert files, f"no NIfTI files found in {package}"
    for f in files:
        img = nib.load(f)
        if len(img.shape) < 3 or min(img.shape[:3]) < 2:
            continue
        vol = glmip.load(f)
        np.testing.assert_allclose(vol.affine, img.affine, atol=1e-6, err_msg=f)
        assert vol.shape == img.shape[:3], f
        first = np.asanyarray(img.dataobj[(slice(None),) * 3 + (0,) * (len(img.shape) - 3)])
        np.testing.assert_allclose(vol.real(vol.data), first, rtol=1e-5, atol=1e-5, err_msg=f)


def test_mni_template_views_equal_numpy(renderer):
    from nilearn import datasets

    vol = glmip.load(datasets.MNI152_FILE_PATH)
    assert vol.orientation == "RAS" and vol.data.dtype == np.uint8
    assert np.allclose(vol.spacing, 1.0)
    renderer.upload(vol)
    d = vol.data
    for view, expected in (("anterior", d.max(1)[::-1, ::-1].T), ("left", d.max(0)[::-1, ::-1].T),
                           ("superior", d.max(2)[:, ::-1].T)):
        img = renderer.render(Camera.standard(view, fit="box"),
                              RenderSettings(window=255, level=127.5, sample_distance=1.0),
                              (expected.shape[1], expected.shape[0]))
        diff = np.abs(img.astype(int) - window_grey(expected.astype(float), 255, 127.5))
        assert diff.max() <= 1 and (diff > 0).mean() < 0.001, view


def test_oblique_dipy_volume_ball_position(renderer):
    """dipy's aniso_vox (4x4x5 mm, oblique): the brightest voxel appears where the camera
    formula puts its world position."""
    (f,) = [p for p in _files("dipy", "data/files/aniso_vox.nii.gz")]
    vol = glmip.load(f)
    renderer.upload(vol)
    ijk = np.unravel_index(np.argmax(vol.data), vol.shape)
    world = vol.affine[:3, :3] @ ijk + vol.affine[:3, 3]
    cam = Camera.standard("anterior")
    proj = renderer.project(cam, RenderSettings(interpolation="nearest", sample_distance=1.0),
                            (256, 256))
    r, c = np.unravel_index(np.nanargmax(proj.value), proj.value.shape)
    er, ec = cam.frame(vol, 256, 256).pixel_of(world)
    voxel_px = 5.0 / cam.frame(vol, 256, 256).pixel_size  # a voxel spans this many pixels
    assert abs(r - er) <= voxel_px and abs(c - ec) <= voxel_px
