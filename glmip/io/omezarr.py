"""OME-Zarr (NGFF 0.4 on Zarr v2, 0.5 on Zarr v3) and plain Zarr arrays, read lazily.

A multiscale image's ``multiscales`` metadata gives the axes (names, types, units), and each
pyramid level's ``coordinateTransformations`` (scale, then translation) give its voxel size
and the position of its first voxel. Space axes ``x``, ``y``, ``z`` become the volume's i, j, k
and point along world R, A, S (OME-Zarr has no patient frame; docs/formats.md); units become
millimetres. A ``t`` axis is the ``frame`` option, a ``c`` axis the ``component`` option, and
``pyramid_level`` picks a pyramid level (0: full resolution). The data stays in the store: the volume's
array is a :class:`~glmip.lazy.LazyArray`, read a slab at a time.

``glmip convert IN OUT.ome.zarr`` writes NGFF 0.4 (Zarr v2) with a pyramid made by **max**
pooling 2x2x2 blocks: a MIP of a coarse level then shows the thin bright vessels the full
resolution has, where averaging would dim them below the window.

A plain Zarr array (no OME metadata) is read as ``[i, j, k]`` in its own axis order, like a
``.npy`` file (``spacing``/``origin`` options give its geometry).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..lazy import LazyArray
from ..volume import Volume
from .registry import (InputError, geometry_affine, register_directory_reader, register_reader,
                       register_writer)

UNITS_MM = {
    "angstrom": 1e-7, "nanometer": 1e-6, "micrometer": 1e-3, "millimeter": 1.0,
    "centimeter": 10.0, "meter": 1000.0, "": 1.0, None: 1.0,
}
CHUNK = 64  # edge of the chunks glmip writes
MIN_LEVEL_SIDE = 32  # the pyramid stops when a level fits this on every axis


def _is_zarr(directory: Path) -> bool:
    return any((directory / name).is_file() for name in (".zgroup", ".zarray", "zarr.json"))


def _open(path: Path) -> Any:
    import zarr

    if path.is_dir():
        return zarr.open(str(path), mode="r")
    return zarr.open(zarr.storage.ZipStore(str(path), mode="r"), mode="r")


def _multiscales(node: Any) -> list | None:
    attrs = dict(node.attrs)
    if "ome" in attrs and "multiscales" in attrs["ome"]:  # NGFF 0.5 (Zarr v3)
        return attrs["ome"]["multiscales"]
    return attrs.get("multiscales")  # NGFF 0.4 (Zarr v2)


def _axes(ms: dict, ndim: int) -> list[dict]:
    axes = ms.get("axes") or [{"name": n} for n in "tczyx"[-ndim:]]
    axes = [{"name": a} if isinstance(a, str) else dict(a) for a in axes]
    if len(axes) != ndim:
        raise InputError(f"multiscales lists {len(axes)} axes for a {ndim}-D array")
    return axes


def _transform(entries: list | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    scale, shift = np.ones(n), np.zeros(n)
    for t in entries or []:
        if t.get("type") == "scale":
            scale = scale * np.asarray(t["scale"], np.float64)
        elif t.get("type") == "translation":
            shift = shift + np.asarray(t["translation"], np.float64)
    return scale, shift


def _levels(node: Any, ms: dict) -> list[tuple[str, Any, np.ndarray, np.ndarray]]:
    """(path, array, scale, translation) of each level, in the array's axis order."""
    out = []
    for ds in ms.get("datasets", []):
        arr = node[ds["path"]]
        scale, shift = _transform(ds.get("coordinateTransformations"), arr.ndim)
        g_scale, g_shift = _transform(ms.get("coordinateTransformations"), arr.ndim)
        out.append((ds["path"], arr, scale * g_scale, shift * g_scale + g_shift))
    if not out:
        raise InputError("multiscales lists no datasets")
    return out


def _pick(name: str, count: int, value: int | None, what: str) -> int:
    index = 0 if value is None else int(value)
    if not 0 <= index < count:
        raise InputError(f"{what} {index} out of range (the image has {count} {name})")
    return index


