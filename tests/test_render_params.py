"""Parameters change the picture; degenerate inputs render as docs/conventions.md says."""

from __future__ import annotations

import numpy as np
import pytest

from glmip.camera import Camera
from glmip.settings import RenderSettings
from glmip.volume import Volume


@pytest.fixture
def vessel(renderer, rng):
    """Noise with a bright tube along a diagonal: a person sees a white line on grey noise."""
    shape = (40, 36, 32)
    data = (rng.random(shape) * 80).astype(np.uint8)
    t = np.linspace(0, 1, 200)
    for x, y, z in zip(4 + 30 * t, 5 + 25 * t, 3 + 26 * t):
        data[int(x) - 1 : int(x) + 2, int(y) - 1 : int(y) + 2, int(z)] = 250
    affine = np.diag([0.7, 0.8, 1.1, 1.0])
    renderer.upload(Volume(data, affine))
    return renderer


def render(r, cam=None, **kw):
    return r.render(cam or Camera(), RenderSettings(**kw), (64, 48)).astype(int)


def test_window_level_sample_distance_and_view_change_the_image(vessel):
    base = render(vessel)
    for changed in (render(vessel, window=100, level=60), render(vessel, window=400, level=127),
                    render(vessel, sample_distance=3.0), render(vessel, Camera.standard("left"))):
        assert np.abs(changed - base).sum() > 1000


def test_automatic_window_is_full_range(vessel):
    vol = vessel.volume
    lo, hi = vol.value_range
    auto = render(vessel)
    explicit = render(vessel, window=hi - lo, level=(hi + lo) / 2)
    assert np.array_equal(auto, explicit)
    assert render(vessel, window=0, level=12345).tolist() == auto.tolist()  # window <= 0: auto


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
def test_constant_volume_renders_white_where_rays_hit(renderer, dtype):
    renderer.upload(Volume(np.full((10, 12, 14), 7, dtype), np.eye(4)))
    img = renderer.render(Camera.standard("anterior", fit="box"), RenderSettings(), (10, 14))
    assert (img == 255).all()
    img = renderer.render(Camera.standard("anterior"), RenderSettings(), (40, 40))
    assert set(np.unique(img)) == {0, 255}  # background black around it


def test_nan_is_ignored_and_all_nan_rays_are_background(renderer):
    data = np.full((6, 6, 6), np.nan, np.float32)
    data[:, :, 2] = 10.0
    data[0, :, :] = np.nan  # a column of rays with no finite sample
    data[2, 2, 2] = 20.0
    vol = Volume(data, np.eye(4))
    assert vol.value_range == (10.0, 20.0)
    renderer.upload(vol)
    proj = renderer.project(Camera.standard("superior", fit="box"), RenderSettings(sample_distance=1,
                            interpolation="nearest"), (6, 6))
    assert np.isnan(proj.value[:, 0]).all()  # i == 0 is the left column
    assert np.nanmax(proj.value) == 20.0
    img = renderer.render(Camera.standard("superior", fit="box"),
                          RenderSettings(background=(0.0, 0.0, 1.0), interpolation="nearest"), (6, 6))
    assert (img[:, 0] == (0, 0, 255)).all()


def test_background_colour_and_rgb_output(renderer):
    renderer.upload(Volume(np.full((4, 4, 4), 5, np.uint8), np.eye(4)))
    img = renderer.render(Camera(), RenderSettings(background=(1.0, 0.5, 0.0)), (32, 32))
    assert img.shape == (32, 32, 3)
    assert tuple(img[0, 0]) == (255, 128, 0)
    assert tuple(img[16, 16]) == (255, 255, 255)


def test_perspective_differs_but_keeps_the_volume_in_view(vessel):
    ortho = render(vessel)
    persp = render(vessel, Camera(projection="perspective"))
    assert np.abs(persp - ortho).sum() > 1000
    assert persp[:, :].max() > 200  # the vessel is still there


