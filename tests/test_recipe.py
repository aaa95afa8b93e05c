"""Every kind of output carries its recipe; the recipe alone makes the same pixels again.

For each pixel-changing option: render through the command line, read the recipe back from the
file, re-render (a) from the recipe through the library and (b) by running the "reproduce"
command the file carries, and compare pixels. The reproduce command never names the file it
reproduces. Options are also checked to change the picture (so the round trip can fail).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from glmip import pipeline
from glmip.cli import main
from glmip.options import OPTIONS
from glmip.pngio import read_text
from glmip.recipe import RECIPE_KEY, Recipe, reproduction_path
from glmip.resources import resource_dir
from glmip.volume import Volume

SHADER = str(resource_dir("shaders") / "examples" / "depth_colour_mip.glsl")

# Options that change pixels, each with a value different from its default.
CASES = {
    "view": ["--view", "left"],
    "view_dir": ["--view-dir", "1", "-0.5", "-0.3", "--up", "0", "0", "1"],
    "convention": ["--view", "axial", "--convention", "neurological"],
    "fit": ["--fit", "box"],
    "fit_mm": ["--fit", "50"],
    "projection": ["--projection", "perspective"],
    "center": ["--center", "3", "-2", "1"],
    "size": ["--size", "40x24"],
    "window": ["--window", "900", "--level", "300"],
    "sample_distance": ["--sample-distance", "2.5"],
    "background": ["--background", "0.2", "0.4", "0.6"],
    "mode": ["--mode", "minip"],
    "mode_mean": ["--mode", "mean"],
    "mode_depth": ["--mode", "depth", "--depth-length", "20"],
    "interpolation": ["--interpolation", "nearest"],
    "slab": ["--slab", "8", "--slab-center", "3"],
    "crop": ["--crop", "2", "15", "0", "20", "3", "12"],
    "colormap": ["--colormap", "hot"],
    "gamma": ["--gamma", "0.5"],
    "opacity": ["--opacity", "0.2", "0.9"],
    "refine": ["--refine"],
    "jitter": ["--jitter"],
    "shader": ["--shader", SHADER],
    "contact_sheet": ["--view", "anterior,left", "--contact-sheet"],
    "mode_mida": ["--mode", "mida"],
    "mida_gamma": ["--mode", "mida", "--mida-gamma", "-0.6"],
    "mode_lmip": ["--mode", "lmip"],
    "threshold": ["--mode", "lmip", "--threshold", "900"],
    "mode_depthcolour": ["--mode", "depthcolour"],
    "mask": ["--mask", "{dir}/mask.nii.gz"],
    "mask_mode": ["--mask", "{dir}/mask.nii.gz", "--mask-mode", "exclude"],
    "labels": ["--labels", "{dir}/labels.nii.gz"],
    "labels_style": ["--labels", "{dir}/labels.nii.gz", "--labels-style", "outline"],
    "labels_opacity": ["--labels", "{dir}/labels.nii.gz", "--labels-opacity", "0.9"],
    "label_colors": ["--labels", "{dir}/labels.nii.gz", "--label-colors", "{dir}/lut.txt"],
    # several segmentations, each with its own colour table (the second over the first)
    "labels_several": ["--labels", "{dir}/labels.nii.gz", "--labels", "{dir}/labels2.nii.gz",
                       "--label-colors", "{dir}/lut.txt", "--label-colors", "{dir}/lut2.txt"],
    "fuse": ["--fuse", "{dir}/pet.nii.gz", "--fuse", "{dir}/mask.nii.gz"],
    "fuse_window": ["--fuse", "{dir}/pet.nii.gz", "--fuse-window", "3", "1.5"],
    "fuse_colormap": ["--fuse", "{dir}/pet.nii.gz", "--fuse-colormap", "viridis"],
    "composite": ["--fuse", "{dir}/pet.nii.gz", "--composite", "over"],
    "channels": ["--channels", "--fuse-window", "900", "300"],  # input: multi.mha
}
# Cases whose input is not scan.nii.gz but another file beside it.
INPUTS = {"channels": "multi.mha"}


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    from glmip.io import save

    rng = np.random.default_rng(7)
    data = (rng.random((18, 22, 14)) * 400).astype(np.int16)
    data[5:9, 4:18, 3:11] += 1500
    affine = np.diag([1.1, 0.9, 1.6, 1.0])
    affine[:3, 3] = (-9, 4, 2)
    path = tmp_path_factory.mktemp("recipe") / "scan.nii.gz"
    save(Volume(data, affine, name="scan"), path)
    # a mask and a segmentation on other grids, and a colour table, for their cases
    mask = np.zeros((9, 11, 7), np.uint8)
    mask[2:6, 3:9, 2:6] = 1
    coarse = np.diag([2.2, 1.8, 3.2, 1.0])
    coarse[:3, 3] = (-9.3, 4.4, 2.1)
    save(Volume(mask, coarse), path.parent / "mask.nii.gz")
    labels = np.zeros((18, 22, 14), np.uint8)
    labels[4:10, 3:19, 2:12] = 1
    labels[10:16, 3:12, 2:12] = 2
    save(Volume(labels, affine), path.parent / "labels.nii.gz")
    (path.parent / "lut.txt").write_text('1 10 200 30 1 1 1 "a"\n2 0 0 255 1 1 1 "b"\n')
    second = np.zeros((9, 11, 7), np.uint8)  # on the coarse grid, overlapping the first
    second[3:7, 2:8, 1:6] = 5
    save(Volume(second, coarse), path.parent / "labels2.nii.gz")
    (path.parent / "lut2.txt").write_text("5 Lesion 250 250 0 0\n")
    # a PET-like volume on a coarser grid (fusion), and a two-component image (channels)
    pet = np.zeros((9, 11, 7), np.float32)
    pet[3:5, 4:6, 2:4] = 4.0
    pet[6, 8, 5] = 2.0
    save(Volume(pet, coarse), path.parent / "pet.nii.gz")
    both = np.stack([data, data[::-1]]).astype(np.int16)
    nx, ny, nz = data.shape
    header = (f"ObjectType = Image\nNDims = 3\nDimSize = {nx} {ny} {nz}\n"
              "ElementSpacing = 1.1 0.9 1.6\nElementNumberOfChannels = 2\n"
              "ElementType = MET_SHORT\nElementDataFile = LOCAL\n")
    (path.parent / "multi.mha").write_bytes(header.encode()
                                            + both.transpose(3, 2, 1, 0).tobytes())
    return path


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def _reproduce(text: dict[str, str], tmp_path: Path) -> Path:
    """Run the file's own reproduce command (to a new name) and return what it wrote."""
    words = shlex.split(text["glmip:command"])
    assert words[:2] == ["glmip", "render"] or words[:2] == ["glmip", "turntable"]
    out = words[words.index("-o") + 1]
    assert main(words[1:]) == 0
    return Path(out)