def _read(path: Path, frame: int | None, component: int | None, level: int | None,
          spacing: Any, origin: Any) -> Volume:
    node = _open(path)
    if not hasattr(node, "attrs") or hasattr(node, "shape"):  # a plain Zarr array
        if len(node.shape) != 3:
            raise InputError(f"a plain Zarr array must be 3-D, this one has shape {node.shape}")
        return Volume(LazyArray(node), geometry_affine(spacing, origin), name=str(path))
    ms_list = _multiscales(node)
    if not ms_list:
        raise InputError("a Zarr group without OME multiscales metadata")
    ms = ms_list[0]
    levels = _levels(node, ms)
    index = _pick("levels", len(levels), level, "pyramid level")
    _, arr, scale, shift = levels[index]
    axes = _axes(ms, arr.ndim)
    names = [str(a.get("name", "")).lower() for a in axes]
    space = {n: names.index(n) for n in "xyz" if n in names}
    if len(space) != 3:
        raise InputError(f"axes {names}: a volume needs x, y and z space axes")
    fixed: dict[int, int] = {}
    meta: dict[str, Any] = {"levels": [(tuple(int(v) for v in a.shape), p, s.tolist())
                                       for p, a, s, _ in levels], "level": index}
    for a, name in enumerate(names):
        if name in "xyz":
            continue
        kind = str(axes[a].get("type", "")).lower()
        if kind == "time" or name == "t":
            fixed[a] = _pick("frames", arr.shape[a], frame, "frame")
            meta.update(frames=int(arr.shape[a]), frame=fixed[a])
        elif kind == "channel" or name == "c":
            fixed[a] = _pick("channels", arr.shape[a], component, "component")
            meta.update(components=int(arr.shape[a]), component=fixed[a])
        else:
            fixed[a] = 0
    affine = np.eye(4)
    for world, name in enumerate("xyz"):
        a = space[name]
        unit = axes[a].get("unit")
        if unit not in UNITS_MM:
            raise InputError(f"axis {name}: unknown unit '{unit}'")
        affine[world, world] = scale[a] * UNITS_MM[unit]
        affine[world, 3] = shift[a] * UNITS_MM[unit]
    data = LazyArray(arr, axes=(space["x"], space["y"], space["z"]), fixed=fixed)
    if str(ms.get("type", "")).lower().startswith("max") and index + 1 < len(levels):
        data.bound = _PyramidBound([a for _, a, _, _ in levels[index + 1:]], data.axes, fixed)
    data.known_range = _recorded_range(dict(node.attrs), meta.get("component"))
    scaling = dict(node.attrs).get("glmip", {})  # written by glmip for scaled integer data
    vol = Volume(data, affine, float(scaling.get("slope", 1.0)), float(scaling.get("inter", 0.0)),
                 name=str(path))
    vol.meta.update(meta)
    return vol


def _recorded_range(attrs: dict, channel: int | None) -> tuple[float, float] | None:
    """(min, max) of the stored values from the NGFF ``omero`` metadata (the channel's
    ``window`` min and max, which glmip writes on convert), or None where absent or unusable."""
    omero = attrs.get("omero", attrs.get("ome", {}).get("omero") if isinstance(
        attrs.get("ome"), dict) else None)
    try:
        window = omero["channels"][channel or 0]["window"]
        lo, hi = float(window["min"]), float(window["max"])
    except (TypeError, KeyError, IndexError, ValueError):
        return None
    return (lo, hi) if np.isfinite(lo) and np.isfinite(hi) and lo <= hi else None


