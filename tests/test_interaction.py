"""Mouse and key logic of the viewer, without GL: VTK trackball directions, pan that follows the
mouse, zoom, spin, window/level drags, the keys' pure camera/settings changes, the
coarse-while-dragging policy, overlay geometry and the printed ``glmip render`` command."""

from __future__ import annotations

import math
import shlex

import numpy as np
import pytest

from glmip import interaction as ia
from glmip.camera import Camera
from glmip.settings import RenderSettings
from glmip.volume import Volume

W, H = 400, 300


@pytest.fixture
def volume():
    affine = np.diag([0.8, 0.8, 1.5, 1.0])
    affine[:3, 3] = (-30.0, 12.0, 5.0)
    return Volume(np.zeros((40, 50, 20), np.uint8), affine)


def pixel(camera, volume, point):
    return camera.frame(volume, W, H).pixel_of(point)


def test_drag_modes_follow_conventions():
    assert ia.drag_mode("left") == "rotate"
    assert ia.drag_mode("middle") == "pan"
    assert ia.drag_mode("left", shift=True) == "pan"
    assert ia.drag_mode("right") == "zoom"
    assert ia.drag_mode("left", ctrl=True) == "spin"
    assert ia.drag_mode("left", alt=True) == "window"
    assert ia.drag_mode("right", ctrl=True) == "window"


def test_keymap_has_every_window_key():
    expected = {"q": "quit", "r": "reset", "x": "screenshot", "h": "help", "o": "projection",
                "w": "auto-window", "+": "step:coarser", "-": "step:finer",
                "i": "interpolation", "m": "mode", "t": "turntable"}
    for key, action in expected.items():
        assert ia.KEYMAP[key] == action
    views = ["anterior", "posterior", "left", "right", "superior", "inferior"]
    for n, view in enumerate(views, 1):
        assert ia.KEYMAP[str(n)] == f"view:{view}"
    assert "q: Quit renderer/proceed." in ia.HELP_LINES
    for key in ia.PRESETS:  # every preset key is in the help
        assert any(key in line for line in ia.HELP_LINES if "preset" in line)


def test_rotate_right_drag_moves_the_near_side_right(volume):
    """VTK trackball: the part of the volume nearest the eye follows the mouse."""
    cam = Camera.standard("superior")
    d, right, up = cam.basis()
    near = volume.center - 30 * d
    far = volume.center + 30 * d
    r0, c0 = pixel(cam, volume, near)
    turned = ia.rotate(cam, 20, 0, W, H)
    assert pixel(cam, volume, volume.center) == pytest.approx(pixel(turned, volume, volume.center))
    assert pixel(turned, volume, near)[1] > c0 + 1
    assert pixel(turned, volume, far)[1] < c0 - 1
    down = ia.rotate(cam, 0, 20, W, H)  # y grows downwards in window coordinates
    assert pixel(down, volume, near)[0] > r0 + 1


def test_rotate_rate_is_vtks(volume):
    """A drag across the whole width turns 200 degrees (VTK: 20 / size x motion factor 10)."""
    cam = Camera.standard("anterior")
    step = ia.rotate(cam, W / 40, 0, W, H)  # 5 degrees
    angle = math.degrees(math.acos(np.clip(cam.view_dir @ step.view_dir, -1, 1)))
    assert angle == pytest.approx(5.0, abs=1e-6)
    # About the screen's up: the up vector does not change.
    np.testing.assert_allclose(step.up, cam.basis()[2], atol=1e-12)


def test_pan_keeps_the_point_under_the_mouse(volume):
    cam = Camera.standard("left")
    frame = cam.frame(volume, W, H)
    r0, c0 = frame.pixel_of(volume.center)
    moved = ia.pan(cam, 17, -9, frame.pixel_size, volume.center)
    r1, c1 = moved.frame(volume, W, H).pixel_of(volume.center)
    assert (r1 - r0, c1 - c0) == pytest.approx((-9, 17), abs=1e-9)


def test_zoom_drag_and_wheel():
    cam = Camera.standard("superior")
    assert ia.zoom_drag(cam, -30, H).zoom > 1  # drag up: closer
    assert ia.zoom_drag(cam, 30, H).zoom < 1
    assert ia.zoom_drag(cam, -H / 2, H).zoom == pytest.approx(1.1**10)
    assert ia.wheel_zoom(cam, 1).zoom == pytest.approx(1.21)
    assert ia.wheel_zoom(ia.wheel_zoom(cam, 1), -1).zoom == pytest.approx(1.0)


