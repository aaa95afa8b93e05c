"""Issue 14's projections: the depth-aware modes (mida, lmip, depthcolour), masks and labels,
each against the independent numpy reference (tests/reference.py) on axis-aligned views with
samples on voxel planes, each shown to change the picture, exact with and without the speed-ups,
and in a turntable."""

from __future__ import annotations

import numpy as np
import pytest

from glmip import movie, raycast
from glmip.camera import Camera
from glmip.colormaps import colormap_lut
from glmip.errors import VolumeError
from glmip.settings import RenderSettings
from glmip.volume import Volume
from reference import (VIEWS, reference_depthcolour, reference_lmip, reference_mida,
                       reference_samples, window_grey)

S = 1.3
SHAPE = (17, 21, 13)
WINDOW, LEVEL = 600.0, 400.0
SHAPES = {"anterior": (SHAPE[2], SHAPE[0]), "left": (SHAPE[2], SHAPE[1]),
          "superior": (SHAPE[1], SHAPE[0])}  # (rows, cols) of the box-fitted view


def affine():
    a = np.diag([S, S, S, 1.0])
    a[:3, 3] = (-11.0, 7.0, 3.5)
    return a


@pytest.fixture
def data(rng):
    """Distinct float values (no ties), noise with two blobs one behind the other."""
    d = (rng.random(SHAPE) * 300).astype(np.float32)
    d[4:9, 3:8, 3:9] += 350
    d[5:12, 12:18, 4:10] += 500
    return d


def assert_close(img, ref, tol=1, frac=0.995):
    assert img.shape == ref.shape
    diff = np.abs(img.astype(int) - ref.astype(int))
    assert diff.max() <= 3, f"max diff {diff.max()}"
    assert (diff <= tol).mean() >= frac, f"{(diff > tol).mean():.3%} pixels off by > {tol}"


def samples_of(data, view, keep=None, keep_tolerance=1e-6):
    rows, cols = SHAPES[view]
    d, up = VIEWS[view]
    return reference_samples(data, affine(), d, up, cols, rows, S, fit="box", keep=keep,
                             keep_tolerance=keep_tolerance)


def draw(renderer, data, view, **settings):
    renderer.upload(Volume(data, affine()))
    rows, cols = SHAPES[view]
    st = RenderSettings(window=WINDOW, level=LEVEL, sample_distance=S, **settings)
    return renderer.render(Camera.standard(view, fit="box"), st, (cols, rows))


# --- lmip ---------------------------------------------------------------------------------
@pytest.mark.parametrize("view", list(SHAPES))
@pytest.mark.parametrize("threshold", [None, 320.0, 700.0])
def test_lmip_matches_reference(renderer, data, view, threshold):
    samples, _, _ = samples_of(data, view)
    ref, _ = reference_lmip(samples, LEVEL if threshold is None else threshold)
    img = draw(renderer, data, view, mode="lmip", threshold=threshold)
    assert_close(img, window_grey(ref, WINDOW, LEVEL))
    rows, cols = SHAPES[view]
    proj = renderer.project(Camera.standard(view, fit="box"),
                            RenderSettings(mode="lmip", threshold=threshold, window=WINDOW,
                                           level=LEVEL, sample_distance=S), (cols, rows))
    np.testing.assert_allclose(proj.value, ref, atol=1e-3)


def test_lmip_hides_the_far_blob_that_mip_shows(renderer, data):
    mip = draw(renderer, data, "left", mode="mip")
    lmip = draw(renderer, data, "left", mode="lmip", threshold=500.0)
    assert not np.array_equal(mip, lmip)
    assert lmip.astype(int).sum() < mip.astype(int).sum()


# --- mida ---------------------------------------------------------------------------------
@pytest.mark.parametrize("view", list(SHAPES))
@pytest.mark.parametrize("mida_gamma", [-1.0, -0.5, 0.0, 0.6, 1.0])
def test_mida_matches_reference(renderer, data, view, mida_gamma):
    samples, _, _ = samples_of(data, view)
    ref = reference_mida(samples, WINDOW, LEVEL, colormap_lut("grey"), mida_gamma=mida_gamma)
    img = draw(renderer, data, view, mode="mida", mida_gamma=mida_gamma)
    assert img.ndim == 2  # grey in, grey out
    assert_close(img, ref[..., 0])