@pytest.mark.parametrize("case", sorted(CASES))
def test_png_recipe_reproduces_the_picture(scan, tmp_path, case):
    out = tmp_path / f"{case}.png"
    args = [a.replace("{dir}", str(scan.parent)) for a in CASES[case]]
    source = scan.parent / INPUTS.get(case, scan.name)
    assert main(["render", str(source), "-o", str(out), "--size", "48", *args]) == 0
    text = read_text(out)
    recipe = Recipe.from_text(text)
    assert recipe.input == str(source)
    first = _pixels(out)
    # (a) from the recipe alone, through the library
    again = pipeline.picture(pipeline.renderer_for(pipeline.load_volume(recipe)), recipe)
    again = np.asarray(Image.fromarray(again).convert("RGB"), dtype=np.int16)
    assert again.shape == first.shape and np.abs(again - first).max() <= 1, case
    # (b) by the command the file carries, which writes elsewhere
    assert reproduction_path(out) != str(out)
    made = _reproduce(text, tmp_path)
    assert made != out and made.exists()
    assert np.abs(_pixels(made) - first).max() <= 1, case
    # the option matters: the default picture differs
    plain = tmp_path / "plain.png"
    if not plain.exists():
        assert main(["render", str(source), "-o", str(plain), "--size", "48"]) == 0
    if case not in ("convention",):  # axial/neurological = superior, the default view
        other = _pixels(plain)
        assert other.shape != first.shape or np.abs(other - first).max() > 1, case


