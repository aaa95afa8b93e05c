"""The viewer driven headlessly (moderngl-window's headless window on EGL, no display):
synthetic drags and key presses change camera and picture, ``r`` restores the first picture
exactly, ``x`` writes a magnified screenshot equal to ``glmip render`` with the printed
options, ``q`` ends the loop; resizing, HiDPI framebuffers and 4-D stepping behave; every key
has an action. The overlay (glmip.overlay) is tested without GL at the end (docs/viewer.md)."""

from __future__ import annotations

import shlex

import numpy as np
import pytest
from PIL import Image

from glmip.app import MipViewer, ViewerOptions, make_window
from glmip.camera import Camera
from glmip.io import load
from glmip.resources import sample_path
from glmip.settings import RenderSettings
from glmip.volume import Volume

SIZE = (240, 180)


def headless(size=SIZE):
    return make_window("headless", size, backend="egl")


def read(fbo, size) -> np.ndarray:
    cols, rows = size
    return np.frombuffer(fbo.read(components=3), np.uint8).reshape(rows, cols, 3)[::-1].copy()


class Driver:
    """A viewer plus helpers that play the user's part."""

    def __init__(self, viewer: MipViewer, lines: list[str]):
        self.viewer, self.lines = viewer, lines

    @property
    def image(self) -> np.ndarray:  # the MIP without the overlay
        return read(self.viewer._image_fbo, self.viewer.buffer_size)

    @property
    def screen(self) -> np.ndarray:  # what the window shows
        return read(self.viewer.wnd.fbo, self.viewer.buffer_size)

    def key(self, char: str) -> None:
        self.viewer.on_unicode_char_entered(char)
        self.viewer.step()

    def drag(self, start, end, button=1, steps=5, shift=False, ctrl=False, alt=False,
             release=True) -> None:
        v = self.viewer
        mods = v.wnd.modifiers
        mods.shift, mods.ctrl, mods.alt = shift, ctrl, alt
        v.on_mouse_press_event(*start, button)
        for k in range(1, steps + 1):
            x = round(start[0] + (end[0] - start[0]) * k / steps)
            y = round(start[1] + (end[1] - start[1]) * k / steps)
            v.on_mouse_drag_event(x, y, 0, 0)
            v.step()
        if release:
            v.on_mouse_release_event(*end, button)
            v.step()
        mods.shift = mods.ctrl = mods.alt = False


def open_viewer(volume, tmp_path, *, wnd=None, camera=None, settings=None, **options):
    wnd = wnd or headless()
    lines: list[str] = []
    opts = ViewerOptions(screenshot_dir=str(tmp_path), echo=lines.append, **options)
    viewer = MipViewer(wnd.ctx, wnd, volume=volume, camera=camera or Camera.standard("superior"),
                       settings=settings or RenderSettings(), options=opts)
    viewer.step()
    return Driver(viewer, lines)


@pytest.fixture(scope="module")
def aorta():
    return load(sample_path())


@pytest.fixture
def blob():
    """A bright off-centre ball in a dim box: rotations move it, so pictures must change."""
    n = 48
    i, j, k = np.mgrid[0:n, 0:n, 0:n]
    data = (20 + 200 * (((i - 34) ** 2 + (j - 20) ** 2 + (k - 12) ** 2) < 36)).astype(np.uint8)
    data[:, :, 40:] = 90  # a bright slab on top, so the view from above differs from below
    return Volume(data, np.diag([1.0, 1.2, 0.9, 1.0]), name="blob")


@pytest.fixture
def driver(blob, tmp_path):
    d = open_viewer(blob, tmp_path)
    yield d
    d.viewer.release()


def test_first_view_is_superior_and_matches_the_renderer(driver):
    v = driver.viewer
    np.testing.assert_allclose(v.camera.view_dir, [0, 0, -1])
    np.testing.assert_allclose(v.camera.basis()[2], [0, 1, 0])
    assert v.camera.projection == "orthographic" and v.camera.fit == "sphere"
    expected = v.renderer.render(Camera.standard("superior"), RenderSettings(), SIZE)
    got = driver.image[..., 0]
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1
    assert got.max() == 255  # the ball is visible
    # The overlay (help, letters, scale bar) is on the screen, not in the picture.
    assert (driver.screen != driver.image).any()


