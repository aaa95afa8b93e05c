"""One picture split over workers (process pool, Dask cluster) equals the single-process one."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing

import numpy as np
import pytest

import glmip
from glmip.distributed import combine, render_split, split_crops
from glmip.recipe import Recipe

zarr = pytest.importorskip("zarr", reason="zarr (the test extra) is not installed")


def test_split_crops_cover_every_voxel_once():
    for shape, crop, parts in [((40, 30, 20), None, 3), ((40, 30, 20), (5, 30, 2, 9, 0, 19), 4),
                               ((3, 3, 3), None, 8)]:
        owned = np.zeros(shape, int)
        for c in split_crops(shape, crop, parts):
            owned[c[0]:c[1] + 1, c[2]:c[3] + 1, c[4]:c[5] + 1] += 1
        want = np.zeros(shape, int)
        box = crop or (0, shape[0] - 1, 0, shape[1] - 1, 0, shape[2] - 1)
        want[box[0]:box[1] + 1, box[2]:box[3] + 1, box[4]:box[5] + 1] = 1
        assert np.array_equal(owned, want)


def test_combine_max_min_and_mean():
    nan = np.nan
    a = (np.array([1.0, nan, 5.0, 2.0]), np.array([3.0, 0, 1.0, 4.0]), np.array([2, 0, 4, 1]))
    b = (np.array([4.0, 2.0, 5.0, nan]), np.array([9.0, 2, 0.5, 0]), np.array([1, 3, 4, 0]))
    v, d, _ = combine([a, b], "mip")
    assert np.allclose(v[[0, 1, 2, 3]], [4, 2, 5, 2]) and np.allclose(d, [9, 2, 0.5, 4])
    v, _, _ = combine([a, b], "minip")
    assert np.allclose(v, [1, 2, 5, 2])
    v, _, n = combine([a, b], "mean")
    assert np.allclose(v, [(1 * 2 + 4) / 3, 2, 5, 2]) and list(n) == [3, 3, 8, 1]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    rng = np.random.default_rng(6)
    data = (rng.random((96, 80, 72)) * 200).astype(np.uint16)
    data[30:34, 10:70, 5:65] = 3000
    data[70:75, 60:64, 10:60] = 1800
    path = tmp_path_factory.mktemp("split") / "v.zarr"
    z = zarr.open_array(str(path), mode="w", shape=data.shape, chunks=(32, 32, 32),
                        dtype="uint16", zarr_format=2)
    z[:] = data
    return path


def _check(recipe, executor, parts):
    image, resolved = render_split(recipe, executor, parts, memory=1 << 20)
    single = glmip.render(glmip.load(recipe.input, **recipe.reader_options()),
                          camera=resolved.camera(), settings=resolved.settings(),
                          size=resolved.size)
    if recipe.options.get("mode") == "mean":  # the parts' sums add with float rounding
        diff = np.abs(image.astype(int) - single)
        assert diff.max() <= 1 and (diff > 0).mean() < 0.003, recipe.options
    else:  # maxima combine exactly, and every part samples where one process would
        np.testing.assert_array_equal(image, single, err_msg=str(recipe.options))


@pytest.mark.slow
def test_process_pool_split_equals_one_process(store):
    pool = cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))
    try:
        for mode, view in [("mip", "anterior"), ("minip", "left"), ("mean", "superior")]:
            recipe = Recipe.make(str(store), view=view, mode=mode, size=(64, 56),
                                 spacing=(0.6, 0.7, 0.9))
            _check(recipe, pool, 3)
    finally:
        pool.shutdown()


@pytest.mark.slow
def test_dask_local_cluster_split(store):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        recipe = Recipe.make(str(store), view_dir=(1, 0.4, -0.3), size=(60, 60),
                             window=2000, level=1000)
        _check(recipe, client.get_executor(), 4)


@pytest.mark.slow
def test_command_line_split_over_local_workers(store, tmp_path):
    from PIL import Image

    from glmip.cli import main
    from glmip.pngio import read_text

    split, whole = tmp_path / "split.png", tmp_path / "whole.png"
    common = [str(store), "--spacing", "0.6", "0.7", "0.9", "--view", "left", "--size", "48"]
    assert main(["render", *common, "-o", str(split), "--jobs", "2"]) == 0
    assert main(["render", *common, "-o", str(whole)]) == 0
    a = np.asarray(Image.open(split), dtype=int)
    b = np.asarray(Image.open(whole), dtype=int)
    np.testing.assert_array_equal(a, b)
    assert Recipe.from_text(read_text(split)).options["view"] == "left"
    assert main(["render", *common, "-o", str(tmp_path / "x.png"), "--jobs", "2",
                 "--values", str(tmp_path / "v.npy")]) == 2


@pytest.mark.parametrize("extra", [["--mode", "mida"], ["--mode", "lmip"],
                                   ["--mode", "depthcolour"], ["--labels", "{store}"]])
def test_what_slabs_cannot_combine_is_refused(store, tmp_path, capsys, extra):
    """mida composites colours, lmip's answer depends on the whole ray, depthcolour colours in
    the pass, labels are read at the whole ray's maximum: none splits into slabs, so the command
    says so in one line, exits 2 and writes nothing (it used to write a wrong picture)."""
    from glmip.cli import main

    out = tmp_path / "split.png"
    args = [a.format(store=store) for a in extra]
    assert main(["render", str(store), "-o", str(out), "--size", "32", "--jobs", "2",
                 *args]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "split" in err, err
    assert not out.exists()