def test_every_pixel_option_is_exercised():
    """A new option in the vocabulary must get a round-trip case here."""
    covered = {w[2:].replace("-", "_") for args in CASES.values() for w in args
               if w.startswith("--")}
    pixel_parts = ("camera", "image", "settings")
    missing = {o.name for o in OPTIONS if o.part in pixel_parts} - covered
    assert not missing, missing


def test_values_and_depth_map_carry_the_recipe(scan, tmp_path):
    import nibabel as nib
    import tifffile

    png, tif, nii = tmp_path / "a.png", tmp_path / "v.tif", tmp_path / "d.nii.gz"
    assert main(["render", str(scan), "-o", str(png), "--size", "32", "--view", "anterior",
                 "--values", str(tif), "--depth-map", str(nii)]) == 0
    want = Recipe.from_text(read_text(png))
    with tifffile.TiffFile(tif) as t:
        described = json.loads(t.pages[0].description)
    assert Recipe.from_text(described) == want
    ext = [e for e in nib.load(nii).header.extensions if e.get_code() == 6]
    assert Recipe.from_json(ext[0].get_content().decode()) == want
    values16 = tmp_path / "v.png"
    assert main(["render", str(scan), "-o", str(tmp_path / "b.png"), "--size", "32",
                 "--view", "anterior", "--values", str(values16)]) == 0
    assert Recipe.from_text(read_text(values16)) == want


def test_batch_pictures_carry_their_own_view(scan, tmp_path):
    out = tmp_path / "out"
    assert main(["render", str(scan), "-o", f"{out}/", "--view", "left,inferior", "--size", "24",
                 "--quiet"]) == 0
    for view in ("left", "inferior"):
        path = out / f"scan_{view}.png"
        recipe = Recipe.from_text(read_text(path))
        assert recipe.options["view"] == view
        single = tmp_path / f"{view}.png"
        assert main(["render", str(scan), "-o", str(single), "--view", view, "--size", "24"]) == 0
        assert np.array_equal(_pixels(single), _pixels(path))


def test_turntable_outputs_carry_the_recipe(scan, tmp_path):
    gif, frames = tmp_path / "t.gif", tmp_path / "frames"
    args = ["--frames", "4", "--size", "24", "--axis", "A", "--quiet"]
    assert main(["turntable", str(scan), "-o", str(gif), *args]) == 0
    assert main(["turntable", str(scan), "-o", f"{frames}/", *args]) == 0
    with Image.open(gif) as im:
        recipe = Recipe.from_json(im.info["comment"].decode())
    assert recipe.kind == "turntable" and recipe.get("frames") == 4
    for k in range(4):
        path = frames / f"frame_{k:04d}.png"
        text = read_text(path)
        one = Recipe.from_text(text)
        assert one.frame_index == k and RECIPE_KEY in text
        again = pipeline.picture(pipeline.renderer_for(pipeline.load_volume(one)), one)
        assert np.array_equal(np.asarray(Image.open(path)), again)
    # the frames' command remakes the whole movie elsewhere
    made = _reproduce(read_text(frames / "frame_0002.png"), tmp_path)
    assert made != frames and (made / "frame_0002.png").exists()
    assert np.array_equal(np.asarray(Image.open(made / "frame_0002.png")),
                          np.asarray(Image.open(frames / "frame_0002.png")))
