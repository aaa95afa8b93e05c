"""Smoke test of the benchmark (bench/): glmip's part on a tiny volume prints a table.

No timing assertions: speed claims live in ``python -m bench.run``'s table, not in tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_bench_glmip_tiny_volume_prints_table(tmp_path):
    env = dict(os.environ, GLMIP_BENCH_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--peers", "glmip,plain", "--volumes",
         "cube32", "--size", "64", "--no-startup", "--json", str(tmp_path / "r.json")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    header = [line for line in out.splitlines() if line.startswith("| peer | median ms/frame")]
    assert len(header) == 1, out
    names = [c.strip() for c in header[0].strip("|").split("|")]
    lines = [line for line in out.splitlines() if line.startswith("| glmip |")]
    assert len(lines) == 1, out
    row = dict(zip(names, (c.strip() for c in lines[0].strip("|").split("|"))))
    float(row["median ms/frame (min–max)"].split()[0])   # a time was measured
    float(row["peak RSS MiB"])
    quality = row["quality (≤1 grey)"]                    # against the numpy reference
    assert quality.endswith("%") and float(quality.rstrip(" %")) >= 99.0, out
    assert row["glmip/peer"] == "1.00"
    assert any(line.startswith("| plain moderngl shader |") for line in out.splitlines())


def _table(out: str, heading: str) -> dict[str, dict[str, str]]:
    """Rows (by peer label) of the table under the first ``###`` heading containing ``heading``."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("###") and heading in line)
    table = [line for line in lines[start + 1:] if line.startswith("|")]
    names = [c.strip() for c in table[0].strip("|").split("|")]
    rows = {}
    for line in table[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(names, cells))
    return rows