def test_mida_colour_opacity_gamma_and_background_match_reference(renderer, data):
    samples, _, _ = samples_of(data, "anterior")
    bg = (0.1, 0.2, 0.3)
    ref = reference_mida(samples, WINDOW, LEVEL, colormap_lut("hot"), opacity=(0.1, 0.8),
                         gamma=0.7, mida_gamma=-0.3, background=bg)
    img = draw(renderer, data, "anterior", mode="mida", mida_gamma=-0.3, colormap="hot",
               opacity=(0.1, 0.8), gamma=0.7, background=bg)
    assert_close(img, ref)


def test_mida_gamma_changes_the_picture(renderer, data):
    pics = [draw(renderer, data, "left", mode="mida", mida_gamma=g) for g in (-1, -0.5, 0, 0.5, 1)]
    for a, b in zip(pics, pics[1:]):
        assert np.abs(a.astype(int) - b.astype(int)).max() > 2
    mip = draw(renderer, data, "left", mode="mip")
    assert not np.array_equal(pics[2], mip)


# --- depthcolour ----------------------------------------------------------------------------
@pytest.mark.parametrize("view", list(SHAPES))
@pytest.mark.parametrize("depth_length", [None, 15.0])
def test_depthcolour_matches_reference(renderer, data, view, depth_length):
    samples, front, diameter = samples_of(data, view)
    ref = reference_depthcolour(samples, WINDOW, LEVEL, front, depth_length or diameter)
    img = draw(renderer, data, view, mode="depthcolour", depth_length=depth_length)
    assert img.ndim == 3
    assert_close(img, ref)


def test_depthcolour_background_and_values(renderer, data):
    """Misses show the background; the quantitative projection is the MIP's."""
    renderer.upload(Volume(data, affine()))
    st = RenderSettings(window=WINDOW, level=LEVEL, sample_distance=S, mode="depthcolour",
                        background=(0.0, 1.0, 0.0))
    img = renderer.render(Camera.standard("anterior"), st, (40, 40))
    assert tuple(img[0, 0]) == (0, 255, 0)
    mip = renderer.project(Camera.standard("anterior"), st.copy(mode="mip"), (40, 40))
    dc = renderer.project(Camera.standard("anterior"), st, (40, 40))
    np.testing.assert_array_equal(np.isnan(mip.value), np.isnan(dc.value))
    np.testing.assert_allclose(mip.value, dc.value)


# --- speed-ups: exact where they are used, off where they would not be -----------------------
@pytest.mark.parametrize("mode", ["mida", "lmip", "depthcolour"])
def test_speedups_never_change_the_new_modes(renderer, data, mode):
    pics = [draw(renderer, data, "left", mode=mode, skip_empty=s, early_exit=e)
            for s in (False, True) for e in (False, True)]
    for p in pics[1:]:
        assert np.array_equal(p, pics[0])


def test_mode_speedup_table():
    st = RenderSettings(window=WINDOW, level=LEVEL, sample_distance=S)
    vol = Volume(np.zeros((4, 4, 4), np.float32), np.eye(4))
    frame = Camera.standard("left").frame(vol, 8, 8)
    for mode, (skip, exit_) in raycast.MODE_SPEEDUPS.items():
        u = raycast.projection_uniforms(vol, frame, st.copy(mode=mode), (0, 0, 8, 8),
                                        value_scale=1, value_offset=0, cell_size=4,
                                        speedup=(True, True), exact_values=False, seed=0)
        assert (u["u_skip_mode"] != 0) == skip and u["u_early_exit"] == exit_, mode
        if mode == "depthcolour":
            assert u["u_skip_mode"] == 1  # raw values: the maximum's position stays exact