def test_drags_change_camera_and_picture_and_r_restores_it(driver):
    v = driver.viewer
    first = driver.image
    driver.drag((120, 90), (170, 110))  # rotate
    assert not np.allclose(v.camera.view_dir, [0, 0, -1])
    rotated = driver.image
    assert (rotated != first).mean() > 0.02
    driver.drag((120, 90), (100, 60), button=3)  # middle: pan
    assert v.camera.center is not None
    driver.drag((120, 90), (120, 50), button=2)  # right: zoom in
    assert v.camera.zoom > 1
    driver.drag((180, 90), (120, 30), ctrl=True)  # spin
    v.on_mouse_scroll_event(0, 1)
    v.step()
    assert (driver.image != rotated).mean() > 0.02
    driver.key("r")
    assert np.array_equal(driver.image, first)


def test_coarse_while_dragging_then_full_quality(driver):
    v = driver.viewer
    v.policy.settle = 10.0  # keep "interacting" for the whole drag
    driver.drag((120, 90), (150, 90), release=False)
    assert v.last_reduction >= 2
    coarse = driver.image
    v.on_mouse_release_event(150, 90, 1)
    v.step()
    assert v.last_reduction == 1
    full = v.renderer.render(v.camera, v.settings, SIZE)
    assert np.abs(driver.image[..., 0].astype(int) - full.astype(int)).max() <= 1
    assert (coarse != driver.image).any()
    # At rest after the settle time a full frame is drawn even without a release.
    v.policy.settle = 0.0
    driver.drag((120, 90), (140, 100), release=False)
    v.step()
    assert v.last_reduction == 1
    v.on_mouse_release_event(140, 100, 1)


def test_no_auto_sample_distance_draws_every_frame_in_full(blob, tmp_path):
    d = open_viewer(blob, tmp_path, auto_sample_distance=False,
                    settings=RenderSettings(sample_distance=0.5))
    d.viewer.policy.settle = 10.0
    d.drag((120, 90), (150, 90), release=False)
    assert d.viewer.last_reduction == 1
    full = d.viewer.renderer.render(d.viewer.camera, d.viewer.settings, SIZE)
    assert np.abs(d.image[..., 0].astype(int) - full.astype(int)).max() <= 1
    d.viewer.release()


def test_window_level_drag_and_keys(driver):
    v = driver.viewer
    before = driver.image
    driver.drag((120, 90), (180, 60), alt=True)  # wider window, higher level
    assert v.settings.window is not None and v.settings.window > 235
    assert (driver.image != before).any()
    w1 = v.settings.window
    driver.drag((120, 90), (100, 90), button=2, ctrl=True)  # ctrl+right: narrower
    assert v.settings.window < w1
    driver.key("w")
    assert v.settings.window is None and np.array_equal(driver.image, before)
    driver.key("c")
    assert (v.settings.window, v.settings.level) == (700.0, 200.0)
    driver.key("a")  # MR auto: a window inside the data range
    assert 0 < v.settings.window <= 235


def test_view_and_render_keys(driver):
    v = driver.viewer
    pictures = {}
    for key, view in zip("123456", ["anterior", "posterior", "left", "right", "superior",
                                    "inferior"]):
        driver.key(key)
        expected = Camera.standard(view)
        np.testing.assert_allclose(v.camera.view_dir, expected.view_dir, atol=1e-12)
        pictures[view] = driver.image
    assert not np.array_equal(pictures["superior"], pictures["inferior"])
    driver.key("o")
    assert v.camera.projection == "perspective"
    driver.key("o")
    assert v.camera.projection == "orthographic"
    step = v.settings.sample_distance or 0.9
    driver.key("+")
    assert v.settings.sample_distance == pytest.approx(0.9 * 1.25)
    driver.key("-")
    driver.key("-")
    assert v.settings.sample_distance == pytest.approx(0.9 / 1.25)
    assert step
    driver.key("i")
    assert v.settings.interpolation == "nearest"
    modes = []
    from glmip.options import MODES

    for _ in range(len(MODES)):  # every mode is drawn, and the cycle comes back to mip
        driver.key("m")
        modes.append(v.settings.mode)
    assert modes == [*MODES[1:], "mip"]
    shown = driver.screen
    driver.key("h")
    assert not v.show_help and (driver.screen != shown).any()


