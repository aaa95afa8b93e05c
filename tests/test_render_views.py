"""The six standard views equal the data.max(...) expressions of docs/conventions.md (within 1
grey level), for every dtype the GPU takes natively, and the general reference on anisotropic
volumes."""

from __future__ import annotations

import numpy as np
import pytest

from glmip.camera import Camera
from glmip.settings import RenderSettings
from glmip.volume import Volume
from reference import VIEWS, reference_projection, window_grey

EXPECTED = {
    "anterior": lambda d: d.max(1)[::-1, ::-1].T,
    "posterior": lambda d: d.max(1)[:, ::-1].T,
    "inferior": lambda d: d.max(2)[::-1, ::-1].T,
    "superior": lambda d: d.max(2)[:, ::-1].T,
    "left": lambda d: d.max(0)[::-1, ::-1].T,
    "right": lambda d: d.max(0)[:, ::-1].T,
}


def make_data(rng, dtype, shape=(17, 23, 29)):
    if dtype == np.float32:
        return (rng.standard_normal(shape) * 300 - 50).astype(np.float32)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)


def assert_close(img, ref, tol=1, frac=0.999):
    assert img.shape == ref.shape
    diff = np.abs(img.astype(int) - ref.astype(int))
    assert diff.max() <= 2, f"max diff {diff.max()}"
    assert (diff <= tol).mean() >= frac, f"{(diff > tol).mean():.4%} pixels differ by more than {tol}"


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint16, np.float32])
@pytest.mark.parametrize("view", list(EXPECTED))
def test_standard_views_equal_numpy_max(renderer, rng, dtype, view):
    data = make_data(rng, dtype)
    s = 1.7
    affine = np.diag([s, s, s, 1.0])
    affine[:3, 3] = (-20.0, 13.0, 4.5)
    renderer.upload(Volume(data, affine))
    lo, hi = float(data.min()), float(data.max())
    window, level = (hi - lo) * 0.8, lo + (hi - lo) * 0.55  # clips at both ends
    expected = window_grey(EXPECTED[view](data).astype(np.float64), window, level)
    cam = Camera.standard(view, fit="box")
    settings = RenderSettings(window=window, level=level, sample_distance=s)
    img = renderer.render(cam, settings, (expected.shape[1], expected.shape[0]))
    assert_close(img, expected)


def test_int16_negative_values_survive(renderer):
    data = np.full((8, 9, 10), -1000, np.int16)
    data[3, 4, 5] = -200  # the maximum is still negative
    renderer.upload(Volume(data, np.eye(4)))
    proj = renderer.project(Camera.standard("superior", fit="box"), RenderSettings(sample_distance=1),
                            (8, 9))
    assert np.nanmax(proj.value) == pytest.approx(-200, abs=0.01)
    assert np.nanmin(proj.value) == pytest.approx(-1000, abs=0.01)


def test_negative_slope_still_takes_the_maximum_of_real_values(renderer, rng):
    data = rng.integers(0, 1000, (12, 11, 10)).astype(np.int16)
    vol = Volume(data, np.eye(4), slope=-2.0, inter=100.0)
    renderer.upload(vol)
    real = data * -2.0 + 100.0
    proj = renderer.project(Camera.standard("superior", fit="box"), RenderSettings(sample_distance=1),
                            (12, 11))
    np.testing.assert_allclose(proj.value, real.max(2)[:, ::-1].T, atol=0.05)
    assert vol.value_range == (float(real.min()), float(real.max()))


@pytest.mark.parametrize("view", ["superior", "anterior", "left"])
def test_anisotropic_spacing_along_the_view(renderer, rng, view):
    """In-plane spacing 0.8 mm, 2.5 mm along the viewing axis; step = that spacing."""
    data = make_data(rng, np.uint8, (14, 16, 18))
    axis = {"superior": 2, "anterior": 1, "left": 0}[view]
    spacing = [0.8, 0.8, 0.8]
    spacing[axis] = 2.5
    renderer.upload(Volume(data, np.diag([*spacing, 1.0])))
    expected = window_grey(EXPECTED[view](data).astype(float), 255, 127.5)
    img = renderer.render(Camera.standard(view, fit="box"),
                          RenderSettings(window=255, level=127.5, sample_distance=2.5),
                          (expected.shape[1], expected.shape[0]))
    assert_close(img, expected)


@pytest.mark.parametrize("view", ["anterior", "left", "superior"])
def test_oblique_anisotropic_volume_matches_reference(renderer, rng, view):
    """A rotated, anisotropic, flipped volume against the independent numpy ray caster."""
    data = rng.random((15, 12, 9)).astype(np.float32) * 100
    data[5:9, 4:8, 2:6] += 200
    rot = Camera.standard("anterior").rotated([1, 2, 3], 33).basis()  # any rotation
    m = np.stack(rot, axis=1) @ np.diag([1.2, -0.9, 2.0])
    affine = np.eye(4)
    affine[:3, :3] = m
    affine[:3, 3] = (10, -5, 30)
    renderer.upload(Volume(data, affine))
    d, up = VIEWS[view]
    cols, rows = 48, 40
    step = 0.7
    ref = reference_projection(data, affine, d, up, cols, rows, step)
    proj = renderer.project(Camera.standard(view), RenderSettings(sample_distance=step), (cols, rows))
    assert np.array_equal(np.isnan(ref), np.isnan(proj.value)) or \
        (np.isnan(ref) != np.isnan(proj.value)).mean() < 0.01
    both = np.isfinite(ref) & np.isfinite(proj.value)
    window, level = 300.0, 150.0
    assert_close(window_grey(np.where(both, proj.value, np.nan), window, level),
                 window_grey(np.where(both, ref, np.nan), window, level))
    img = renderer.render(Camera.standard(view), RenderSettings(window=window, level=level,
                                                                sample_distance=step), (cols, rows))
    assert_close(img, window_grey(ref, window, level))


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_8bit_volume_in_a_narrow_window_matches_reference(renderer, rng, dtype):
    """8-bit textures interpolate at full precision: llvmpipe's default 8-bit path uses 8-bit
    weights, which a narrow window shows as errors of 2-4 grey levels (glmip turns it off)."""
    lo = np.iinfo(dtype).min
    data = (rng.random((30, 26, 22)) * 255 + lo).astype(dtype)
    rot = Camera.standard("anterior").rotated([1, 2, 3], 33).basis()
    affine = np.eye(4)
    affine[:3, :3] = np.stack(rot, axis=1) @ np.diag([1.0, 0.8, 1.3])
    renderer.upload(Volume(data, affine))
    d, up = VIEWS["left"]
    cols, rows, step = 64, 56, 0.6
    ref = reference_projection(data, affine, d, up, cols, rows, step)
    window, level = 40.0, float(np.nanpercentile(ref, 50))
    img = renderer.render(Camera.standard("left"), RenderSettings(window=window, level=level,
                                                                 sample_distance=step), (cols, rows))
    diff = np.abs(img.astype(int) - window_grey(ref, window, level).astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01
