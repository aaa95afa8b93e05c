"""``glmip convert`` between every written format, and ``glmip info`` giving the same facts."""

from __future__ import annotations

import numpy as np
import pytest

import io_corpus as C
from glmip.cli import main
from glmip.io import load
from glmip.volume import Volume

FORMATS = [".nii", ".nii.gz", ".mha", ".mhd", ".nrrd", ".vti", ".npz"]


@pytest.mark.parametrize("src_suffix", FORMATS)
@pytest.mark.parametrize("dst_suffix", FORMATS)
def test_convert_pairs(tmp_path, capsys, src_suffix, dst_suffix):
    from glmip.io import save

    ref = Volume(C.ref_data(np.int16), C.AFFINE)
    src = tmp_path / f"in{src_suffix}"
    save(ref, src)
    dst = tmp_path / f"out{dst_suffix}"
    assert main(["convert", str(src), str(dst)]) == 0
    assert capsys.readouterr().err == ""
    vol = load(dst)
    np.testing.assert_array_equal(vol.data, ref.data)
    assert vol.data.dtype == np.int16
    np.testing.assert_array_equal(vol.affine, ref.affine)


def test_convert_dicom_keeps_scaling_in_nifti(tmp_path):
    C.dicom_series(tmp_path / "d", C.ref_data(np.int16), slope=2.0, inter=-1024.0)
    assert main(["convert", str(tmp_path / "d"), str(tmp_path / "o.nii.gz")]) == 0
    vol = load(tmp_path / "o.nii.gz")
    assert (vol.slope, vol.inter) == (2.0, -1024.0) and vol.data.dtype == np.int16
    np.testing.assert_array_equal(vol.data, C.ref_data(np.int16))


def test_convert_options_reach_the_reader(tmp_path):
    np.save(tmp_path / "a.npy", C.ref_data())
    assert main(["convert", str(tmp_path / "a.npy"), str(tmp_path / "a.nrrd"),
                 "--spacing", "0.5", "1.25", "2.5", "--origin", "-10.5", "20.25", "3"]) == 0
    np.testing.assert_array_equal(load(tmp_path / "a.nrrd").affine, C.AXIS_ALIGNED)
    C.vtk_legacy(tmp_path / "v.vtk")
    assert main(["convert", str(tmp_path / "v.vtk"), str(tmp_path / "v.mha"),
                 "--array", "velocity", "--component", "1"]) == 0
    np.testing.assert_array_equal(load(tmp_path / "v.mha").data, -C.ref_data(np.float32))


def test_info_same_facts_for_every_format(tmp_path, capsys):
    from glmip.io import save

    ref = Volume(C.ref_data(np.float32), C.AFFINE)
    outputs = []
    for suffix in FORMATS:
        save(ref, tmp_path / f"x{suffix}")
        assert main(["info", str(tmp_path / f"x{suffix}")]) == 0
        text = capsys.readouterr().out
        # all but the 'file:' line, and the VTK arrays line (other formats have one array)
        outputs.append("".join(line for line in text.splitlines(True)[1:]
                               if not line.startswith("arrays:")))
    assert all(o == outputs[0] for o in outputs), outputs


def test_refusal_names_the_output_not_a_temporary_path(tmp_path):
    """A writer works in a staging folder; its refusal names the file the user asked for."""
    import subprocess
    import sys

    from glmip.resources import sample_path

    out = tmp_path / "x.vtk"
    run = subprocess.run([sys.executable, "-m", "glmip", "convert", str(sample_path()), str(out)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and ".glmip-" not in run.stderr, run.stderr
    assert run.stderr.count(str(out)) == 1 and list(tmp_path.iterdir()) == []
