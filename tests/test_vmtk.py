"""``vmtkimagemipviewer``: vmtk's argument syntax and wording, every seed argument, bad values,
``--help`` in vmtk's layout, ``-display 0`` without a display, ``-ofile`` pass-through."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from glmip import vmtk
from glmip.resources import sample_path

SAMPLE = str(sample_path())


@pytest.fixture
def shown(monkeypatch):
    """Replace the window: record what it would have been opened with."""
    calls = []

    def fake(volume, camera, settings, options=None, **kw):
        calls.append({"volume": volume, "camera": camera, "settings": settings,
                      "options": options, **kw})
        return 0

    import glmip.app

    monkeypatch.setattr(glmip.app, "open_viewer", fake)
    return calls


def run(capsys, *argv):
    status = vmtk.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_help_in_vmtks_layout(capsys):
    status, out, err = run(capsys, "--help")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "" and lines[1] == "vmtkimagemipviewer : display a 3D image"
    assert lines[2] == "  Input arguments:"
    assert "   -id Id (str,1); default=0: script id" in lines
    assert "   -display Display (bool,1); default=1: toggle rendering" in lines
    assert "  Output arguments:" in lines
    assert "   -o Image (vtkImageData,1): the output image" in lines
    text = out.replace("\n     ", " ")
    for option in ("-disabled", "-ifile", "-array", "-sampledistance", "-autosampledistance",
                   "-windowlevel", "-opacity", "-display", "-ofile"):
        assert f"   {option} " in text
    assert "-sampledistance SampleDistance (float,1) >= 0.0; default=1.0" in text
    assert "-windowlevel WindowLevel (float,2); default=[0.0, 0.0]" in text


def test_defaults_open_the_window_on_the_superior_view(capsys, shown):
    status, out, err = run(capsys, "-ifile", SAMPLE)
    assert status == 0, err
    (call,) = shown
    np.testing.assert_allclose(call["camera"].view_dir, [0, 0, -1])
    s = call["settings"]
    assert s.window is None and s.sample_distance is None and s.opacity is None
    assert call["options"].auto_sample_distance and call["options"].magnification == 4


def test_every_seed_argument_reaches_the_viewer(capsys, shown):
    status, _, err = run(capsys, "-id", "7", "-ifile", SAMPLE, "-array", "scalars",
                         "-sampledistance", "0.5", "-autosampledistance", "0",
                         "-windowlevel", "400", "-100", "-opacity", "0.2", "0.8", "-display", "1")
    assert status == 0, err
    (call,) = shown
    s = call["settings"]
    assert (s.window, s.level) == (400.0, -100.0)  # '-100' is a value, not an option
    assert s.sample_distance == 0.5 and s.opacity == (0.2, 0.8)
    assert not call["options"].auto_sample_distance
    assert call["options"].reader_options == {"array": "scalars"}


def test_autosampledistance_0_uses_vmtks_default_distance(capsys, shown):
    assert run(capsys, "-ifile", SAMPLE, "-autosampledistance", "0")[0] == 0
    assert shown[0]["settings"].sample_distance == 1.0


def test_window_at_or_below_zero_is_automatic(capsys, shown):
    assert run(capsys, "-ifile", SAMPLE, "-windowlevel", "0", "50")[0] == 0
    assert shown[0]["settings"].window is None


@pytest.mark.parametrize("argv, message", [
    (["-ifile", SAMPLE, "-windowlevel", "400"],
     "Error for option -windowlevel: 1 entries given, 2 expected."),
    (["-ifile", SAMPLE, "-windowlevel", "1", "2", "3"],
     "Error for option -windowlevel: 3 entries given, 2 expected."),
    (["-ifile", SAMPLE, "-display", "2"], "Error for option -display: should be either 0 or 1"),
    (["-ifile", SAMPLE, "-autosampledistance", "5"],
     "Error for option -autosampledistance: should be either 0 or 1"),
    (["-ifile", SAMPLE, "-disabled", "yes"], "Error for option -disabled: yes is not a valid int."),
    (["-ifile", SAMPLE, "-sampledistance", "0"], "Error for option -sampledistance: should be > 0.0"),
    (["-ifile", SAMPLE, "-sampledistance", "-1"], "Error for option -sampledistance: should be > 0.0"),
    (["-ifile", SAMPLE, "-sampledistance", "abc"],
     "Error for option -sampledistance: abc is not a valid float."),
    (["-ifile", SAMPLE, "-sampledistance"],
     "Error for option -sampledistance: 0 entries given, 1 expected."),
    (["-ifile", SAMPLE, "-opacity", "0.5", "2"],
     "Error for option -opacity: should be >= 0.0 and <= 1.0"),
    (["-ifile", SAMPLE, "-foo", "1"], "vmtkimagemipviewer error: unknown option -foo"),
    (["-ifile", SAMPLE, "-", "1"], "vmtkimagemipviewer error: unknown option -"),
    (["-ifile", SAMPLE, "--bar"], "vmtkimagemipviewer error: unknown option --bar"),
    (["-ifile"], "Error for option -ifile: 0 entries given, 1 expected."),
    ([SAMPLE], "vmtkimagemipviewer error: unexpected argument"),
    ([], "Error: no Image."),
    (["-display", "1"], "Error: no Image."),
    (["-i", "@vmtkimagereader.o"], "Error for option -i: pipes (@) are not supported"),
    (["-renderer", "x"], "Error for option -renderer: a vmtkRenderer object only exists"),
    (["-ifile", "/nonexistent/x.mha"], "vmtkimagemipviewer error: /nonexistent/x.mha: no such"),
])
def test_bad_arguments(capsys, shown, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert err.startswith(message), err
    assert len(err.strip().splitlines()) == 1
    assert not shown


def test_pipe_names_the_glmip_equivalent(capsys, shown):
    status, _, err = run(capsys, "-ifile", SAMPLE, "--pipe", "vmtkimagewriter", "-ofile", "x.mha")
    assert status == 2
    assert "--pipe" in err and "glmip view" in err and "glmip render" in err


def test_disabled_is_skipped(capsys, shown):
    status, out, _ = run(capsys, "-ifile", "/nonexistent.mha", "-disabled", "1")
    assert status == 0 and "disabled" in out and "skipping" in out
    assert not shown


def test_id_is_accepted(capsys, shown):
    assert run(capsys, "-id", "viewer1", "-ifile", SAMPLE)[0] == 0


def _writer_exists(suffix: str) -> bool:
    from glmip.io import registry

    return suffix in registry._WRITERS


@pytest.mark.parametrize("name", ["out.nii.gz", "out.mha"])
def test_display_0_writes_ofile(capsys, shown, tmp_path, name):
    from glmip.io import load

    target = tmp_path / name
    status, out, err = run(capsys, "-ifile", SAMPLE, "-display", "0", "-ofile", str(target))
    assert not shown
    suffix = ".nii.gz" if name.endswith(".nii.gz") else ".mha"
    if not _writer_exists(suffix):  # the formats issue has not landed this writer yet
        assert status == 2 and "cannot write" in err and not target.exists()
        return
    assert status == 0, err
    back, original = load(target), load(SAMPLE)
    np.testing.assert_array_equal(np.asarray(back.data), np.asarray(original.data))
    np.testing.assert_allclose(back.affine, original.affine, atol=1e-4)


def test_ofile_after_the_window(capsys, shown, tmp_path):
    target = tmp_path / "after.mha"
    status, _, err = run(capsys, "-ifile", SAMPLE, "-ofile", str(target))
    assert len(shown) == 1
    if _writer_exists(".mha"):
        assert status == 0 and target.is_file(), err


def test_ofile_of_unknown_type_is_refused_before_the_window(capsys, shown, tmp_path):
    status, _, err = run(capsys, "-ifile", SAMPLE, "-ofile", str(tmp_path / "out.xyz"))
    assert status == 2 and "cannot write '.xyz'" in err
    assert not shown


def test_ofile_never_overwrites_the_input(capsys, shown):
    status, _, err = run(capsys, "-ifile", SAMPLE, "-display", "0", "-ofile", SAMPLE)
    assert status == 2 and "overwrite the input" in err


def test_display_0_needs_no_display(tmp_path):
    """No DISPLAY, no window library imported."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    code = ("import sys; from glmip.vmtk import main; "
            f"rc = main(['-ifile', {SAMPLE!r}, '-windowlevel', '400', '-100', '-display', '0']); "
            "print(rc, 'pyglet' in sys.modules, 'moderngl_window' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["0", "False", "False"]


