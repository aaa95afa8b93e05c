"""Issue 14's fusion and channels: several volumes (each on its own grid) or the components of
one image, each with its own window and colormap, projected on the same rays and composited
(max, add, over); against the numpy reference (tests/reference.py) on axis-aligned views with
samples on each volume's own voxel planes, each option shown to change the picture, the
channels of a multi-component file, the API (render, rotating_mip) and a turntable."""

from __future__ import annotations

import numpy as np
import pytest

import glmip
from glmip import movie, pipeline
from glmip.camera import Camera
from glmip.colormaps import colormap_lut
from glmip.settings import RenderSettings
from glmip.volume import Volume
from reference import VIEWS, reference_composite, reference_projection, window_grey

SHAPE = (20, 24, 16)  # the CT: 1 mm voxels
ORIGIN = np.array([-10.0, -12.0, -8.0])
PET_SHAPE = (10, 12, 8)  # the PET: 2 mm voxels, centres on every other CT centre
WINDOW, LEVEL = 800.0, 300.0
PET_W, PET_L = 10.0, 5.0
SHAPES = {"anterior": (SHAPE[2], SHAPE[0]), "left": (SHAPE[2], SHAPE[1]),
          "superior": (SHAPE[1], SHAPE[0])}  # (rows, cols) of the box-fitted view


def ct_affine():
    a = np.eye(4)
    a[:3, 3] = ORIGIN
    return a


def pet_affine():
    a = np.diag([2.0, 2.0, 2.0, 1.0])
    a[:3, 3] = ORIGIN
    return a


@pytest.fixture
def ct(rng):
    d = (rng.random(SHAPE) * 200 - 100).astype(np.int16)
    d[3:17, 4:20, 2:14] += 150  # soft tissue
    d[8:12, 6:18, 5:11] += 900  # a bone
    return d


@pytest.fixture
def pet(rng):
    d = (rng.random(PET_SHAPE) * 2).astype(np.float32)
    d[2:4, 3:5, 2:4] += 9.0  # a hot lesion
    d[6:8, 8:10, 4:6] += 6.0
    return d


def fused(renderer, ct, pet, view, **options):
    renderer.upload(Volume(ct, ct_affine()))
    rows, cols = SHAPES[view]
    options.setdefault("fuse", [Volume(pet, pet_affine())])
    st = RenderSettings(window=WINDOW, level=LEVEL, sample_distance=1.0, **options)
    return renderer.render(Camera.standard(view, fit="box"), st, (cols, rows))


def layer_reference(pet, view, window, level, cmap):
    """The PET on the CT's rays (centre and 1 mm pixels of the CT's box), its own 2 mm planes."""
    rows, cols = SHAPES[view]
    d, up = VIEWS[view]
    centre = ORIGIN + (np.array(SHAPE) - 1) / 2
    values = reference_projection(pet, pet_affine(), d, up, cols, rows, 2.0,
                                  rays=(centre, 1.0))
    q = window_grey(values, window, level)
    colour = np.floor(colormap_lut(cmap)[q] * 255 + 0.5).astype(np.uint8)
    return np.where(np.isfinite(values)[..., None], colour, 0).astype(np.uint8)


def base_reference(ct, view):
    rows, cols = SHAPES[view]
    d, up = VIEWS[view]
    grey = window_grey(reference_projection(ct, ct_affine(), d, up, cols, rows, 1.0, fit="box"),
                       WINDOW, LEVEL)
    return np.repeat(grey[..., None], 3, axis=2)


def assert_close(img, ref, tol=1, frac=0.995):
    assert img.shape == ref.shape
    diff = np.abs(img.astype(int) - ref.astype(int))
    assert diff.max() <= 3, f"max diff {diff.max()}"
    assert (diff <= tol).mean() >= frac, f"{(diff > tol).mean():.3%} pixels off by > {tol}"


