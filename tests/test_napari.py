"""The napari plugin (glmip/napari, docs/napari.md): manifest, reader geometry, the pure camera
mapping, and the dock widget in a real napari viewer (napari's make_napari_viewer fixture on a
private Xvfb display: napari's 3-D canvas draws nothing on Qt's offscreen platform)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

napari = pytest.importorskip("napari", reason="napari is not installed (pip install glmip[napari])")
npe2 = pytest.importorskip("npe2", reason="npe2 is not installed (pip install glmip[napari])")

import nibabel as nib  # noqa: E402

import glmip  # noqa: E402
from glmip.io import readable_suffixes  # noqa: E402
from glmip.napari import camera as ncam  # noqa: E402
from glmip.napari import reader  # noqa: E402
from glmip.pngio import read_text  # noqa: E402
from glmip.recipe import Recipe  # noqa: E402
from glmip import pipeline  # noqa: E402
from glmip.resources import sample_path  # noqa: E402

MANIFEST = Path(glmip.__file__).parent / "napari" / "napari.yaml"
AORTA = str(sample_path("aorta.mha"))


# --- manifest ------------------------------------------------------------------------------
def test_manifest_validates_and_covers_every_readable_format():
    from npe2 import PluginManifest

    pm = PluginManifest.from_file(MANIFEST)  # schema validation
    pm.validate_imports()  # every python_name resolves
    assert pm.name == "glmip"
    patterns = {p for r in pm.contributions.readers for p in r.filename_patterns}
    assert patterns == {"*" + s for s in readable_suffixes()}
    assert all(r.accepts_directories for r in pm.contributions.readers)
    assert [w.display_name for w in pm.contributions.widgets] == ["glmip projection and export"]


def test_npe2_validate_command():
    npe2_cli = shutil.which("npe2") or str(Path(os.sys.executable).parent / "npe2")
    if not Path(npe2_cli).exists():
        pytest.skip("npe2 command line not found")
    out = subprocess.run([npe2_cli, "validate", str(MANIFEST)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "valid" in out.stdout.lower()


# --- reader ----------------------------------------------------------------------------------
def _world_of_voxel(layer, ijk):
    return np.asarray(layer.data_to_world(tuple(float(v) for v in ijk)))


def test_reader_aorta_geometry_values_metadata():
    assert reader.get_reader(AORTA) is reader.read
    assert reader.get_reader("notes.txt") is None
    [(data, kw, kind)] = reader.read(AORTA)
    vol = glmip.load(AORTA)
    assert kind == "image" and kw["name"] == "aorta"
    assert data is vol.data or np.array_equal(data, vol.real(vol.data).astype(data.dtype))
    if vol.slope == 1 and vol.inter == 0:
        assert data.dtype == vol.data.dtype
    lo, hi = vol.value_range
    assert kw["contrast_limits"] == pytest.approx((lo, hi))
    assert kw["metadata"]["glmip_path"] == AORTA
    assert kw["metadata"]["glmip_volume"].shape == vol.shape
    layer = napari.layers.Image(data, **kw)
    for ijk in [(0, 0, 0), (10, 200, 30), (156, 392, 33)]:
        ras = vol.affine @ [*ijk, 1]
        assert np.allclose(_world_of_voxel(layer, ijk), ras[:3], atol=1e-4)


def _oblique_nifti(path: Path, slope=2.0, inter=-10.0, dtype=np.int16):
    rng = np.random.default_rng(3)
    data = rng.integers(0, 100, (12, 10, 8)).astype(dtype)
    rot = glmip.camera.rotation_matrix((1, 2, 3), 25)
    aff = np.eye(4)
    aff[:3, :3] = rot @ np.diag([0.7, 1.1, 2.5])
    aff[:3, 3] = (-30.0, 12.0, 55.0)
    img = nib.Nifti1Image(data, aff)
    img.header.set_slope_inter(slope, inter)
    nib.save(img, str(path))
    return data, aff


def test_reader_oblique_nifti_world_and_scaling(tmp_path):
    path = tmp_path / "oblique.nii.gz"
    stored, aff = _oblique_nifti(path)
    [(data, kw, _)] = reader.read(str(path))
    assert kw["name"] == "oblique"
    assert data.dtype == np.float32
    assert np.allclose(data, stored * 2.0 - 10.0)
    layer = napari.layers.Image(data, **kw)
    for ijk in [(0, 0, 0), (11, 0, 3), (5, 9, 7), (11, 9, 7)]:
        assert np.allclose(_world_of_voxel(layer, ijk), (aff @ [*ijk, 1])[:3], atol=1e-4)
    assert kw["contrast_limits"] == pytest.approx((stored.min() * 2 - 10, stored.max() * 2 - 10))


def test_reader_keeps_integers_without_scaling(tmp_path):
    path = tmp_path / "plain.nii"
    stored, _ = _oblique_nifti(path, slope=1.0, inter=0.0)
    [(data, _, _)] = reader.read(str(path))
    assert data.dtype == np.int16 and np.array_equal(data, stored)


# --- camera mapping (pure) -----------------------------------------------------------------
# napari's documented conventions (napari.components.Camera, camera_orientations): with angles
# (0, 0, 0) and the default orientation ('towards', 'down', 'right'), axis 0 points at the
# viewer, axis 1 down the canvas, axis 2 to the right. Our layers' axes 0, 1, 2 are R, A, S.
def test_default_napari_view_is_glmip_right_view():
    cam = ncam.glmip_camera((0, 0, 0), (1, 2, 3), 2.0, (800, 600), (512, 512))
    d, right, up = cam.basis()
    assert np.allclose(d, [-1, 0, 0])      # looking along -axis0: from the patient's right
    assert np.allclose(up, [0, -1, 0])     # axis 1 (A) points down the canvas
    assert np.allclose(right, [0, 0, 1])   # axis 2 (S) to the right
    assert np.allclose(cam.center, [1, 2, 3])
    assert cam.fit == pytest.approx(600 / 2.0)  # the shorter canvas side, in mm
    assert cam.projection == "orthographic"


@pytest.mark.parametrize("angles", [(0, 0, 90), (0, 90, 0), (90, 0, 0), (20, 30, 60),
                                    (-45, 10, 170), (5, -80, -30)])
def test_camera_matches_napari_view_and_up_directions(angles):
    from napari.components import Camera as NapariCamera

    ncamera = NapariCamera(angles=angles)
    cam = ncam.glmip_camera(angles, (0, 0, 0), 1.0, (100, 100), (64, 64))
    d, right, up = cam.basis()
    assert np.allclose(d, ncamera.view_direction, atol=1e-9)
    assert np.allclose(up, ncamera.up_direction, atol=1e-9)
    assert np.allclose(right, np.cross(d, up))


def test_camera_quarter_turn_about_axis2():
    # Angles rotate the camera about the displayed dimensions: a turn about axis 2 keeps the
    # view and up in the plane of axes 0 and 1, and axis 2 stays horizontal on the canvas.
    cam = ncam.glmip_camera((0, 0, 90), (0, 0, 0), 1.0, (100, 100), (64, 64))
    d, right, up = cam.basis()
    assert np.allclose(right, [0, 0, 1]) or np.allclose(right, [0, 0, -1])
    assert abs(d[2]) < 1e-9 and abs(up[2]) < 1e-9


def test_mirrored_napari_views_are_refused():
    with pytest.raises(ValueError, match="mirror"):
        ncam.glmip_camera((0, 0, 0), (0, 0, 0), 1, (10, 10), (8, 8),
                          orientation=("away", "down", "right"))
    with pytest.raises(ValueError, match="mirror"):
        ncam.glmip_camera((0, 0, 0), (0, 0, 0), 1, (10, 10), (8, 8), displayed=(1, 0, 2))
    # two changes: right-handed again
    cam = ncam.glmip_camera((0, 0, 0), (0, 0, 0), 1, (10, 10), (8, 8),
                            orientation=("away", "up", "right"))
    assert np.allclose(cam.basis()[1], [0, 0, 1])


def test_perspective_and_aspect():
    cam = ncam.glmip_camera((0, 0, 0), (0, 0, 0), 4.0, (400, 300), (200, 100), perspective=45)
    assert cam.projection == "perspective"
    assert cam.fit == pytest.approx(300 / 4.0 * 200 / 100)


# --- in a napari viewer -----------------------------------------------------------------------
@pytest.fixture(scope="session")
def x_display():
    """A private Xvfb display for Qt (napari's vispy canvas needs GLX to draw in 3-D)."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed: napari's 3-D canvas needs an X display")
    for n in range(140, 160):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            break
    name = f":{n}"
    # -terminate: the server ends when its last client (this process's Qt) goes, which is at
    # exit; ending it earlier would break Qt's X connection, which Qt answers with exit(1).
    server = subprocess.Popen(["Xvfb", name, "-screen", "0", "1280x1024x24", "-nolisten", "tcp",
                               "-terminate"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{n}").exists():
            break
        time.sleep(0.05)
    old = {k: os.environ.get(k) for k in ("DISPLAY", "QT_QPA_PLATFORM")}
    os.environ["DISPLAY"], os.environ["QT_QPA_PLATFORM"] = name, "xcb"
    if server.poll() is not None:
        pytest.skip("Xvfb did not start")
    yield name
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def viewer(x_display, make_napari_viewer):
    from npe2 import PluginManager, PluginManifest

    pm = PluginManager.instance()
    if "glmip" not in pm:  # not installed with its entry point: register the manifest
        pm.register(PluginManifest.from_file(MANIFEST))
    # glmip's headless EGL context, once made, stays current on this thread; napari's vispy
    # would send its first GL calls to it. Release it for napari, make it current again after.
    import glmip.context as glctx

    shared = getattr(glctx, "_shared", None)
    if shared is not None:
        shared.__exit__(None, None, None)
    v = make_napari_viewer(show=True)
    v.window._qt_viewer.canvas.size = (400, 480)  # (height, width)
    yield v
    if shared is not None:
        shared.__enter__()


from glmip.napari.widget import glmip_gl  # noqa: E402


def _widget(viewer):
    from glmip.napari.widget import GlmipWidget

    w = GlmipWidget(viewer)
    viewer.window.add_dock_widget(w, name="glmip")
    return w


def _bright_centroid(image):
    a = np.asarray(image)[..., :3].astype(float).mean(-1) if np.ndim(image) == 3 else \
        np.asarray(image, float)
    r, c = np.nonzero(a > 0.5 * a.max())
    return np.array([r.mean(), c.mean()])


def _bright_voxel_agrees(viewer, tmp_path):
    data = np.zeros((30, 40, 50), np.uint8)
    data[:, :, :] = 20
    data[24:28, 6:10, 38:44] = 255  # near +R, -A, +S
    layer = viewer.add_image(data, affine=np.diag([1.0, 1.5, 0.8, 1.0]), rendering="mip",
                             contrast_limits=(0, 255))
    viewer.dims.ndisplay = 3
    w = _widget(viewer)
    for angles in [(0, 0, 0), (20, 30, 60), (-40, 15, 150)]:
        viewer.camera.angles = angles
        shot = viewer.screenshot(canvas_only=True)
        rows, cols = shot.shape[:2]
        cam = ncam.camera_from_viewer(viewer, (cols, rows), layer)
        vol = w.recipe()[1]
        with glmip_gl(vol):
            img = glmip.render(vol, camera=cam, size=(cols, rows), window=255, level=127.5)
        got, want = _bright_centroid(img), _bright_centroid(shot)
        # the same side of the picture, and within a few pixels (napari samples differently)
        assert np.all(np.abs(got - want) < 0.03 * max(rows, cols)), (angles, got, want)
    viewer.layers.clear()


# One viewer for the whole session: a second napari 3-D viewer in one process on Xvfb's
# llvmpipe met vispy "Cannot SIZE object" errors (not pinned down; see docs/napari.md).
def test_napari_viewer_screenshot_plugin_widget_exports(viewer, tmp_path):
    _bright_voxel_agrees(viewer, tmp_path)
    _widget_exports(viewer, tmp_path)
    _refuses_2d(viewer)


def _widget_exports(viewer, tmp_path):
    layers = viewer.open(AORTA, plugin="glmip")
    assert len(layers) == 1 and layers[0].name == "aorta"
    viewer.dims.ndisplay = 3
    viewer.camera.angles = (15, -25, 70)
    w = _widget(viewer)
    assert w.mode.currentText() == "mip"
    w.size.setValue(256)
    png = w.export_png(tmp_path / "aorta-napari.png")
    recipe = Recipe.from_text(read_text(png))
    assert recipe.input == AORTA
    again = pipeline.write_picture(recipe, tmp_path / "again.png")[0]
    from PIL import Image

    a, b = np.asarray(Image.open(png)), np.asarray(Image.open(again))
    assert a.shape == (256, 256) and np.array_equal(a, b)
    assert a.max() > 200
    values = w.export_values(tmp_path / "aorta-values.npy")
    v = np.load(values)
    assert v.dtype == np.float32 and v.shape == (256, 256)
    vol = glmip.load(AORTA)
    assert np.nanmax(v) <= vol.value_range[1] + 1e-3
    gif = w.export_turntable(tmp_path / "aorta-turn.gif", frames=4)
    frames = Image.open(gif)
    assert frames.n_frames == 4 and frames.size == (256, 256)
    shot = viewer.screenshot(canvas_only=True)
    Image.fromarray(shot).save(tmp_path / "napari-screenshot.png")
    keep = os.environ.get("GLMIP_NAPARI_KEEP")
    if keep:  # look at them: GLMIP_NAPARI_KEEP=/some/folder
        for p in (png, tmp_path / "napari-screenshot.png", gif):
            shutil.copy(p, keep)
    w.mode.setCurrentText("minip")
    w.slab.setValue(20.0)
    recipe2, _ = w.recipe()
    assert recipe2.get("mode") == "minip" and recipe2.get("slab") == 20.0


def _refuses_2d(viewer):
    viewer.dims.ndisplay = 2
    w = _widget(viewer)
    w._guarded(w.render_preview)()
    assert "3-D" in w.status.text()
