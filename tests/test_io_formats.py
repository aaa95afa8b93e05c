"""Readers give the right array and RAS affine for every format and variant; writers round-trip
values, dtype and affine exactly."""

from __future__ import annotations

import numpy as np
import pytest

import io_corpus as C
from glmip.io import InputError, load, save
from glmip.volume import Volume

# VTK image files are in VTK's physical frame, ITK's LPS; glmip's world is RAS.
LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def same(vol: Volume, data: np.ndarray, affine: np.ndarray, slope=1.0, inter=0.0) -> None:
    assert vol.data.dtype == data.dtype.newbyteorder("=")
    np.testing.assert_array_equal(vol.data, data)
    np.testing.assert_array_equal(vol.affine, affine)
    assert (vol.slope, vol.inter) == (slope, inter)


# --- round trips ------------------------------------------------------------------------------
WRITERS = [".nii", ".nii.gz", ".mha", ".mhd", ".nrrd", ".vti", ".npz"]
DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.float32]


@pytest.mark.parametrize("suffix", WRITERS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip(tmp_path, suffix, dtype):
    data = C.ref_data(dtype)
    vol = Volume(data, C.AFFINE)
    save(vol, tmp_path / f"out{suffix}")
    back = load(tmp_path / f"out{suffix}")
    same(back, data, C.AFFINE)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"out{suffix}"] + (["out.raw"] if suffix == ".mhd" else []))


@pytest.mark.parametrize("suffix", [".vtk", ".npy"])
def test_round_trip_geometry_poor_formats(tmp_path, suffix):
    data = C.ref_data(np.float32)
    # legacy .vtk holds LPS origin and positive spacing: axes L, P, S (docs/formats.md)
    aff = LPS @ C.AXIS_ALIGNED if suffix == ".vtk" else np.eye(4)
    save(Volume(data, aff), tmp_path / f"out{suffix}")
    same(load(tmp_path / f"out{suffix}"), data, aff)


@pytest.mark.parametrize("suffix", [".vtk", ".npy"])
def test_writer_refuses_affine_it_cannot_store(tmp_path, suffix):
    with pytest.raises(InputError, match="stores"):
        save(Volume(C.ref_data(), C.AFFINE), tmp_path / f"out{suffix}")
    assert list(tmp_path.iterdir()) == []


def test_vti_refuses_shear(tmp_path):
    aff = np.eye(4)
    aff[0, 1] = 0.5
    with pytest.raises(InputError, match="shear"):
        save(Volume(C.ref_data(), aff), tmp_path / "out.vti")


@pytest.mark.parametrize("suffix", [".nii.gz", ".npz"])
def test_scaling_kept(tmp_path, suffix):
    vol = Volume(C.ref_data(np.int16), C.AFFINE, slope=0.5, inter=-1024)
    save(vol, tmp_path / f"s{suffix}")
    same(load(tmp_path / f"s{suffix}"), vol.data, C.AFFINE, 0.5, -1024)


@pytest.mark.parametrize("suffix", [".mha", ".nrrd", ".vti"])
def test_scaling_applied_where_not_storable(tmp_path, suffix):
    vol = Volume(C.ref_data(np.int16), C.AFFINE, slope=0.5, inter=-1024)
    save(vol, tmp_path / f"s{suffix}")
    back = load(tmp_path / f"s{suffix}")
    same(back, vol.data.astype(np.float32) * 0.5 - 1024, C.AFFINE)


def test_round_trip_float64_affine_text_formats(tmp_path):
    """Text headers (MetaImage, NRRD, VTI) keep a float64 affine to the last bit."""
    aff = C.AFFINE.copy()
    aff[:3] *= 1 / 3
    aff[3, 3] = 1
    for suffix in (".mha", ".nrrd", ".vti", ".npz"):
        save(Volume(C.ref_data(), aff), tmp_path / f"f{suffix}")
        np.testing.assert_array_equal(load(tmp_path / f"f{suffix}").affine, aff)


# --- readers on hand-made variants ------------------------------------------------------------
@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("msb", [False, True])
@pytest.mark.parametrize("inline", [False, True])
def test_metaimage_variants(tmp_path, compressed, msb, inline):
    data = C.ref_data(np.float32)
    p = C.mha(tmp_path / ("a.mha" if inline else "a.mhd"), data, compressed=compressed, msb=msb,
              inline=inline)
    vol = load(p)
    np.testing.assert_array_equal(vol.data, data)
    np.testing.assert_allclose(vol.affine, C.AFFINE, atol=1e-12)


def test_metaimage_axis_directions_are_rows(tmp_path):
    """ITK: row i of TransformMatrix is the LPS direction of array axis i."""
    p = tmp_path / "r.mha"
    p.write_bytes(b"NDims = 3\nDimSize = 2 2 2\nElementType = MET_UCHAR\nElementSpacing = 1 2 3\n"
                  b"TransformMatrix = 0 1 0 0 0 1 1 0 0\nOffset = 1 2 3\n"
                  b"ElementDataFile = LOCAL\n" + bytes(range(8)))
    vol = load(p)
    # axis i along +P (LPS y) -> RAS (0,-1,0); axis j along +S; axis k along +L -> RAS -x
    expect = np.array([[0, 0, -3, -1], [-1, 0, 0, -2], [0, 2, 0, 3], [0, 0, 0, 1.0]])
    np.testing.assert_array_equal(vol.affine, expect)
    assert vol.data[1, 0, 0] == 1 and vol.data[0, 1, 0] == 2 and vol.data[0, 0, 1] == 4


@pytest.mark.parametrize("space", ["left-posterior-superior", "right-anterior-superior"])
@pytest.mark.parametrize("encoding", ["gzip", "raw"])
@pytest.mark.parametrize("detached", [False, True])
def test_nrrd_variants(tmp_path, space, encoding, detached):
    data = C.ref_data(np.int16)
    p = C.nrrd_file(tmp_path / ("a.nhdr" if detached else "a.nrrd"), data, space=space,
                    encoding=encoding, detached=detached)
    vol = load(p)
    same(vol, data, C.AFFINE)


@pytest.mark.parametrize("binary", [True, False])
def test_vtk_legacy_arrays(tmp_path, binary):
    data = C.ref_data(np.float32)
    p = C.vtk_legacy(tmp_path / "a.vtk", data, binary=binary)
    aff = np.diag([0.5, 1.25, 2.0, 1.0])
    aff[:3, 3] = [1.5, -2.0, 3.25]
    aff = LPS @ aff  # the file's numbers are LPS (VTK's physical frame)
    same(load(p), data, aff)
    same(load(p, array="velocity", component=1), -data, aff)
    same(load(p, array="velocity", component=2), data * 2, aff)
    with pytest.raises(InputError, match="available: density, velocity"):
        load(p, array="pressure")
    with pytest.raises(InputError, match="component 3 out of range"):
        load(p, array="velocity", component=3)


def test_npy_spacing_origin(tmp_path):
    p = C.npy(tmp_path / "a.npy")
    vol = load(p, spacing=[0.5, 1.25, 2.5], origin=[-10.5, 20.25, 3.0])
    same(vol, C.ref_data(), C.AXIS_ALIGNED)


def test_npy_4d_frame(tmp_path):
    arr = np.stack([C.ref_data(), C.ref_data() * 2], axis=-1)
    np.save(tmp_path / "f.npy", arr)
    np.testing.assert_array_equal(load(tmp_path / "f.npy", frame=1).data, C.ref_data() * 2)
    with pytest.raises(InputError, match="frame 2 out of range"):
        load(tmp_path / "f.npy", frame=2)


def test_npz_plain_archive_array_choice(tmp_path):
    np.savez(tmp_path / "p.npz", first=C.ref_data(), second=C.ref_data(np.uint8))
    assert load(tmp_path / "p.npz").data.dtype == np.int16
    assert load(tmp_path / "p.npz", array="second").data.dtype == np.uint8
    with pytest.raises(InputError, match="available: first, second"):
        load(tmp_path / "p.npz", array="third")


def test_tiff_multipage_and_numbered(tmp_path):
    import tifffile

    data = C.ref_data(np.uint16)
    # pages = k, rows = j
    tifffile.imwrite(tmp_path / "m.tif", data.transpose(2, 1, 0), photometric="minisblack")
    vol = load(tmp_path / "m.tif", spacing=[0.5, 1.25, 2.5], origin=[-10.5, 20.25, 3.0])
    # VTK image readers put the top picture row at the highest j
    same(vol, data[:, ::-1, :], C.AXIS_ALIGNED)
    d = tmp_path / "n"
    d.mkdir()
    for k in range(data.shape[2]):
        tifffile.imwrite(d / f"img{k + 8}.tif", data[:, :, k].T)  # 8, 9, 10: numeric order
    np.testing.assert_array_equal(load(d / "img9.tif").data, data[:, ::-1, :])
    np.testing.assert_array_equal(load(d).data, data[:, ::-1, :])