def _glmip_image(env: dict, out: Path, window) -> np.ndarray:
    """glmip's quality view of ``vessels`` at 64², straight from one bench.worker process."""
    spec = {"peer": "glmip", "volume": "vessels", "case": f"vessels-{bool(window)}",
            "window": window, "cols": 64, "rows": 64, "frames": 1, "quality_view": 7,
            "out": str(out), "spawned": time.time()}
    proc = subprocess.run([sys.executable, "-m", "bench.worker", json.dumps(spec)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("BENCH-RESULT "))
    result = json.loads(line[len("BENCH-RESULT "):])
    assert result["ok"], result
    return np.load(result["quality_image"])


def test_bench_read_window_reaches_the_peers(tmp_path):
    """vessels-read renders the shared vessels array in the window 40..255: glmip and the plain
    shader match the numpy reference windowed alike, and glmip's image is not the full-range one."""
    env = dict(os.environ, GLMIP_BENCH_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--peers", "glmip,plain", "--cases",
         "vessels-read", "--size", "64", "--frames", "1", "--no-startup",
         "--json", str(tmp_path / "r.json")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    rows = _table(out, "window 40..255")
    for label in ("glmip", "plain moderngl shader"):
        quality = rows[label]["quality (≤1 grey)"]  # against the reference in the read window
        assert quality.endswith("%") and float(quality.rstrip(" %")) >= 99.0, out
    assert any(line.startswith("| vessels-read → 64² |") for line in out.splitlines()), out
    case = json.loads((tmp_path / "r.json").read_text())["cases"][0]
    assert case["volume"] == "vessels-read" and case["window"] == [40.0, 255.0]
    arrays = sorted(p.name for p in (tmp_path / "cache").rglob("*.npy"))
    assert [a for a in arrays if not a.startswith("ref-")] == ["vessels.npy"]  # shared data

    read = _glmip_image(env, tmp_path, [40.0, 255.0])
    full = _glmip_image(env, tmp_path, None)
    assert not np.array_equal(read, full)
    assert (read == 0).mean() > (full == 0).mean() + 0.1  # the noise went black


def test_bench_default_cases_end_with_the_read_windows():
    sys.path.insert(0, str(ROOT))
    from bench import run

    assert run.default_cases(False)[-3:] == [("vessels-read", 512), ("cta-read", 512),
                                             ("aorta-read", 512)]
    assert run.default_cases(True) == [("vessels", 512)]


def test_bench_camera_matches_glmip():
    """The benchmark's numpy cameras are glmip's Camera.standard("anterior").rotated(+S, 3k)."""
    sys.path.insert(0, str(ROOT))
    from bench import geometry
    from glmip.camera import Camera
    from glmip.volume import Volume

    data = np.zeros((5, 7, 3), np.uint8)
    affine = np.diag([0.7, 1.0, 2.0, 1.0])
    vol = Volume(data, affine)
    for k in (0, 7, 40):
        v = geometry.view(data.shape, affine, k, 64, 48)
        f = Camera.standard("anterior").rotated([0, 0, 1], 3 * k).frame(vol, 64, 48)
        np.testing.assert_allclose(v.d, f.view_dir, atol=1e-12)
        np.testing.assert_allclose(v.up, f.up, atol=1e-12)
        np.testing.assert_allclose(v.right, f.right, atol=1e-12)
        np.testing.assert_allclose(v.center, f.center, atol=1e-12)
        assert abs(v.pixel - f.pixel_size) < 1e-12


def test_profile_splits_a_frame_on_a_tiny_volume(tmp_path):
    env = dict(os.environ, GLMIP_BENCH_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run(
        [sys.executable, "-m", "bench.profile", "--case", "cube32", "--size", "48",
         "--frames", "1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {line.split("|")[1].strip(): line for line in proc.stdout.splitlines()
            if line.startswith("| ")}
    for what in ("render() at full quality, ms",
                 "same frame, skipping and early exit off (plain loop), ms",
                 "window above every value: every cell passed over (the walk alone), ms",
                 "fit: ns per sample"):
        assert what in rows, proc.stdout
        float(rows[what].split("|")[2])  # a number in the default-threads column


def test_oracle_counts_what_an_exact_mip_must_sample(tmp_path, monkeypatch):
    """The oracle's counts on a tiny volume, checked by hand: a window above every value
    needs no sample at all; a window whose top is the data maximum needs some."""
    from bench import oracle, volumes

    monkeypatch.setattr(volumes, "CACHE", tmp_path / "cache")
    res = oracle.necessary_samples("cube32", 48, 8)
    assert 0 < res["needed"] <= res["group_needed"] <= res["samples"]
    monkeypatch.setitem(volumes.READ_CASES, "cube32-dark", ("cube32", (1000.0, 2000.0)))
    dark = oracle.necessary_samples("cube32-dark", 48, 8)
    assert dark["samples"] == res["samples"] and dark["needed"] == 0


def test_bench_ab_two_trees_tiny_volume(tmp_path):
    """bench.ab: glmip from each tree (here this checkout twice), alternating, one table row per
    tree with its ratio to the first and the quality check; a folder without glmip is refused."""
    env = dict(os.environ, GLMIP_BENCH_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run(
        [sys.executable, "-m", "bench.ab", "--tree", f"a={ROOT}", "--tree", f"b={ROOT}",
         "--runs", "1", "--frames", "1", "--cases", "cube32", "--size", "64",
         "--json", str(tmp_path / "r.json")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    header = next(line for line in out.splitlines() if line.startswith("| case | tree |"))
    names = [c.strip() for c in header.strip("|").split("|")]
    rows = {}
    for line in out.splitlines():
        if line.startswith("| cube32 → 64² |"):
            row = dict(zip(names, (c.strip() for c in line.strip("|").split("|"))))
            rows[row["tree"]] = row
    assert set(rows) == {"a", "b"}, out
    assert rows["a"]["÷ a"] == "1.000"
    float(rows["b"]["÷ a"])
    for row in rows.values():
        float(row["median ms/frame (min–max)"].split()[0])
        quality = row["quality (≤1 grey)"]
        assert quality.endswith("%") and float(quality.rstrip(" %")) >= 99.0, out
    result = json.loads((tmp_path / "r.json").read_text())
    files = {r["glmip_file"] for c in result["cases"] for r in c["trees"]}
    assert files == {str(ROOT.resolve() / "glmip" / "__init__.py")}
    assert f"glmip imported from {ROOT.resolve() / 'glmip' / '__init__.py'}" in out

    bad = subprocess.run([sys.executable, "-m", "bench.ab", "--tree", f"x={tmp_path}"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "not a glmip source checkout" in bad.stderr


def test_gpu_script_runs_quick():
    """bench.gpu (meant for a GPU machine) runs end to end on tiny sizes here."""
    run = subprocess.run([sys.executable, "-m", "bench.gpu", "--quick", "--peers", "glmip"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "OpenGL:" in run.stdout and "| cell size 16 |" in run.stdout
    assert "no outline draw" in run.stdout


def test_tof_case_is_noisy_everywhere():
    from bench import volumes

    data, _ = volumes.make_tof(64)
    assert data.dtype == np.uint8 and data.max() > 100
    inside = data[24:40, 24:40, 24:40]
    assert 55 < inside.mean() < 95 and inside.std() > 4  # grey head with noise


def test_bench_movies_quick_tiny_volume(tmp_path):
    """bench.movies on a 32³ volume, 4 frames at 64², a batch of 2 scans: every method reports
    positive numbers and glmip's GIF has the 4 frames asked for (speed is not asserted)."""
    from PIL import Image

    env = dict(os.environ, GLMIP_BENCH_CACHE=str(tmp_path / "cache"))
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.movies", "--quick", "--cases", "cube32", "--frames", "4",
         "--size", "64", "--batch", "2", "--out", str(out), "--json", str(tmp_path / "r.json")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert any(line.startswith("| `glmip turntable` (command line") for line in
               proc.stdout.splitlines()), proc.stdout
    assert "| `glmip render SCANS/ -o OUT/` (one process) |" in proc.stdout
    result = json.loads((tmp_path / "r.json").read_text())
    case = result["cases"][0]
    assert case["gif_frames"] == 4
    with Image.open(out / "glmip-cube32-run1.gif") as im:
        assert im.n_frames == 4 and im.size == (64, 64)
    with Image.open(out / "scipy-order1-cube32-run1.gif") as im:
        assert im.n_frames == 4 and im.size == (64, 64)
    methods = case["methods"]
    assert set(methods) == {"glmip-cli", "glmip-api", "scipy-order1", "scipy-order0"}
    for key, row in methods.items():
        assert row["status"] == "ok", (key, row)
        assert row["fps_render"] > 0 and row["first_frame_s"] > 0 and row["cpu_s"] > 0
        if key != "glmip-api":
            assert row["wall_s"] > 0 and row["fps_render_write"] > 0
            assert all(v is None or v >= 0 for v in row["stages"].values()), (key, row)
    assert methods["glmip-cli"]["glmip_ratio"] == 1.0
    batch = result["batch"]
    assert batch["scans"] == 2 and len(list((out / "batch-run1").glob("*.png"))) == 2
    assert batch["batch"]["wall_s"] > 0 and batch["batch"]["fixed_s"] > 0
    assert batch["batch"]["small_s"] > 0 and batch["separate"]["wall_s"] > 0
