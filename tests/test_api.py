"""The Python API as a notebook user meets it: in-memory arrays, pictures in Jupyter, typed
public functions, and the notebook-style example running headless."""

from __future__ import annotations

import inspect
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import glmip
from glmip.api import turntable_frames
from glmip.movie import turntable_cameras

ROOT = Path(__file__).resolve().parents[1]


def _ball():
    i, j, k = np.mgrid[0:20, 0:16, 0:12]
    data = (((i - 6) ** 2 + (j - 8) ** 2 + (k - 6) ** 2) <= 9).astype(np.uint8) * 200
    return glmip.Volume(data, np.diag([1.0, 1.0, 2.0, 1.0]), name="ball")


def test_render_from_an_array_needs_no_file():
    img = glmip.render(_ball(), view="anterior", size=(20, 24), fit="box")
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.shape == (24, 20)
    assert img.max() == 255 and img.min() == 0


def test_volume_shows_itself_in_jupyter():
    png = _ball()._repr_png_()
    assert Image.open(io.BytesIO(png)).size == (256, 256)


def test_turntable_frames_equal_api_renders():
    vol, cam = _ball(), glmip.make_camera("left")
    settings = glmip.make_settings()
    frames = list(turntable_frames(vol, cam, settings, (16, 16), frames=4, axis="S"))
    for frame, rotated in zip(frames, turntable_cameras(cam, 4, "S")):
        assert np.array_equal(frame, glmip.render(vol, camera=rotated, size=16))


def test_public_api_is_typed_and_documented():
    for name in ("render", "project", "load", "make_camera", "make_settings"):
        fn = getattr(glmip, name)
        sig = inspect.signature(fn)
        assert fn.__doc__, name
        assert sig.return_annotation is not inspect.Signature.empty, name
    from glmip import batch, movie, shaderlab

    for module in (movie, batch, shaderlab):
        for name in module.__all__:
            obj = getattr(module, name)
            assert obj.__doc__ or not callable(obj), f"{module.__name__}.{name}"


def test_notebook_tour_runs_headless(tmp_path):
    script = ROOT / "examples" / "notebook_tour.py"
    run = subprocess.run([sys.executable, str(script), str(tmp_path / "tour")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    made = {p.name for p in (tmp_path / "tour").iterdir()}
    assert {"anterior.png", "contact_sheet.png", "depth_coloured.png", "turntable.gif"} <= made


def test_render_takes_settings_and_camera_objects():
    vol = glmip.Volume(np.random.default_rng(3).random((10, 12, 8)).astype(np.float32))
    by_words = glmip.render(vol, size=24, view="left", mode="minip", colormap="hot")
    settings = glmip.make_settings(mode="minip", colormap="hot")
    camera = glmip.make_camera("left")
    assert np.array_equal(glmip.render(vol, size=24, settings=settings, camera=camera), by_words)
    assert np.array_equal(glmip.render(vol, size=24, settings=settings, view="left"), by_words)
    assert not np.array_equal(glmip.render(vol, size=24, camera=camera), by_words)
    with pytest.raises(TypeError, match="settings= or render options"):
        glmip.render(vol, settings=settings, mode="mip")
    with pytest.raises(TypeError, match="unknown option"):
        glmip.render(vol, colour_map="hot")