def test_png_series(tmp_path):
    from PIL import Image

    data = C.ref_data(np.uint8)
    for k in range(data.shape[2]):
        Image.fromarray(data[:, :, k].T).save(tmp_path / f"s{k:02d}.png")
    vol = load(tmp_path / "s01.png", spacing=[1, 1, 2])
    np.testing.assert_array_equal(vol.data, data[:, ::-1, :])
    assert vol.spacing.tolist() == [1, 1, 2]


def test_png_colour_needs_component(tmp_path):
    from PIL import Image

    for k in range(2):
        rgb = np.zeros((4, 5, 3), np.uint8)
        rgb[..., 1] = 10 + k
        Image.fromarray(rgb).save(tmp_path / f"c{k}.png")
    with pytest.raises(InputError, match="--component"):
        load(tmp_path / "c0.png")
    assert load(tmp_path / "c0.png", component=1).data.max() == 11


# --- DICOM -------------------------------------------------------------------------------------
def test_dicom_series_oblique(tmp_path):
    data = C.ref_data(np.int16)
    first = C.dicom_series(tmp_path / "s", data)
    for src in (first, tmp_path / "s"):
        vol = load(src)
        np.testing.assert_array_equal(vol.data, data)
        np.testing.assert_allclose(vol.affine, C.AFFINE, atol=1e-9)
        assert (vol.slope, vol.inter) == (2.0, -1024.0)


def test_dicom_directory_with_two_series(tmp_path):
    C.dicom_series(tmp_path, C.ref_data(), series_uid="1.2.3.1", name="a")
    C.dicom_series(tmp_path, C.ref_data() + 1, series_uid="1.2.3.2", name="b")
    with pytest.raises(InputError, match=r"2 DICOM series.*1\.2\.3\.1.*1\.2\.3\.2"):
        load(tmp_path)
    np.testing.assert_array_equal(load(tmp_path, series="2").data, C.ref_data() + 1)
    np.testing.assert_array_equal(load(tmp_path, series="1.2.3.1").data, C.ref_data())
    # a file of one series reads only its own series
    np.testing.assert_array_equal(load(tmp_path / "b0.dcm").data, C.ref_data() + 1)
    with pytest.raises(InputError, match="no series '7'"):
        load(tmp_path, series="7")


def test_dicom_without_extension_is_sniffed(tmp_path):
    C.dicom_series(tmp_path / "s", C.ref_data())
    for f in (tmp_path / "s").iterdir():
        f.rename(f.with_suffix(""))
    np.testing.assert_array_equal(load(tmp_path / "s" / "slice0").data, C.ref_data())


# --- cross-checks against VTK itself (optional: VTK is a bench extra) ---------------------------


def _vtk_image(data: np.ndarray, extent_start=(0, 0, 0)):
    vtkmod = pytest.importorskip("vtk")
    from vtk.util import numpy_support as ns

    img = vtkmod.vtkImageData()
    nx, ny, nz = data.shape
    x0, y0, z0 = extent_start
    img.SetExtent(x0, x0 + nx - 1, y0, y0 + ny - 1, z0, z0 + nz - 1)
    img.SetOrigin(-10.5, 20.25, 3.0)
    img.SetSpacing(0.5, 1.25, 2.5)
    img.SetDirectionMatrix(*C._R.ravel())
    a = ns.numpy_to_vtk(data.ravel(order="F"), deep=True)
    a.SetName("density")
    img.GetPointData().SetScalars(a)
    vec = np.stack([data.ravel(order="F"), -data.ravel(order="F")], axis=1).astype(np.float64)
    b = ns.numpy_to_vtk(vec, deep=True)
    b.SetName("pair")
    img.GetPointData().AddArray(b)
    return img