class _PyramidBound:
    """An upper bound of a level's values in a window, read from a coarser level of a max
    pyramid (each voxel there is the max of the 2^n-block it covers): a few voxels instead of
    the window. The coarsest level that still has about 4 voxels across the window is used."""

    def __init__(self, coarser: list, axes: tuple[int, int, int], fixed: dict[int, int]):
        self.coarser, self.axes, self.fixed = coarser, axes, fixed

    def __call__(self, start: tuple[int, ...], stop: tuple[int, ...]) -> float:
        side = min(b - a for a, b in zip(start, stop))
        n = max(1, min(len(self.coarser), int(np.log2(max(side / 4, 1)))))
        arr, f = self.coarser[n - 1], 2 ** n
        window = LazyArray(arr, self.axes, tuple(a // f for a in start),
                           tuple(min(-(-b // f), arr.shape[ax]) for b, ax in zip(stop, self.axes)),
                           self.fixed)
        block = np.asarray(window)
        return float(block.max()) if block.size else float("-inf")


@register_directory_reader(_is_zarr)
def read_zarr_directory(path: Path, frame: int | None = None, component: int | None = None,
                        pyramid_level: int | None = None, spacing: Any = None, origin: Any = None,
                        **_: object) -> Volume:
    return _read(path, frame, component, pyramid_level, spacing, origin)


@register_reader(".zip")
def read_zarr_zip(path: Path, frame: int | None = None, component: int | None = None,
                  pyramid_level: int | None = None, spacing: Any = None, origin: Any = None,
                  **_: object) -> Volume:
    return _read(path, frame, component, pyramid_level, spacing, origin)


# --- writing --------------------------------------------------------------------------------
def _axis_aligned(volume: Volume) -> tuple[Any, np.ndarray, np.ndarray]:
    """(data[x, y, z] view, spacing, first voxel position) of a volume whose voxel axes lie
    along the world axes; data axes are permuted and flipped (views) so spacing is positive."""
    a = volume.affine[:3, :3]
    world = np.argmax(np.abs(a), axis=0)  # the world axis each data axis runs along
    off = a.copy()
    off[world, [0, 1, 2]] = 0.0
    if sorted(world) != [0, 1, 2] or np.abs(off).max() > 1e-6 * np.abs(a).max():
        raise InputError("OME-Zarr stores only a scale and a translation: this volume's axes "
                         "are rotated (write .nii.gz, .nrrd, .mha or .vti)")
    data = np.asarray(volume.data) if not isinstance(volume.data, LazyArray) else volume.data
    order = [int(np.nonzero(world == w)[0][0]) for w in range(3)]  # data axis along x, y, z
    origin = volume.affine[:3, 3].copy()
    steps = np.array([a[w, order[w]] for w in range(3)])
    if isinstance(data, LazyArray):
        if order != [0, 1, 2] or (steps < 0).any():
            raise InputError("a lazily read volume is written only with positive, axis-ordered "
                             "spacing")
        return data, steps, origin
    data = data.transpose(order)
    for w in range(3):
        if steps[w] < 0:  # flip: the first voxel is now the last one
            origin[w] += steps[w] * (data.shape[w] - 1)
            steps[w] = -steps[w]
            data = np.flip(data, axis=w)
    return data, steps, origin


def _downsample_max(block: np.ndarray) -> np.ndarray:
    """Max over 2x2x2 blocks (an odd edge keeps its last voxel alone)."""
    out = block
    for axis in range(3):
        n = out.shape[axis]
        pad = n % 2
        if pad:
            edge = np.take(out, [-1], axis=axis)
            out = np.concatenate([out, edge], axis=axis)
        shape = out.shape[:axis] + (out.shape[axis] // 2, 2) + out.shape[axis + 1:]
        out = out.reshape(shape).max(axis=axis + 1)
    return out


@register_writer(".zarr")
def write_omezarr(volume: Volume, path: Path) -> None:
    """NGFF 0.4 on Zarr v2: levels 0, 1, ... by 2x2x2 max pooling, stored z, y, x, chunks
    of CHUNK^3, the store's default compression; scaling kept in ``omero``-free attributes
    (``glmip`` slope/intercept). Written slab by slab."""
    import zarr

    data, steps, origin = _axis_aligned(volume)
    root = zarr.open_group(str(path), mode="w", zarr_format=2)
    shape = tuple(int(n) for n in data.shape)  # x, y, z
    datasets = []
    level, prev = 0, None
    lo, hi = np.inf, -np.inf  # the stored range, recorded as the omero window
    while True:
        arr = root.create_array(str(level), shape=shape[::-1], chunks=(CHUNK,) * 3,
                                dtype=volume.data.dtype)
        depth = 2 * CHUNK
        for z0 in range(0, shape[2], depth):
            if prev is None:
                block = np.asarray(data[:, :, z0:z0 + depth])
                finite = block[np.isfinite(block)] if block.dtype.kind == "f" else block
                if finite.size:
                    lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
            else:
                block = np.asarray(prev[2 * z0:2 * (z0 + depth)]).transpose(2, 1, 0)
                block = _downsample_max(block)
            arr[z0:z0 + block.shape[2]] = block.transpose(2, 1, 0)
        factor = 2 ** level
        spacing = steps * factor
        first = origin + steps * (factor - 1) / 2.0  # centre of the first pooled block
        datasets.append({"path": str(level), "coordinateTransformations": [
            {"type": "scale", "scale": [float(v) for v in spacing[::-1]]},
            {"type": "translation", "translation": [float(v) for v in first[::-1]]}]})
        if max(shape) <= MIN_LEVEL_SIDE:
            break
        prev, level = arr, level + 1
        shape = tuple((n + 1) // 2 for n in shape)
    root.attrs["multiscales"] = [{
        "version": "0.4", "name": Path(volume.name).name if volume.name else "volume",
        "axes": [{"name": n, "type": "space", "unit": "millimeter"} for n in "zyx"],
        "datasets": datasets,
        "type": "max (2x2x2 max pooling: keeps thin bright structures in previews)",
    }]
    if lo <= hi:  # readers (glmip's too) take their automatic window from it, not a full read
        root.attrs["omero"] = {"version": "0.4", "channels": [{
            "active": True, "window": {"min": lo, "max": hi, "start": lo, "end": hi}}]}
    if volume.slope != 1.0 or volume.inter != 0.0:
        root.attrs["glmip"] = json.loads(json.dumps({"slope": volume.slope,
                                                     "inter": volume.inter}))