def test_console_script_is_installed():
    from importlib.metadata import entry_points

    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts.get("vmtkimagemipviewer") == "glmip.vmtk:main"


# --- -ofile pass-through loses nothing (every array, names, components, field data) ----------
def _vtk_arrays(path):
    """{name: (ncomp, values)} of every point-data and field-data array, as VTK reads them."""
    vtkmod = pytest.importorskip("vtk")
    from vtk.util import numpy_support as ns

    r = (vtkmod.vtkXMLImageDataReader() if str(path).endswith(".vti")
         else vtkmod.vtkStructuredPointsReader())
    r.SetFileName(str(path))
    if hasattr(r, "ReadAllFieldsOn"):
        r.ReadAllScalarsOn(), r.ReadAllVectorsOn(), r.ReadAllFieldsOn()
    r.Update()
    img = r.GetOutput()
    out = {}
    for kind, data in (("point", img.GetPointData()), ("field", img.GetFieldData())):
        for i in range(data.GetNumberOfArrays()):
            a = data.GetAbstractArray(i)
            out[(kind, a.GetName())] = (a.GetNumberOfComponents(), ns.vtk_to_numpy(a).copy())
    geometry = (img.GetDimensions(), img.GetOrigin(), img.GetSpacing())
    return out, geometry