def test_skipping_and_early_exit_give_the_plain_image(vessel, rng):
    """Every speed-up path gives exactly the image of the plain loop."""
    for cam in (Camera(), Camera.standard("left"), Camera.from_direction([1, -2, 0.5])):
        # A coloured background tells "hit, below the window" from "missed": rays whose every
        # cell is skipped must still be hits.
        blue = (0.0, 0.0, 1.0)
        for kw in ({}, {"window": 120, "level": 100}, {"window": 60, "level": 40},
                   {"window": 60, "level": 200, "background": blue},
                   {"mode": "minip", "window": 60, "level": 10, "background": blue},
                   {"mode": "minip"}, {"mode": "depth", "window": 200, "level": 120}):
            plain = render(vessel, cam, skip_empty=False, early_exit=False, **kw)
            fast = render(vessel, cam, skip_empty=True, **kw)
            assert np.array_equal(plain, fast), (cam.view_dir, kw)
            for skip in (False, True):
                stops = render(vessel, cam, skip_empty=skip, early_exit=True, **kw)
                assert np.array_equal(plain, stops), (cam.view_dir, kw, skip)
        plain = vessel.project(cam, RenderSettings(skip_empty=False, early_exit=False), (64, 48))
        fast = vessel.project(cam, RenderSettings(skip_empty=True), (64, 48))
        np.testing.assert_array_equal(plain.value, fast.value)
        np.testing.assert_array_equal(plain.distance, fast.distance)
        assert fast.samples.sum() < plain.samples.sum()


def test_tiled_rendering_equals_one_pass(vessel, ctx):
    from glmip.renderer import MipRenderer

    whole = vessel.render(Camera.standard("anterior"), RenderSettings(), (70, 50))
    with MipRenderer(ctx, tile_size=16) as tiled:
        tiled.upload(vessel.volume)
        parts = tiled.render(Camera.standard("anterior"), RenderSettings(), (70, 50))
    assert np.array_equal(whole, parts)


def test_automatic_speedups_follow_the_data_and_never_change_the_picture(renderer, rng):
    """Skipping is chosen for a CT-like volume (air around a body), not for visible noise;
    the early exit when many cells reach the window's top. Pictures are identical."""
    ct = np.full((96, 96, 30), -1000, np.int16)
    ct[36:60, 36:60, :] = rng.integers(0, 80, (24, 24, 30))
    ct[47:49, 47:49, :] = 600  # a contrast vessel
    renderer.upload(Volume(ct, np.eye(4)))
    assert renderer.speedups(RenderSettings())[0] is True
    assert renderer.speedups(RenderSettings(window=100, level=50))[1] is True
    assert renderer.speedups(RenderSettings(skip_empty=False, early_exit=False)) == (False, False)
    for kw in ({}, {"window": 100, "level": 50}):
        for cam in (Camera(), Camera.from_direction([1, 1, -0.3])):
            auto = renderer.render(cam, RenderSettings(**kw), (50, 40))
            plain = renderer.render(cam, RenderSettings(skip_empty=False, early_exit=False, **kw),
                                    (50, 40))
            assert np.array_equal(auto, plain)
    noise = rng.integers(0, 60, (40, 40, 30)).astype(np.uint8)
    renderer.upload(Volume(noise, np.eye(4)))
    assert renderer.speedups(RenderSettings())[0] is False


def test_skipping_with_nan_keeps_all_nan_rays_background(renderer):
    """A volume with NaN may not skip before a ray's first sample: a ray through NaN only is a
    miss (background), one through low finite values a hit (grey 0)."""
    data = np.full((24, 20, 16), 5.0, np.float32)
    data[:6] = np.nan
    data[12:14, 8:10, :] = 300.0
    renderer.upload(Volume(data, np.eye(4)))
    cam = Camera.standard("superior", fit="box")
    s = dict(window=100, level=200, background=(0.0, 0.0, 1.0))
    plain = renderer.render(cam, RenderSettings(skip_empty=False, early_exit=False, **s), (24, 20))
    fast = renderer.render(cam, RenderSettings(skip_empty=True, early_exit=True, **s), (24, 20))
    assert np.array_equal(plain, fast)
    assert (plain[:, :5] == (0, 0, 255)).all() and (plain[:, 8:11] == (0, 0, 0)).all()


