"""The shader laboratory: every shipped shader compiles and renders, a broken user shader is
reported with its own file and line, and the live-reload watcher keeps the last good picture."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import glmip
from glmip.camera import Camera
from glmip.cli import main
from glmip.programs import ShaderError
from glmip.resources import resource_dir
from glmip.settings import RenderSettings
from glmip.shaderlab import ShaderWatcher, check_shader
from glmip.volume import Volume

SHADERS = resource_dir("shaders")
PROJECTION_SHADERS = sorted(p for p in SHADERS.rglob("*.glsl")
                            if p.name not in ("display.glsl", "overlay.glsl") and p.parent.name != "lib")
EXAMPLE = SHADERS / "examples" / "edge_mip.glsl"


@pytest.fixture
def ball():
    """A bright ball (value 1000) off-centre in dim noise: every projection shows a disc."""
    i, j, k = np.mgrid[0:24, 0:20, 0:16]
    data = ((i - 9) ** 2 + (j - 11) ** 2 + (k - 7) ** 2 <= 16).astype(np.int16) * 1000
    data += (np.arange(data.size).reshape(data.shape) % 7).astype(np.int16)
    return Volume(data, np.diag([1.0, 1.2, 1.5, 1.0]), name="ball")


def test_there_are_worked_examples():
    names = {p.name for p in (SHADERS / "examples").glob("*.glsl")}
    assert {"depth_colour_mip.glsl", "edge_mip.glsl", "local_mip.glsl"} <= names


@pytest.mark.parametrize("path", PROJECTION_SHADERS, ids=lambda p: p.name)
def test_every_shader_compiles_and_renders(path, ball, renderer):
    assert check_shader(renderer, path) is None
    renderer.upload(ball)
    img = renderer.render(glmip.make_camera("anterior", fit="box"), RenderSettings(shader=path),
                          (24, 16))
    assert img.dtype == np.uint8 and img.max() > 200  # the ball is bright
    grey = img if img.ndim == 2 else img.max(axis=2)
    assert (grey < 60).mean() > 0.3  # and the rest of the picture is not


def test_display_and_overlay_shaders_compile(renderer):
    assert check_shader(renderer, SHADERS / "display.glsl") is None
    assert check_shader(renderer, SHADERS / "overlay.glsl") is None


def test_user_shader_on_the_command_line(ball, tmp_path):
    from glmip.io import save

    path = tmp_path / "ball.nii.gz"
    save(ball, path)
    out = tmp_path / "out.png"
    assert main(["render", str(path), "-o", str(out), "--size", "16",
                 "--shader", str(SHADERS / "examples" / "depth_colour_mip.glsl")]) == 0
    gif = tmp_path / "turn.gif"
    assert main(["turntable", str(path), "-o", str(gif), "--size", "16", "--frames", "3",
                 "--quiet", "--shader", str(EXAMPLE)]) == 0


def _break(text: str, marker: str) -> tuple[str, int]:
    """Insert a syntax error on a new line after the first line containing ``marker``."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if marker in line) + 1
    lines.insert(at, "    float oops = ;")
    return "\n".join(lines) + "\n", at + 1  # 1-based line number of the bad line