def test_screenshot_matches_the_printed_render_command(aorta, tmp_path, monkeypatch):
    from glmip.cli import main as cli

    d = open_viewer(aorta, tmp_path, input_path=str(sample_path()))
    d.drag((120, 90), (160, 70))
    d.drag((120, 90), (120, 70), button=2)  # zoom in a little
    d.key("c")
    d.key("x")
    shot = tmp_path / "glmip-screenshot-1.png"
    assert shot.is_file()
    image = np.asarray(Image.open(shot))
    assert image.shape == (SIZE[1] * 4, SIZE[0] * 4)
    assert any(str(shot) in line for line in d.lines)
    command = next(line for line in d.lines if "glmip render" in line)
    argv = shlex.split(command.split(": ", 1)[1])
    assert argv[:2] == ["glmip", "render"]
    out = tmp_path / "export.png"
    argv[argv.index("-o") + 1] = str(out)
    assert cli(argv[1:]) == 0
    export = np.asarray(Image.open(out))
    assert export.shape == image.shape
    assert np.abs(export.astype(int) - image.astype(int)).max() <= 1
    # A second screenshot never overwrites the first.
    d.key("x")
    assert (tmp_path / "glmip-screenshot-2.png").is_file()
    d.viewer.release()


def test_q_ends_the_loop(driver):
    v = driver.viewer
    calls = []
    original = v.step

    def step(now=None):
        calls.append(1)
        if len(calls) == 3:
            v.on_unicode_char_entered("q")
        return original(now)

    v.step = step  # type: ignore[method-assign]
    assert v.run() == 0
    assert len(calls) == 3 and v.wnd.is_closing


def test_resize_follows_the_window(driver):
    v = driver.viewer
    v.wnd.size = (160, 200)  # what a window backend does on resize:
    v.wnd._buffer_width, v.wnd._buffer_height = 160, 200
    v.wnd.resize(160, 200)
    v.step()
    assert v.buffer_size == (160, 200)
    expected = v.renderer.render(v.camera, v.settings, (160, 200))
    assert np.abs(driver.image[..., 0].astype(int) - expected.astype(int)).max() <= 1


def test_hidpi_framebuffer(blob, tmp_path):
    """Framebuffer twice the window: pictures at framebuffer size, mouse in window units,
    screenshots at window size x magnification."""
    from moderngl_window.context.headless.window import Window

    class HiDPI(Window):
        @property
        def buffer_size(self):
            return self._width * 2, self._height * 2

        def _create_fbo(self):
            if self._fbo:
                self._fbo.release()
            w, h = self._width * 2, self._height * 2
            self._fbo = self.ctx.framebuffer(color_attachments=self.ctx.texture((w, h), 4))

    wnd = HiDPI(size=SIZE, backend="egl", gl_version=(3, 3))
    d = open_viewer(blob, tmp_path, wnd=wnd, magnification=2)
    v = d.viewer
    assert v.buffer_size == (480, 360) and v.pixel_ratio == 2
    assert d.image.shape == (360, 480, 3)
    frame = v.frame()
    r0, c0 = frame.pixel_of(blob.center)
    d.drag((120, 90), (130, 80), button=3)  # pan 10 window pixels right, 10 up
    r1, c1 = v.frame().pixel_of(blob.center)
    assert (c1 - c0, r1 - r0) == pytest.approx((20, -20))  # = 20 framebuffer pixels
    d.key("x")
    shot = np.asarray(Image.open(tmp_path / "glmip-screenshot-1.png"))
    assert shot.shape == (SIZE[1] * 2, SIZE[0] * 2)
    v.release()


def test_4d_frames_step(tmp_path):
    import nibabel as nib

    data = np.zeros((10, 12, 8, 3), np.int16)
    for t in range(3):
        data[2 + 2 * t, 5, 4, t] = 1000
    path = tmp_path / "four.nii.gz"
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    d = open_viewer(load(path), tmp_path, input_path=str(path),
                    settings=RenderSettings(window=1000, level=500))
    v = d.viewer
    first = d.image
    assert "volume 1/3" in v.status_text()
    d.key("n")
    assert v.volume.meta["frame"] == 1 and "volume 2/3" in v.status_text()
    assert not np.array_equal(d.image, first)
    d.key("p")
    d.key("p")
    assert v.volume.meta["frame"] == 2
    v.release()


