"""Turntable movies: angles as docs/conventions.md defines them, and frame k equals
``glmip render`` at the rotated camera's ``--view-dir/--up``."""

from __future__ import annotations

import numpy as np
import nibabel as nib
import pytest
from PIL import Image

from glmip.camera import Camera
from glmip.cli import main
from glmip.api import record_turntable
from glmip.movie import turntable_angles, turntable_cameras


@pytest.fixture
def blobs(tmp_path, rng):
    """An asymmetric scene: noise plus two bright blocks off-centre, so every turn differs."""
    data = rng.integers(0, 200, (24, 20, 16)).astype(np.int16)
    data[3:7, 4:9, 2:5] = 1000
    data[15:19, 12:14, 9:14] = 700
    path = tmp_path / "blobs.nii.gz"
    nib.save(nib.Nifti1Image(data, np.diag([1.0, 1.2, 1.5, 1.0])), path)
    return path


def test_angles_follow_the_convention():
    assert turntable_angles(4) == [0.0, 90.0, 180.0, 270.0]
    assert turntable_angles(4, 10, 50) == [10.0, 20.0, 30.0, 40.0]
    assert turntable_angles(4, back_and_forth=True) == [0.0, 90.0, 180.0, 270.0, 180.0, 90.0]


def test_default_axis_is_the_view_up_and_positive_is_counter_clockwise():
    cams = turntable_cameras(Camera.standard("anterior"), 4)
    # Anterior: the eye is in front (+A) looking along -A, S up. Seen from above (+S), a
    # counter-clockwise quarter turn takes the eye from +A to the patient's left (-R): the
    # second frame is the `left` view, looking along +R.
    assert np.allclose(cams[1].view_dir, [1, 0, 0], atol=1e-12)
    assert np.allclose(cams[1].basis()[2], [0, 0, 1], atol=1e-12)
    assert np.allclose(cams[2].view_dir, [0, 1, 0], atol=1e-12)


def _frames(path):
    im = Image.open(path)
    out = []
    for k in range(im.n_frames):
        im.seek(k)
        out.append(np.asarray(im.convert("L")))
    return out


def test_frame_k_equals_render_at_the_rotated_camera(blobs, tmp_path):
    out = tmp_path / "turn.gif"
    common = ["--size", "40x32", "--window", "1000", "--level", "500"]
    assert main(["turntable", str(blobs), "-o", str(out), "--frames", "6", "--view", "anterior",
                 "--axis", "1", "1", "1", "--start", "15", "--end", "195", "--quiet",
                 *common]) == 0
    frames = _frames(out)
    assert len(frames) == 6 and frames[0].shape == (32, 40)
    cams = turntable_cameras(Camera.standard("anterior"), 6, [1, 1, 1], 15, 195)
    for k in (0, 2, 5):
        d, _, up = cams[k].basis()
        png = tmp_path / f"render{k}.png"
        assert main(["render", str(blobs), "-o", str(png), "--view-dir", *(repr(float(v)) for v in d),
                     "--up", *(repr(float(v)) for v in up), *common]) == 0
        ref = np.asarray(Image.open(png))
        assert np.array_equal(frames[k], ref)
    assert not np.array_equal(frames[0], frames[1])


def test_png_series_and_back_and_forth(blobs, tmp_path):
    out = tmp_path / "frames"
    assert main(["turntable", str(blobs), "-o", f"{out}/", "--frames", "4", "--size", "16",
                 "--back-and-forth", "--quiet"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"frame_{k:04d}.png" for k in range(6)]
    a = np.asarray(Image.open(out / "frame_0001.png"))
    b = np.asarray(Image.open(out / "frame_0005.png"))
    assert np.array_equal(a, b)  # 90 degrees on the way out and on the way back


def test_bad_outputs_are_one_line_errors(blobs, tmp_path, capsys):
    assert main(["turntable", str(blobs), "-o", str(tmp_path / "x.avi"), "--quiet"]) == 2
    assert "must be .gif, .mp4" in capsys.readouterr().err
    assert main(["turntable", str(blobs), "-o", str(tmp_path / "x.gif"), "--axis", "Q"]) == 2
    assert main(["turntable", str(blobs), "-o", str(tmp_path / "x.gif"), "--frames", "0"]) == 2


def test_mp4_needs_the_video_extra_or_writes(blobs, tmp_path, capsys):
    import importlib.util

    out = tmp_path / "turn.mp4"
    code = main(["turntable", str(blobs), "-o", str(out), "--frames", "3", "--size", "31x17",
                 "--quiet"])
    if importlib.util.find_spec("imageio_ffmpeg") is None:
        assert code == 2 and "pip install glmip[video]" in capsys.readouterr().err
        assert not out.exists()
    else:
        assert code == 0 and out.stat().st_size > 0


def test_record_turntable_never_overwrites(blobs, tmp_path, monkeypatch):
    from glmip.api import make_settings
    from glmip.io import load

    monkeypatch.chdir(tmp_path)
    (tmp_path / "glmip-turntable-1.gif").write_bytes(b"keep")
    vol = load(blobs)
    path = record_turntable(vol, Camera.standard("left"), make_settings(), (16, 16), frames=3)
    assert path.name == "glmip-turntable-2.gif"
    assert (tmp_path / "glmip-turntable-1.gif").read_bytes() == b"keep"
    assert Image.open(path).n_frames == 3
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []
