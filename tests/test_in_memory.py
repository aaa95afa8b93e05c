"""Any volume in memory renders like the equivalent file: numpy, nibabel, SimpleITK, ITK,
vtkImageData, pyvista, dask, zarr, xarray (glmip.as_volume)."""

from __future__ import annotations

import numpy as np
import pytest

import glmip
from glmip.camera import rotation_matrix

VIEWS = ("anterior", "left", "superior")
SPACING = np.array([0.8, 1.1, 1.6])
ORIGIN = np.array([-12.0, 7.5, 30.0])
ROTATION = rotation_matrix([1.0, 2.0, 0.5], 25.0)  # an oblique volume


def _data(shape=(28, 22, 18)) -> np.ndarray:
    rng = np.random.default_rng(11)
    data = rng.integers(0, 300, shape).astype(np.int16)
    data[4:9, 5:16, 3:7] = 1800  # an off-centre bright block: orientation errors move it
    data[20:24, 2:5, 12:16] = 1200
    return data


def _affine(oblique: bool = True) -> np.ndarray:
    a = np.eye(4)
    a[:3, :3] = (ROTATION if oblique else np.eye(3)) @ np.diag(SPACING)
    a[:3, 3] = ORIGIN
    return a


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same volume written to NIfTI files (oblique and axis-aligned) and read back."""
    from glmip.io import save

    out = {}
    for oblique in (True, False):
        path = tmp_path_factory.mktemp("mem") / f"ref{int(oblique)}.nii.gz"
        save(glmip.Volume(_data(), _affine(oblique)), path)
        out[oblique] = {v: glmip.render(path, view=v, size=64) for v in VIEWS}
    return out


def _same(obj, reference, oblique=True, **geometry):
    for view in VIEWS:
        got = glmip.render(obj, view=view, size=64, **geometry)
        want = reference[oblique][view]
        assert np.abs(got.astype(int) - want).max() <= 1, view
    assert glmip.render(obj, view="left", size=64).shape == (64, 64)


def _lps(affine):
    """(spacing, origin, direction) in LPS of a RAS affine without shear."""
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    return spacing, lps[:3, 3], lps[:3, :3] / spacing


def test_numpy_with_affine_or_spacing(reference):
    _same(glmip.as_volume(_data(), affine=_affine()), reference)
    _same(glmip.as_volume(_data(), spacing=SPACING, origin=ORIGIN), reference, oblique=False)
    # a Fortran-ordered copy and a C-ordered one give the same picture
    _same(glmip.as_volume(np.asfortranarray(_data()), affine=_affine()), reference)


def test_nibabel_image_in_memory(reference):
    import nibabel as nib

    img = nib.Nifti1Image(_data(), _affine())
    _same(img, reference)
    scaled = nib.Nifti1Image(_data(), _affine())
    scaled.header.set_slope_inter(2.0, -5.0)
    vol = glmip.as_volume(nib.Nifti1Image(np.asanyarray(scaled.dataobj), _affine()))
    assert vol.data.dtype == np.int16


def test_simpleitk_image(reference):
    sitk = pytest.importorskip("SimpleITK")
    img = sitk.GetImageFromArray(_data().transpose(2, 1, 0).copy())  # arrays are z, y, x
    spacing, origin, direction = _lps(_affine())
    img.SetSpacing(spacing.tolist())
    img.SetOrigin(origin.tolist())
    img.SetDirection(direction.ravel().tolist())
    _same(img, reference)


def test_itk_image(reference):
    itk = pytest.importorskip("itk")
    img = itk.image_from_array(_data().transpose(2, 1, 0).copy())
    spacing, origin, direction = _lps(_affine())
    img.SetSpacing(spacing.tolist())
    img.SetOrigin(origin.tolist())
    img.SetDirection(itk.matrix_from_array(np.ascontiguousarray(direction)))
    _same(img, reference)


def test_vtk_image_data(reference):
    vtk = pytest.importorskip("vtk")
    from vtk.util import numpy_support

    data = _data()
    spacing, origin, direction = _lps(_affine())
    img = vtk.vtkImageData()
    img.SetDimensions(*data.shape)
    img.SetSpacing(*spacing)
    img.SetOrigin(*origin)
    img.SetDirectionMatrix(*direction.ravel())
    scalars = numpy_support.numpy_to_vtk(data.ravel(order="F"), deep=True)
    scalars.SetName("density")
    img.GetPointData().SetScalars(scalars)
    _same(img, reference)


def test_pyvista_image_data(reference):
    pv = pytest.importorskip("pyvista")
    data = _data()
    spacing, origin, direction = _lps(_affine())
    grid = pv.ImageData(dimensions=data.shape, spacing=spacing, origin=origin,
                        direction_matrix=direction)
    grid.point_data["density"] = data.ravel(order="F")
    _same(grid, reference)


def test_dask_array_is_read_slab_by_slab(reference):
    da = pytest.importorskip("dask.array")
    _same(glmip.as_volume(da.from_array(_data(), chunks=(8, 8, 6)), affine=_affine()),
          reference)
    # A volume larger than one upload slab (4 MiB) is never read whole.
    big = da.zeros((256, 256, 160), dtype=np.int16, chunks=(64, 64, 32))
    big[40:60, 50:70, 30:50] = 900
    vol = glmip.as_volume(big, spacing=(1, 1, 1))
    image = glmip.render(vol, view="anterior", size=48)
    assert image.max() == 255 and image.min() == 0
    assert 0 < vol.data.largest_read * 2 <= 4 << 20 < big.nbytes / 4


def test_zarr_array(reference, tmp_path):
    zarr = pytest.importorskip("zarr")
    z = zarr.open_array(str(tmp_path / "v.zarr"), mode="w", shape=_data().shape,
                        chunks=(8, 8, 8), dtype="int16")
    z[:] = _data()
    _same(glmip.as_volume(z, affine=_affine()), reference)


def test_xarray_coordinates_give_spacing_and_origin(reference):
    xr = pytest.importorskip("xarray")
    data = _data()
    coords = {d: ORIGIN[a] + SPACING[a] * np.arange(n)
              for a, (d, n) in enumerate(zip("xyz", data.shape))}
    _same(xr.DataArray(data, dims=("x", "y", "z"), coords=coords), reference, oblique=False)
    # dims in another order point along the world axes they name
    flipped = xr.DataArray(data.transpose(2, 1, 0), dims=("z", "y", "x"), coords=coords)
    _same(flipped, reference, oblique=False)
    uneven = xr.DataArray(data, dims=("x", "y", "z"),
                          coords={"x": np.r_[0, np.cumsum(np.arange(1, data.shape[0]))]})
    with pytest.raises(ValueError, match="not evenly spaced"):
        glmip.as_volume(uneven)


def test_unknown_objects_and_conflicting_geometry_are_clear_errors():
    with pytest.raises(TypeError, match="cannot make a volume of builtins.dict: give"):
        glmip.as_volume({"a": 1})
    import nibabel as nib

    with pytest.raises(TypeError, match="carries its own geometry"):
        glmip.as_volume(nib.Nifti1Image(_data(), np.eye(4)), spacing=(1, 1, 1))
    with pytest.raises(TypeError, match="affine= or spacing="):
        glmip.as_volume(_data(), affine=np.eye(4), spacing=(1, 1, 1))