@pytest.mark.parametrize("view", ["anterior", "left", "superior"])
@pytest.mark.parametrize("composite", ["max", "add", "over"])
def test_fusion_matches_reference(renderer, ct, pet, view, composite):
    img = fused(renderer, ct, pet, view, fuse_window=[PET_W, PET_L], fuse_colormap=["hot"],
                composite=composite)
    ref = reference_composite(base_reference(ct, view),
                              [layer_reference(pet, view, PET_W, PET_L, "hot")], composite)
    assert img.dtype == np.uint8 and img.ndim == 3
    assert_close(img, ref)


def test_two_fused_layers_and_default_colormaps(renderer, ct, pet):
    """Layers composite in order; without --fuse-colormap they take hot, green, ...; a missing
    or non-positive window is automatic (the layer's full range)."""
    renderer.upload(Volume(ct, ct_affine()))
    rows, cols = SHAPES["anterior"]
    other = pet[::-1].copy()
    st = RenderSettings(window=WINDOW, level=LEVEL, sample_distance=1.0, composite="add",
                        fuse=[Volume(pet, pet_affine()), Volume(other, pet_affine())],
                        fuse_window=[PET_W, PET_L, 0, 0])
    img = renderer.render(Camera.standard("anterior", fit="box"), st, (cols, rows))
    lo, hi = float(other.min()), float(other.max())
    ref = reference_composite(base_reference(ct, "anterior"), [
        layer_reference(pet, "anterior", PET_W, PET_L, "hot"),
        layer_reference(other, "anterior", hi - lo, (hi + lo) / 2, "green")], "add")
    assert_close(img, ref)


def test_each_fusion_option_changes_the_picture(renderer, ct, pet):
    plain = fused(renderer, ct, pet, "anterior", fuse=None)
    one = fused(renderer, ct, pet, "anterior", fuse_window=[PET_W, PET_L])
    assert plain.ndim == 2 and one.ndim == 3
    assert not np.array_equal(np.repeat(plain[..., None], 3, 2), one)
    changes = [{"fuse_window": [PET_W / 3, PET_L / 3]}, {"fuse_colormap": ["viridis"]},
               {"composite": "add"}, {"composite": "over"}]
    for change in changes:
        other = fused(renderer, ct, pet, "anterior", **{"fuse_window": [PET_W, PET_L], **change})
        assert np.abs(other.astype(int) - one).max() > 2, change


def test_inverted_grey_pet_mip_is_one_option_away(renderer, pet):
    renderer.upload(Volume(pet, pet_affine()))
    st = RenderSettings(window=PET_W, level=PET_L, colormap="inverted")
    img = renderer.render(Camera.standard("anterior", fit="box"), st, (10, 8))
    grey = renderer.render(Camera.standard("anterior", fit="box"), st.copy(colormap="grey"),
                           (10, 8))
    assert img.ndim == 3 and np.array_equal(img[..., 0].astype(int), 255 - grey)


def test_fused_layers_follow_the_camera_in_a_turntable(ct, pet):
    """rotating_mip(fuse=...) frames are the fused pictures of the turned cameras."""
    vol, layer = Volume(ct, ct_affine()), Volume(pet, pet_affine())
    opts = dict(window=WINDOW, level=LEVEL, fuse_window=[PET_W, PET_L], composite="over")
    frames = glmip.rotating_mip(vol, fuse=layer, frames=4, size=(30, 20), **opts)
    assert frames.shape == (4, 20, 30, 3)
    cams = movie.turntable_cameras(Camera.standard("anterior"), 4, movie.axis_value("S"),
                                   0.0, 360.0, False)
    for k, cam in enumerate(cams):
        want = glmip.render(vol, camera=cam, size=(30, 20), fuse=[layer],
                            settings=None, **opts)
        assert np.array_equal(frames[k], want), k
    assert len({f.tobytes() for f in frames}) == 4  # the view turns