def test_cell_statistics_cover_each_cell_and_one_voxel_around(rng):
    from glmip.raycast import cell_statistics

    for shape, cell in (((9, 10, 11), 4), ((33, 27, 41), 8), ((5, 5, 5), 4)):
        data = rng.integers(-500, 1000, shape).astype(np.int16)
        stats = cell_statistics(Volume(data, np.eye(4), slope=2.0, inter=-3.0), cell)
        for c in np.ndindex(*stats.shape[:3]):
            block = data[tuple(slice(max(i * cell - 1, 0), i * cell + cell + 2) for i in c)]
            assert stats[c][0] == 2.0 * block.max() - 3.0 and stats[c][1] == 2.0 * block.min() - 3.0


def test_footprint_draw_equals_whole_viewport(vessel, monkeypatch):
    """Drawing only the volume's outline gives exactly what drawing every pixel gives."""
    import glmip.raycast as raycast_module

    cams = [Camera.from_direction([1, -2, 0.5]), Camera(projection="perspective"),
            Camera.standard("left", zoom=3.0)]
    settings = [RenderSettings(), RenderSettings(crop=(5, 30, 2, 20, 4, 25), skip_empty=True)]
    outlined = [vessel.project(c, s, (64, 48)) for c in cams for s in settings]
    monkeypatch.setattr(raycast_module, "footprint", lambda *a, **k: None)
    whole = [vessel.project(c, s, (64, 48)) for c in cams for s in settings]
    for a, b in zip(outlined, whole):
        np.testing.assert_array_equal(a.value, b.value)
        np.testing.assert_array_equal(a.samples, b.samples)
    assert sum(np.isnan(a.value).sum() for a in outlined) > 1000  # some rays did miss


def test_footprint_refuses_an_eye_inside_the_depth_range():
    from glmip.raycast import footprint

    frame = Camera(projection="perspective").frame(Volume(np.zeros((10, 10, 10), np.uint8),
                                                          np.eye(4)), 32, 32)
    corners = np.array([[x, y, z] for x in (-1e4, 1e4) for y in (-1e4, 1e4) for z in (-1e4, 1e4)])
    assert footprint(frame, corners, (0, 0, 32, 32)) is None
    near = frame.eye + frame.view_dir * 50 + np.array([[x, y, z] for x in (-1, 1)
                                                       for y in (-1, 1) for z in (-1, 1)])
    outline = footprint(frame, near, (0, 0, 32, 32))
    assert outline is not None and np.abs(outline).max() < 1.5


@pytest.mark.parametrize("mode", ["mip", "minip"])
def test_early_exit_stops_only_at_the_window_end(renderer, mode):
    """Along each ray a value one grey level short of the window's end comes first and the end
    itself later: a ray that stopped one level early would show 254 (or 1)."""
    data = np.full((4, 4, 12), 100.0, np.float32)
    near, far = (254.2, 255.0) if mode == "mip" else (0.8, 0.0)
    data[:, :, 9] = near   # superior view: rays go from high k to low k
    data[:, :, 2] = far
    renderer.upload(Volume(data, np.eye(4)))
    cam = Camera.standard("superior", fit="box")
    for skip in (False, True):
        s = RenderSettings(mode=mode, window=255, level=127.5, interpolation="nearest",
                           skip_empty=skip, early_exit=True)
        img = renderer.render(cam, s, (4, 4))
        assert (img == (255 if mode == "mip" else 0)).all(), (skip, img)


# The fast paths (skipping, early exit) must give the plain loop's pixels in the corner cases below.
def _plain_and_fast(r, cam, size, project=False, **kw):
    how = r.project if project else r.render
    plain = how(cam, RenderSettings(skip_empty=False, early_exit=False, **kw), size)
    fast = how(cam, RenderSettings(skip_empty=True, early_exit=True, **kw), size)
    return plain, fast


def test_runs_may_start_in_front_of_the_first_sample_plane(vessel):
    """k counts from the voxel-centre plane nearest the eye; the box reaches half a voxel in
    front of it, so samples with negative k exist (small steps, jitter, oblique corners)."""
    for cam in (Camera.standard("inferior"), Camera.from_direction([1, 1, -1])):
        for kw in ({"sample_distance": 0.4}, {"jitter": True}, {"window": 60, "level": 200}):
            plain, fast = _plain_and_fast(vessel, cam, (64, 48), **kw)
            assert np.array_equal(plain, fast), (cam.view_dir, kw)


