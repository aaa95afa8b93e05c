"""OME-Zarr: NGFF 0.4 (Zarr v2) and 0.5 (Zarr v3), directories and zip stores, pyramid levels,
time and channel axes, units; `glmip convert` writes a max pyramid; read lazily."""

from __future__ import annotations

import numpy as np
import pytest

import glmip
from glmip.cli import main
from glmip.io import load, save
from glmip.lazy import LazyArray
from glmip.resources import sample_path

zarr = pytest.importorskip("zarr", reason="zarr (the test extra) is not installed")

VIEWS = ("anterior", "left", "superior")


def _pictures(vol, **kw):
    return [glmip.render(vol, view=v, size=64, **kw) for v in VIEWS]


def test_convert_round_trip_is_pixel_identical(tmp_path):
    out = tmp_path / "aorta.ome.zarr"
    assert main(["convert", str(sample_path()), str(out)]) == 0
    original, again = load(sample_path()), load(out)
    assert isinstance(again.data, LazyArray)
    for a, b in zip(_pictures(original, window=1800, level=1300),
                    _pictures(again, window=1800, level=1300)):
        assert np.array_equal(a, b)
    # every voxel lands at the same world point (the writer flipped the L-P axes to +spacing)
    probe = np.array([[10, 20, 5, 1.0], [150, 390, 33, 1.0]])
    data, data2 = np.asarray(original.data), np.asarray(again.data)
    for ijk in probe:
        world = original.affine @ ijk
        ijk2 = np.rint(np.linalg.solve(again.affine, world)).astype(int)
        assert data[tuple(ijk[:3].astype(int))] == data2[tuple(ijk2[:3])]


def test_pyramid_levels_are_max_pooled_and_listed(tmp_path, capsys):
    rng = np.random.default_rng(2)
    data = rng.integers(0, 50, (70, 60, 40)).astype(np.uint16)
    data[30, 10:50, 5:35] = 4000  # a one-voxel-thin bright plate: averaging would dim it
    affine = np.diag([0.5, 0.6, 0.7, 1.0])
    affine[:3, 3] = (1, 2, 3)
    out = tmp_path / "v.ome.zarr"
    save(glmip.Volume(data, affine), out)
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "levels:" in text and "1: 20 x 30 x 35" in text
    level1 = load(out, pyramid_level=1)
    pooled = data[:70, :60, :40].reshape(35, 2, 30, 2, 20, 2).max(axis=(1, 3, 5))
    assert np.array_equal(np.asarray(level1.data), pooled)
    np.testing.assert_allclose(np.diag(level1.affine)[:3], [1.0, 1.2, 1.4])
    np.testing.assert_allclose(level1.affine[:3, 3], [1.25, 2.3, 3.35])  # first block's centre
    assert np.asarray(level1.data).max() == 4000  # the plate survives pooling
    img = tmp_path / "l1.png"
    assert main(["render", str(out), "-o", str(img), "--pyramid-level", "1", "--size", "32"]) == 0
    with pytest.raises(glmip.io.InputError, match="pyramid level 9 out of range"):
        load(out, pyramid_level=9)


def _ngff05(path, data_tczyx, scale_zyx, unit="micrometer", zip_store=False):
    store = zarr.storage.ZipStore(str(path), mode="w") if zip_store else str(path)
    root = zarr.open_group(store, mode="w", zarr_format=3)
    root.create_array("0", data=data_tczyx, chunks=(1, 1, 8, 8, 8))
    root.attrs["ome"] = {"version": "0.5", "multiscales": [{
        "axes": [{"name": "t", "type": "time"}, {"name": "c", "type": "channel"}] +
                [{"name": n, "type": "space", "unit": unit} for n in "zyx"],
        "datasets": [{"path": "0", "coordinateTransformations": [
            {"type": "scale", "scale": [1, 1, *scale_zyx]},
            {"type": "translation", "translation": [0, 0, 10.0, 20.0, 30.0]}]}]}]}
    if zip_store:
        store.close()


