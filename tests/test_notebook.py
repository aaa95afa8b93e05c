"""The live notebook view (glmip/notebook.py), driven as jupyter_rfb drives it: events in,
frames out; the still frame equals glmip.render, the toolbar changes the picture, save writes a
PNG whose recipe re-renders to the same pixels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import glmip
from glmip import interaction as ia
from glmip.pngio import read_text as read_png_text

pytest.importorskip("jupyter_rfb", reason="jupyter_rfb is not installed (pip install glmip[notebook])")
pytest.importorskip("ipywidgets", reason="ipywidgets is not installed (pip install glmip[notebook])")

from glmip.notebook import MipView, MipWidget, show  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
AORTA = ROOT / "samples" / "aorta.mha"
SIZE = (96, 80)


def _resize(w: MipWidget, cols: int, rows: int, ratio: float = 1.0) -> None:
    w.handle_event({"type": "resize", "width": cols, "height": rows, "pwidth": int(cols * ratio),
                    "pheight": int(rows * ratio), "ratio": ratio, "timestamp": 0.0})


def _pointer(kind: str, x: float, y: float, button: int = 1, modifiers=()) -> dict:
    return {"type": kind, "x": x, "y": y, "button": button,
            "buttons": (button,) if kind != "pointer_up" else (), "modifiers": tuple(modifiers),
            "ntouches": 0, "touches": {}, "timestamp": 0.0}


def _drag(w: MipWidget, x0, y0, x1, y1, button=1, modifiers=(), steps=4) -> list[np.ndarray]:
    """A drag as the browser sends it; the frames drawn while it moves."""
    frames = []
    w.handle_event(_pointer("pointer_down", x0, y0, button, modifiers))
    for k in range(1, steps + 1):
        x, y = x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps
        w.handle_event(_pointer("pointer_move", x, y, button, modifiers))
        frames.append(w.get_frame())
    w.handle_event(_pointer("pointer_up", x1, y1, button, modifiers))
    return frames


def _key(w: MipWidget, key: str, modifiers=()) -> None:
    w.handle_event({"type": "key_down", "key": key, "modifiers": tuple(modifiers),
                    "timestamp": 0.0})


def _still(w: MipWidget) -> np.ndarray:
    return glmip.render(w.volume, camera=w.camera, settings=w.settings, size=w.buffer_size)


@pytest.fixture(scope="module")
def volume():
    return glmip.load(AORTA)


@pytest.fixture
def view(volume, tmp_path) -> MipView:
    v = show(volume, size=SIZE, directory=tmp_path)
    v.widget.echo = lambda text: None
    _resize(v.widget, *SIZE)
    return v


def test_still_frame_equals_glmip_render(view):
    w = view.widget
    frame = w.get_frame()
    assert frame.shape[:2] == (SIZE[1], SIZE[0]) and frame.max() > 0
    assert np.array_equal(frame, _still(w))


def test_hidpi_frames_have_the_device_pixels(view):
    w = view.widget
    _resize(w, *SIZE, ratio=2.0)
    frame = w.get_frame()
    assert frame.shape[:2] == (2 * SIZE[1], 2 * SIZE[0])
    assert np.array_equal(frame, _still(w))


def test_left_drag_rotates_coarse_then_full(view):
    w = view.widget
    before = w.get_frame()
    coarse = _drag(w, 30, 40, 60, 40)
    assert w.camera is not view.widget.first_camera
    assert coarse[-1].shape[0] < SIZE[1] and coarse[-1].shape[1] < SIZE[0]  # fewer rays
    assert w.last_reduction > 1
    still = w.get_frame()  # after pointer_up: full quality at once
    assert still.shape == before.shape and w.last_reduction == 1
    assert np.mean(still != before) > 0.05
    assert np.array_equal(still, _still(w))
    # the turn is the window's: interaction.rotate with the same motion
    expected = ia.rotate(w.first_camera, 30, 0, *SIZE)
    assert np.allclose(w.camera.view_dir, expected.view_dir)


def test_frames_are_full_quality_once_the_mouse_rests(view):
    w = view.widget
    w.handle_event(_pointer("pointer_down", 10, 10))
    w.handle_event(_pointer("pointer_move", 20, 10))
    assert w.get_frame().shape[0] < SIZE[1]
    w.policy.last_motion -= 1.0  # the mouse rested (held down) for a second
    assert w.policy.needs_full_redraw(w.policy.last_motion + 1.0)
    assert np.array_equal(w.get_frame(), _still(w))


@pytest.mark.parametrize("button, modifiers, what", [
    (3, (), "pan"), (1, ("Shift",), "pan"), (2, (), "zoom"), (1, ("Control",), "spin"),
    (1, ("Alt",), "window"), (2, ("Control",), "window")])
def test_each_gesture_changes_the_picture(view, button, modifiers, what):
    w = view.widget
    before = w.get_frame()
    cam, settings = w.camera, w.settings
    _drag(w, 20, 30, 50, 60, button=button, modifiers=modifiers)
    if what == "window":
        assert w.camera is cam and (w.settings.window, w.settings.level) != (None, None)
        assert view.window.value == pytest.approx(w.settings.window, rel=1e-5)  # toolbar follows
    else:
        assert w.settings is settings
    if what == "pan":
        assert w.camera.center is not None
    if what == "zoom":
        assert w.camera.zoom < cam.zoom  # drag down: farther, as the window
    after = w.get_frame()
    assert np.mean(after != before) > 0.02
    assert np.array_equal(after, _still(w))


def test_wheel_zooms_as_the_window(view):
    w = view.widget
    zoom = w.camera.zoom
    w.handle_event({"type": "wheel", "x": 40, "y": 40, "dx": 0.0, "dy": -100.0, "buttons": (),
                    "modifiers": (), "timestamp": 0.0})
    assert w.camera.zoom == pytest.approx(ia.wheel_zoom(w.first_camera, 1).zoom)
    assert w.camera.zoom > zoom
    w.get_frame()
    w.policy.last_motion = w._wheel_time = -1e9
    assert np.array_equal(w.get_frame(), _still(w))


def test_keys_use_the_windows_key_table(view):
    w = view.widget
    first = w.get_frame()
    _key(w, "3")  # left view
    assert np.allclose(w.camera.view_dir, glmip.Camera.standard("left").view_dir)
    left = w.get_frame()
    assert np.mean(left != first) > 0.05
    _key(w, "m")
    assert w.settings.mode == ia.next_mode(glmip.RenderSettings()).mode
    assert view.mode.value == w.settings.mode
    _key(w, "k")
    assert w.settings.colormap != "grey" and view.colormap.value == w.settings.colormap
    assert w.get_frame().ndim == 3  # colour now
    _key(w, "s")
    assert w.settings.slab == ia.SLAB_DEFAULT_MM and view.slab.value == ia.SLAB_DEFAULT_MM
    _key(w, "]")
    assert w.settings.slab == pytest.approx(ia.SLAB_DEFAULT_MM * ia.SLAB_FACTOR)
    _key(w, "i")
    assert w.settings.interpolation == "nearest"
    _key(w, "o")
    assert w.camera.projection == "perspective"
    _key(w, "+")
    assert w.settings.sample_distance is not None
    _key(w, "w")
    assert w.settings.window is None
    assert np.array_equal(w.get_frame(), _still(w))
    _key(w, "r")
    assert np.allclose(w.camera.view_dir, w.first_camera.view_dir)
    _key(w, "q")  # the window's quit: nothing here
    _key(w, "Shift")  # a key without an action


def test_toolbar_changes_the_picture(view):
    w = view.widget
    base = w.get_frame()
    view.window.value = 300.0
    view.level.value = 150.0
    assert (w.settings.window, w.settings.level) == (300.0, 150.0)
    wl = w.get_frame()
    assert np.mean(wl != base) > 0.05 and np.array_equal(wl, _still(w))
    view.mode.value = "minip"
    assert w.settings.mode == "minip" and np.mean(w.get_frame() != wl) > 0.05
    view.mode.value = "mip"
    view.slab.value = 8.0
    assert w.settings.slab == 8.0
    slab = w.get_frame()
    assert np.mean(slab != wl) > 0.05
    view.slab.value = 0.0
    assert w.settings.slab is None and np.array_equal(w.get_frame(), wl)
    view.colormap.value = "hot"
    coloured = w.get_frame()
    assert coloured.ndim == 3 and np.array_equal(coloured, _still(w))


def test_save_writes_a_png_whose_recipe_reproduces_it(view, tmp_path, volume):
    w = view.widget
    _drag(w, 20, 20, 45, 35)
    view.colormap.value = "hot"
    shown = w.get_frame()
    path = view.save()
    assert path.parent == tmp_path and path.suffix == ".png"
    assert "glmip render" in view.status.value and "glmip render" in w.command
    recipe = glmip.recipe.Recipe.from_text(read_png_text(path))
    again = glmip.pipeline.picture(glmip.pipeline.renderer_for(volume),
                                   recipe.resolved(volume))
    from PIL import Image

    saved = np.asarray(Image.open(path))
    assert np.array_equal(saved, again)
    assert np.array_equal(saved, shown)


def test_key_x_saves(view, tmp_path):
    _key(view.widget, "x")
    assert len(view.widget.saved) == 1 and view.widget.saved[0].exists()


def test_show_takes_a_path_and_render_options(tmp_path):
    v = show(str(AORTA), view="left", window=500, level=100, mode="minip", size=64)
    assert v.widget.input_path == str(AORTA) and v.settings.window == 500
    assert v.widget.logical_size == (64, 64) and v.widget.css_width == "64px"
    assert np.allclose(v.camera.view_dir, glmip.Camera.standard("left").view_dir)
    with pytest.raises(TypeError):
        show(str(AORTA), nonsense=1)
    with pytest.raises(TypeError):
        show(object())


def test_importing_glmip_does_not_import_the_widget_packages():
    code = ("import sys, glmip; assert 'jupyter_rfb' not in sys.modules; "
            "assert 'ipywidgets' not in sys.modules; assert callable(glmip.show); "
            "assert 'jupyter_rfb' in sys.modules")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert run.returncode == 0, run.stderr


def test_missing_packages_say_how_to_install():
    code = ("import sys; sys.modules['jupyter_rfb'] = None\n"
            "import glmip\n"
            "try:\n    glmip.show\nexcept ImportError as e:\n    print(e)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert run.returncode == 0, run.stderr
    message = run.stdout.strip()
    assert "\n" not in message and "pip install glmip[notebook]" in message, message
