"""Issue 6's tools against independent numpy: modes, slab, crop, depth cue, colour, exports."""

from __future__ import annotations

import numpy as np
import pytest

from glmip.camera import Camera
from glmip.settings import RenderSettings
from glmip.volume import Volume
from reference import window_grey


@pytest.fixture
def cube(renderer, rng):
    data = rng.integers(0, 1000, (18, 14, 22)).astype(np.int16) - 300
    renderer.upload(Volume(data, np.diag([1.5, 1.5, 1.5, 1.0])))
    return renderer, data


def superior(r, size=(18, 14), **kw):
    return r.project(Camera.standard("superior", fit="box"),
                     RenderSettings(sample_distance=1.5, **kw), size)


@pytest.mark.parametrize("mode,reduce", [("mip", np.max), ("minip", np.min), ("mean", np.mean)])
def test_modes_equal_numpy(cube, mode, reduce):
    r, data = cube
    got = superior(r, mode=mode).value
    np.testing.assert_allclose(got, reduce(data, axis=2)[:, ::-1].T, atol=0.05)
    img = r.render(Camera.standard("superior", fit="box"),
                   RenderSettings(sample_distance=1.5, mode=mode, window=800, level=100), (18, 14))
    expected = window_grey(reduce(data, axis=2)[:, ::-1].T.astype(float), 800, 100)
    assert np.abs(img.astype(int) - expected).max() <= 1


def test_slab_equals_numpy_slice(cube):
    r, data = cube
    # Voxel centres along z sit at 1.5*k; the volume centre is at z = 1.5*10.5 = 15.75.
    # A 6 mm slab centred 3 mm beyond the centre (towards -z, away from the eye looking down)
    # keeps z in [15.75-3-3, 15.75-3+3] = [9.75, 15.75] -> k = 7..10.
    got = superior(r, slab=6.0, slab_center=3.0).value
    np.testing.assert_allclose(got, data[:, :, 7:11].max(2)[:, ::-1].T, atol=0.05)


def test_crop_equals_numpy_slice(cube):
    r, data = cube
    got = superior(r, crop=(2, 9, 0, 13, 5, 12)).value
    expected = np.full((14, 18), np.nan)
    expected[:, :] = np.nan
    sub = data[2:10, :, 5:13].max(2)[:, ::-1].T  # columns i = 2..9
    np.testing.assert_allclose(got[:, 2:10], sub, atol=0.05)
    assert np.isnan(got[:, :2]).all() and np.isnan(got[:, 10:]).all()


def test_depth_cue_is_brighter_when_nearer_and_follows_its_formula(renderer):
    data = np.zeros((20, 20, 40), np.float32)
    data[5, 5, 35] = 100.0  # near the eye looking down (-z)
    data[14, 14, 5] = 100.0  # far
    vol = Volume(data, np.eye(4))
    renderer.upload(vol)
    proj = renderer.project(Camera.standard("superior", fit="box"),
                            RenderSettings(sample_distance=1.0, mode="depth", window=100, level=50,
                                           interpolation="nearest"), (20, 20))
    near, far = proj.value[20 - 1 - 5, 5], proj.value[20 - 1 - 14, 14]
    radius = np.linalg.norm(np.array(data.shape) / 2)
    front = (vol.center @ [0, 0, -1]) - radius
    length = 2 * radius
    for z, got in ((35, near), (5, far)):
        dist = (z * -1.0) - front  # view-axis coordinate of the sample minus the front
        assert got == pytest.approx(100 * np.exp(-dist / length), rel=1e-4)
    assert near > far


def test_colormap_gamma_opacity(cube):
    from cmap import Colormap

    r, data = cube
    cam = Camera.standard("superior", fit="box")
    base = dict(sample_distance=1.5, window=800, level=100)
    q = window_grey(data.max(2)[:, ::-1].T.astype(float), 800, 100).astype(int)
    viridis = r.render(cam, RenderSettings(colormap="viridis", **base), (18, 14))
    lut = np.round(Colormap("viridis").lut(256)[:, :3] * 255).astype(int)
    assert np.abs(viridis.astype(int) - lut[q]).max() <= 1
    inv = r.render(cam, RenderSettings(colormap="inverted", **base), (18, 14))
    assert viridis.shape == (14, 18, 3) and np.abs(inv[..., 0].astype(int) - (255 - q)).max() <= 1
    g = r.render(cam, RenderSettings(gamma=0.5, **base), (18, 14)).astype(int)
    expected = np.floor((q / 255.0) ** 0.5 * 255 + 0.5)
    assert np.abs(g - expected).max() <= 1
    op = r.render(cam, RenderSettings(opacity=(0.2, 0.9), background=(0.0, 0.0, 1.0), **base),
                  (18, 14)).astype(int)
    alpha = 0.2 + 0.7 * q / 255.0
    assert np.abs(op[..., 0] - alpha * q).max() <= 1
    assert np.abs(op[..., 2] - (alpha * q + (1 - alpha) * 255)).max() <= 1