def test_turntable_key(driver, tmp_path, monkeypatch):
    """``t`` records a GIF (with its recipe), shows its progress on screen frame by frame, and
    never leaves an empty file standing while it records."""
    from glmip.recipe import Recipe

    v = driver.viewer
    v.options.echo = driver.lines.append
    seen = []

    def progress(done, total):
        seen.append((done, total, sorted(p.name for p in tmp_path.glob("glmip-turntable-*"))))
        presented.append(v.message)

    presented: list[str] = []
    real = v.show_now
    monkeypatch.setattr(v, "show_now", lambda: (real(), progress(*_counts(v.message))))
    driver.key("t")
    gifs = list(tmp_path.glob("glmip-turntable-*.gif"))
    assert len(gifs) == 1
    assert [d for d, _, _ in seen] == list(range(37)) and all(t == 36 for _, t, _ in seen)
    assert all(names == [] for _, _, names in seen)  # nothing named until it is whole
    from PIL import Image

    with Image.open(gifs[0]) as im:
        assert Recipe.from_json(im.info["comment"].decode()).kind == "turntable"


def _counts(message: str) -> tuple[int, int]:
    done, total = message.rsplit(" ", 1)[1].rstrip(".").split("/")
    return int(done), int(total)


def test_closing_the_window_ends_the_loop(driver):
    v = driver.viewer
    v.on_close()  # what the window does when its close button is pressed
    assert v.run() == 0


def test_status_line_and_help(driver):
    status = driver.viewer.status_text()
    assert "W " in status and " L " in status and "step" in status and "ms" in status
    assert "q: Quit renderer/proceed." in __import__("glmip.interaction").interaction.HELP_LINES


def _viewer_with_user_shader(tmp_path):
    """A viewer on a bright cube drawn with a copy of the built-in shader as the user's file:
    (driver, the file, its source)."""
    from glmip.resources import shader_path

    data = np.zeros((16, 16, 16), np.uint8)
    data[4:12, 4:12, 4:12] = 200
    user = tmp_path / "mine.glsl"
    source = shader_path("mip.glsl").read_text()
    user.write_text(source)
    d = open_viewer(Volume(data, np.eye(4)), tmp_path,
                    settings=RenderSettings(shader=str(user), window=255, level=127.5))
    return d, user, source


def test_user_shader_hot_reload_keeps_last_good_on_error(tmp_path):
    """Saving the shader recompiles it live; a broken save is reported with its line and the
    last good picture stays; fixing it again is picked up."""
    import os

    d, user, source = _viewer_with_user_shader(tmp_path)
    v = d.viewer
    first = d.image
    assert first.max() > 150

    # A valid edit: halve every value -> a darker picture.
    edited = source.replace("f_value = combine(vec4(best, t0 + best_k * dt, 1.0, taken));",
                            "f_value = combine(vec4(0.5 * best, t0 + best_k * dt, 1.0, taken));")
    assert edited != source
    user.write_text(edited)
    os.utime(user, (1e9, 1e9))
    v.poll_shader(1e6)
    v.step()
    darker = d.image
    assert darker.max() < first.max() - 50

    # A broken edit on a known line: error names file and line, picture unchanged.
    lines = source.splitlines()
    bad_line = 100
    lines[bad_line - 1] = "this is not glsl;"
    user.write_text("\n".join(lines) + "\n")
    os.utime(user, (2e9, 2e9))
    v.poll_shader(2e6)
    v._dirty = True  # redraw: it must still use the last good program
    v.step()
    assert any(f"mine.glsl:{bad_line}" in line for line in d.lines), d.lines
    assert np.array_equal(d.image, darker)
    v.release()