@pytest.mark.parametrize("mode", ["ascii", "binary", "appended-raw", "appended-base64"])
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("header", ["UInt32", "UInt64"])
@pytest.mark.parametrize("big", [False, True])
def test_vti_written_by_vtk(tmp_path, mode, compress, header, big):
    vtkmod = pytest.importorskip("vtk")
    data = C.ref_data(np.int16)
    img = _vtk_image(data, (2, -1, 5))
    w = vtkmod.vtkXMLImageDataWriter()
    w.SetInputData(img)
    w.SetFileName(str(tmp_path / "v.vti"))
    {"ascii": w.SetDataModeToAscii, "binary": w.SetDataModeToBinary}.get(
        mode, w.SetDataModeToAppended)()
    w.SetEncodeAppendedData(mode == "appended-base64")
    w.SetCompressorType(w.ZLIB if compress else w.NONE)
    w.SetHeaderType(w.UInt64 if header == "UInt64" else w.UInt32)
    w.SetByteOrder(w.BigEndian if big else w.LittleEndian)
    w.SetBlockSize(64)  # several compressed blocks
    assert w.Write() == 1
    vol = load(tmp_path / "v.vti")
    expect = np.eye(4)
    expect[:3, :3] = C._R * [0.5, 1.25, 2.5]
    expect[:3, 3] = np.array([-10.5, 20.25, 3.0]) + expect[:3, :3] @ [2, -1, 5]
    same(vol, data, LPS @ expect)  # VTK's numbers are LPS; glmip's world is RAS
    # index -> world agrees with VTK's own TransformIndexToPhysicalPoint (LPS)
    world = [0.0, 0.0, 0.0]
    img.TransformIndexToPhysicalPoint(3, 1, 6, world)
    np.testing.assert_allclose(LPS @ vol.affine @ [1, 2, 1, 1], [*world, 1], atol=1e-12)
    np.testing.assert_array_equal(load(tmp_path / "v.vti", array="pair", component=1).data,
                                  -data.astype(np.float32))
    with pytest.raises(InputError, match="available: density, pair"):
        load(tmp_path / "v.vti", array="nope")


def test_vti_and_vtk_we_write_are_read_by_vtk(tmp_path):
    vtkmod = pytest.importorskip("vtk")
    from vtk.util import numpy_support as ns

    def read_with_vtk(reader, path, shape):
        """VTK's image and its scalars as an (i, j, k) array."""
        reader.SetFileName(str(path))
        reader.Update()
        img = reader.GetOutput()
        return img, ns.vtk_to_numpy(img.GetPointData().GetScalars()).reshape(shape, order="F")

    data = C.ref_data(np.float32)
    save(Volume(data, C.AFFINE), tmp_path / "w.vti")
    img, arr = read_with_vtk(vtkmod.vtkXMLImageDataReader(), tmp_path / "w.vti", data.shape)
    np.testing.assert_array_equal(arr, data)
    world = [0.0, 0.0, 0.0]
    img.TransformIndexToPhysicalPoint(4, 3, 2, world)
    np.testing.assert_allclose(world, (LPS @ C.AFFINE @ [4, 3, 2, 1])[:3], atol=1e-12)

    save(Volume(data, LPS @ C.AXIS_ALIGNED), tmp_path / "w.vtk")  # an L, P, S volume
    img, arr = read_with_vtk(vtkmod.vtkStructuredPointsReader(), tmp_path / "w.vtk", data.shape)
    np.testing.assert_array_equal(arr, data)
    assert img.GetSpacing() == (0.5, 1.25, 2.5) and img.GetOrigin() == (-10.5, 20.25, 3.0)


@pytest.mark.parametrize("binary", [True, False])
def test_vtk_legacy_written_by_vtk(tmp_path, binary):
    vtkmod = pytest.importorskip("vtk")
    data = C.ref_data(np.int16)
    img = _vtk_image(data)
    img.SetDirectionMatrix(1, 0, 0, 0, 1, 0, 0, 0, 1)
    w = vtkmod.vtkStructuredPointsWriter()
    w.SetInputData(img)
    w.SetFileName(str(tmp_path / "l.vtk"))
    w.SetFileTypeToBinary() if binary else w.SetFileTypeToASCII()
    assert w.Write() == 1
    vol = load(tmp_path / "l.vtk")
    same(vol, data, LPS @ C.AXIS_ALIGNED)
    np.testing.assert_array_equal(load(tmp_path / "l.vtk", array="pair", component=1).data,
                                  -data.astype(np.float32))


def test_dicom_radial_series_says_what_is_wrong(tmp_path):
    """Slices at rotating orientations: 'not parallel', not 'not evenly spaced'."""
    import pydicom

    C.dicom_series(tmp_path / "r", C.ref_data(), shuffle=False)
    files = sorted((tmp_path / "r").glob("*.dcm"))
    for n, f in enumerate(files):
        ds = pydicom.dcmread(f)
        a = np.radians(30 * n)
        ds.ImageOrientationPatient = [repr(float(v)) for v in (np.cos(a), np.sin(a), 0, 0, 0, 1)]
        ds.save_as(f)
    with pytest.raises(InputError, match="slices are not parallel"):
        load(tmp_path / "r")