def test_spin_turns_the_picture_with_the_mouse(volume):
    cam = Camera.standard("anterior")
    d, right, up = cam.basis()
    p = volume.center + 20 * right  # right of the centre on screen
    # Mouse goes a quarter turn counter-clockwise: from right of centre to above it.
    spun = ia.spin(cam, W / 2 + 50, H / 2, W / 2, H / 2 - 50, W, H)
    rc, cc = pixel(spun, volume, volume.center)
    r, c = pixel(spun, volume, p)
    assert c == pytest.approx(cc, abs=1e-6)
    assert r < rc - 10  # now above the centre
    np.testing.assert_allclose(spun.view_dir, cam.view_dir)


def test_window_level_drag():
    w, lev = ia.window_level_drag(400.0, 100.0, W / 4, 0, W, H)
    assert w == pytest.approx(800.0) and lev == 100.0  # right: wider
    w, lev = ia.window_level_drag(400.0, 100.0, 0, -H / 4, W, H)
    assert w == 400.0 and lev == pytest.approx(200.0)  # up: higher level
    w, _ = ia.window_level_drag(400.0, 0.0, -100 * W, 0, W, H)
    assert w > 0


def test_quality_policy():
    pol = ia.QualityPolicy(target=1 / 30, settle=0.15)
    assert pol.choose(512 * 512) == (2, pol.coarse_step_factor)
    pol.measured(0.5, 512 * 512, 1, 1.0)  # 2 fps at full quality
    r, f = pol.choose(512 * 512)
    assert 0.5 / (r * r * f) <= 1 / 30 + 1e-9 and r >= 3
    pol.motion(10.0)
    assert pol.interacting(10.05, dragging=True)
    assert not pol.interacting(10.05, dragging=False)
    assert not pol.interacting(10.2, dragging=True)  # mouse at rest: full quality
    pol.last_coarse = True
    assert not pol.needs_full_redraw(10.1)
    assert pol.needs_full_redraw(10.16)
    off = ia.QualityPolicy(auto=False)
    off.motion(1.0)
    assert not off.interacting(1.0, dragging=True)


def test_orientation_labels():
    assert ia.edge_labels(Camera.standard("superior")) == {"left": "L", "right": "R", "top": "A",
                                                           "bottom": "P"}
    assert ia.edge_labels(Camera.standard("anterior")) == {"left": "R", "right": "L", "top": "S",
                                                           "bottom": "I"}
    assert ia.edge_labels(Camera.standard("left")) == {"left": "A", "right": "P", "top": "S",
                                                       "bottom": "I"}
    assert ia.orientation_label([1, 0.7, 0]) == "RA"
    assert ia.orientation_label([-0.2, 0, -1]) == "I"


def test_scale_bar_lengths():
    mm, px = ia.scale_bar(0.5, 120)
    assert mm == 50 and px == 100
    for pixel_mm in (0.013, 0.37, 1.0, 2.9, 47.0):
        mm, px = ia.scale_bar(pixel_mm, 120)
        mantissa = mm / 10 ** math.floor(math.log10(mm))
        assert round(mantissa, 9) in (1, 2, 5)
        assert 120 / 2.5 < px < 120 * 2.5


def test_mr_auto_window_ignores_background():
    data = np.zeros((20, 20, 20), np.uint16)
    data[5:15, 5:15, 5:15] = np.arange(1000).reshape(10, 10, 10) + 100
    w, lev = ia.mr_auto_window(data)
    lo, hi = lev - w / 2, lev + w / 2
    assert 100 <= lo < 130 and 1050 < hi <= 1100


def test_view_recipe_command_parses_back(volume):
    from glmip.cli import get_parser
    from glmip.commands.arguments import recipe_from_args
    from glmip.recipe import Recipe

    cam = ia.rotate(Camera.standard("superior"), 33, -12, W, H).copy(zoom=1.7)
    settings = RenderSettings(mode="minip", interpolation="nearest", opacity=(0.2, 0.9),
                              window=400.0, level=-100.0, sample_distance=0.7)
    recipe = Recipe.of_view("my file.nii.gz", cam, settings, volume, (W, H), {"frame": 2})
    argv = shlex.split(recipe.command("OUT.png"))
    assert argv[:3] == ["glmip", "render", "my file.nii.gz"]
    args = get_parser().parse_args(argv[1:])
    again = recipe_from_args(args, args.inputs[0])
    cam2, s = again.camera(), again.settings()
    np.testing.assert_allclose(cam2.view_dir, cam.view_dir, atol=1e-9)
    np.testing.assert_allclose(cam2.basis()[2], cam.basis()[2], atol=1e-9)
    assert cam2.frame(volume, W, H).pixel_size == pytest.approx(cam.frame(volume, W, H).pixel_size)
    assert (s.window, s.level, s.sample_distance) == (400.0, -100.0, 0.7)
    assert (s.mode, s.interpolation, s.opacity) == ("minip", "nearest", (0.2, 0.9))
    assert again.size == (W, H) and again.reader_options() == {"frame": 2}


