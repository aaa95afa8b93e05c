"""A lazily read volume larger than the memory budget is streamed brick by brick: never held
whole, and the picture is the in-memory one (to the bit, but for the mean's float rounding)."""

from __future__ import annotations

import numpy as np
import pytest

import glmip
from glmip.cli import main
from glmip.options import parse_bytes

zarr = pytest.importorskip("zarr", reason="zarr (the test extra) is not installed")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    rng = np.random.default_rng(4)
    data = (rng.random((160, 140, 120)) * 300).astype(np.uint16)
    data[40:50, 30:110, 10:100] = 4000
    data[120:124, 100:104, 20:110] = 2500
    path = tmp_path_factory.mktemp("ooc") / "v.zarr"
    z = zarr.open_array(str(path), mode="w", shape=data.shape, chunks=(64, 64, 64),
                        dtype="uint16", zarr_format=2)
    z[:] = data
    return path, data


@pytest.mark.parametrize("mode", ["mip", "minip", "mean", "depth", "lmip", "mida"])
def test_streamed_equals_in_memory(ctx, store, mode):
    from glmip.renderer import MipRenderer

    path, data = store
    vol = glmip.load(path, spacing=(0.5, 0.6, 0.8))
    budget = 1 << 20
    with MipRenderer(ctx, memory_budget=budget) as streamed:
        streamed.upload(vol)
        assert streamed.streaming and len(streamed.bricks) > 4
        for view, extra in (("anterior", {}), ("left", {"crop": (10, 150, 5, 120, 20, 100)}),
                            ("superior", {"slab": 30.0}), ("anterior", {"projection": "perspective"})):
            cam = glmip.make_camera(view, **{k: v for k, v in extra.items() if k == "projection"})
            settings = glmip.make_settings(mode=mode, **{k: v for k, v in extra.items()
                                                         if k != "projection"})
            got = streamed.render(cam, settings, (80, 80))
            want = glmip.render(glmip.Volume(data, vol.affine), camera=cam, settings=settings,
                                size=80)
            if mode == "mean":  # the bricks' sums and counts combine with float rounding
                diff = np.abs(got.astype(int) - want)
                assert diff.max() <= 1 and (diff > 0).mean() < 0.002, (view, mode)
            else:
                np.testing.assert_array_equal(got, want, err_msg=f"{view} {mode}")
    assert vol.data.largest_read * data.itemsize <= budget  # a brick at a time, never whole


def test_memory_option(store, tmp_path):
    path, _ = store
    out = tmp_path / "x.png"
    assert main(["render", str(path), "-o", str(out), "--memory", "1M", "--size", "32"]) == 0
    assert main(["render", str(path), "-o", str(out), "--memory", "12"]) == 2
    assert parse_bytes("512M") == 512 << 20 and parse_bytes("1.5GiB") == 3 << 29
    with pytest.raises(ValueError, match="bad size"):
        parse_bytes("lots")


def test_empty_bricks_of_a_max_pyramid_are_never_read(ctx, tmp_path, monkeypatch):
    """A streamed brick whose bound from the max pyramid is below the window is left unread;
    the picture is the same, and where a miss would look different nothing is skipped."""
    from glmip.io import save
    from glmip.renderer import MipRenderer

    data = np.zeros((128, 128, 96), np.uint16)
    data[60:63, 10:120, 20:80] = 3000
    data[10:13, 10:13, 5:90] = 2000
    path = tmp_path / "sparse.ome.zarr"
    save(glmip.Volume(data, np.diag([0.5, 0.5, 0.8, 1.0])), path)
    vol = glmip.load(path)
    ref = glmip.Volume(data, vol.affine)
    loads = []
    real = MipRenderer._load
    monkeypatch.setattr(MipRenderer, "_load", lambda self, b: (loads.append(1), real(self, b)))
    for background, skips in (((0.0, 0.0, 0.0), True), ((0.2, 0.3, 0.4), False)):
        with MipRenderer(ctx, memory_budget=1 << 18, max_texture_bytes=1 << 17) as r:
            r.upload(vol)
            for view in ("anterior", "left", "superior"):
                want = glmip.render(ref, view=view, size=64, background=background)
                loads.clear()
                settings = glmip.make_settings(background=background)
                got = r.render(glmip.make_camera(view), settings, (64, 64))
                assert np.array_equal(got, want), (view, background)
                assert (len(loads) < len(r.bricks)) == skips, (view, len(loads))


def test_api_memory_option_streams(store):
    """glmip.render(..., memory=) streams a lazily read volume larger than the budget: the same
    picture as in memory, and no read larger than the budget."""
    path, data = store
    vol = glmip.load(path, spacing=(0.5, 0.6, 0.8))
    got = glmip.render(vol, view="left", size=48, memory="1M")
    assert vol.data.largest_read * data.itemsize <= 1 << 20
    np.testing.assert_array_equal(got, glmip.render(glmip.Volume(data, vol.affine), view="left",
                                                    size=48))
    frames = list(glmip.turntable_frames(vol, glmip.make_camera("left"), glmip.make_settings(),
                                         (32, 32), frames=2, memory=1 << 20))
    assert len(frames) == 2 and vol.data.largest_read * data.itemsize <= 1 << 20
