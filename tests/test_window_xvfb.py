"""A real window (pyglet, GLX on llvmpipe) on a private Xvfb display: ``glmip view`` on the
bundled sample, keys sent with xdotool. ``x`` writes a screenshot in the current directory, the
screen shows the volume, and ``q`` exits with status 0 within a few seconds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from glmip.resources import sample_path

pytestmark = pytest.mark.xvfb

TOOLS = ("Xvfb", "xdotool", "xwd", "convert")


def _missing() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


@pytest.fixture
def display():
    missing = _missing()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install xvfb xdotool x11-apps "
                    "imagemagick)")
    for number in range(99, 120):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    name = f":{number}"
    server = subprocess.Popen(["Xvfb", name, "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = dict(os.environ, DISPLAY=name)
    for _ in range(100):
        if subprocess.run(["xdotool", "getmouselocation"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    else:
        server.kill()
        pytest.skip("Xvfb did not start")
    yield env
    server.terminate()
    try:
        server.wait(5)
    except subprocess.TimeoutExpired:
        server.kill()


def _window_id(env: dict[str, str], proc: subprocess.Popen, timeout: float = 30.0) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"glmip view exited early ({proc.returncode}): {err}")
        res = subprocess.run(["xdotool", "search", "--name", "glmip"], env=env,
                             capture_output=True, text=True)
        ids = res.stdout.split()
        if ids:
            return ids[-1]
        time.sleep(0.2)
    pytest.fail("the window did not appear")


def _focus(env: dict[str, str], wid: str) -> None:
    """No window manager on Xvfb: put the pointer on the window and give it the focus."""
    subprocess.run(["xdotool", "mousemove", "--window", wid, "20", "20"], env=env,
                   capture_output=True)
    subprocess.run(["xdotool", "windowfocus", "--sync", wid], env=env, capture_output=True)


def _grab(env: dict[str, str]) -> np.ndarray:
    from io import BytesIO

    from PIL import Image

    xwd = subprocess.run(["xwd", "-root", "-silent"], env=env, capture_output=True, check=True)
    png = subprocess.run(["convert", "xwd:-", "png:-"], input=xwd.stdout, capture_output=True,
                         check=True)
    return np.asarray(Image.open(BytesIO(png.stdout)).convert("RGB"))


def test_real_window_screenshot_and_quit(display, tmp_path):
    env = dict(display, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "glmip", "view", str(sample_path()), "--window-size", "400x300",
         "--magnification", "2"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wid = _window_id(env, proc)
        time.sleep(1.5)  # first frames
        screen = _grab(env)
        assert screen.shape[2] == 3
        # The volume shows: a bright vessel on a dark screen, more than the overlay's text.
        bright = (screen.max(axis=2) > 128).sum()
        assert bright > 2000, f"only {bright} bright pixels on the screen"
        shot = tmp_path / "glmip-screenshot-1.png"
        for _attempt in range(3):  # a key sent while the window is still settling can be lost
            _focus(env, wid)
            subprocess.run(["xdotool", "key", "x"], env=env, check=True)
            deadline = time.time() + 8
            while not shot.exists() and time.time() < deadline:
                time.sleep(0.1)
            if shot.exists():
                break
        assert shot.exists(), "x wrote no screenshot"
        from PIL import Image

        assert Image.open(shot).size == (800, 600)
        t0 = time.time()
        for _attempt in range(3):
            _focus(env, wid)
            subprocess.run(["xdotool", "key", "q"], env=env, check=True)
            try:
                proc.wait(timeout=4)
                break
            except subprocess.TimeoutExpired:
                continue
        out, err = proc.communicate(timeout=5)
        assert time.time() - t0 < 12
        assert proc.returncode == 0, err
        assert "glmip render" in out and "glmip-screenshot-1.png" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