@pytest.mark.parametrize("mode", ["mida", "lmip", "depthcolour"])
def test_bricked_volume_renders_the_new_modes(ctx, renderer, data, mode):
    """Once refused; now the same picture as one texture (more in tests/test_bricks.py)."""
    from glmip.renderer import MipRenderer

    st = RenderSettings(mode=mode, window=WINDOW, level=LEVEL, threshold=500.0)
    with MipRenderer(ctx, max_texture_size=8) as r:
        r.upload(Volume(data, affine()))
        assert len(r.bricks) > 1
        renderer.upload(Volume(data, affine()))
        for view in SHAPES:
            cam = Camera.standard(view, fit="box")
            np.testing.assert_array_equal(r.render(cam, st, (24, 24)),
                                          renderer.render(cam, st, (24, 24)))


# --- turntable ------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["mida", "lmip", "depthcolour"])
def test_turntable_frames_are_the_turned_views(renderer, data, mode):
    from glmip import pipeline
    from glmip.recipe import Recipe

    vol = Volume(data, affine(), name="vol")
    renderer.upload(vol)
    recipe = Recipe("vol", {"mode": mode, "window": WINDOW, "level": LEVEL, "size": [32, 32],
                            "view": "anterior", "frames": 4}, "turntable")
    frames = list(pipeline.turntable_frames(recipe, volume=vol, renderer=renderer))
    cams = movie.turntable_cameras(Camera.standard("anterior"), 4)
    st = recipe.settings()
    for frame, cam in zip(frames, cams):
        assert np.array_equal(frame, renderer.render(cam, st, (32, 32)))
    assert not np.array_equal(frames[0], frames[1])


def test_depthcolour_colour_stays_put_in_a_turntable(renderer):
    """A blob peaking at the volume's centre lies mid-depth in every frame: the same colour
    (within the half step by which the nearest sample plane may miss the peak)."""
    n = 21
    g = np.indices((n, n, n)) - n // 2
    data = (1000 * np.exp(-(g ** 2).sum(0) / 8.0)).astype(np.float32)
    renderer.upload(Volume(data, np.eye(4)))
    st = RenderSettings(window=200, level=500, mode="depthcolour")  # the peak saturates
    colours = [renderer.render(cam, st, (33, 33))[16, 16]
               for cam in movie.turntable_cameras(Camera.standard("anterior"), 6)]
    for c in colours:
        assert np.abs(c.astype(int) - colours[0].astype(int)).max() <= 4
    np.testing.assert_allclose(colours[0], np.floor(np.array([0.85, 0.25, 0.55]) * 255 + 0.5),
                               atol=4)  # mid-depth: the middle colour


# --- masks ------------------------------------------------------------------------------------
def nearest_mask(vol_shape, vol_affine, mask, mask_affine):
    """The mask on the volume's grid, written out voxel by voxel (the reference resampling)."""
    inv = np.linalg.inv(mask_affine)
    out = np.zeros(vol_shape, bool)
    for idx in np.ndindex(*vol_shape):
        world = vol_affine @ np.array([*idx, 1.0])
        m = np.floor(inv @ world + 0.5)[:3].astype(int)
        if np.all(m >= 0) and np.all(m < mask.shape):
            out[idx] = mask[tuple(m)] != 0
    return out


@pytest.fixture
def coarse_mask():
    """A mask on a coarser, shifted grid (2.6 mm voxels)."""
    m = np.zeros((9, 11, 7), np.uint8)
    m[1:5, 2:9, 1:6] = 1
    a = np.diag([2 * S, 2 * S, 2 * S, 1.0])
    a[:3, 3] = affine()[:3, 3] + (0.3 * S, 1.2 * S, 0.1 * S)  # no voxel centre on a tie
    return Volume(m, a)