def test_broken_shader_names_file_and_line(renderer, tmp_path, capsys, ball):
    bad = tmp_path / "bad.glsl"
    text, line = _break(EXAMPLE.read_text(), "float best = -INF;")
    bad.write_text(text)
    with pytest.raises(ShaderError) as info:
        renderer.program(bad)
    assert info.value.path == str(bad) and info.value.line == line
    assert f"bad.glsl:{line}:" in check_shader(renderer, bad)
    # The command line says the same in one line, exit 2.
    from glmip.io import save

    vol = tmp_path / "ball.nii.gz"
    save(ball, vol)
    assert main(["render", str(vol), "-o", str(tmp_path / "x.png"), "--shader", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"bad.glsl:{line}:" in err


def _touch_later(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_watcher_keeps_the_last_good_picture(renderer, tmp_path, ball):
    user = tmp_path / "mine.glsl"
    user.write_text(EXAMPLE.read_text())
    renderer.upload(ball)
    cam = glmip.make_camera("left", fit="box")

    def draw(w):
        return renderer.render(cam, RenderSettings(shader=w.shader), (20, 16))

    with ShaderWatcher(renderer, user) as w:
        assert w.error is None and w.generation == 1
        good = draw(w)
        assert w.poll() is None and w.generation == 1  # unchanged: nothing rebuilt

        # A broken save: the error names the user's file and line; the picture stays.
        text, line = _break(user.read_text(), "float best = -INF;")
        user.write_text(text)
        _touch_later(user)
        error = w.poll()
        assert error is not None and error.startswith(f"{user}:{line}:")
        assert w.error == error and w.generation == 1
        assert np.array_equal(draw(w), good)
        assert w.poll() is None  # reported once per change

        # Deleting the file is survivable too.
        user.unlink()
        assert "cannot read" in w.poll()
        assert np.array_equal(draw(w), good)

        # A fixed, different shader is picked up.
        user.write_text(EXAMPLE.read_text().replace("#define EDGE_GAIN 1.0", "#define EDGE_GAIN 0.0"))
        _touch_later(user)
        assert w.poll() is None and w.error is None and w.generation == 2
        plain = draw(w)
        assert not np.array_equal(plain, good)
        reference = renderer.render(cam, RenderSettings(), (20, 16))
        assert np.abs(plain.astype(int) - reference).max() <= 1  # gain 0 = the plain MIP


def test_watcher_starting_broken_falls_back_to_builtin(renderer, tmp_path):
    user = tmp_path / "mine.glsl"
    user.write_text("#version 330 core\nvoid main() { nonsense }\n")
    with ShaderWatcher(renderer, user) as w:
        assert w.shader is None and w.error.startswith(f"{user}:2:")


def test_error_in_an_included_file_names_that_file(renderer, tmp_path):
    lib = tmp_path / "mylib.glsl"
    lib.write_text("float helper(float x) {\n    return x * ;\n}\n")
    user = tmp_path / "main.glsl"
    text = EXAMPLE.read_text().replace('#include "lib/ray.glsl"',
                                       '#include "lib/ray.glsl"\n#include "mylib.glsl"')
    user.write_text(text)
    with pytest.raises(ShaderError) as info:
        renderer.program(user)
    assert info.value.path == str(lib) and info.value.line == 2


def test_colour_shader_refused_on_bricked_volume(ctx, ball):
    from glmip.renderer import MipRenderer
    from glmip.volume import VolumeError

    with MipRenderer(ctx, max_texture_size=12) as r:
        r.upload(ball)
        assert len(r.bricks) > 1
        with pytest.raises(VolumeError, match="bricks"):
            r.render(glmip.make_camera(), RenderSettings(
                shader=SHADERS / "examples" / "depth_colour_mip.glsl"), (16, 16))
        # value-writing user shaders work on bricks
        img = r.render(glmip.make_camera(), RenderSettings(shader=EXAMPLE), (16, 16))
        assert img.max() > 200


def test_user_shaders_run_on_every_pixel(renderer, tmp_path):
    """A user's shader may paint pixels whose rays miss the volume (only glmip's own shader
    draws just the volume's outline)."""
    src = tmp_path / "paint.glsl"
    src.write_text("""#version 330 core
#if defined VERTEX_SHADER
#include "lib/fullscreen.glsl"
#elif defined FRAGMENT_SHADER
#include "lib/ray.glsl"
out vec4 f_color;
void main() { f_color = vec4(0.0, 1.0, 0.0, 1.0); }
#endif
""")
    renderer.upload(Volume(np.zeros((4, 4, 4), np.uint8), np.eye(4)))
    img = renderer.render(Camera(), RenderSettings(shader=str(src)), (40, 30))
    assert (img == (0, 255, 0)).all()


def test_colour_output_is_a_declaration_not_a_mention(renderer, tmp_path, ball):
    """A value shader whose comments mention f_color stays a value shader (its picture goes
    through window/level); a real ``out vec4 f_color;``, with or without a layout, is a colour
    shader, whose colours are copied."""
    from glmip.programs import writes_colour

    value = tmp_path / "value.glsl"
    value.write_text(EXAMPLE.read_text().replace(
        "out vec4 f_value;",
        "// not out vec4 f_color; this writes values, unlike a shader with f_color\n"
        "/* out vec4 f_color; */\nout vec4 f_value;"))
    assert "f_color" in value.read_text() and not writes_colour(value)
    assert not writes_colour(EXAMPLE) and not writes_colour(SHADERS / "mip.glsl")
    colour = SHADERS / "examples" / "depth_colour_mip.glsl"
    assert writes_colour(colour)
    laid_out = tmp_path / "layout.glsl"
    laid_out.write_text(colour.read_text().replace(
        "out vec4 f_color;", "layout(location = 0) out vec4 f_color;"))
    assert writes_colour(laid_out)
    renderer.upload(ball)
    cam, size = glmip.make_camera(), (24, 20)
    s = RenderSettings(window=500, level=250)
    assert not renderer.writes_colour(value)
    np.testing.assert_array_equal(renderer.render(cam, s.copy(shader=str(value)), size),
                                  renderer.render(cam, s.copy(shader=str(EXAMPLE)), size))
    assert renderer.writes_colour(colour)
    assert renderer.render(cam, s.copy(shader=str(colour)), size).ndim == 3