# --- keys: pure state changes ---------------------------------------------------------------
def test_colormap_cycles_and_wraps():
    s = RenderSettings()
    seen = []
    for _ in range(len(ia.COLORMAP_CYCLE)):
        s = ia.next_colormap(s)
        seen.append(s.colormap)
    assert tuple(seen) == ia.COLORMAP_CYCLE[1:] + ia.COLORMAP_CYCLE[:1]  # from grey, wraps
    assert ia.next_colormap(RenderSettings(colormap="gray")).colormap == ia.COLORMAP_CYCLE[0]


def test_gamma_and_mode_cycle_and_wrap():
    s = RenderSettings()
    gammas = []
    for _ in range(len(ia.GAMMA_CYCLE)):
        s = ia.next_gamma(s)
        gammas.append(s.gamma)
    assert gammas == [0.7, 0.5, 1.5, 1.0]
    assert ia.next_gamma(RenderSettings(gamma=2.2)).gamma == ia.GAMMA_CYCLE[0]
    s = RenderSettings()
    modes = [(s := ia.next_mode(s)).mode for _ in ia.MODES_CYCLE]
    assert modes == [*ia.MODES_CYCLE[1:], "mip"]  # every mode of the vocabulary, then back


def test_toggles_change_only_their_setting():
    base = RenderSettings(window=10.0, level=5.0)
    for change, name, values in ((ia.toggle_interpolation, "interpolation", ("nearest", "linear")),
                                 (ia.toggle_refine, "refine", (True, False)),
                                 (ia.toggle_jitter, "jitter", (True, False))):
        once = change(base)
        twice = change(once)
        assert (getattr(once, name), getattr(twice, name)) == values
        assert once.copy(**{name: getattr(base, name)}) == base
    auto = ia.auto_window(base)
    assert auto.window is None and auto.level is None and auto.copy(window=10.0, level=5.0) == base


def test_projection_and_standard_views_keep_framing():
    cam = Camera.standard("superior", fit="box")
    persp = ia.toggle_projection(cam)
    assert persp.projection == "perspective" and cam.projection == "orthographic"
    assert ia.toggle_projection(persp).projection == "orthographic"
    view = ia.standard_view(persp, "anterior")
    np.testing.assert_allclose(view.view_dir, Camera.standard("anterior").view_dir)
    assert view.fit == "box" and view.projection == "perspective"


def test_step_coarser_and_finer():
    s = ia.change_step(RenderSettings(), 0.8, "coarser")
    assert s.sample_distance == pytest.approx(0.8 * ia.STEP_FACTOR)
    assert ia.change_step(s, s.sample_distance, "finer").sample_distance == pytest.approx(0.8)


def test_slab_keys():
    off = RenderSettings()
    for how in ("thinner", "thicker", "nearer", "farther"):
        assert ia.change_slab(off, how) is None  # nothing to change while the slab is off
    on = ia.change_slab(off, "toggle")
    assert (on.slab, on.slab_center) == (ia.SLAB_DEFAULT_MM, 0.0)
    assert ia.change_slab(on, "thicker").slab == pytest.approx(ia.SLAB_DEFAULT_MM * ia.SLAB_FACTOR)
    assert ia.change_slab(on, "thinner").slab == pytest.approx(ia.SLAB_DEFAULT_MM / ia.SLAB_FACTOR)
    assert ia.change_slab(on, "farther").slab_center == pytest.approx(2.5)
    assert ia.change_slab(on, "nearer").slab_center == pytest.approx(-2.5)
    thin = on.copy(slab=1.0)
    assert ia.change_slab(thin, "farther").slab_center == 0.5  # at least 0.5 mm
    assert ia.change_slab(ia.change_slab(on, "farther"), "toggle").slab is None


