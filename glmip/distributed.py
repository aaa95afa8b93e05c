"""One picture across many workers: a projection split by slabs of the volume.

Maxima and minima combine exactly (max and min are associative), and means combine by sums and
counts, so one view can be projected in parts: the volume's index box is cut into slabs along
its longest axis, each worker projects its slab (the recipe with a crop: the same global sample
planes, only the samples inside its slab) reading only the bricks that slab needs, and the
driver combines the parts' exact values and depths, then draws the picture through the usual
display pass. Any ``concurrent.futures.Executor`` runs the parts: a process pool here, or a Dask
cluster (``distributed.Client(...).get_executor()``); each worker keeps one headless context.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from typing import Sequence

import numpy as np

from .errors import UsageError
from .options import default_memory
from .pipeline import load_volume, renderer_for, thread_renderer, write_rendered
from .raycast import SPLIT_MODES, Projection
from .recipe import Recipe
from .volume import Volume

__all__ = ["split_crops", "project_part", "combine", "project_split", "render_split",
           "write_split"]


def split_crops(shape: Sequence[int], crop: Sequence[int] | None, parts: int
                ) -> list[tuple[int, ...]]:
    """``parts`` crops (I0 I1 J0 J1 K0 K1, inclusive) cutting the (cropped) index box into
    slabs of whole voxels along its longest axis; fewer when it has fewer voxels."""
    box = np.array(crop if crop is not None else
                   [0, shape[0] - 1, 0, shape[1] - 1, 0, shape[2] - 1], dtype=np.int64)
    box = box.reshape(3, 2)
    axis = int(np.argmax(box[:, 1] - box[:, 0]))
    lo, hi = box[axis]
    cuts = np.unique(np.linspace(lo, hi + 1, max(1, parts) + 1).round().astype(np.int64))
    out = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        piece = box.copy()
        piece[axis] = (a, b - 1)
        out.append(tuple(int(v) for v in piece.ravel()))
    return out


def project_part(recipe_json: str, crop: Sequence[int], memory: int) -> tuple[np.ndarray, ...]:
    """(value, distance, samples) of one slab: runs in a worker. A lazily read volume larger
    than ``memory`` is streamed, so only the bricks the slab crosses are read."""
    recipe = Recipe.from_json(recipe_json)
    renderer = thread_renderer(memory)
    volume = load_volume(recipe)
    renderer.upload(volume)
    try:
        proj = renderer.project(recipe.camera(), recipe.settings().copy(crop=tuple(crop)),
                                recipe.size, exact_values=True)
        return proj.value, proj.distance, proj.samples
    finally:
        renderer.unload()


def combine(parts: Sequence[tuple[np.ndarray, ...]], mode: str) -> tuple[np.ndarray, ...]:
    """The whole projection from its parts: the largest value (MinIP: smallest), nearest first
    on ties; a mean from the parts' means weighted by their samples."""
    value, distance, samples = (np.array(a, copy=True) for a in parts[0])
    for v, d, n in parts[1:]:
        if mode == "mean":
            total = samples + n
            both = np.isfinite(value) & np.isfinite(v)
            mixed = np.where(both, (np.nan_to_num(value) * samples + np.nan_to_num(v) * n)
                             / np.maximum(total, 1), np.where(np.isfinite(value), value, v))
            value, samples = mixed, total
            continue
        better = v > value if mode != "minip" else v < value
        tie = (v == value) & (d < distance)
        take = np.isfinite(v) & (~np.isfinite(value) | better | tie)
        value = np.where(take, v, value)
        distance = np.where(take, d, distance)
        samples = samples + n
    return value, distance, samples


def project_split(recipe: Recipe, executor: cf.Executor, parts: int,
                  memory: int | None = None, volume: Volume | None = None) -> Projection:
    """The exact projection of the recipe's single view, in ``parts`` slabs on ``executor``.
    The recipe should be resolved (window numbers: :meth:`Recipe.resolved`), so that no
    worker reads the whole volume to find an automatic window."""
    if len(recipe.cameras()) != 1:
        raise UsageError("a split projection takes one view")
    settings = recipe.settings()
    if settings.jitter or settings.shader is not None:
        raise UsageError("a split projection takes the built-in shader without jitter")
    if settings.mode not in SPLIT_MODES:
        raise UsageError(f"a {settings.mode} projection cannot be split into slabs (these "
                         f"can: {', '.join(SPLIT_MODES)})")
    if settings.labels is not None or settings.fuse:
        raise UsageError("a split projection takes no labels and no fused volumes")
    volume = volume if volume is not None else load_volume(recipe)  # its geometry only
    if settings.mode == "mean" and not volume.all_finite:
        raise UsageError("a mean of a volume with NaN cannot be split (its counts are "
                         "samples taken, not finite samples)")
    memory = memory or max(default_memory() // max(parts, 1), 64 << 20)
    crops = split_crops(volume.shape, settings.crop, parts)
    futures = [executor.submit(project_part, recipe.to_json(), crop, memory) for crop in crops]
    results = [f.result() for f in futures]
    value, distance, samples = combine(results, settings.mode)
    frame = recipe.camera().frame(volume, *recipe.size)
    return Projection(value, distance, samples.astype(np.int64), frame)


def render_split(recipe: Recipe, executor: cf.Executor, parts: int,
                 memory: int | None = None, volume: Volume | None = None
                 ) -> tuple[np.ndarray, Recipe]:
    """The recipe's picture from a split projection, and the resolved recipe it carries."""
    volume = volume if volume is not None else load_volume(recipe)
    recipe = recipe.resolved(volume)  # the automatic window, found once, here
    proj = project_split(recipe, executor, parts, memory, volume)
    # Only the display pass runs here: a small budget makes a lazily read volume stream, so
    # uploading it reads nothing.
    renderer = renderer_for(volume, memory=1 << 20)
    return renderer.display(proj, recipe.settings()), recipe


def write_split(recipe: Recipe, path: str | os.PathLike[str], executor: cf.Executor,
                parts: int, memory: int | None = None, fmt: str | None = None) -> str:
    """:func:`render_split`, written through the pipeline's writer (its recipe inside)."""
    volume = load_volume(recipe)
    image, resolved = render_split(recipe, executor, parts, memory, volume)
    write_rendered(resolved, path, image, volume=volume, fmt=fmt)
    return str(path)
