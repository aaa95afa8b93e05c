"""The built wheel carries the shaders and the sample: install it elsewhere and render."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                          str(ROOT)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{res.stderr[-2000:]}")
    return next(out.glob("glmip-*.whl"))


def test_wheel_contains_every_shader_and_the_sample(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for shader in (ROOT / "shaders").glob("*.glsl"):
        assert f"glmip/shaders/{shader.name}" in names, f"{shader.name} missing from the wheel"
    assert "glmip/samples/aorta.mha" in names
    assert "glmip/napari/napari.yaml" in names  # the napari plugin's manifest


@pytest.mark.slow
def test_installed_wheel_renders_the_sample(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True)
    env = dict(os.environ, PYTHONPATH=str(target))
    code = ("import glmip, glmip.resources as r, sys; "
            "assert str(r.resource_dir('shaders')).startswith(sys.argv[1]), r.resource_dir('shaders'); "
            "img = glmip.render(r.sample_path(), size=64); assert img.max() > 200, img.max(); print('ok')")
    res = subprocess.run([sys.executable, "-c", code, str(target)], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-2000:]
