"""Outputs: checks, all-or-none writing, never over an existing file, no litter."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from glmip.errors import OutputError
from glmip.outputs import (TEMP_PREFIX, check_output_file, sweep_stale, write_new,
                           write_together)


def test_files_appear_together_or_not_at_all(tmp_path):
    first = tmp_path / "a.png"
    with pytest.raises(OutputError, match="cannot write"):
        write_together({first: b"one", tmp_path / "missing" / "b.npy": b"two"})
    assert list(tmp_path.iterdir()) == []
    write_together({first: b"one", tmp_path / "b.npy": b"two"})
    assert first.read_bytes() == b"one" and (tmp_path / "b.npy").read_bytes() == b"two"


def test_write_new_never_overwrites(tmp_path):
    (tmp_path / "shot-1.png").write_bytes(b"old")
    path = write_new(tmp_path, "shot", ".png", b"new")
    assert path.name == "shot-2.png" and (tmp_path / "shot-1.png").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot-1.png", "shot-2.png"]


def test_output_is_never_an_input(tmp_path):
    src = tmp_path / "scan.nii.gz"
    src.write_bytes(b"x")
    os.symlink(src, tmp_path / "link.nii.gz")
    for out in (src, tmp_path / "link.nii.gz"):
        with pytest.raises(OutputError, match="overwrite the input"):
            check_output_file(out, [src])
    with pytest.raises(OutputError, match="does not exist"):
        check_output_file(tmp_path / "nowhere" / "x.png", [src])


def test_stale_temporaries_are_swept_fresh_ones_kept(tmp_path):
    old = tmp_path / f"{TEMP_PREFIX}out.png.abc.tmp"
    fresh = tmp_path / f"{TEMP_PREFIX}out.png.def.tmp"
    folder = tmp_path / f"{TEMP_PREFIX}frames.xyz"
    mine = tmp_path / ".hidden-file"
    for p in (old, fresh, mine):
        p.write_bytes(b"")
    folder.mkdir()
    hour_ago = time.time() - 7200
    for p in (old, folder):
        os.utime(p, (hour_ago, hour_ago))
    sweep_stale(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([fresh.name, mine.name])


def test_failed_turntable_leaves_nothing(tmp_path, monkeypatch):
    import glmip
    from glmip import pipeline

    vol = glmip.Volume(np.random.default_rng(0).random((8, 8, 8)).astype(np.float32))

    def broken(*args, **kwargs):
        yield np.zeros((8, 8), np.uint8)
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(pipeline, "turntable_frames", broken)
    monkeypatch.chdir(tmp_path)
    for target in (None, str(tmp_path / "t.gif"), f"{tmp_path}/frames/"):
        with pytest.raises(RuntimeError):
            glmip.record_turntable(vol, glmip.make_camera(), glmip.make_settings(), (8, 8),
                                   target, frames=3)
        assert list(tmp_path.iterdir()) == [], target


def test_no_display_is_one_plain_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    run = subprocess.run([sys.executable, "-m", "glmip", "view"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
    assert "no display" in run.stderr and "None" not in run.stderr


@pytest.mark.parametrize("flag", ["-o", "--values"])
def test_outputs_never_replace_a_member_of_an_input_stack(tmp_path, flag):
    from PIL import Image

    from glmip.cli import main

    stack = tmp_path / "stack"
    stack.mkdir()
    rng = np.random.default_rng(5)
    for k in range(4):
        Image.fromarray(rng.integers(0, 255, (12, 10), dtype=np.uint8)).save(
            stack / f"img_{k}.png")
    before = {p.name: p.read_bytes() for p in stack.iterdir()}
    member = str(stack / "img_2.png")
    argv = ["render", str(stack / "img_0.png"), "--size", "16"]
    argv += ["-o", member] if flag == "-o" else ["-o", str(tmp_path / "x.png"), "--values", member]
    assert main(argv) == 2
    assert {p.name: p.read_bytes() for p in stack.iterdir()} == before
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("where", ["-o", "--values", "--shader", "convert"])
def test_link_loops_and_devices_are_one_line_errors(tmp_path, where):
    from glmip.resources import sample_path

    (tmp_path / "a.png").symlink_to(tmp_path / "b.png")
    (tmp_path / "b.png").symlink_to(tmp_path / "a.png")
    loop, out = str(tmp_path / "a.png"), str(tmp_path / "out.png")
    argv = {"-o": ["render", str(sample_path()), "-o", loop],
            "--values": ["render", str(sample_path()), "-o", out, "--values", loop],
            "--shader": ["render", str(sample_path()), "-o", out, "--shader", "/dev/zero"],
            "convert": ["convert", str(sample_path()), loop]}[where]
    run = subprocess.run([sys.executable, "-m", "glmip", *argv], capture_output=True,
                         text=True, timeout=60)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1, run.stderr
    assert ("symbolic link loop" in lines[0] or "not a regular file" in lines[0]), lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png"]
    assert (tmp_path / "a.png").is_symlink()
