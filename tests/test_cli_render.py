"""``glmip render`` / ``glmip info`` from main([...]) on files in tmp_path."""

from __future__ import annotations

import numpy as np
import nibabel as nib
import pytest
from PIL import Image

from glmip.cli import main
from reference import window_grey


@pytest.fixture
def nifti(tmp_path, rng):
    data = rng.integers(-1000, 2000, (20, 24, 16)).astype(np.int16)
    affine = np.diag([1.5, 1.5, 2.0, 1.0])
    img = nib.Nifti1Image(data, affine)
    img.header.set_slope_inter(0.5, -100.0)
    path = tmp_path / "ct.nii.gz"
    nib.save(img, path)
    return path, data


def test_render_writes_png_matching_numpy(nifti, tmp_path):
    path, data = nifti
    out = tmp_path / "out.png"
    before = path.read_bytes()
    assert main(["render", str(path), "-o", str(out), "--view", "superior", "--fit", "box",
                 "--size", "20x24", "--window", "800", "--level", "200",
                 "--sample-distance", "2"]) == 0
    img = np.asarray(Image.open(out))
    real = data * 0.5 - 100.0
    expected = window_grey(real.max(2)[:, ::-1].T, 800, 200)
    assert img.shape == (24, 20) and img.dtype == np.uint8
    assert np.abs(img.astype(int) - expected).max() <= 1
    assert path.read_bytes() == before  # input untouched
    text = Image.open(out).text
    assert text["glmip:window"] == "800" and text["glmip:level"] == "200"
    assert text["glmip:input"] == str(path)
    assert text["glmip:sample_distance"] == "2"


def test_render_defaults_superior_512(nifti, tmp_path):
    path, _ = nifti
    out = tmp_path / "out.png"
    assert main(["render", str(path), "-o", str(out)]) == 0
    img = Image.open(out)
    assert img.size == (512, 512) and img.mode == "L"
    assert img.text["glmip:view_dir"] == "0 0 -1"


def test_render_rgb_with_background(nifti, tmp_path):
    path, _ = nifti
    out = tmp_path / "out.png"
    assert main(["render", str(path), "-o", str(out), "--background", "0", "0", "1",
                 "--size", "64x32"]) == 0
    img = Image.open(out)
    assert img.mode == "RGB" and img.size == (64, 32)


@pytest.mark.parametrize("argv,needle", [
    (["render", "MISSING.nii.gz", "-o", "OUT.png"], "MISSING.nii.gz: no such file"),
    (["render", "IN", "-o", "NODIR/out.png"], "does not exist"),
    (["render", "IN", "-o", "IN"], "overwrite the input"),
    (["render", "IN", "-o", "OUT.png", "--window", "100"], "window and level together"),
    (["render", "IN", "-o", "OUT.png", "--sample-distance", "-1"], "greater than 0"),
    (["render", "IN", "-o", "OUT.png", "--view", "sideways"], "unknown view"),
    (["render", "IN", "-o", "OUT.png", "--view-dir", "0", "0", "1", "--up", "0", "0", "2"],
     "parallel"),
    (["render", "IN", "-o", "OUT.png", "--size", "0"], "size"),
    (["render", "IN", "-o", "OUT.png", "--fit", "huge"], "fit"),
    (["render", "NOTES.txt", "-o", "OUT.png"], "unknown file type"),
    (["render", "IN", "-o", "OUT.png", "--colormap", "nosuch"], "unknown colormap"),
    (["render", "IN", "-o", "OUT.png", "--values", "V.npy", "--depth-map", "D.png"],
     "depth map needs"),
    (["render", "IN", "-o", "OUT.png", "--values", "OUT.png"], "different files"),
])
def test_bad_arguments_exit_2_one_line_nothing_written(nifti, tmp_path, capsys, argv, needle):
    path, _ = nifti
    (tmp_path / "NOTES.txt").write_text("hello")
    subst = {"IN": str(path), "OUT.png": str(tmp_path / "OUT.png"),
             "MISSING.nii.gz": str(tmp_path / "MISSING.nii.gz"),
             "NODIR/out.png": str(tmp_path / "NODIR" / "out.png"),
             "NOTES.txt": str(tmp_path / "NOTES.txt"),
             "V.npy": str(tmp_path / "V.npy"), "D.png": str(tmp_path / "D.png")}
    before = path.read_bytes()
    code = main([subst.get(a, a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "OUT.png").exists()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["NOTES.txt", "ct.nii.gz"]


def test_failed_render_leaves_previous_output_intact(nifti, tmp_path):
    path, _ = nifti
    out = tmp_path / "out.png"
    out.write_bytes(b"previous")
    assert main(["render", str(tmp_path / "missing.nii"), "-o", str(out)]) == 2
    assert out.read_bytes() == b"previous"


def test_info(nifti, capsys):
    path, data = nifti
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "20 x 24 x 16" in out and "int16" in out and "RAS" in out
    lo, hi = data.min() * 0.5 - 100, data.max() * 0.5 - 100
    assert f"{lo:.6g} .. {hi:.6g}" in out


def test_python_m_glmip_and_version(capsys):
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "glmip", "--version"], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.startswith("glmip ")


def test_api_render_matches_cli(nifti, tmp_path):
    import glmip

    path, _ = nifti
    out = tmp_path / "o.png"
    main(["render", str(path), "-o", str(out), "--view", "left", "--size", "80x60"])
    img = glmip.render(str(path), view="left", size=(80, 60))
    assert np.array_equal(img, np.asarray(Image.open(out)))
    vol = glmip.load(path)
    assert vol.data.dtype == np.int16  # native dtype kept, scaling separate
    assert vol.slope == 0.5 and vol.inter == -100


def test_unwritable_output_is_one_line(nifti, capsys):
    path, _ = nifti
    assert main(["render", str(path), "-o", "/proc/out.png", "--size", "8"]) == 2
    err = capsys.readouterr().err
    assert "/proc/out.png: cannot write" in err and len(err.strip().splitlines()) == 1


def test_output_directory_inside_an_input_directory_is_refused(tmp_path, capsys):
    stack = tmp_path / "stack"
    stack.mkdir()
    for k in range(3):
        Image.fromarray(np.full((6, 5), 40 * k, np.uint8)).save(stack / f"s_{k:03d}.png")
    before = sorted(p.name for p in stack.iterdir())
    for argv in (["render", str(stack), "-o", f"{stack}/"],
                 ["turntable", str(stack), "-o", f"{stack}/frames/", "--frames", "2"]):
        assert main(argv + ["--size", "8"]) == 2
        assert "inside the input" in capsys.readouterr().err
    assert sorted(p.name for p in stack.iterdir()) == before


def test_outputs_follow_the_umask(nifti, tmp_path):
    import os

    path, _ = nifti
    old = os.umask(0o077)
    try:
        assert main(["render", str(path), "-o", str(tmp_path / "private.png"), "--size", "8"]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "private.png").stat().st_mode & 0o777 == 0o600