def write_multichannel(path, channels, spacing=(1.0, 1.0, 1.0)):
    """A MetaImage with ElementNumberOfChannels (components fastest, x next)."""
    stacked = np.stack(channels, axis=0).astype(np.int16)  # (c, i, j, k)
    nx, ny, nz = stacked.shape[1:]
    header = (f"ObjectType = Image\nNDims = 3\nDimSize = {nx} {ny} {nz}\n"
              f"ElementSpacing = {spacing[0]} {spacing[1]} {spacing[2]}\n"
              f"ElementNumberOfChannels = {len(channels)}\nElementType = MET_SHORT\n"
              f"ElementDataFile = LOCAL\n")
    path.write_bytes(header.encode() + stacked.transpose(3, 2, 1, 0).tobytes())
    return path


def test_channels_are_the_components_as_fused_layers(ct, tmp_path):
    second = ct[::-1].copy()
    third = (ct // 2).astype(np.int16)
    path = write_multichannel(tmp_path / "multi.mha", [ct, second, third])
    opts = dict(size=(20, 16), view="anterior", fit="box", window=WINDOW, level=LEVEL,
                fuse_window=[WINDOW, LEVEL, 500, 100], fuse_colormap=["magenta", "green"],
                composite="add")
    img = glmip.render(str(path), channels=True, **opts)
    parts = [glmip.load(str(path), component=c) for c in range(3)]
    want = glmip.render(parts[0], fuse=parts[1:], **opts)
    assert img.ndim == 3 and np.array_equal(img, want)
    assert not np.array_equal(img, glmip.render(parts[0], fuse=parts[1:2], **opts))
    with pytest.raises(TypeError, match="path"):
        glmip.render(parts[0], channels=True, **opts)


def test_channels_need_several_components(tmp_path, ct):
    from glmip.errors import UsageError

    path = write_multichannel(tmp_path / "one.mha", [ct])
    with pytest.raises(UsageError, match="multi-component"):
        glmip.render(str(path), channels=True, size=16)


def test_cli_fusion_turntable_and_repeated_flags(ct, pet, tmp_path):
    from PIL import Image

    from glmip.cli import main
    from glmip.io import save
    from glmip.pngio import read_text
    from glmip.recipe import Recipe

    save(Volume(ct, ct_affine()), tmp_path / "ct.nii.gz")
    save(Volume(pet, pet_affine()), tmp_path / "pet.nii.gz")
    save(Volume(pet[::-1].copy(), pet_affine()), tmp_path / "pet2.nii.gz")
    out = tmp_path / "f.png"
    args = ["--fuse", str(tmp_path / "pet.nii.gz"), "--fuse-window", "10", "5",
            "--fuse-colormap", "hot", "--fuse", str(tmp_path / "pet2.nii.gz"),
            "--fuse-window", "0", "0", "--fuse-colormap", "green", "--composite", "over"]
    assert main(["render", str(tmp_path / "ct.nii.gz"), "-o", str(out), "--size", "24",
                 "--view", "anterior", *args]) == 0
    recipe = Recipe.from_text(read_text(out))
    assert recipe.options["fuse"] == [str(tmp_path / "pet.nii.gz"), str(tmp_path / "pet2.nii.gz")]
    assert recipe.options["fuse_window"] == [10.0, 5.0, 0.0, 0.0]
    assert recipe.options["fuse_colormap"] == ["hot", "green"]
    gif = tmp_path / "t.gif"
    assert main(["turntable", str(tmp_path / "ct.nii.gz"), "-o", str(gif), "--size", "24",
                 "--frames", "3", "--quiet", *args]) == 0
    with Image.open(gif) as im:
        assert im.n_frames == 3
    frames = list(pipeline.turntable_frames(Recipe.from_json(
        Image.open(gif).info["comment"].decode())))
    assert all(f.ndim == 3 for f in frames)


def test_in_memory_fused_volume_is_named_in_the_recipe(ct, pet, tmp_path):
    from glmip.recipe import Recipe

    vol, layer = Volume(ct, ct_affine()), Volume(pet, pet_affine())
    path = glmip.rotating_mip(vol, fuse=layer, frames=2, size=16, out=tmp_path / "m.gif")
    from PIL import Image

    with Image.open(path) as im:
        recipe = Recipe.from_json(im.info["comment"].decode())
    assert recipe.options["fuse"] == ["<Volume in memory>"]