def test_refine_with_skipping_looks_where_the_plain_loop_looks(renderer):
    prof = np.zeros(40, np.float32)
    prof[[7, 17, 26]] = [100.3, 99.0, 100.6]  # thin spikes between samples 3 voxels apart
    renderer.upload(Volume(np.ascontiguousarray(np.broadcast_to(prof, (3, 3, 40))), np.eye(4)))
    for interp in ("nearest", "linear"):
        plain, fast = _plain_and_fast(renderer, Camera.standard("inferior", fit="box"), (3, 3),
                                      window=255.0, level=127.5, refine=True, sample_distance=3.0,
                                      interpolation=interp)
        assert np.array_equal(plain, fast), interp


def test_depth_cued_exact_values_skip_only_what_cueing_cannot_raise(renderer):
    """Depth cueing pulls values below the window up towards its bottom: a cell's raw maximum
    is no bound for its cued values there."""
    data = np.full((8, 8, 40), -200.0, np.float32)
    data[:, :, 30:34] = -50.0
    data[:, :, 4:8] = -80.0
    renderer.upload(Volume(data, np.eye(4)))
    plain, fast = _plain_and_fast(renderer, Camera.standard("superior", fit="box"), (8, 8),
                                  project=True, mode="depth", window=10.0, level=5.0,
                                  depth_length=10.0)
    np.testing.assert_array_equal(plain.value, fast.value)
    np.testing.assert_array_equal(plain.distance, fast.distance)


def test_infinite_values_keep_rays_from_skipping_before_their_first_sample(renderer):
    data = np.full((16, 16, 16), 50.0, np.float32)
    data[:, :8, :] = -np.inf
    renderer.upload(Volume(data, np.eye(4)))
    plain, fast = _plain_and_fast(renderer, Camera.standard("superior", fit="box"), (16, 16),
                                  window=100.0, level=150.0, background=(0.0, 0.0, 1.0),
                                  interpolation="nearest")
    assert np.array_equal(plain, fast)


def test_viewer_scaled_and_averaged_frames_equal_the_plain_loop(renderer, ctx, rng):
    """While dragging the viewer scales a smaller projection up, and at rest it averages
    jittered frames: both work on grey levels, so skipped rays cannot show."""
    data = np.full((40, 40, 40), -1000, np.int16)
    data[8:32, 8:32, 8:32] = 40
    data[15:25, 15:25, 10:30] = 1500
    data += rng.integers(0, 20, data.shape).astype(np.int16)
    renderer.upload(Volume(data, np.eye(4)))
    target = ctx.texture((64, 48), 3)
    fbo = ctx.framebuffer([target])
    cam = Camera.from_direction([1, -2, 0.5])
    for extra, calls in (({}, [dict(reduction=2)]), ({}, [dict(reduction=4)]),
                         ({"jitter": True}, [dict(seed=i, accumulate=i > 1) for i in range(1, 5)])):
        pictures = []
        for speed in (dict(skip_empty=False, early_exit=False), dict(skip_empty=True, early_exit=True)):
            s = RenderSettings(window=400, level=40, **extra, **speed)
            for c in calls:
                renderer.draw(cam, s, fbo, (64, 48), **c)
            pictures.append(np.frombuffer(fbo.read(components=3), np.uint8))
        assert np.array_equal(*pictures), (extra, calls)
    ctx.detect_framebuffer(0).use()  # never leave a released framebuffer bound
    fbo.release()
    target.release()


def _ct_like(rng):
    """Air around a noisy body, a bright bone deep behind a contrast tube: skipping and the
    early exit pay in a CTA window, and most rays find their maximum far from the front."""
    data = np.full((40, 44, 36), -1000, np.int16)
    data[6:34, 6:38, 4:32] = 40
    data[18:22, 8:36, 6:30] = 400
    data[10:30, 8:14, 8:28] = 1500  # posterior: anterior rays meet it last
    data[6:34, 6:38, 4:32] += rng.integers(-30, 30, (28, 32, 28)).astype(np.int16)
    return Volume(data, np.diag([0.8, 0.7, 1.2, 1.0]))