def test_projection_tools_in_the_window(tmp_path):
    """Slab keys and shift+wheel, colormap/gamma/refine/jitter keys change the picture as the
    same settings do in the renderer; a click reports where the ray's maximum is."""
    data = np.zeros((30, 30, 30), np.uint8)
    data[10, 20, 5] = 250   # a bright point low down (far from the eye looking down)
    data[22, 8, 25] = 180   # a dimmer one near the eye
    vol = Volume(data, np.diag([1.0, 1.0, 1.0, 1.0]))
    d = open_viewer(vol, tmp_path, settings=RenderSettings(interpolation="nearest"))
    v = d.viewer
    full = d.image
    d.key("s")
    assert v.settings.slab == 10.0
    for _ in range(4):  # move the slab towards the eye (up, +z) until only the near point is in
        d.key(",")
    assert v.settings.slab_center == -10.0
    expected = v.renderer.render(v.camera, v.settings, v.buffer_size)
    assert np.array_equal(d.image[..., 0], expected) and not np.array_equal(d.image, full)
    v.wnd.modifiers.shift = True
    v.on_mouse_scroll_event(0, -1.0)  # shift+wheel moves it back
    v.wnd.modifiers.shift = False
    v.step()
    assert v.settings.slab_center == -7.5
    d.key("s")
    assert v.settings.slab is None
    d.key("k")
    assert v.settings.colormap == "inverted" and d.image[0, 0, 0] == 0  # background stays black
    d.key("y")
    assert v.settings.gamma == 0.7
    d.key("e")
    assert v.settings.refine
    # Click on the bright point: its position, voxel and value are reported.
    frame = v.frame()
    r, c = frame.pixel_of(vol.affine[:3, :3] @ [10, 20, 5] + vol.affine[:3, 3])
    ratio = v.pixel_ratio
    x, y = (c + 0.5) / ratio, (r + 0.5) / ratio
    v.on_mouse_press_event(round(x), round(y), 1)
    v.on_mouse_release_event(round(x), round(y), 1)
    found = v.pick(x, y)
    assert found is not None and found["value"] == pytest.approx(250, abs=1)
    np.testing.assert_allclose(found["voxel"], [10, 20, 5], atol=0.6)
    assert any("maximum 250" in line for line in d.lines)
    # Jitter: idle frames accumulate, then stop.
    d.key("j")
    for _ in range(40):
        v.step(now=1e9)
    assert v.renderer.accumulated == 32
    v.release()


def test_screenshot_that_cannot_be_written_keeps_the_viewer_running(tmp_path):
    vol = Volume(np.full((8, 8, 8), 9, np.uint8), np.eye(4))
    d = open_viewer(vol, tmp_path / "missing-dir")
    d.key("x")
    assert any("screenshot not saved" in line for line in d.lines)
    d.key("1")  # still alive
    assert d.viewer.camera.view_dir[1] == -1.0
    d.viewer.release()


def test_every_key_has_an_action(driver):
    """Each KEYMAP value names an entry of the viewer's action table."""
    from glmip.interaction import KEYMAP

    names = {action.partition(":")[0] for action in KEYMAP.values()}
    assert names <= set(driver.viewer.actions)
    assert set(driver.viewer.actions) <= names | {"step"}  # step: also the keypad's +/-


def test_key_messages(driver):
    v = driver.viewer
    for key, message in (("k", "colormap inverted"), ("y", "gamma 0.7"), ("e", "refinement on"),
                         ("j", "jitter off"), ("[", "s: turn the slab on first"),
                         ("s", "slab 10 mm at +0 mm"), ("c", "CT angiography: W 700 L 200")):
        if key == "j":
            driver.key("j")  # on, then off
        driver.key(key)
        assert v.message == message
    driver.key("+")
    assert v.message.startswith("sample distance ") and v.message.endswith(" mm")
    driver.key("n")
    assert v.message == "not a 4-D image: no other volumes"


# --- the overlay, without GL -----------------------------------------------------------------
def overlay_state(**changes):
    from glmip.overlay import OverlayState

    state = dict(size=(320, 240), ratio=1.0, status="W 1  L 2", show_help=True,
                 labels=("R", "L", "A", "P"), pixel_size=0.5, message="")
    state.update(changes)
    return OverlayState(**state)


def test_overlay_draws_a_transparent_picture_with_text_and_bar():
    from glmip.overlay import Overlay

    overlay = Overlay()
    img = overlay.draw(overlay_state())
    assert img.mode == "RGBA" and img.size == (320, 240)
    alpha = np.asarray(img)[..., 3]
    assert alpha.mean() < 128  # mostly transparent
    assert alpha[:20, :100].any()  # the status line top-left
    assert alpha[-60:, :100].any()  # the help bottom-left (above the bottom letter)
    short = np.asarray(overlay.draw(overlay_state(show_help=False)))[..., 3]
    assert short.sum() < alpha.sum()
    said = np.asarray(overlay.draw(overlay_state(message="hello")))[..., 3]
    assert (said != alpha).any()


def test_overlay_state_key():
    a, b = overlay_state(), overlay_state(pixel_size=0.5 + 1e-12)
    assert a.key == b.key  # float noise does not redraw
    assert overlay_state(labels=("L", "R", "A", "P")).key != a.key
    assert overlay_state(size=(321, 240)).key != a.key