def test_nearest_interpolation_and_refinement(renderer, rng):
    data = rng.random((12, 12, 12)).astype(np.float32)
    renderer.upload(Volume(data, np.eye(4)))
    cam = Camera.from_direction([1, 0.7, -0.4])
    lin = renderer.project(cam, RenderSettings(sample_distance=1.0), (40, 40)).value
    near = renderer.project(cam, RenderSettings(sample_distance=1.0, interpolation="nearest"),
                            (40, 40)).value
    refined = renderer.project(cam, RenderSettings(sample_distance=1.0, refine=True), (40, 40)).value
    hit = np.isfinite(lin)
    assert not np.allclose(lin[hit], near[hit])
    assert (refined[hit] >= lin[hit] - 1e-6).all() and (refined[hit] > lin[hit] + 1e-4).any()
    # nearest samples are voxel values
    vals = np.sort(data.ravel())
    for v in near[hit][:50]:
        assert np.min(np.abs(vals - v)) < 1e-6


def test_jitter_changes_samples_but_not_the_picture_much(renderer, rng):
    data = rng.random((16, 16, 16)).astype(np.float32)
    renderer.upload(Volume(data, np.eye(4)))
    cam = Camera.from_direction([1, 0.3, -0.2])
    plain = renderer.render(cam, RenderSettings(sample_distance=1.0), (48, 48)).astype(int)
    jit = renderer.render(cam, RenderSettings(sample_distance=1.0, jitter=True), (48, 48)).astype(int)
    jit2 = renderer.render(cam, RenderSettings(sample_distance=1.0, jitter=True), (48, 48),
                           seed=7).astype(int)
    assert (plain != jit).any() and (jit != jit2).any()
    assert np.abs(plain - jit).mean() < 10


def test_quantitative_exports_keep_raw_values(cube, tmp_path):
    import nibabel as nib
    from PIL import Image

    from glmip.export import save_depth_map, save_values

    r, data = cube
    proj = superior(r)
    save_values(tmp_path / "v.npy", proj, {})
    save_values(tmp_path / "v.png", proj, {})
    save_values(tmp_path / "v.nii.gz", proj, {})
    expected = data.max(2)[:, ::-1].T
    np.testing.assert_allclose(np.load(tmp_path / "v.npy"), expected, atol=0.05)
    png = Image.open(tmp_path / "v.png")
    assert png.mode.startswith("I;16")
    offset = float(png.text["glmip:value"].split("+ ")[1].split(";")[0])
    np.testing.assert_allclose(np.asarray(png).astype(float) + offset, expected, atol=0.05)
    nii = nib.load(tmp_path / "v.nii.gz")
    np.testing.assert_allclose(np.asarray(nii.dataobj)[:, :, 0].T, expected, atol=0.05)
    save_depth_map(tmp_path / "d.npy", proj, {})
    depth = np.load(tmp_path / "d.npy")
    assert depth.shape == (14, 18, 4)
    # The z of each ray's maximum is the z of the voxel holding it (the first met from the
    # eye, which looks down from +z, where values tie).
    k = (data.shape[2] - 1 - data[:, :, ::-1].argmax(2))[:, ::-1].T
    np.testing.assert_allclose(depth[..., 2], k * 1.5, atol=1e-3)


def test_large_image_by_tiles_matches_direct(cube, ctx):
    from glmip.renderer import MipRenderer

    r, data = cube
    cam = Camera.standard("anterior")
    direct = r.render(cam, RenderSettings(), (300, 200))
    with MipRenderer(ctx, tile_size=64) as tiled:
        tiled.upload(r.volume)
        assert np.array_equal(tiled.render(cam, RenderSettings(), (300, 200)), direct)
