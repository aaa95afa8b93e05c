"""Absurd but finite option values are refused with one line (exit 2), before any work."""

from __future__ import annotations

import subprocess
import sys

import pytest

from glmip.resources import sample_path

CASES = [
    (["render", "-o", "{out}.png", "--size", "100000x100000"], "too large"),
    (["render", "-o", "{out}.png", "--center", "nan", "nan", "nan"], "center"),
    (["render", "-o", "{out}.png", "--center", "1e300", "0", "0"], "center"),
    (["render", "-o", "{out}.png", "--sample-distance", "1e-9"], "samples on a ray"),
    (["render", "-o", "{out}.png", "--fit", "inf"], "fit"),
    (["render", "-o", "{out}.png", "--view-dir", "nan", "0", "1"], "view direction"),
    (["turntable", "-o", "{out}.gif", "--frames", "100000000"], "frames"),
    (["turntable", "-o", "{out}.gif", "--start", "inf"], "finite"),
]


@pytest.mark.parametrize("argv, words", CASES)
def test_absurd_values_are_one_line_errors(tmp_path, argv, words):
    out = str(tmp_path / "out")
    argv = [a.format(out=out) for a in argv]
    argv.insert(1, str(sample_path()))
    run = subprocess.run([sys.executable, "-m", "glmip", *argv], capture_output=True, text=True,
                         timeout=60)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1, run.stderr
    assert words in lines[0] and "Traceback" not in run.stderr
    assert list(tmp_path.iterdir()) == []