def test_dicom_series_off_the_normal_says_so(tmp_path):
    import pydicom

    C.dicom_series(tmp_path / "s", C.ref_data(), affine=np.eye(4), shuffle=False)
    for n, f in enumerate(sorted((tmp_path / "s").glob("*.dcm"))):
        ds = pydicom.dcmread(f)
        ds.ImagePositionPatient = [repr(v) for v in (0.0, 28.0 * n, 1.0 * n)]  # sideways
        ds.save_as(f)
    with pytest.raises(InputError, match="do not lie along the slice normal"):
        load(tmp_path / "s")


@pytest.mark.parametrize("kind", ["mhd", "nhdr"])
def test_detached_data_outside_the_folder_needs_allow_outside_data(tmp_path, kind):
    (tmp_path / "h").mkdir()
    data = C.ref_data()
    if kind == "mhd":
        C.mha(tmp_path / "x.mhd", data, inline=False)  # writes x.mhd and x.raw in tmp_path
        header = (tmp_path / "x.mhd").read_text().replace("= x.raw", "= ../x.raw")
    else:
        C.nrrd_file(tmp_path / "x.nhdr", data, encoding="raw", detached=True)
        header = (tmp_path / "x.nhdr").read_text().replace("data file: x.raw",
                                                          "data file: ../x.raw")
    p = tmp_path / "h" / f"x.{kind}"
    p.write_text(header)
    with pytest.raises(InputError, match="outside the header's folder"):
        load(p)
    np.testing.assert_array_equal(load(p, allow_outside_data=True).data, data)
    # the command line's flag is the same reader option
    from glmip.cli import main

    assert main(["info", str(p)]) == 2
    assert main(["info", str(p), "--allow-outside-data"]) == 0


def test_detached_data_symlink_out_of_the_folder_is_outside(tmp_path):
    (tmp_path / "h").mkdir()
    C.mha(tmp_path / "x.mhd", inline=False)
    (tmp_path / "h" / "x.raw").symlink_to(tmp_path / "x.raw")
    (tmp_path / "h" / "x.mhd").write_text((tmp_path / "x.mhd").read_text())
    with pytest.raises(InputError, match="outside the header's folder"):
        load(tmp_path / "h" / "x.mhd")


def test_messages_escape_control_characters(tmp_path):
    p = tmp_path / "\x1b[2Jbad\x07.nrrd"
    p.write_bytes(b"NRRD0004\ntype: \x1b]0;title\x07\n")
    with pytest.raises(InputError) as info:
        load(p)
    msg = str(info.value)
    assert "\x1b" not in msg and "\x07" not in msg and "\\x1b[2Jbad\\x07" in msg
    assert "\n" not in msg


def test_nrrd_bzip2_and_gzip_skips_read_with_limit(tmp_path):
    """Valid bzip2 and gzip-with-skips NRRD files read right (glmip decodes them now)."""
    import bz2
    import gzip

    data = C.ref_data()
    raw = data.astype("<i2").tobytes(order="F")
    base = C.nrrd_file(tmp_path / "a.nrrd", data, encoding="raw").read_bytes()
    head = base[: base.index(b"\n\n") + 1]
    (tmp_path / "b.nrrd").write_bytes(head.replace(b"encoding: raw", b"encoding: bzip2")
                                      + b"\n" + bz2.compress(raw))
    np.testing.assert_array_equal(load(tmp_path / "b.nrrd").data, data)
    (tmp_path / "g.nrrd").write_bytes(
        head.replace(b"encoding: raw", b"encoding: gzip\nbyte skip: 3\nline skip: 1")
        + b"\nskipped line\n" + gzip.compress(b"abc" + raw))
    np.testing.assert_array_equal(load(tmp_path / "g.nrrd").data, data)


@pytest.mark.parametrize("compression", ["zlib", None])
def test_tiff_compressed_pages_still_load(tmp_path, compression):
    tifffile = pytest.importorskip("tifffile")
    data = np.arange(3 * 20 * 30, dtype=np.uint16).reshape(3, 20, 30)
    tifffile.imwrite(tmp_path / "z.tif", data, compression=compression, rowsperstrip=7,
                     photometric="minisblack")
    vol = load(tmp_path / "z.tif")
    np.testing.assert_array_equal(vol.data, data[:, ::-1, :].transpose(2, 1, 0))
