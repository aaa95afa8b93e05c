"""Smoke test of the benchmark (bench/): glmip's part on a tiny volume prints a table.

No timing assertions: speed claims live in ``python -m bench.run``'s table, not in tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
    float(row["peak RSS MB"])
    quality = row["quality (≤1 grey)"]                    # against the numpy reference
    assert quality.endswith("%") and float(quality.rstrip(" %")) >= 99.0, out
    assert row["glmip/peer"] == "1.00"
    assert any(line.startswith("| plain moderngl shader |") for line in out.splitlines())


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