def _many_arrays_vti(path, spaced=True):
    """A .vti with point arrays of several types and components, and field data."""
    vtkmod = pytest.importorskip("vtk")
    from vtk.util import numpy_support as ns

    img = vtkmod.vtkImageData()
    img.SetDimensions(5, 4, 3)
    img.SetOrigin(-3.5, 2.25, 7.0)
    img.SetSpacing(0.5, 1.5, 2.0)
    rng = np.random.default_rng(7)
    n = 60
    for name, arr in [("density", rng.normal(size=n).astype(np.float64)),
                      ("label map" if spaced else "label_map", rng.integers(0, 9, n).astype(np.uint8)),
                      ("rgba", rng.integers(0, 255, (n, 4)).astype(np.uint8)),
                      ("flow", rng.normal(size=(n, 3)).astype(np.float32)),
                      ("big", rng.integers(-2**40, 2**40, n).astype(np.int64))]:
        a = ns.numpy_to_vtk(arr, deep=True)
        a.SetName(name)
        img.GetPointData().AddArray(a)
    img.GetPointData().SetActiveScalars("density")
    f = ns.numpy_to_vtk(np.array([[1.5, 2.5], [3.5, 4.5], [5.0, 6.0]]), deep=True)
    f.SetName("calibration")
    img.GetFieldData().AddArray(f)
    w = vtkmod.vtkXMLImageDataWriter()
    w.SetInputData(img)
    w.SetFileName(str(path))
    assert w.Write() == 1
    return path


def _same_arrays(a, b):
    (arrays_a, geom_a), (arrays_b, geom_b) = a, b
    assert geom_a == geom_b
    assert sorted(arrays_a) == sorted(arrays_b)
    for key in arrays_a:
        (na, va), (nb, vb) = arrays_a[key], arrays_b[key]
        assert na == nb, key
        assert va.dtype == vb.dtype, key
        assert va.tobytes() == vb.tobytes(), key  # bit for bit


@pytest.mark.parametrize("suffix", [".vti", ".vtk"])
@pytest.mark.parametrize("name", ["carotid.vtk", "vase_4comp.vti", "hydrogen.vti", "many"])
def test_ofile_pass_through_keeps_every_array(capsys, tmp_path, name, suffix):
    from io_corpus import SHARED_DATA

    if name == "many":  # legacy .vtk has no form for a name with a space
        src = _many_arrays_vti(tmp_path / "many.vti", spaced=suffix == ".vti")
    else:
        src = SHARED_DATA / name
        if not src.is_file():
            pytest.skip("../shared/data not found")
    out = tmp_path / f"out{suffix}"
    status, _, err = run(capsys, "-ifile", str(src), "-display", "0", "-ofile", str(out))
    assert status == 0, err
    _same_arrays(_vtk_arrays(src), _vtk_arrays(out))


def test_info_lists_arrays(capsys):
    from io_corpus import SHARED_DATA
    from glmip.cli import main

    if not (SHARED_DATA / "carotid.vtk").is_file():
        pytest.skip("../shared/data not found")
    assert main(["info", str(SHARED_DATA / "carotid.vtk")]) == 0
    out = capsys.readouterr().out
    assert "scalars (1 component, shown)" in out and "vectors (3 components)" in out
