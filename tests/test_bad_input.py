"""Bad input through the command line: exit 2, one line on stderr naming the file, no traceback,
no output written (an earlier output intact), and the input unchanged."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np
import pytest

import io_corpus as C
from glmip.cli import main
from glmip.volume import Volume


def snapshot(*paths: Path) -> dict:
    out = {}
    for p in paths:
        for f in ([p] if p.is_file() else sorted(p.rglob("*")) if p.is_dir() else []):
            if f.is_file():
                out[f] = (f.read_bytes(), f.stat().st_mtime_ns, f.stat().st_mode)
    return out


def refused(capsys, argv: list[str], names: Path, *inputs: Path, expect: str = "") -> str:
    """Run ``glmip ARGV``; check the whole bad-input contract; return the error line."""
    before = snapshot(*inputs)
    out_dir = Path(argv[2]).parent if argv[0] == "convert" else None
    listing = sorted(os.listdir(out_dir)) if out_dir and out_dir.is_dir() else None
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2, captured
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert str(names) in lines[0], lines[0]
    assert expect.lower() in lines[0].lower(), lines[0]
    assert snapshot(*inputs) == before, "input changed"
    if listing is not None:
        assert sorted(os.listdir(out_dir)) == listing, "output directory changed"
    return lines[0]


def info(capsys, path: Path, *extra: str, expect: str = "", inputs=()) -> str:
    return refused(capsys, ["info", str(path), *extra], path, *(inputs or (path,)),
                   expect=expect)


def convert_refused(capsys, src: Path, dst: Path, expect: str = "", names: Path | None = None
                    ) -> str:
    return refused(capsys, ["convert", str(src), str(dst)], names or src, src, expect=expect)


# --- files that are not there or not readable ---------------------------------------------------
def test_missing_file(capsys, tmp_path):
    info(capsys, tmp_path / "nothing.nii", expect="no such file", inputs=(tmp_path,))
    convert_refused(capsys, tmp_path / "nothing.nii", tmp_path / "out.nrrd", "no such file")


def test_directory_without_images(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    info(capsys, tmp_path, expect="no DICOM series or image stack")


def test_unreadable_file(capsys, tmp_path, monkeypatch):
    p = C.mha(tmp_path / "a.mha")
    p.chmod(0)
    try:
        if os.geteuid() == 0:  # root reads anything: make os.access tell the truth it would
            real = os.access
            monkeypatch.setattr(os, "access", lambda f, m, **k: False if Path(f) == p
                                else real(f, m, **k))
        before = p.stat().st_mode
        info(capsys, p, expect="permission denied", inputs=(tmp_path,))
        assert p.stat().st_mode == before
    finally:
        p.chmod(0o644)


def test_unknown_extension(capsys, tmp_path):
    p = tmp_path / "volume.xyz"
    p.write_bytes(b"some bytes that are no image at all\n" * 4)
    info(capsys, p, expect="unknown file type '.xyz'")


def test_empty_file(capsys, tmp_path):
    p = tmp_path / "empty.nii"
    p.write_bytes(b"")
    info(capsys, p, expect="empty")


@pytest.mark.parametrize("name,content,expect", [
    ("a.nii", b"NRRD0004\ntype: uint8\n", "content is NRRD"),
    ("a.mha", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "content is PNG"),
    ("a.nrrd", b"ObjectType = Image\nNDims = 3\n", "not what the name"),
    ("a.vti", b"# vtk DataFile Version 3.0\n", "content is legacy VTK"),
    ("a.npy", b"<?xml version='1.0'?><VTKFile/>", "content is XML"),
    ("a.nii.gz", b"plain text, not gzip at all" * 20, "not what the name"),
    ("a.vtk", b"this is not a vtk file\n" * 5, "not legacy VTK"),
    ("a.mha", b"just some words without equals\n", "not a MetaImage header"),
    ("a.dcm", b"\0" * 200, "DICOM"),
    ("a.tif", b"II*\0garbage", "cannot read"),
    ("a.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "a.png"),
    ("a.npz", b"PK\x03\x04" + b"\0" * 40, "a.npz"),
])
def test_content_does_not_match_extension(capsys, tmp_path, name, content, expect):
    p = tmp_path / name
    p.write_bytes(content)
    info(capsys, p, expect=expect)


def test_misnamed_real_format_not_read_as_another(capsys, tmp_path):
    src = C.nrrd_file(tmp_path / "a.nrrd")
    wrong = tmp_path / "a.mha"
    wrong.write_bytes(src.read_bytes())
    info(capsys, wrong, expect="content is NRRD")


# --- truncated and corrupted --------------------------------------------------------------------
def test_truncated_zlib_metaimage(capsys, tmp_path):
    p = C.mha(tmp_path / "z.mha", C.ref_data(np.float32, (20, 20, 20)), compressed=True)
    p.write_bytes(p.read_bytes()[:-200])
    info(capsys, p, expect="truncated")


def test_corrupted_zlib_metaimage(capsys, tmp_path):
    p = C.mha(tmp_path / "z.mha", C.ref_data(np.float32, (20, 20, 20)), compressed=True)
    b = bytearray(p.read_bytes())
    b[-300:-250] = b"\xff" * 50
    p.write_bytes(bytes(b))
    info(capsys, p, expect="z.mha")


def test_truncated_gzip_nifti(capsys, tmp_path):
    import nibabel as nib

    p = tmp_path / "t.nii.gz"
    nib.save(nib.Nifti1Image(C.ref_data(np.float32, (30, 30, 30)), C.AFFINE), p)
    p.write_bytes(p.read_bytes()[:-500])
    info(capsys, p)


def test_truncated_gzip_nrrd(capsys, tmp_path):
    p = C.nrrd_file(tmp_path / "t.nrrd", C.ref_data(np.float32, (30, 30, 30)))
    p.write_bytes(p.read_bytes()[:-300])
    info(capsys, p, expect="truncated")


def test_short_raw_data(capsys, tmp_path):
    p = C.mha(tmp_path / "s.mhd", inline=False)
    raw = tmp_path / "s.raw"
    raw.write_bytes(raw.read_bytes()[:-10])
    info(capsys, p, expect="truncated", inputs=(p, raw))


def test_missing_data_file(capsys, tmp_path):
    p = C.mha(tmp_path / "s.mhd", inline=False)
    (tmp_path / "s.raw").unlink()
    info(capsys, p, expect="data file s.raw not found")


@pytest.mark.parametrize("maker", ["nii", "nrrd-raw", "vtk", "npy", "vti", "mha"])
def test_header_promises_more_than_file_holds(capsys, tmp_path, maker):
    p = C.valid_files(tmp_path / "v")[maker]
    p.write_bytes(p.read_bytes()[:-7])
    info(capsys, p)


def test_dicom_slice_truncated(capsys, tmp_path):
    first = C.dicom_series(tmp_path / "s")
    first.write_bytes(first.read_bytes()[:-9])
    info(capsys, tmp_path / "s", inputs=(tmp_path / "s",))


# --- size bombs: absurd headers refused before any allocation -----------------------------------
BOMB = 100_000  # 10**15 voxels


def test_size_bomb_metaimage_raw(capsys, tmp_path):
    p = tmp_path / "b.mha"
    p.write_bytes(f"NDims = 3\nDimSize = {BOMB} {BOMB} {BOMB}\nElementType = MET_FLOAT\n"
                  f"ElementDataFile = LOCAL\n".encode() + b"\0" * 100)
    info(capsys, p, expect="limit")


def test_size_bomb_metaimage_compressed(capsys, tmp_path, monkeypatch):
    # Under the absolute cap, but far more than 1 KB of zlib data can expand to.
    p = tmp_path / "b.mha"
    p.write_bytes(b"NDims = 3\nDimSize = 1000 1000 1000\nElementType = MET_UCHAR\n"
                  b"CompressedData = True\nElementDataFile = LOCAL\n"
                  + zlib.compress(b"\0" * 100000))
    info(capsys, p, expect="cannot expand")


def test_size_bomb_real_zlib_bomb(capsys, tmp_path):
    """A genuine bomb (tiny stream, huge expansion) stops at the declared size."""
    p = tmp_path / "b.mha"
    p.write_bytes(b"NDims = 3\nDimSize = 4 4 4\nElementType = MET_UCHAR\n"
                  b"CompressedData = True\nElementDataFile = LOCAL\n"
                  + zlib.compress(b"\0" * 50_000_000, 9))
    assert main(["info", str(p)]) == 0  # only 64 bytes were inflated
    capsys.readouterr()


def test_size_bomb_nifti(capsys, tmp_path):
    import nibabel as nib

    p = tmp_path / "b.nii"
    hdr = nib.Nifti1Header()
    hdr.set_data_shape((30000, 30000, 30000))
    hdr.set_data_dtype(np.float32)
    p.write_bytes(hdr.binaryblock + b"\0" * 4 + b"\0" * 1000)
    info(capsys, p, expect="bytes")
    q = tmp_path / "b.nii.gz"
    q.write_bytes(gzip.compress(p.read_bytes()))
    info(capsys, q, expect="bytes")


def test_size_bomb_nrrd_gzip(capsys, tmp_path):
    p = tmp_path / "b.nrrd"
    p.write_bytes(b"NRRD0004\ntype: float\ndimension: 3\nsizes: 1000 1000 1000\n"
                  b"endian: little\nencoding: gzip\n\n" + gzip.compress(b"\0" * 1000))
    info(capsys, p, expect="cannot expand")


def test_size_bomb_vtk_legacy(capsys, tmp_path):
    p = tmp_path / "b.vtk"
    p.write_bytes(f"# vtk DataFile Version 3.0\nx\nBINARY\nDATASET STRUCTURED_POINTS\n"
                  f"DIMENSIONS {BOMB} {BOMB} {BOMB}\nPOINT_DATA {BOMB ** 3}\n"
                  f"SCALARS s float\nLOOKUP_TABLE default\n".encode() + b"\0" * 64)
    info(capsys, p, expect="bytes")


def test_size_bomb_vti(capsys, tmp_path):
    p = tmp_path / "b.vti"
    p.write_text(f'<?xml version="1.0"?><VTKFile type="ImageData" version="1.0">'
                 f'<ImageData WholeExtent="0 {BOMB} 0 {BOMB} 0 {BOMB}"><Piece Extent="0 {BOMB} '
                 f'0 {BOMB} 0 {BOMB}"><PointData><DataArray type="Float32" Name="a" '
                 f'format="binary">AAAA</DataArray></PointData></Piece></ImageData></VTKFile>')
    info(capsys, p, expect="bytes")


def test_size_bomb_npy_and_npz(capsys, tmp_path):
    p = tmp_path / "b.npy"
    header = {"descr": "<f4", "fortran_order": False, "shape": (BOMB, BOMB, BOMB)}
    with open(p, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(b"\0" * 64)
    info(capsys, p, expect="bytes")
    import zipfile

    q = tmp_path / "b.npz"
    with zipfile.ZipFile(q, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data.npy", p.read_bytes())
    info(capsys, q, expect="bytes")


def test_size_bomb_dicom(capsys, tmp_path):
    import pydicom

    first = C.dicom_series(tmp_path / "s")
    for f in (tmp_path / "s").iterdir():
        ds = pydicom.dcmread(f)
        ds.Rows = ds.Columns = 60000
        ds.save_as(f)
    info(capsys, first, expect="pixel data", inputs=(tmp_path / "s",))


# --- shapes -------------------------------------------------------------------------------------
def test_zero_sized_axes(capsys, tmp_path):
    np.save(tmp_path / "z.npy", np.zeros((4, 0, 3), np.uint8))
    info(capsys, tmp_path / "z.npy", expect="zero-sized")
    p = tmp_path / "z.mha"
    p.write_bytes(b"NDims = 3\nDimSize = 4 0 3\nElementType = MET_UCHAR\n"
                  b"ElementDataFile = LOCAL\n")
    info(capsys, p, expect="zero-sized")
    p = tmp_path / "z.vtk"
    p.write_bytes(b"# vtk DataFile Version 3.0\nx\nASCII\nDATASET STRUCTURED_POINTS\n"
                  b"DIMENSIONS 4 0 3\nPOINT_DATA 0\n")
    info(capsys, p, expect="zero-sized")


@pytest.mark.parametrize("shape", [(7,), (6, 5)])
def test_1d_2d_refused(capsys, tmp_path, shape):
    import nibabel as nib

    np.save(tmp_path / "a.npy", np.ones(shape, np.uint8))
    info(capsys, tmp_path / "a.npy", expect="3 dimensions")
    nib.save(nib.Nifti1Image(np.ones(shape, np.int16), np.eye(4)), tmp_path / "a.nii")
    info(capsys, tmp_path / "a.nii", expect="3 dimensions")
    p = tmp_path / "a.mha"
    p.write_bytes(f"NDims = {len(shape)}\nDimSize = {' '.join(map(str, shape))}\n"
                  f"ElementType = MET_UCHAR\nElementDataFile = LOCAL\n".encode() + b"\1" * 64)
    info(capsys, p, expect="3 dimensions")


def test_single_picture_refused(capsys, tmp_path):
    from PIL import Image

    Image.fromarray(np.zeros((4, 5), np.uint8)).save(tmp_path / "one.png")
    info(capsys, tmp_path / "one.png", expect="2-D")


def test_5d_refused(capsys, tmp_path):
    import nibabel as nib

    nib.save(nib.Nifti1Image(np.ones((3, 3, 3, 2, 2), np.int16), np.eye(4)), tmp_path / "f.nii")
    info(capsys, tmp_path / "f.nii", expect="5-D")
    np.save(tmp_path / "f.npy", np.ones((3, 3, 3, 2, 2), np.int16))
    info(capsys, tmp_path / "f.npy", expect="5-D")


def test_frame_out_of_range(capsys, tmp_path):
    import nibabel as nib

    nib.save(nib.Nifti1Image(np.ones((3, 3, 3, 2), np.int16), np.eye(4)), tmp_path / "f.nii")
    info(capsys, tmp_path / "f.nii", "--frame", "5", expect="frame 5 out of range")


# --- values and geometry ------------------------------------------------------------------------
def test_nan_inf_values_load(capsys, tmp_path):
    data = C.ref_data(np.float32)
    data[0, 0, 0], data[1, 0, 0], data[2, 0, 0] = np.nan, np.inf, -np.inf
    np.save(tmp_path / "n.npy", data)
    assert main(["info", str(tmp_path / "n.npy")]) == 0
    out = capsys.readouterr().out
    finite = data[np.isfinite(data)]
    assert f"{finite.min():.6g} .. {finite.max():.6g}" in out


def test_all_nan_loads(capsys, tmp_path):
    np.save(tmp_path / "n.npy", np.full((3, 3, 3), np.nan, np.float32))
    assert main(["info", str(tmp_path / "n.npy")]) == 0
    assert "no finite values" in capsys.readouterr().out


def test_constant_volume_loads(capsys, tmp_path):
    C.mha(tmp_path / "c.mha", np.full((4, 4, 4), 7, np.int16))
    assert main(["info", str(tmp_path / "c.mha")]) == 0
    assert "7 .. 7" in capsys.readouterr().out


@pytest.mark.parametrize("matrix", ["1 0 0 1 0 0 0 0 1", "nan 0 0 0 1 0 0 0 1",
                                    "0 0 0 0 0 0 0 0 0"])
def test_singular_or_nonfinite_affine(capsys, tmp_path, matrix):
    p = tmp_path / "s.mha"
    p.write_bytes(f"NDims = 3\nDimSize = 2 2 2\nElementType = MET_UCHAR\n"
                  f"TransformMatrix = {matrix}\nElementDataFile = LOCAL\n".encode() + b"\1" * 8)
    info(capsys, p)


def test_singular_affine_nifti(capsys, tmp_path):
    import nibabel as nib

    img = nib.Nifti1Image(C.ref_data(), np.eye(4))
    img.set_sform(np.eye(4), code=1)
    img.set_qform(None, code=0)
    nib.save(img, tmp_path / "s.nii")
    b = bytearray((tmp_path / "s.nii").read_bytes())
    b[312:328] = np.zeros(4, "<f4").tobytes()  # srow_z = 0: a flat, singular sform
    (tmp_path / "s.nii").write_bytes(bytes(b))
    info(capsys, tmp_path / "s.nii", expect="singular")


def test_zero_spacing_vti(capsys, tmp_path):
    p = tmp_path / "s.vti"
    from glmip.io import save

    save(Volume(C.ref_data(), C.AXIS_ALIGNED), p)
    p.write_bytes(p.read_bytes().replace(b'Spacing="0.5', b'Spacing="0.0'))
    info(capsys, p, expect="singular")


def test_unknown_array_name(capsys, tmp_path):
    p = C.vtk_legacy(tmp_path / "a.vtk")
    line = info(capsys, p, "--array", "pressure", expect="no array named 'pressure'")
    assert "available: density, velocity" in line


def test_unknown_series(capsys, tmp_path):
    C.dicom_series(tmp_path / "d", series_uid="1.2.3.4", name="a")
    C.dicom_series(tmp_path / "d", series_uid="1.2.3.5", name="b")
    line = info(capsys, tmp_path / "d", inputs=(tmp_path / "d",), expect="--series")
    assert "1.2.3.4" in line and "1.2.3.5" in line


# --- outputs ------------------------------------------------------------------------------------
def test_output_equal_to_input(capsys, tmp_path):
    p = C.mha(tmp_path / "a.mha")
    convert_refused(capsys, p, p, "would overwrite the input")
    os.symlink(p, tmp_path / "link.mha")
    convert_refused(capsys, p, tmp_path / "link.mha", "would overwrite the input",
                    names=tmp_path / "link.mha")
    sub = tmp_path / "sub"
    sub.mkdir()
    convert_refused(capsys, p, sub / ".." / "a.mha", "would overwrite the input",
                    names=sub / ".." / "a.mha")


def test_output_overwriting_input_data_file(capsys, tmp_path):
    p = C.mha(tmp_path / "a.mhd", inline=False)
    (tmp_path / "a.raw").rename(tmp_path / "c.raw")
    p.write_text(p.read_text().replace("a.raw", "c.raw"))
    line = refused(capsys, ["convert", str(p), str(tmp_path / "c.mhd")], tmp_path / "c.mhd",
                   p, tmp_path / "c.raw", expect="overwrite the input's data")
    assert not (tmp_path / "c.mhd").exists() and line


def test_output_directory_missing(capsys, tmp_path):
    p = C.mha(tmp_path / "a.mha")
    convert_refused(capsys, p, tmp_path / "nowhere" / "out.nii.gz", "does not exist",
                    names=tmp_path / "nowhere" / "out.nii.gz")
    assert not (tmp_path / "nowhere").exists()


def test_unwritable_format_keeps_previous_output(capsys, tmp_path):
    src = C.mha(tmp_path / "a.mha")  # oblique: legacy .vtk cannot hold it
    out = tmp_path / "out.vtk"
    out.write_bytes(b"previous output")
    refused(capsys, ["convert", str(src), str(out)], out, src, out, expect="legacy .vtk")
    assert out.read_bytes() == b"previous output"


def test_unknown_output_extension(capsys, tmp_path):
    src = C.mha(tmp_path / "a.mha")
    refused(capsys, ["convert", str(src), str(tmp_path / "out.xyz")], tmp_path / "out.xyz",
            src, expect="cannot write")


def test_bad_input_keeps_previous_output(capsys, tmp_path):
    bad = tmp_path / "bad.nii"
    bad.write_bytes(b"\0" * 400)
    out = tmp_path / "out.nrrd"
    out.write_bytes(b"previous output")
    refused(capsys, ["convert", str(bad), str(out)], bad, bad, out)
    assert out.read_bytes() == b"previous output"


def test_failing_writer_leaves_nothing(capsys, tmp_path, monkeypatch):
    """A writer that dies half-way leaves no partial file and no temporary directory."""
    from glmip.io import registry

    def broken(volume, path):
        path.write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(registry._WRITERS, ".nrrd", broken)
    src = C.mha(tmp_path / "a.mha")
    refused(capsys, ["convert", str(src), str(tmp_path / "o.nrrd")], tmp_path / "o.nrrd", src,
            expect="no space left")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mha"]


def test_convert_success_and_replace(capsys, tmp_path):
    src = C.mha(tmp_path / "a.mha")
    out = tmp_path / "o.nii.gz"
    out.write_bytes(b"old")
    before = snapshot(src)
    assert main(["convert", str(src), str(out)]) == 0
    assert snapshot(src) == before
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mha", "o.nii.gz"]