def test_status_line_parts(blob):
    from glmip.overlay import status_line

    line = status_line(blob, RenderSettings(slab=5.0, colormap="hot", refine=True, jitter=True),
                       "perspective", 0.012, reduction=4, accumulated=3)
    for part in ("W ", "step", "12 ms (coarse 1/4)", "persp", "slab 5 mm @ +0", "hot gamma 1",
                 "refined", "jitter 3/32"):
        assert part in line, (part, line)


def test_endless_user_shader_never_freezes_the_window(tmp_path, monkeypatch):
    """A saved shader version that never finishes is tried in another process first: the window
    keeps the last good shader and says why; a shader that builds but is too slow for a frame
    is set aside for the built-in projection."""
    import os

    import glmip.app

    monkeypatch.setattr(glmip.app, "SHADER_PROBE_SECONDS", 4.0)
    d, user, source = _viewer_with_user_shader(tmp_path)
    v = d.viewer
    good = d.image
    assert good.max() > 150 and v.settings.shader is not None
    # Endless in intent. llvmpipe stops a loop after 65535 rounds, so each round takes 64
    # texture fetches: about 4e9 fetches for the 32x32 test picture, minutes on llvmpipe.
    fetches = "\n".join(f"        spin += texture(u_volume, vec3(0.{k:02d})).r;" for k in range(64))
    endless = source.replace("void main() {", f"""void main() {{
    float spin = 0.0;
    for (int i = 0; i < 65535; i++) {{
{fetches}
    }}
    if (spin == -1.0) {{ f_value = vec4(spin); return; }}""", 1)
    assert endless != source
    user.write_text(endless)
    os.utime(user, (1e9, 1e9))
    t0 = __import__("time").perf_counter()
    v.poll_shader(1e6)
    assert __import__("time").perf_counter() - t0 < 30
    v._dirty = True
    v.step()
    assert any("ran longer than 4 s" in line for line in d.lines), d.lines
    assert np.array_equal(d.image, good)
    # A screenshot now shows the last good shader, but no command naming the file that fails.
    d.key("x")
    assert any("Not reproducible" in line for line in d.lines), d.lines
    assert not any(line.startswith("Reproduce it with") for line in d.lines)
    # A frame slower than the limit falls back to the built-in projection.
    monkeypatch.setattr(glmip.app, "SHADER_FRAME_SECONDS", 0.0)
    v._dirty = True
    v.step()
    assert v.settings.shader is None and any("too slow" in line for line in d.lines)
    v.release()


