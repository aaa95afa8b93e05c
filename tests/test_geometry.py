"""Geometry: a bright ball at a known world point lands where the camera formula puts it."""

from __future__ import annotations

import numpy as np
import pytest

from glmip.camera import Camera
from glmip.settings import RenderSettings
from glmip.volume import Volume
from reference import project_point


def oblique_ball_volume(ball_world):
    """A 40x30x20 volume, rotated 30 deg about (1,1,0) and 20 deg about z, spacing 0.6x0.9x1.8,
    holding a Gaussian ball of radius ~2 mm at world point ``ball_world``."""
    rot1 = Camera.standard("superior").rotated([1, 1, 0], 30).basis()
    m = np.stack(rot1, axis=1) @ np.diag([0.6, 0.9, 1.8])
    affine = np.eye(4)
    affine[:3, :3] = m
    affine[:3, 3] = (-12.0, 7.0, 3.0)
    shape = (40, 30, 20)
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    world = idx @ m.T + affine[:3, 3]
    dist2 = ((world - ball_world) ** 2).sum(-1)
    data = (1000 * np.exp(-dist2 / (2 * 1.2**2))).astype(np.float32)
    return Volume(data, affine)


@pytest.mark.parametrize("view_dir,up", [
    ((0, 0, -1), (0, 1, 0)), ((0, -1, 0), (0, 0, 1)), ((1, 0, 0), (0, 0, 1)),
    ((1, 2, -1), (0, 0, 1)), ((-0.3, 0.5, 0.8), (1, 0, 0)),
])
def test_ball_lands_on_predicted_pixel(renderer, view_dir, up):
    vol0 = oblique_ball_volume(np.zeros(3))
    ball = vol0.center + np.array([3.0, -2.0, 1.5])  # inside, off-centre
    vol = oblique_ball_volume(ball)
    renderer.upload(vol)
    cols, rows = 120, 90
    cam = Camera.from_direction(view_dir, up)
    proj = renderer.project(cam, RenderSettings(sample_distance=0.3), (cols, rows))
    value = np.nan_to_num(proj.value, nan=0.0)
    # Sub-pixel peak: centroid of the brightest pixels.
    w = np.clip(value - 0.5 * value.max(), 0, None)
    r_idx, c_idx = np.mgrid[0:rows, 0:cols]
    got = (float((w * r_idx).sum() / w.sum()), float((w * c_idx).sum() / w.sum()))
    expected = project_point(ball, vol.shape, vol.affine, view_dir, up, cols, rows)
    assert abs(got[0] - expected[0]) < 0.5 and abs(got[1] - expected[1]) < 0.5, (got, expected)
    # The frame's own inverse agrees with the independent formula.
    np.testing.assert_allclose(cam.frame(vol, cols, rows).pixel_of(ball), expected, atol=1e-9)


def test_ball_position_of_maximum(renderer):
    """project() reports the world position of each ray's maximum."""
    vol0 = oblique_ball_volume(np.zeros(3))
    ball = vol0.center + np.array([1.0, 2.0, -1.0])
    vol = oblique_ball_volume(ball)
    renderer.upload(vol)
    proj = renderer.project(Camera.standard("anterior"), RenderSettings(sample_distance=0.2), (64, 64))
    r, c = np.unravel_index(np.nanargmax(proj.value), proj.value.shape)
    np.testing.assert_allclose(proj.positions()[r, c], ball, atol=1.0)


@pytest.mark.parametrize("projection", ["orthographic", "perspective"])
def test_pixel_rays_and_pixels_of_invert_each_other(projection):
    """Every pixel's ray, followed any distance, appears back at that pixel's centre; the
    vectorised methods agree with the one-point ones."""
    vol = oblique_ball_volume(np.zeros(3))
    frame = Camera.from_direction([1, 2, -1], projection=projection).frame(vol, 7, 5)
    origins, directions = frame.pixel_rays()
    assert origins.shape == directions.shape == (5, 7, 3)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=-1), 1.0)
    r, c = np.mgrid[0:5, 0:7]
    np.testing.assert_allclose(frame.pixel_point(r, c)[2, 3], frame.pixel_point(2, 3))
    points = origins + np.linspace(1.0, 40.0, 35).reshape(5, 7)[..., None] * directions
    rc = frame.pixels_of(points)
    np.testing.assert_allclose(rc, np.stack([r, c], axis=-1), atol=1e-9)
    np.testing.assert_allclose(frame.pixel_of(points[4, 6]), (4, 6), atol=1e-9)
    if projection == "perspective":  # nothing is seen at or behind the eye
        assert np.isnan(frame.pixels_of([frame.eye, frame.eye - frame.view_dir])).all()


def test_raycast_imports_no_gl():
    """glmip.raycast (the projection's planning) imports no moderngl, not even indirectly.
    The package is stubbed so that glmip/__init__.py's own imports do not count."""
    import subprocess
    import sys

    import glmip

    code = (
        "import sys, types\n"
        "pkg = types.ModuleType('glmip')\n"
        f"pkg.__path__ = {list(glmip.__path__)!r}\n"
        "sys.modules['glmip'] = pkg\n"
        "import glmip.raycast\n"
        "assert 'moderngl' not in sys.modules, 'moderngl imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