@pytest.mark.parametrize("view", list(SHAPES))
@pytest.mark.parametrize("mask_mode", ["include", "exclude"])
@pytest.mark.parametrize("mode", ["mip", "minip", "lmip"])
def test_mask_matches_reference(renderer, data, coarse_mask, view, mask_mode, mode):
    keep = nearest_mask(SHAPE, affine(), coarse_mask.data, coarse_mask.affine)
    if mask_mode == "exclude":
        keep = ~keep
    samples, _, _ = samples_of(data, view, keep=keep)
    stack = np.stack([v for v, _ in samples])
    with np.errstate(all="ignore"):
        ref = {"mip": lambda: np.nanmax(stack, 0), "minip": lambda: np.nanmin(stack, 0),
               "lmip": lambda: reference_lmip(samples, LEVEL)[0]}[mode]()
    ref = window_grey(ref, WINDOW, LEVEL)
    # Nearest interpolation: a sample reads one voxel, the reference exactly.
    nearest = draw(renderer, data, view, mode=mode, mask=coarse_mask, mask_mode=mask_mode,
                   interpolation="nearest")
    assert_close(nearest, ref)
    # Linear: a sample on a voxel centre beside the mask's edge reads the voxel outside with a
    # weight of float rounding (or none), and is then dropped (strict: no weight of a voxel
    # outside reaches the picture). So a MIP may only lose such samples, never gain any.
    img = draw(renderer, data, view, mode=mode, mask=coarse_mask, mask_mode=mask_mode)
    diff = img.astype(int) - ref
    if mode == "mip":
        assert diff.max() <= 1
    assert (np.abs(diff) <= 1).mean() >= 0.85
    plain = draw(renderer, data, view, mode=mode)
    assert not np.array_equal(img, plain)


def test_mask_in_grid_is_nearest_neighbour_through_the_affines(coarse_mask):
    vol = Volume(np.zeros(SHAPE, np.float32), affine())
    want = nearest_mask(SHAPE, affine(), coarse_mask.data, coarse_mask.affine)
    np.testing.assert_array_equal(raycast.mask_in_grid(vol, coarse_mask), want)
    np.testing.assert_array_equal(raycast.mask_in_grid(vol, coarse_mask, "exclude"), ~want)


@pytest.mark.parametrize("mode", ["mip", "mean", "depth", "mida", "lmip", "depthcolour"])
def test_values_outside_the_mask_never_reach_the_picture(renderer, rng, mode):
    """An oblique view, trilinear samples between voxels: a huge value outside the mask leaks
    into no pixel, whatever the window."""
    data = (rng.random((20, 18, 16)) * 100).astype(np.float32)
    data[8:14, 6:12, 5:11] = 1e6  # 'bone'
    bone = np.zeros(data.shape, np.uint8)
    bone[8:14, 6:12, 5:11] = 1
    rot = Camera.standard("anterior").rotated([1, 2, 3], 33).basis()
    a = np.eye(4)
    a[:3, :3] = np.stack(rot, axis=1) @ np.diag([1.1, 0.9, 1.3])
    vol = Volume(data, a)
    renderer.upload(vol)
    cam = Camera.standard("left").rotated([0, 0, 1], 20)
    st = RenderSettings(window=100, level=50, mode=mode, mask=Volume(bone, a),
                        mask_mode="exclude", sample_distance=0.37)
    proj = renderer.project(cam, st, (48, 48))
    assert np.nanmax(proj.value) <= 100.0
    assert np.isfinite(proj.value).any()
    img = renderer.render(cam, st.copy(window=2e6, level=1e6), (48, 48))
    assert img.max() <= 1  # 100 of a 2e6 window is grey 0 (mida: 0 plus rounding)
    unmasked = renderer.render(cam, st.copy(window=2e6, level=1e6, mask=None), (48, 48))
    assert unmasked.max() > img.max() + 20  # and without the mask it shows


def test_mask_accepts_a_path(renderer, data, coarse_mask, tmp_path):
    from glmip.io import save

    path = tmp_path / "mask.nii.gz"
    save(coarse_mask, path)
    a = draw(renderer, data, "left", mask=str(path))
    b = draw(renderer, data, "left", mask=coarse_mask)
    assert np.array_equal(a, b)


# --- labels -------------------------------------------------------------------------------
@pytest.fixture
def segmentation():
    """Labels 1 and 2 on a finer grid than the volume (0.65 mm voxels): the two blobs."""
    lab = np.zeros((34, 42, 26), np.uint8)
    lab[8:18, 6:16, 6:18] = 1
    lab[10:24, 24:36, 8:20] = 2
    a = np.diag([S / 2, S / 2, S / 2, 1.0])
    a[:3, 3] = affine()[:3, 3] - S / 4
    return Volume(lab, a)


