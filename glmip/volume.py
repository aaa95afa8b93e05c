"""The volume model: an array indexed ``[i, j, k]`` plus a voxel -> world (RAS mm) affine.

The array keeps the file's own dtype; real values are ``stored * slope + inter`` (NIfTI
``scl_slope``/``scl_inter``, DICOM rescale). Nothing here imports GL, so it tests without a
context. Geometry rules: docs/conventions.md ("World and volume").
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

import numpy as np

from .errors import VolumeError
from .lazy import LazyArray, is_lazy_source

__all__ = ["Volume", "VolumeError", "SUPPORTED_DTYPES"]

# dtypes that go to the GPU as they are (see renderer.TEXTURE_FORMATS); others are converted
# once in Volume.__post_init__ to the nearest of these.
SUPPORTED_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.float32)

# Geometry a sensible image has (docs/formats.md, "Limits"): a voxel spacing between 1 nm and
# 1 km, voxel centres within 1e9 mm (1000 km) of the world origin. Finite values outside these
# are refused at load: they make no picture (a 1e-30 mm axis needs ~1e30 samples per ray).
MIN_SPACING = 1e-6
MAX_SPACING = 1e6
MAX_POSITION = 1e9

# Draws a volume's preview PNG for Jupyter; set by glmip.api when it is imported.
PREVIEW_PNG: "Callable[[Volume], bytes] | None" = None


def _gpu_dtype(data: np.ndarray) -> np.ndarray:
    """Return ``data`` in a dtype the renderer uploads natively, converting only if needed."""
    dt = data.dtype
    if not dt.isnative:
        data = data.astype(dt.newbyteorder("="))  # other-endian file: one native copy
        dt = data.dtype
    if any(dt == np.dtype(t) for t in SUPPORTED_DTYPES):
        return data
    if dt == np.bool_:
        return data.view(np.uint8)
    if np.issubdtype(dt, np.integer) or np.issubdtype(dt, np.floating):
        # int32/uint32/int64/float64/float16: the GPU path is float32 (exact below 2**24).
        return data.astype(np.float32)
    raise VolumeError(f"unsupported data type {dt}")


@dataclass
class Volume:
    """A 3-D image: ``data[i, j, k]`` in its native dtype and a 4x4 voxel -> RAS ``affine``.

    Parameters
    ----------
    data
        3-D array. 4-D arrays are refused here: readers pick a frame first.
    affine
        Maps homogeneous voxel indices to world RAS millimetres. Any invertible affine.
    slope, inter
        Real value = stored value * slope + inter.
    name
        Where the volume came from (a path, or a short label), for messages and PNG metadata.
    """

    data: np.ndarray
    affine: np.ndarray = field(default_factory=lambda: np.eye(4))
    slope: float = 1.0
    inter: float = 0.0
    name: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        data = self.data
        if is_lazy_source(data) and not isinstance(data, LazyArray):
            data = LazyArray(data)  # read slab by slab, never whole (glmip/lazy.py)
        if not isinstance(data, LazyArray):
            data = np.asanyarray(data)
        if isinstance(data, np.ma.MaskedArray):
            data = data.filled(np.nan) if data.dtype.kind == "f" else data.data
        if data.ndim != 3:
            raise VolumeError(f"a volume needs 3 dimensions, got shape {data.shape}")
        if min(data.shape) < 1:
            raise VolumeError(f"zero-sized axis in shape {data.shape}")
        self.data = data if isinstance(data, LazyArray) else _gpu_dtype(data)
        aff = np.asarray(self.affine, dtype=np.float64)
        if aff.shape == (3, 4):
            aff = np.vstack([aff, [0, 0, 0, 1]])
        if aff.shape != (4, 4):
            raise VolumeError(f"affine must be 4x4, got shape {aff.shape}")
        if not np.all(np.isfinite(aff)):
            raise VolumeError("affine has non-finite entries")
        with np.errstate(all="ignore"):  # huge entries: refused below, never a numpy warning
            spacing = np.linalg.norm(aff[:3, :3], axis=0)
            if np.any(spacing == 0):
                raise VolumeError("affine is singular (zero or collinear voxel axes)")
            if np.any(spacing < MIN_SPACING) or np.any(spacing > MAX_SPACING):
                raise VolumeError(
                    f"voxel spacing {' x '.join(f'{v:.3g}' for v in spacing)} mm is outside "
                    f"{MIN_SPACING:g} to {MAX_SPACING:g} mm: not a sensible image")
            n = np.array(data.shape, dtype=np.float64) - 1
            ends = [aff[:3, 3], aff[:3, :3] @ n + aff[:3, 3]]
            if max(float(np.max(np.abs(e))) for e in ends) > MAX_POSITION:
                raise VolumeError(f"voxel positions reach beyond {MAX_POSITION:g} mm from the "
                                  f"origin (origin {' '.join(f'{v:.3g}' for v in aff[:3, 3])})"
                                  f": not a sensible image")
            det = np.linalg.det(aff[:3, :3] / spacing)
            if not abs(det) >= 1e-9:
                raise VolumeError("affine is singular (zero or collinear voxel axes)")
        self.affine = aff
        self.slope = float(self.slope)
        self.inter = float(self.inter)
        if not (np.isfinite(self.slope) and np.isfinite(self.inter)) or self.slope == 0:
            raise VolumeError(f"bad value scaling slope={self.slope} inter={self.inter}")

    # --- geometry -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.data.shape)  # type: ignore[return-value]

    @property
    def spacing(self) -> np.ndarray:
        """Length in mm of one step along each array axis."""
        return np.linalg.norm(self.affine[:3, :3], axis=0)

    @property
    def center(self) -> np.ndarray:
        """World position of the centre of the full-voxel box."""
        ijk = (np.array(self.shape) - 1) / 2.0
        return self.affine[:3, :3] @ ijk + self.affine[:3, 3]

    @property
    def radius(self) -> float:
        """Radius (mm) of the framing sphere: from the centre to the full-voxel box's corners."""
        return float(np.max(np.linalg.norm(self.corners() - self.center, axis=1)))

    def corners(self, full_voxel: bool = True) -> np.ndarray:
        """The 8 world corners (8x3) of the full-voxel box, or of the voxel centres."""
        n = np.array(self.shape, dtype=np.float64)
        lo, hi = (np.full(3, -0.5), n - 0.5) if full_voxel else (np.zeros(3), n - 1)
        ijk = np.array([[(lo, hi)[b >> a & 1][a] for a in range(3)] for b in range(8)])
        return ijk @ self.affine[:3, :3].T + self.affine[:3, 3]

    @property
    def orientation(self) -> str:
        """Three-letter axis code such as ``RAS`` or ``LPI`` (nibabel's aff2axcodes)."""
        from nibabel.orientations import aff2axcodes

        return "".join(aff2axcodes(self.affine))

    # --- values ---------------------------------------------------------------------------
    @cached_property
    def stored_range(self) -> tuple[float, float] | None:
        """(min, max) of the finite stored values, or None if there is none."""
        d = self.data
        if d.dtype.kind != "f" and isinstance(d, np.ndarray):
            return float(d.min()), float(d.max())
        if isinstance(d, LazyArray) and d.known_range is not None:
            return d.known_range
        # Slab by slab over k: a NaN mask never costs a full-size temporary, and a lazily
        # read volume is read a slab at a time.
        lo, hi = np.inf, -np.inf
        for k0 in range(0, d.shape[2], 16):
            chunk = np.asarray(d[:, :, k0 : k0 + 16])
            finite = chunk[np.isfinite(chunk)] if chunk.dtype.kind == "f" else chunk
            if finite.size:
                lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
        return None if lo > hi else (lo, hi)

    @cached_property
    def all_finite(self) -> bool:
        """True if no stored value is NaN or infinite (always, for integer volumes)."""
        d = self.data
        if d.dtype.kind != "f":
            return True
        return all(bool(np.isfinite(np.asarray(d[:, :, k0 : k0 + 16])).all())
                   for k0 in range(0, d.shape[2], 16))

    @property
    def value_range(self) -> tuple[float, float] | None:
        """(min, max) of the finite real values (after slope and intercept)."""
        r = self.stored_range
        if r is None:
            return None
        a, b = (r[0] * self.slope + self.inter, r[1] * self.slope + self.inter)
        return (min(a, b), max(a, b))

    def real(self, stored: np.ndarray | float) -> np.ndarray | float:
        """Real values of stored values."""
        return np.asarray(stored, dtype=np.float64) * self.slope + self.inter

    def info(self) -> dict[str, Any]:
        """The facts ``glmip info`` prints."""
        return {
            "name": self.name,
            "shape": self.shape,
            "dtype": str(self.data.dtype),
            "spacing": tuple(float(s) for s in self.spacing),
            "orientation": self.orientation,
            "range": self.value_range,
            "slope": self.slope,
            "inter": self.inter,
            "affine": self.affine,
        }

    def _repr_png_(self) -> bytes | None:
        """Jupyter shows a volume as its MIP seen from above (``superior``), drawn by the hook
        :data:`PREVIEW_PNG` that ``glmip.api`` installs (the data model has no renderer)."""
        return None if PREVIEW_PNG is None else PREVIEW_PNG(self)

    def __repr__(self) -> str:
        return (
            f"Volume(name={self.name!r}, shape={self.shape}, dtype={self.data.dtype}, "
            f"spacing={tuple(round(float(s), 4) for s in self.spacing)}, "
            f"orientation={self.orientation})"
        )

    def describe(self) -> str:
        """Human-readable multi-line summary."""
        i = self.info()
        out = io.StringIO()
        out.write(f"file:        {i['name']}\n")
        out.write(f"shape:       {' x '.join(map(str, i['shape']))}\n")
        out.write(f"dtype:       {i['dtype']}\n")
        out.write(f"spacing:     {' x '.join(f'{s:.6g}' for s in i['spacing'])} mm\n")
        out.write(f"orientation: {i['orientation']}\n")
        rng = i["range"]
        out.write(
            "range:       "
            + ("no finite values" if rng is None else f"{rng[0]:.6g} .. {rng[1]:.6g}")
            + "\n"
        )
        names = self.meta.get("arrays")
        if names:  # VTK images: every point-data array, its components, the one shown
            comps = self.meta.get("array_components") or [None] * len(names)
            parts = []
            for n, c in zip(names, comps):
                text = repr(n) if any(ch.isspace() or not ch.isprintable() for ch in n) else n
                bits = [] if c is None else [f"{c} component{'s' if c != 1 else ''}"]
                if n == self.meta.get("array"):
                    bits.append("shown" if not c or c == 1
                                else f"component {self.meta.get('component', 0)} shown")
                parts.append(f"{text} ({', '.join(bits)})" if bits else text)
            out.write(f"arrays:      {'; '.join(parts)}\n")
        if i["slope"] != 1 or i["inter"] != 0:
            out.write(f"scaling:     stored * {i['slope']:.6g} + {i['inter']:.6g}\n")
        for n, (shape, path, scale) in enumerate(self.meta.get("levels", ())):
            shown = "  (shown)" if n == self.meta.get("level", 0) else ""
            out.write(f"{'levels:' if n == 0 else '':13}{n}: {' x '.join(map(str, shape))} "
                      f"(store order), voxel {' x '.join(f'{s:.6g}' for s in scale)} "
                      f"(path '{path}'){shown}\n")
        out.write("affine:\n")
        for row in i["affine"]:
            out.write("  [" + " ".join(f"{v:11.5f}" for v in row) + "]\n")
        return out.getvalue()
