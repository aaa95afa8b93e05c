"""Batch export: many inputs x views to DIR/<name>_<view>.png, failures reported and skipped,
--skip-existing, process pools and a Dask LocalCluster giving the same pictures as one render."""

from __future__ import annotations

import os

import numpy as np
import nibabel as nib
import pytest
from PIL import Image

import glmip
from glmip.cli import main


@pytest.fixture
def scans(tmp_path, rng):
    """Three small scans (one in a sub-directory) and a broken file."""
    src = tmp_path / "scans"
    (src / "more").mkdir(parents=True)
    paths = []
    for k, where in enumerate([src, src, src / "more"]):
        data = rng.integers(0, 100, (12, 10, 8)).astype(np.int16)
        data[2 + k, 3:6, 2:5] = 900
        p = where / f"ct{k}.nii.gz"
        nib.save(nib.Nifti1Image(data, np.diag([1.0, 1.5, 2.0, 1.0])), p)
        paths.append(p)
    (src / "broken.nii.gz").write_bytes(b"not a nifti")
    return src, paths


def _png(path):
    return np.asarray(Image.open(path))


def test_directory_views_and_names(scans, tmp_path):
    src, paths = scans
    out = tmp_path / "out"
    code = main(["render", str(src / "ct0.nii.gz"), str(src / "more"), "-o", f"{out}/",
                 "--view", "anterior,left", "--size", "24x16", "--quiet"])
    assert code == 0
    assert sorted(os.listdir(out)) == ["ct0_anterior.png", "ct0_left.png", "ct2_anterior.png",
                                       "ct2_left.png"]
    expected = glmip.render(paths[2], view="left", size=(24, 16))
    assert np.array_equal(_png(out / "ct2_left.png"), expected)


def test_bad_file_is_reported_and_skipped(scans, tmp_path, capsys):
    src, _ = scans
    out = tmp_path / "out"
    code = main(["render", str(src), f"{src}/nothing*.mha", "-o", f"{out}/", "--size", "8",
                 "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert sorted(os.listdir(out)) == ["ct0_superior.png", "ct1_superior.png"]
    failures = [line for line in err.splitlines() if line.startswith("glmip render: error:")]
    assert len(failures) == 2 and "broken.nii.gz" in failures[0] + failures[1]
    assert "2 of 4 inputs failed" in err


def test_skip_existing_and_contact_sheet(scans, tmp_path):
    src, paths = scans
    out = tmp_path / "out"
    args = ["render", f"{src}/**/ct*.nii.gz", "-o", f"{out}/", "--view", "anterior,superior",
            "--contact-sheet", "--size", "20x10", "--quiet"]
    assert main(args) == 0
    sheet = _png(out / "ct1_sheet.png")
    assert sheet.shape == (10, 40)
    assert np.array_equal(sheet[:, 20:], glmip.render(paths[1], view="superior", size=(20, 10)))
    (out / "ct1_sheet.png").write_bytes(b"keep")
    os.remove(out / "ct2_sheet.png")
    assert main([*args, "--skip-existing"]) == 0
    assert (out / "ct1_sheet.png").read_bytes() == b"keep"
    assert (out / "ct2_sheet.png").exists()


def test_single_input_contact_sheet_to_a_file(scans, tmp_path):
    src, _ = scans
    out = tmp_path / "sheet.png"
    assert main(["render", str(src / "ct0.nii.gz"), "-o", str(out), "--view", "left,right",
                 "--contact-sheet", "--size", "8"]) == 0
    assert _png(out).shape == (8, 16)
    assert main(["render", str(src / "ct0.nii.gz"), "-o", str(out), "--view", "left,right"]) == 2


def test_jobs_use_spawned_worker_processes(scans, tmp_path):
    src, paths = scans
    out = tmp_path / "out"
    assert main(["render", *map(str, paths), "-o", f"{out}/", "--jobs", "2", "--size", "16",
                 "--view", "anterior", "--quiet"]) == 0
    for p in paths:
        name = p.name.replace(".nii.gz", "")
        assert np.array_equal(_png(out / f"{name}_anterior.png"),
                              glmip.render(p, view="anterior", size=16))


@pytest.mark.slow
def test_dask_local_cluster(scans, tmp_path):
    distributed = pytest.importorskip("distributed")
    from glmip.batch import expand_inputs, make_tasks, render_batch
    from glmip.recipe import Recipe

    src, paths = scans
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        inputs, missing = expand_inputs([str(src), str(src / "more")])
        assert missing == [] and len(inputs) == 4
        recipe = Recipe.make("", view="left,inferior", size=(16, 12))
        tasks = make_tasks(inputs, tmp_path / "dask", recipe)
        report = render_batch(tasks, client.get_executor(), progress=False)
        assert len(report.done) == 3 and len(report.failed) == 1, report.outcomes
        assert "broken.nii.gz" in report.failed[0].error
        assert {o.worker for o in report.done} != {str(os.getpid())}
        got = _png(tmp_path / "dask" / "ct0_inferior.png")
        assert np.array_equal(got, glmip.render(paths[0], view="inferior", size=(16, 12)))

        # The command line on the same cluster.
        out = tmp_path / "cli"
        assert main(["render", *map(str, paths), "-o", f"{out}/", "--size", "8",
                     "--dask", cluster.scheduler_address, "--quiet"]) == 0
        assert len(os.listdir(out)) == 3


def _sabotage() -> None:
    """Worker initializer: an input named 'killer' kills its worker process (as the OOM killer
    would), one named 'slow' hangs."""
    import time

    import glmip.batch as batch

    real = batch.load

    def load(path, **kw):
        name = os.path.basename(str(path))
        if name.startswith("killer"):
            os._exit(9)
        if name.startswith("slow"):
            time.sleep(60)
        return real(path, **kw)

    batch.load = load


@pytest.mark.slow
def test_dead_or_slow_worker_fails_only_its_input(scans, tmp_path):
    import concurrent.futures as cf
    import multiprocessing
    import shutil

    from glmip.batch import make_tasks, render_batch
    from glmip.recipe import Recipe

    src, paths = scans
    inputs = []
    for name in ("a", "killer", "b", "slow", "c", "d"):
        shutil.copy(paths[0], src / f"{name}.nii.gz")
        inputs.append(str(src / f"{name}.nii.gz"))
    tasks = make_tasks(inputs, tmp_path / "out", Recipe.make("", size=(8, 8)))
    (tmp_path / "out").mkdir()
    pool = cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_sabotage)
    try:
        report = render_batch(tasks, pool, progress=False, timeout=10)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    failed = {os.path.basename(o.input): o.error for o in report.failed}
    assert set(failed) == {"killer.nii.gz", "slow.nii.gz"}, report.outcomes
    assert "died" in failed["killer.nii.gz"] and "longer than 10 s" in failed["slow.nii.gz"]
    assert sorted(os.listdir(tmp_path / "out")) == [f"{n}_superior.png" for n in "abcd"]


def test_recursive_glob_does_not_follow_link_loops(tmp_path):
    from glmip.batch import expand_inputs

    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.nii.gz").write_bytes(b"")
    os.symlink(tmp_path / "a", tmp_path / "a" / "b" / "loop")
    inputs, missing = expand_inputs([f"{tmp_path}/**/*.nii.gz"])
    assert inputs == [str(tmp_path / "a" / "b" / "x.nii.gz")] and not missing