def label_reference(data, view, segmentation, style, opacity, table=None):
    """Grey MIP with the label at each ray's maximum blended over it (first maximum);
    ``segmentation`` may be a list of (segmentation, table) drawn in order."""
    layers = segmentation if isinstance(segmentation, list) else [(segmentation, table)]
    rows, cols = SHAPES[view]
    d, up = VIEWS[view]
    samples, _, _ = samples_of(data, view)
    # the world position of each ray's first maximum: per pixel, the best plane's point
    stack = np.stack([v for v, _ in samples])
    first = np.nanargmax(np.where(np.isnan(stack), -np.inf, stack), axis=0)
    along = np.array([a for _, a in samples])[first]
    best = np.nanmax(stack, axis=0)
    from reference import basis, box_corners, pixel_size

    dd, right, upp = basis(d, up)
    center = box_corners(data.shape, affine()).mean(axis=0)
    p = pixel_size(data.shape, affine(), d, up, cols, rows, "box")
    r, c = np.mgrid[0:rows, 0:cols].astype(float)
    P = (center + ((c + 0.5 - cols / 2) * p)[..., None] * right
         + ((rows / 2 - r - 0.5) * p)[..., None] * upp)
    X = P + (along - P @ dd)[..., None] * dd
    grey = window_grey(best, WINDOW, LEVEL).astype(float)
    out = np.repeat(grey[..., None], 3, axis=2)
    for segmentation, table in layers:
        inv = np.linalg.inv(segmentation.affine)
        idx = np.floor(X @ inv[:3, :3].T + inv[:3, 3] + 0.5).astype(int)
        ok = np.all((idx >= 0) & (idx < segmentation.shape), axis=-1)
        idx = np.where(ok[..., None], idx, 0)
        ids = np.where(ok, segmentation.data[idx[..., 0], idx[..., 1], idx[..., 2]], 0)
        palette = {1: (230, 25, 75), 2: (60, 180, 75), 3: (255, 225, 25), **(table or {})}
        _draw_labels(out, ids, palette, style, opacity, rows, cols)
    return out.astype(np.uint8)


def _draw_labels(out, ids, palette, style, opacity, rows, cols):
    for y in range(rows):
        for x in range(cols):
            lab = ids[y, x]
            if lab == 0:
                continue
            if style == "outline":
                nb = [ids[y + dy, x + dx] if 0 <= y + dy < rows and 0 <= x + dx < cols else 0
                      for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))]
                if all(n == lab for n in nb):
                    continue
            out[y, x] = np.floor((1 - opacity) * out[y, x] + opacity * np.array(palette[lab])
                                 + 0.5)


@pytest.mark.parametrize("view", list(SHAPES))
@pytest.mark.parametrize("style", ["fill", "outline"])
def test_labels_match_reference(renderer, data, segmentation, view, style):
    ref = label_reference(data, view, segmentation, style, 0.4)
    img = draw(renderer, data, view, labels=segmentation, labels_style=style,
               labels_opacity=0.4)
    assert_close(img, ref, frac=0.99)
    plain = draw(renderer, data, view)
    assert img.ndim == 3 and plain.ndim == 2


@pytest.fixture
def second_segmentation():
    """Label 3 on a coarser grid (2.6 mm), overlapping both blobs of the first segmentation."""
    lab = np.zeros((9, 11, 7), np.int16)
    lab[2:6, 2:9, 2:5] = 3
    a = np.diag([2 * S, 2 * S, 2 * S, 1.0])
    a[:3, 3] = affine()[:3, 3] + S / 2
    return Volume(lab, a)


@pytest.mark.parametrize("view", list(SHAPES))
@pytest.mark.parametrize("style", ["fill", "outline"])
def test_several_segmentations_match_reference(renderer, data, segmentation,
                                               second_segmentation, view, style, tmp_path):
    """Two segmentations on different grids, drawn in order (the second over the first), each
    with its own colours; the second changes the picture."""
    table = {2: (0, 0, 255)}
    layers = [(segmentation, table), (second_segmentation, {3: (250, 250, 0)})]
    ref = label_reference(data, view, layers, style, 0.6)
    one = draw(renderer, data, view, labels=segmentation, labels_style=style,
               labels_opacity=0.6)
    img = draw(renderer, data, view, labels=[segmentation, second_segmentation],
               labels_style=style, labels_opacity=0.6,
               label_colors=[_table_file(tmp_path, "a", table),
                             _table_file(tmp_path, "b", {3: (250, 250, 0)})])
    assert_close(img, ref, frac=0.99)
    assert (np.abs(img.astype(int) - one.astype(int)).max(axis=2) > 3).mean() > 0.02


