"""Volumes larger than one texture are split into bricks and render exactly as one texture."""

from __future__ import annotations

import numpy as np
import pytest

from glmip.camera import Camera
from glmip.raycast import plan_bricks
from glmip.renderer import MipRenderer
from glmip.settings import RenderSettings
from glmip.volume import Volume, VolumeError


def test_plan_covers_every_voxel_once_with_overlap():
    shape = (37, 20, 51)
    plan = plan_bricks(shape, 2, max_axis=16, max_bytes=16 * 16 * 16 * 2)
    owned = np.zeros(shape, int)
    for start, stop, own_lo, own_hi, texture in plan:
        texture = np.array(texture)
        assert (stop - start <= texture).all() and (texture <= 16).all()
        # Split axes have power-of-two textures (sampled exactly as the whole volume would be).
        assert ((texture & (texture - 1)) == 0).all()
        lo = np.ceil(own_lo).astype(int)
        hi = (own_hi + 0.5).astype(int)
        owned[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] += 1
        # The overlap: voxels one beyond the owned box are uploaded (except at the edges).
        assert (start <= np.maximum(lo - 1, 0)).all() and (stop >= np.minimum(hi + 1, shape)).all()
    assert (owned == 1).all()
    assert len(plan_bricks(shape, 1, 2048, 1 << 30)) == 1


def test_impossible_limits_are_a_clear_error():
    with pytest.raises(VolumeError, match="bricks"):
        plan_bricks((40, 40, 40), 4, max_axis=2, max_bytes=1 << 30)


@pytest.fixture
def volume(rng):
    data = (rng.random((33, 27, 41)) * 1000).astype(np.int16) - 200
    data[10:20, 5:9, 3:30] += 1500
    rot = Camera.standard("anterior").rotated([1, 2, 3], 25).basis()
    affine = np.eye(4)
    affine[:3, :3] = np.stack(rot, axis=1) @ np.diag([0.9, 1.1, 0.7])
    return Volume(data, affine, slope=1.0, inter=0.0)


def single_and_bricked(ctx, volume, limits, cams, settings, size=(60, 50)):
    """For every camera and settings: (projection, picture) of the volume as one texture and
    as bricks of ``limits``, as (single projection, bricked projection, single picture,
    bricked picture)."""
    with MipRenderer(ctx) as one, MipRenderer(ctx, **limits) as many:
        one.upload(volume)
        many.upload(volume)
        assert len(one.bricks) == 1 and len(many.bricks) > 4
        for cam in cams:
            for s in settings:
                yield (cam, s, one.project(cam, s, size), many.project(cam, s, size),
                       one.render(cam, s, size), many.render(cam, s, size))


@pytest.mark.parametrize("limits", [dict(max_texture_size=16), dict(max_texture_bytes=12_000)])
@pytest.mark.parametrize("mode", ["mip", "minip", "mean", "depth"])
def test_bricked_equals_single_texture(ctx, volume, limits, mode):
    cams = [Camera.standard("superior"), Camera.from_direction([1, -0.5, 0.3]),
            Camera(projection="perspective")]
    settings = [RenderSettings(mode=mode, sample_distance=0.5),
                RenderSettings(mode=mode, crop=(3, 25, 0, 20, 5, 36), slab=12.0)]
    for _, _, a, b, *pictures in single_and_bricked(ctx, volume, limits, cams, settings):
        # Bricks sample at exactly the single texture's coordinates: the same values.
        if mode != "mean":
            np.testing.assert_array_equal(a.value, b.value)
            np.testing.assert_array_equal(a.distance, b.distance)
            np.testing.assert_array_equal(*pictures)
        else:  # the passes' means combine by sums and counts: float rounding
            np.testing.assert_allclose(a.value, b.value, rtol=1e-5)
            diff = np.abs(pictures[0].astype(int) - pictures[1])
            assert diff.max() <= 1 and (diff > 0).mean() < 0.002


def test_c_and_fortran_ordered_arrays_render_alike(ctx, volume):
    """A C-ordered array goes up with its axes reversed (no transposed copy): same picture."""
    c_order = Volume(np.ascontiguousarray(volume.data), volume.affine)
    f_order = Volume(np.asfortranarray(volume.data), volume.affine)
    with MipRenderer(ctx) as r:
        for s in (RenderSettings(), RenderSettings(crop=(3, 25, 2, 20, 5, 36), mode="mean")):
            cam = Camera.from_direction([1, -0.5, 0.3])
            r.upload(c_order)
            assert r._axes == (2, 1, 0)
            a = r.project(cam, s, (40, 30))
            r.upload(f_order)
            assert r._axes == (0, 1, 2)
            b = r.project(cam, s, (40, 30))
            np.testing.assert_array_equal(np.isnan(a.value), np.isnan(b.value))
            np.testing.assert_allclose(a.value, b.value, rtol=1e-5, atol=0.05)