@pytest.mark.parametrize("zip_store", [False, True])
def test_ngff_05_time_channel_units(tmp_path, zip_store):
    rng = np.random.default_rng(3)
    data = rng.random((2, 3, 12, 14, 16)).astype(np.float32)
    path = tmp_path / ("v.ome.zarr.zip" if zip_store else "v.ome.zarr")
    _ngff05(path, data, (4.0, 2.0, 1.0), zip_store=zip_store)
    vol = load(path, frame=1, component=2)
    assert vol.shape == (16, 14, 12) and vol.meta["frames"] == 2 and vol.meta["components"] == 3
    assert np.array_equal(np.asarray(vol.data), data[1, 2].transpose(2, 1, 0))
    np.testing.assert_allclose(np.diag(vol.affine)[:3], [0.001, 0.002, 0.004])  # um -> mm
    np.testing.assert_allclose(vol.affine[:3, 3], [0.030, 0.020, 0.010])
    with pytest.raises(glmip.io.InputError, match="component 3 out of range"):
        load(path, component=3)


def test_plain_zarr_array_and_lazy_reading(tmp_path, renderer):
    data = np.zeros((200, 180, 150), np.int16)
    data[50:60, 40:140, 20:130] = 1000
    z = zarr.open_array(str(tmp_path / "plain.zarr"), mode="w", shape=data.shape,
                        chunks=(64, 64, 64), dtype="int16", zarr_format=2)
    z[:] = data
    vol = load(tmp_path / "plain.zarr", spacing=(0.5, 0.5, 1.0))
    np.testing.assert_allclose(np.diag(vol.affine)[:3], [0.5, 0.5, 1.0])
    image = glmip.render(vol, view="anterior", size=48)
    assert np.array_equal(image, glmip.render(glmip.Volume(data, vol.affine), view="anterior",
                                              size=48))
    assert 0 < vol.data.largest_read * 2 <= 4 << 20 < data.nbytes  # a slab at a time
    before = vol.data.elements_read
    renderer.upload(vol)
    assert vol.data.elements_read - before == data.size  # every voxel read once, not twice


def test_rotated_volumes_are_refused_on_write(tmp_path):
    from glmip.camera import rotation_matrix

    affine = np.eye(4)
    affine[:3, :3] = rotation_matrix([0, 0, 1], 30)
    with pytest.raises(glmip.io.InputError, match="only a scale and a translation"):
        save(glmip.Volume(np.zeros((4, 4, 4), np.uint8), affine), tmp_path / "r.ome.zarr")
    assert list(tmp_path.iterdir()) == []


def test_recorded_range_gives_the_automatic_window_without_reading(tmp_path, monkeypatch):
    """convert records the stored range as the omero window; an automatic window then comes
    from it (a big volume is not read whole just for its window), and a bad record is ignored."""
    import zarr

    data = np.zeros((40, 30, 20), np.int16)
    data[5:9, 3:20, 2:15] = 900
    data[30, 20, 10] = -7
    path = tmp_path / "v.ome.zarr"
    save(glmip.Volume(data, np.diag([0.5, 0.5, 1.0, 1.0])), path)
    window = zarr.open_group(str(path), mode="r").attrs["omero"]["channels"][0]["window"]
    assert (window["min"], window["max"]) == (-7, 900)
    vol = load(path)
    monkeypatch.setattr(LazyArray, "__array__", lambda *a, **k: pytest.fail("read whole"))
    assert vol.value_range == (-7.0, 900.0)
    monkeypatch.undo()
    for bad in ({"channels": [{"window": {"min": "a", "max": 3}}]}, {"channels": []},
                {"channels": [{"window": {"min": 5, "max": 1}}]}, "nonsense"):
        zarr.open_group(str(path), mode="r+").attrs["omero"] = bad
        assert load(path).value_range == (-7.0, 900.0)  # read from the data instead