def _table_file(folder, name, table):
    path = str(folder / f"{name}.txt")
    with open(path, "w") as f:
        f.writelines(f"{k} {r} {g} {b} 1 1 1 \"l{k}\"\n" for k, (r, g, b) in table.items())
    return path


def test_one_table_for_several_segmentations_and_a_bad_count(renderer, data, segmentation,
                                                            second_segmentation, tmp_path):
    path = tmp_path / "lut.txt"
    path.write_text('2 0 0 255 1 1 1 "b"\n3 250 250 0 1 1 1 "c"\n')
    table = raycast.read_label_table(str(path))
    layers = [(segmentation, table), (second_segmentation, table)]
    img = draw(renderer, data, "left", labels=[segmentation, second_segmentation],
               label_colors=str(path))
    assert_close(img, label_reference(data, "left", layers, "fill", 0.5), frac=0.99)
    with pytest.raises(VolumeError, match="2 label colour tables for 3 segmentations"):
        draw(renderer, data, "left", labels=[segmentation, second_segmentation, segmentation],
             label_colors=[str(path), str(path)])


def test_api_takes_a_list_of_segmentations(data, segmentation, second_segmentation):
    import glmip

    vol = Volume(data, affine())
    kw = dict(size=(21, 13), view="left", fit="box", window=WINDOW, level=LEVEL,
              sample_distance=S)
    both = glmip.render(vol, labels=[segmentation, second_segmentation], **kw)
    one = glmip.render(vol, labels=segmentation, **kw)
    assert np.asarray(both).shape == np.asarray(one).shape
    assert not np.array_equal(np.asarray(both), np.asarray(one))
    assert glmip.make_settings(labels=segmentation).labels == (segmentation,)


ITKSNAP = """################################################
# ITK-SnAP Label Description File
################################################
    0     0    0    0        0  0  0    "Clear Label"
    1    10   20   30        1  1  1    "Vessel"
    2   200  100    0        1  1  1    "Bone, spine"
"""
FREESURFER = """#$Id: FreeSurferColorLUT.txt $
#No. Label Name:                            R   G   B   A
0   Unknown                                 0   0   0   0
1   Left-Cerebral-Exterior                  70  130 180 0
2   Left-Cerebral-White-Matter              245 245 245 0
"""


@pytest.mark.parametrize("text,want", [(ITKSNAP, {1: (10, 20, 30), 2: (200, 100, 0)}),
                                       (FREESURFER, {1: (70, 130, 180), 2: (245, 245, 245)})])
def test_label_tables(renderer, data, segmentation, tmp_path, text, want):
    path = tmp_path / "lut.txt"
    path.write_text(text)
    table = raycast.read_label_table(str(path))
    assert {k: table[k] for k in want} == want
    ref = label_reference(data, "left", segmentation, "fill", 0.7, want)
    img = draw(renderer, data, "left", labels=segmentation, labels_opacity=0.7,
               label_colors=str(path))
    assert_close(img, ref, frac=0.99)


def test_bad_label_table(tmp_path):
    path = tmp_path / "lut.txt"
    path.write_text("1 red\n")
    with pytest.raises(VolumeError, match="lut.txt:1"):
        raycast.read_label_table(str(path))


def test_labels_follow_lmip_and_the_turntable(renderer, data, segmentation):
    """The label sits where the mode's maximum is (lmip stops at the near blob)."""
    a = draw(renderer, data, "left", labels=segmentation, mode="mip")
    b = draw(renderer, data, "left", labels=segmentation, mode="lmip", threshold=500.0)
    assert not np.array_equal(a, b)
    vol = Volume(data, affine())
    renderer.upload(vol)
    st = RenderSettings(window=WINDOW, level=LEVEL, labels=segmentation)
    for cam in movie.turntable_cameras(Camera.standard("anterior"), 3):
        img = renderer.render(cam, st, (32, 32))
        assert img.ndim == 3 and (img[..., 0] != img[..., 1]).any()