@pytest.mark.parametrize("limits", [dict(max_texture_size=16), dict(max_texture_bytes=12_000)])
@pytest.mark.parametrize("mode", ["mida", "lmip", "depthcolour"])
def test_depth_aware_modes_bricked_equal_single_texture(ctx, volume, limits, mode):
    """mida and lmip carry their ray's state from brick to brick (a second colour attachment),
    depthcolour is projected like a MIP and coloured by the last pass: the pictures and the
    quantitative outputs equal the single texture's."""
    cams = [Camera.standard("superior"), Camera.standard("left"),
            Camera.from_direction([1, -0.5, 0.3]), Camera.from_direction([-0.4, 0.8, -0.6]),
            Camera(projection="perspective"),
            Camera.from_direction([0.3, 1, 0.2], projection="perspective")]
    extra = {"mida": [dict(), dict(mida_gamma=0.4, colormap="hot"), dict(mida_gamma=-0.6)],
             "lmip": [dict(threshold=900.0), dict(threshold=1400.0)],
             "depthcolour": [dict()]}[mode]
    settings = [RenderSettings(mode=mode, sample_distance=0.5, window=1800.0, level=900.0, **e)
                for e in extra]
    settings.append(RenderSettings(mode=mode, crop=(3, 25, 0, 20, 5, 36), slab=12.0,
                                   **extra[-1]))
    for cam, s, a, b, pa, pb in single_and_bricked(ctx, volume, limits, cams, settings):
        np.testing.assert_array_equal(np.isnan(a.value), np.isnan(b.value))
        np.testing.assert_allclose(a.value, b.value, rtol=1e-5, atol=0.05)
        hit = np.isfinite(a.value)
        same = np.isclose(a.distance[hit], b.distance[hit], atol=1e-3)
        assert same.mean() > 0.99
        diff = np.abs(pa.astype(int) - pb)
        assert diff.max() <= 1 and (diff > 0).mean() < 0.002, (cam, s, diff.max())


def test_lmip_climbs_and_mida_accumulate_across_brick_faces(ctx, volume):
    """A smooth volume: lmip's climbs are long and cross brick faces (the picture differs from
    the MIP on many pixels), mida's colour builds up over several bricks; both equal the
    single texture exactly, parallel and perspective."""
    i, j, k = np.mgrid[0:33, 0:27, 0:41].astype(np.float32)
    data = (1000 * np.exp(-((i - 12) ** 2 + (j - 9) ** 2 + (k - 14) ** 2) / 60)
            + 1400 * np.exp(-((i - 22) ** 2 + (j - 17) ** 2 + (k - 28) ** 2) / 40)
            + 300 * np.sin(i / 3 + k / 5) ** 2).astype(np.float32)
    smooth = Volume(data, volume.affine)
    with MipRenderer(ctx) as one, MipRenderer(ctx, max_texture_bytes=12_000) as many:
        one.upload(smooth)
        many.upload(smooth)
        assert len(many.bricks) > 8
        for cam in (Camera.from_direction([1, -0.5, 0.3]), Camera(projection="perspective")):
            mip = one.render(cam, RenderSettings(sample_distance=0.5), (60, 50))
            for s in (RenderSettings(mode="lmip", threshold=300.0, sample_distance=0.5),
                      RenderSettings(mode="mida", sample_distance=0.5, colormap="viridis")):
                a = one.render(cam, s, (60, 50))
                np.testing.assert_array_equal(a, many.render(cam, s, (60, 50)))
                if s.mode == "lmip":
                    assert (a != mip).mean() > 0.03


@pytest.mark.parametrize("mode", ["mip", "minip", "depth"])
def test_bricked_fast_paths_equal_the_plain_loop(ctx, volume, mode):
    """The bricked paths (power-of-two textures sampled through the whole volume's
    coordinates, passes drawn only around their brick) with skipping and early exit give the
    single texture's plain-loop picture to the pixel."""
    plain = RenderSettings(mode=mode, skip_empty=False, early_exit=False, window=900, level=500)
    fast = plain.copy(skip_empty=True, early_exit=True)
    with MipRenderer(ctx) as one, MipRenderer(ctx, max_texture_bytes=6_000) as many:
        one.upload(volume)
        many.upload(volume)
        assert len(many.bricks) > 8
        for cam in (Camera.standard("left"), Camera.from_direction([0.3, -1, 0.6]),
                    Camera(projection="perspective")):
            np.testing.assert_array_equal(many.render(cam, fast, (70, 60)),
                                          one.render(cam, plain, (70, 60)))