def test_previous_frame_hint_keeps_the_plain_picture_and_takes_fewer_samples(ctx, rng):
    """MIP pictures of a turning camera first sample each ray where the previous frame's
    maximum was (the hint, shaders/mip.glsl): every frame equals the plain loop's picture,
    and the hinted frames take fewer samples than the same frames drawn without one."""
    from glmip.renderer import MipRenderer

    volume = _ct_like(rng)
    hinted, fresh, plain = (MipRenderer(ctx) for _ in range(3))
    for r in (hinted, fresh, plain):
        r.upload(volume)
    s = RenderSettings(window=700, level=200)
    assert hinted.speedups(s) == (True, True) and hinted._choices(s)[2]
    slow = RenderSettings(window=700, level=200, skip_empty=False, early_exit=False)
    size = (64, 48)
    with_hint = without = 0
    for k in range(6):
        cam = Camera.standard("anterior").rotated([0, 0, 1], 3 * k)
        if k:
            with_hint += int(hinted.project(cam, s, size, exact_values=False).samples.sum())
            fresh.render(Camera.standard("superior"), RenderSettings(mode="mean"), size)
            without += int(fresh.project(cam, s, size, exact_values=False).samples.sum())
        picture = hinted.render(cam, s, size)
        assert hinted._previous_rays is not None
        np.testing.assert_array_equal(picture, plain.render(cam, slow, size))
        # Exact values are never hinted: the maximum and its first position, as the plain loop.
        exact, reference = hinted.project(cam, s, size), plain.project(cam, slow, size)
        np.testing.assert_array_equal(exact.value, reference.value)
        np.testing.assert_array_equal(exact.distance, reference.distance)
        hinted.render(cam, s, size)  # the next frame's hint: this picture's rays
    assert with_hint < 0.85 * without, (with_hint, without)
    for r in (hinted, fresh, plain):
        r.release()


def test_any_previous_frame_gives_the_plain_picture(renderer, rng):
    """The hint is only a guess: whatever the previous frame's result holds (noise, NaN,
    infinities, huge distances), the picture is the plain loop's."""
    renderer.upload(_ct_like(rng))
    s = RenderSettings(window=700, level=200)
    slow = RenderSettings(window=700, level=200, skip_empty=False, early_exit=False)
    cam = Camera.from_direction([1, -2, 0.5])
    expected = renderer.render(cam, slow, (64, 48))
    for fill in ("noise", "nan", "inf", "huge"):
        renderer.render(Camera.standard("left"), s, (64, 48))
        tex = renderer._previous_rays[1]
        junk = rng.normal(0, 1e3, (48, 64, 4)).astype(np.float32)
        junk[..., 2] = 1.0  # "hit": the hint is taken
        junk[..., 1] = {"noise": junk[..., 1], "nan": np.nan, "inf": np.inf, "huge": 3e38}[fill]
        tex.write(junk.tobytes())
        np.testing.assert_array_equal(renderer.render(cam, s, (64, 48)), expected, err_msg=fill)


def test_display_pass_only_where_rays_meet_the_volume(vessel, monkeypatch):
    """The display pass draws the rectangle around the volume's outline and clears the rest
    to the background: the picture is the one drawn on every pixel."""
    import glmip.raycast as raycast_module

    cams = [Camera.from_direction([1, -2, 0.5]), Camera(projection="perspective"),
            Camera.standard("left", zoom=0.5)]
    settings = [RenderSettings(background=(0.2, 0.6, 1.0)),
                RenderSettings(crop=(5, 30, 2, 20, 4, 25), background=(1.0, 0.5, 0.0),
                               colormap="hot"),
                RenderSettings(mode="depthcolour", background=(0.1, 0.1, 0.1))]
    outlined = [vessel.render(c, s, (64, 48)) for c in cams for s in settings]
    monkeypatch.setattr(raycast_module, "footprint", lambda *a, **k: None)
    whole = [vessel.render(c, s, (64, 48)) for c in cams for s in settings]
    for a, b in zip(outlined, whole):
        np.testing.assert_array_equal(a, b)
    assert sum(int((a == a[0, 0]).all(axis=-1).sum()) for a in outlined) > 1000  # background