def test_help_keeps_clear_of_the_orientation_letters():
    """In a small window the help block starts after the left letter and ends above the
    bottom one: the letters' pixels are the same with help on and off."""
    from glmip.overlay import Overlay, OverlayState

    for size in ((640, 480), (400, 300), (1024, 768)):
        def draw(show_help, size=size):
            return np.asarray(Overlay().draw(OverlayState(size, 1.0, "W 1 L 1", show_help,
                                                          ("R", "L", "A", "P"), 0.5)))
        on, off = draw(True), draw(False)
        cols, rows = size
        left = (slice(rows // 2 - 12, rows // 2 + 12), slice(0, 26))
        bottom = (slice(rows - 30, rows), slice(cols // 2 - 12, cols // 2 + 12))
        for region in (left, bottom):
            assert np.array_equal(on[region], off[region]), size


# --- issue 14 in the window: labels, fused layers, each layer's window, the depth legend -------
def _labels_of(blob):
    seg = np.zeros(blob.shape, np.uint8)
    seg[28:41, 14:27, 6:19] = 1  # the ball
    seg[:, :, 40:] = 2  # the slab on top
    return Volume(seg, blob.affine.copy(), name="seg")


def _fused_of(blob):
    n = blob.shape[0]
    i, j, k = np.mgrid[0:n, 0:n, 0:n]
    pet = (500.0 * np.exp(-((i - 14) ** 2 + (j - 30) ** 2 + (k - 24) ** 2) / 40.0)).astype(
        np.float32)
    return Volume(pet, blob.affine.copy(), name="/data/pet.nii.gz")


def _same_as_render(d, blob):
    import glmip

    v = d.viewer
    image = d.image  # before glmip.render makes its own (shared headless) context current
    expected = np.asarray(glmip.render(blob, camera=v.camera, settings=v.settings, size=SIZE))
    v.ctx.__enter__()  # the window's context current again (glcontext: no exit needed)
    if expected.ndim == 2:
        expected = np.repeat(expected[..., None], 3, axis=2)
    return np.abs(image.astype(int) - expected.astype(int)).max() <= 1


def test_labels_and_fused_layers_are_on_screen_when_still(blob, tmp_path):
    for settings in (RenderSettings(labels=_labels_of(blob)),
                     RenderSettings(fuse=_fused_of(blob), fuse_colormap=("hot",))):
        d = open_viewer(blob, tmp_path, settings=settings)
        plain = d.viewer.renderer.render(d.viewer.camera, RenderSettings(), SIZE)
        assert _same_as_render(d, blob)
        assert (d.image[..., 0] != plain).any() or (d.image[..., 1] != plain).any()
        # While the camera moves: the base only (fast); released: the whole picture again.
        d.viewer.policy.settle = 10.0
        d.drag((120, 90), (150, 100), release=False)
        assert d.viewer.last_reduction >= 2
        d.viewer.on_mouse_release_event(150, 100, 1)
        d.viewer.step()
        assert d.viewer.last_reduction == 1 and _same_as_render(d, blob)
        d.viewer.release()


def test_f_chooses_the_layer_whose_window_the_drag_changes(blob, tmp_path):
    settings = RenderSettings(window=200, level=100, fuse=_fused_of(blob),
                              fuse_window=(400.0, 200.0), fuse_colormap=("hot",))
    d = open_viewer(blob, tmp_path, settings=settings)
    v = d.viewer
    assert "W/L: base volume (W 200 L 100)" in v.status_text()
    d.key("f")
    assert v.wl_layer == 1 and v.message == "W/L: layer 1 (pet.nii.gz)"
    assert "W/L: layer 1 (pet.nii.gz) (W 400 L 200)" in v.status_text()
    before = d.image
    d.drag((120, 90), (60, 90), alt=True)  # narrower window of layer 1 only
    w, lv = v.settings.fuse_window
    assert w < 400 and lv == pytest.approx(200)
    assert (v.settings.window, v.settings.level) == (200, 100)
    assert (d.image != before).any() and _same_as_render(d, blob)
    d.key("c")  # the preset acts on layer 1 too
    assert v.settings.fuse_window == (700.0, 200.0) and v.settings.window == 200
    d.key("w")
    assert v.settings.fuse_window == (0.0, 0.0) and v.settings.window == 200
    d.key("f")  # back to the base volume
    assert v.wl_layer == 0
    d.drag((120, 90), (180, 90), alt=True)
    assert v.settings.window > 200 and v.settings.fuse_window == (0.0, 0.0)
    v.release()


def test_depth_legend_in_depthcolour_only(blob, tmp_path):
    d = open_viewer(blob, tmp_path, settings=RenderSettings(mode="depthcolour"))
    v = d.viewer
    state = v.overlay_state(0.0)
    sphere = 2 * np.linalg.norm(blob.corners() - blob.center, axis=1).max()
    assert state.depth_legend == pytest.approx(sphere)
    from glmip.overlay import Overlay

    legend = np.asarray(Overlay().draw(state))
    mip = np.asarray(Overlay().draw(v.overlay_state(0.0).__class__(
        **{**state.__dict__, "depth_legend": None})))
    assert (legend != mip).any()
    # The bar's colours are the shader's hue (glmip.interaction.depth_hue): near warm (red
    # above blue) on the left, far cool on the right; white/black text has neither.
    warm = legend[..., 0].astype(int) - legend[..., 2] > 100
    cool = legend[..., 2].astype(int) - legend[..., 0] > 100
    assert warm.any() and cool.any()
    assert np.nonzero(warm)[1].mean() < np.nonzero(cool)[1].mean()
    assert not (mip[..., 0].astype(int) - mip[..., 2] > 100).any()
    # In mip the window's overlay has no legend.
    d.key("m")
    assert v.settings.mode == "mip" and v.overlay_state(0.0).depth_legend is None
    # --depth-length sets the extent the legend names.
    v.settings = v.settings.copy(mode="depthcolour", depth_length=37.0)
    assert v.overlay_state(0.0).depth_legend == 37.0
    v.release()