def test_presets(volume):
    s, label = ia.apply_preset(RenderSettings(), "c", volume)
    assert (label, s.window, s.level) == ("CT angiography", 700.0, 200.0)
    data = np.zeros((10, 10, 10), np.int16)
    data[2:8, 2:8, 2:8] = np.arange(216).reshape(6, 6, 6) + 100
    s, label = ia.apply_preset(RenderSettings(), "a", Volume(data, np.eye(4)))
    assert label == "MR auto" and (s.window, s.level) == ia.mr_auto_window(data)


def test_drag_applies_its_gesture(volume):
    cam = Camera.standard("superior")
    settings = RenderSettings()
    drag = ia.Drag("rotate", 100, 100, (200.0, 100.0))
    assert drag.is_click
    assert drag.move(100, 100, cam, settings, W, H, 1.0, volume.center) is None
    moved, same = drag.move(140, 100, cam, settings, W, H, 1.0, volume.center)
    assert same is settings and not drag.is_click and (drag.x, drag.y) == (140, 100)
    expected = ia.rotate(cam, 40, 0, W, H)
    np.testing.assert_allclose(moved.view_dir, expected.view_dir)
    wl = ia.Drag("window", 0, 0, (200.0, 100.0))
    _, s1 = wl.move(40, 0, cam, settings, W, H, 1.0, volume.center)
    _, s2 = wl.move(80, 0, cam, s1, W, H, 1.0, volume.center)  # accumulates from the press
    assert (s2.window, s2.level) == pytest.approx(ia.window_level_drag(200.0, 100.0, 80, 0, W, H))
    pan = ia.Drag("pan", 0, 0, (1.0, 0.5))
    cam2, _ = pan.move(10, 0, cam, settings, W, H, 0.5, volume.center)
    np.testing.assert_allclose(cam2.center, np.asarray(volume.center) - [5.0, 0, 0])


def test_wl_layers_cycle_and_set_only_their_pair():
    s = RenderSettings(window=100, level=50, fuse=("/x/pet.nii.gz", "/y/spect.nrrd"))
    assert ia.wl_layer_count(s) == 3
    assert [ia.next_wl_layer(k, s) for k in range(3)] == [1, 2, 0]
    assert ia.wl_layer_name(0, s) == "base volume"
    assert ia.wl_layer_name(2, s) == "layer 2 (spect.nrrd)"
    t = ia.set_layer_window(s, 2, 300.0, 120.0)
    assert t.fuse_window == (0.0, 0.0, 300.0, 120.0) and (t.window, t.level) == (100, 50)
    assert ia.set_layer_window(t, 2, None, None).fuse_window == (0.0, 0.0, 0.0, 0.0)
    drag = ia.Drag("window", 0, 0, (300.0, 120.0), layer=2)
    _, moved = drag.move(W / 4, 0, Camera.standard("superior"), t, W, H, 1.0, (0, 0, 0))
    assert moved.fuse_window[:2] == (0.0, 0.0) and moved.fuse_window[2] == pytest.approx(600)
    assert (moved.window, moved.level) == (100, 50)
    u, message = ia.layer_window_action("preset:b", t, 1, None)
    assert u.fuse_window == (1800.0, 400.0, 300.0, 120.0) and message.startswith("layer 1")


def test_depth_hue_is_the_shaders_and_extent(volume):
    hue = ia.depth_hue([0.0, 0.5, 1.0])
    np.testing.assert_allclose(hue, [ia.DEPTH_NEAR, ia.DEPTH_MID, ia.DEPTH_FAR])
    np.testing.assert_allclose(ia.depth_hue(0.25), (np.add(ia.DEPTH_NEAR, ia.DEPTH_MID)) / 2)
    sphere = 2 * np.linalg.norm(volume.corners() - volume.center, axis=1).max()
    assert ia.depth_extent(volume, RenderSettings()) == pytest.approx(sphere)
    assert ia.depth_extent(volume, RenderSettings(depth_length=12.0)) == 12.0


def test_depth_hue_constants_are_the_shaders():
    import re

    from glmip.resources import shader_path

    text = open(shader_path("mip.glsl")).read()
    body = text[text.index("vec3 depth_hue(float t)"):]
    found = {name: tuple(float(x) for x in vals.split(","))
             for name, vals in re.findall(r"vec3 (near|mid|far) = vec3\(([^)]*)\)", body)[:3]}
    assert found == {"near": ia.DEPTH_NEAR, "mid": ia.DEPTH_MID, "far": ia.DEPTH_FAR}
