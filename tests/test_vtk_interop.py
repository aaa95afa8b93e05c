"""glmip and VTK (and ITK, through SimpleITK) put the same voxel at the same physical point.

VTK's image coordinates are its physical frame, which is ITK's LPS; glmip's world is RAS
(docs/conventions.md), so a VTK point is ``LPS @ glmip_affine @ ijk``. Both directions are
checked for MetaImage, NRRD and NIfTI inputs:

(a) VTK reads the input, writes ``.vti`` with ``vtkXMLImageDataWriter``; glmip's load of that
    ``.vti`` puts several voxels at the same RAS point as glmip's load of the original.
(b) ``glmip convert`` writes ``.vti`` (and ``.vtk`` where legacy VTK can hold the geometry); VTK
    reads it, and ``TransformIndexToPhysicalPoint`` equals the LPS point glmip assigns to the
    voxel (and, for MetaImage and NRRD, the point ITK assigns to it in the original file).
"""

from __future__ import annotations

import io_corpus as C
import nibabel as nib
import numpy as np
import pytest

from glmip.cli import main
from glmip.io import load

SHARED = C.SHARED_DATA

vtk = pytest.importorskip("vtk")
from vtk.util import numpy_support as ns  # noqa: E402  (after the skip when VTK is absent)

LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def _voxels(shape):
    """Corners and an inner voxel."""
    n = np.array(shape) - 1
    return [(0, 0, 0), tuple(n), (n[0], 0, 0), (0, n[1], 0), (0, 0, n[2]),
            tuple(n // 2), (1, 2, 1)]


def _vtk_point(img, ijk):
    out = [0.0, 0.0, 0.0]
    img.TransformIndexToPhysicalPoint(*[int(v) for v in ijk], out)
    return np.array(out)


def _scalars(img, shape):
    return ns.vtk_to_numpy(img.GetPointData().GetScalars()).reshape(shape, order="F")


def _ras(vol, ijk):
    return (vol.affine @ [*ijk, 1.0])[:3]


def _nifti(path, data, affine):
    img = nib.Nifti1Image(data, affine)
    img.set_sform(affine, code=1)
    img.set_qform(affine, code=1)
    nib.save(img, str(path))
    return path


def _inputs(tmp_path, shared_ok=True):
    """(kind, path) of the inputs: oblique MetaImage, NRRD and NIfTI, and the real aorta.mha."""
    out = [("mha", C.mha(tmp_path / "o.mha")),
           # raw encoding: vtkNrrdReader does not decode gzip
           ("nrrd", C.nrrd_file(tmp_path / "o.nrrd", encoding="raw")),
           ("nii", _nifti(tmp_path / "o.nii", C.ref_data(), C.AFFINE))]
    if shared_ok and (SHARED / "aorta.mha").is_file():
        out.append(("mha", SHARED / "aorta.mha"))
    return out


def _vtk_read(kind, path):
    """VTK's own reader of the input, updated. For NIfTI, see _vtk_nifti."""
    reader = {"mha": vtk.vtkMetaImageReader, "nrrd": vtk.vtkNrrdReader,
              "nii": vtk.vtkNIFTIImageReader}[kind]()
    reader.SetFileName(str(path))
    reader.Update()
    return reader


def _vtk_image_with_geometry(kind, path):
    """The input as VTK reads it, with VTK's physical (LPS) geometry.

    vtkMetaImageReader (VTK 9.7) gives LPS Origin and Spacing, but copies the rows of
    ``TransformMatrix`` into the rows of Direction, where ITK (the format's owner, and glmip)
    takes each row as one axis direction, a *column* of Direction: the two agree only for a
    symmetric matrix such as aorta.mha's. The MetaImage reference is therefore ITK's reading
    (SimpleITK) when it is installed, else VTK's Direction transposed. vtkNrrdReader and
    vtkNIFTIImageReader do not put the header's direction cosines into the image (the NIfTI
    reader keeps its qform/sform as separate matrices in RAS, and reads the voxels in file
    order), so for those the reference geometry is built from the header: nibabel's affine
    (RAS) converted to LPS for NIfTI, the NRRD ``space directions``/``space origin`` (already
    LPS) for NRRD. The voxel values come from VTK's reader (but see NRRD below), and are
    checked against glmip's.
    """
    img = vtk.vtkImageData()
    if kind == "nrrd":
        # vtkNrrdReader (9.7) returns the voxels of an oblique file in another order (its
        # values at [0, 0, 1] are not the file's): the voxels come from pynrrd instead.
        import nrrd

        arr, _ = nrrd.read(str(path), index_order="F")
        img.SetDimensions(*arr.shape)
        img.GetPointData().SetScalars(ns.numpy_to_vtk(arr.ravel(order="F"), deep=True))
    else:
        img.DeepCopy(_vtk_read(kind, path).GetOutput())
    if kind == "mha":
        try:
            import SimpleITK as sitk
        except ImportError:
            d = img.GetDirectionMatrix()
            rows = np.array([[d.GetElement(r, c) for c in range(3)] for r in range(3)])
            lps = np.eye(4)
            lps[:3, :3] = rows.T * img.GetSpacing()
            lps[:3, 3] = img.GetOrigin()
        else:
            itk = sitk.ReadImage(str(path))
            lps = np.eye(4)
            lps[:3, :3] = np.reshape(itk.GetDirection(), (3, 3)) * itk.GetSpacing()
            lps[:3, 3] = itk.GetOrigin()
    elif kind == "nii":
        lps = LPS @ nib.load(str(path)).affine
    else:
        import nrrd

        h = nrrd.read_header(str(path))
        lps = np.eye(4)
        lps[:3, :3] = np.asarray(h["space directions"], dtype=float).T
        lps[:3, 3] = h["space origin"]
    sp = np.linalg.norm(lps[:3, :3], axis=0)
    img.SetSpacing(*sp)
    img.SetDirectionMatrix(*(lps[:3, :3] / sp).ravel())
    ext = img.GetExtent()
    img.SetOrigin(*(lps[:3, 3] - (lps[:3, :3] @ np.array(ext[0::2], dtype=float))))
    return img


@pytest.mark.parametrize("which", [0, 1, 2, 3])
def test_vti_written_by_vtk_lands_where_the_original_does(tmp_path, which):
    """(a) VTK reads MetaImage / NRRD / NIfTI, writes .vti; glmip reads both alike."""
    inputs = _inputs(tmp_path)
    if which >= len(inputs):
        pytest.skip("../shared/data/aorta.mha not found")
    kind, src = inputs[which]
    img = _vtk_image_with_geometry(kind, src)
    w = vtk.vtkXMLImageDataWriter()
    w.SetInputData(img)
    w.SetFileName(str(tmp_path / "vtk.vti"))
    assert w.Write() == 1
    orig, conv = load(src), load(tmp_path / "vtk.vti")
    np.testing.assert_array_equal(_scalars(img, orig.shape), orig.data)
    assert conv.shape == orig.shape
    np.testing.assert_array_equal(conv.data, orig.data)
    for ijk in _voxels(orig.shape):
        np.testing.assert_allclose(_ras(conv, ijk), _ras(orig, ijk), atol=1e-4)
        # and VTK's own point for it is the LPS of glmip's RAS point
        np.testing.assert_allclose(_vtk_point(img, ijk), (LPS @ [*_ras(orig, ijk), 1])[:3],
                                   atol=1e-4)


@pytest.mark.parametrize("which", [0, 1, 2, 3])
def test_glmip_vti_read_by_vtk(tmp_path, which):
    """(b) glmip converts to .vti; VTK's physical point of each voxel is glmip's LPS point."""
    inputs = _inputs(tmp_path)
    if which >= len(inputs):
        pytest.skip("../shared/data/aorta.mha not found")
    kind, src = inputs[which]
    assert main(["convert", str(src), str(tmp_path / "g.vti")]) == 0
    r = vtk.vtkXMLImageDataReader()
    r.SetFileName(str(tmp_path / "g.vti"))
    r.Update()
    img = r.GetOutput()
    vol = load(src)
    np.testing.assert_array_equal(_scalars(img, vol.shape), vol.data)
    ref = _vtk_image_with_geometry(kind, src)  # VTK's reading of the original
    for ijk in _voxels(vol.shape):
        lps = (LPS @ [*_ras(vol, ijk), 1])[:3]
        np.testing.assert_allclose(_vtk_point(img, ijk), lps, atol=1e-4)
        np.testing.assert_allclose(_vtk_point(img, ijk), _vtk_point(ref, ijk), atol=1e-4)


@pytest.mark.parametrize("kind", ["mha", "nrrd", "nii"])
def test_glmip_vtk_legacy_read_by_vtk(tmp_path, kind):
    """(b) for legacy .vtk: an L, P, S-oriented input converts; VTK's points agree."""
    aff = LPS @ C.AXIS_ALIGNED  # RAS affine whose LPS form is diagonal and positive
    src = {"mha": lambda p: C.mha(p, affine=aff), "nrrd": lambda p: C.nrrd_file(p, affine=aff),
           "nii": lambda p: _nifti(p, C.ref_data(), aff)}[kind](tmp_path / f"a.{kind}")
    assert main(["convert", str(src), str(tmp_path / "g.vtk")]) == 0
    r = vtk.vtkStructuredPointsReader()
    r.SetFileName(str(tmp_path / "g.vtk"))
    r.Update()
    img = r.GetOutput()
    vol = load(src)
    np.testing.assert_array_equal(_scalars(img, vol.shape), vol.data)
    for ijk in _voxels(vol.shape):
        np.testing.assert_allclose(_vtk_point(img, ijk), (LPS @ [*_ras(vol, ijk), 1])[:3],
                                   atol=1e-9)


def test_legacy_vtk_refuses_what_it_cannot_hold(tmp_path, capsys):
    """A RAS-oriented (or oblique) volume has no legacy .vtk form: refused, nothing written."""
    src = C.mha(tmp_path / "a.mha", affine=C.AXIS_ALIGNED)  # axes R, A, S
    assert main(["convert", str(src), str(tmp_path / "g.vtk")]) == 2
    assert "legacy .vtk" in capsys.readouterr().err
    assert not (tmp_path / "g.vtk").exists()


@pytest.mark.parametrize("kind", ["mha", "nrrd"])
def test_itk_agrees(tmp_path, kind):
    """SimpleITK's physical point of a voxel of the original = VTK's of glmip's .vti."""
    sitk = pytest.importorskip("SimpleITK")
    src = C.mha(tmp_path / "o.mha") if kind == "mha" else C.nrrd_file(tmp_path / "o.nrrd")
    assert main(["convert", str(src), str(tmp_path / "g.vti")]) == 0
    r = vtk.vtkXMLImageDataReader()
    r.SetFileName(str(tmp_path / "g.vti"))
    r.Update()
    img = r.GetOutput()
    itk = sitk.ReadImage(str(src))
    for ijk in _voxels(itk.GetSize()):
        np.testing.assert_allclose(
            _vtk_point(img, ijk),
            itk.TransformIndexToPhysicalPoint([int(v) for v in ijk]), atol=1e-4)


def test_aorta_vti_by_vtk_is_not_mirrored(tmp_path):
    """The issue's case: aorta.mha through VTK to .vti renders like the .mha (same affine)."""
    if not (SHARED / "aorta.mha").is_file():
        pytest.skip("../shared/data/aorta.mha not found")
    r = _vtk_read("mha", SHARED / "aorta.mha")
    w = vtk.vtkXMLImageDataWriter()
    w.SetInputData(r.GetOutput())
    w.SetFileName(str(tmp_path / "a.vti"))
    assert w.Write() == 1
    np.testing.assert_allclose(load(tmp_path / "a.vti").affine,
                               load(SHARED / "aorta.mha").affine, atol=1e-9)
