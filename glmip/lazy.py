"""Arrays read slab by slab: a volume held by dask, zarr or any chunked store is never made
into one numpy array just to be shown.

:class:`LazyArray` wraps anything with ``shape``, ``dtype`` and numpy-style slicing (a dask or
zarr array, an h5py dataset, an xarray DataArray's data) as ``data[i, j, k]``. Slicing it with
slices gives another LazyArray (nothing is read); ``numpy.asarray`` of it, or indexing with an
integer, reads just that part, in a dtype the renderer uploads natively. The renderer and the
cell statistics read volumes a slab or a brick at a time, so a LazyArray is read piece by piece.
Pure: numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["LazyArray", "is_lazy_source", "native_dtype", "slab_boxes", "READ_BLOCK_BYTES"]

READ_BLOCK_BYTES = 16 << 20  # slab_boxes: about this much read at a time


def native_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype a volume of ``dtype`` is held in on the GPU (see ``volume.SUPPORTED_DTYPES``):
    the same for uint8, int8, uint16, int16, float32 and bool (as uint8), float32 otherwise."""
    dt = np.dtype(dtype).newbyteorder("=")
    if dt in (np.dtype(t) for t in (np.uint8, np.int8, np.uint16, np.int16, np.float32)):
        return dt
    if dt == np.bool_:
        return np.dtype(np.uint8)
    return np.dtype(np.float32)


def is_lazy_source(obj: Any) -> bool:
    """True for an array-like that is not a numpy array but can be sliced and read."""
    return (not isinstance(obj, np.ndarray) and hasattr(obj, "shape") and hasattr(obj, "dtype")
            and hasattr(obj, "__getitem__"))


class LazyArray:
    """A 3-D window ``[start, stop)`` on a lazily read source, in [i, j, k] order.

    ``axes`` says which source axis is each of i, j, k (``(2, 1, 0)`` for a source stored
    z, y, x, as ITK and zarr images are); ``fixed`` holds one index for each other axis of the
    source (time, channel: ``{0: frame, 1: channel}``)."""

    def __init__(self, source: Any, axes: tuple[int, int, int] = (0, 1, 2),
                 start: tuple[int, ...] | None = None, stop: tuple[int, ...] | None = None,
                 fixed: dict[int, int] | None = None):
        self.source = source
        self.axes = tuple(axes)
        self.fixed = dict(fixed or {})
        if len(self.axes) + len(self.fixed) != len(source.shape):
            raise ValueError(f"a {len(source.shape)}-D source needs an index for each axis "
                             f"beyond i, j, k")
        full = tuple(int(source.shape[a]) for a in self.axes)
        self.start = tuple(start) if start is not None else (0, 0, 0)
        self.stop = tuple(stop) if stop is not None else full
        self.dtype = native_dtype(source.dtype)
        self.largest_read = 0  # the most elements one read has fetched (for tests)
        self.elements_read = 0  # the elements all reads have fetched (for tests)
        # bound(start, stop) -> an upper bound of the stored values in that window, found
        # without reading it (a max pyramid's coarser level), or None: set by a reader.
        self.bound: Any = None
        # (min, max) of the stored values as the file's producer recorded them (an OME-Zarr
        # "omero" window), so that an automatic window needs no full read; None: unknown.
        self.known_range: tuple[float, float] | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(b - a for a, b in zip(self.start, self.stop))  # type: ignore[return-value]

    @property
    def ndim(self) -> int:
        return 3

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> Any:
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (3 - len(key))
        if len(key) == 3 and all(isinstance(k, slice) and k.step in (None, 1) for k in key):
            start, stop = [], []
            for a, k in enumerate(key):
                lo, hi, _ = k.indices(self.shape[a])
                start.append(self.start[a] + lo)
                stop.append(self.start[a] + max(lo, hi))
            part = LazyArray(self.source, self.axes, tuple(start), tuple(stop), self.fixed)
            part.bound = self.bound
            return part._share(self)
        return np.asarray(self)[key]

    def upper_bound(self) -> float | None:
        """The largest stored value this window can hold, without reading it; None if unknown."""
        return None if self.bound is None else self.bound(self.start, self.stop)

    def _share(self, parent: "LazyArray") -> "LazyArray":
        self._parent = parent  # reads are counted on the array the user made
        return self

    def _count(self, n: int) -> None:
        node: Any = self
        while node is not None:
            node.largest_read = max(node.largest_read, n)
            node.elements_read += n
            node = getattr(node, "_parent", None)

    def chunk_shape(self) -> tuple[int, int, int] | None:
        """The source's chunk edge along i, j, k (a zarr or h5py ``chunks``, a dask
        ``chunksize``), or None when it does not say."""
        sizes = getattr(self.source, "chunksize", None) or getattr(self.source, "chunks", None)
        try:
            sizes = tuple(int(c) for c in sizes)  # type: ignore[union-attr]
        except (TypeError, ValueError):  # None, or dask's tuple of tuples
            return None
        if len(sizes) != len(self.source.shape) or min(sizes) < 1:
            return None
        return tuple(sizes[a] for a in self.axes)  # type: ignore[return-value]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """Read this window (and only it) from the source."""
        where: list[Any] = [slice(None)] * len(self.source.shape)
        for a, src_axis in enumerate(self.axes):
            where[src_axis] = slice(self.start[a], self.stop[a])
        for src_axis, index in self.fixed.items():
            where[src_axis] = index
        block = self.source[tuple(where)]
        block = block.compute() if hasattr(block, "compute") else block  # dask
        block = np.asarray(block)
        kept = [a for a in range(len(self.source.shape)) if a not in self.fixed]
        order = tuple(kept.index(a) for a in self.axes)  # the block's axes -> i, j, k
        if order != (0, 1, 2):
            block = block.transpose(order)
        self._count(block.size)
        out = block.astype(self.dtype, copy=False)
        return out if dtype is None else out.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return (f"LazyArray({type(self.source).__name__}, shape={self.shape}, "
                f"dtype={self.dtype})")


def slab_boxes(data: LazyArray | np.ndarray, block_bytes: int | None = None
               ) -> list[tuple[int, int, int, int]]:
    """How to read ``data`` in slabs of about ``block_bytes`` (default :data:`READ_BLOCK_BYTES`):
    (j0, j1, k0, k1) of each, every i, k slowest then j. Slabs are whole source chunks along j
    and k where the source says how it is chunked (:meth:`LazyArray.chunk_shape`), so no chunk
    is read twice: whole (i, j) planes, chunk layers at a time, when a chunk layer fits the size;
    else one chunk layer thick and whole chunk rows wide."""
    block_bytes = int(block_bytes or READ_BLOCK_BYTES)
    nx, ny, nz = data.shape
    chunks = data.chunk_shape() if isinstance(data, LazyArray) else None
    _, cj, ck = chunks or (1, 1, 1)
    cj, ck = min(cj, ny), min(ck, nz)
    column = nx * data.itemsize  # bytes of one (j, k) line of voxels
    if column * ny * ck <= block_bytes:
        dj, dk = ny, ck * max(1, block_bytes // (column * ny * ck))
    else:
        dj, dk = cj * max(1, block_bytes // (column * cj * ck)), ck
    return [(j0, min(j0 + dj, ny), k0, min(k0 + dk, nz))
            for k0 in range(0, nz, dk) for j0 in range(0, ny, dj)]
