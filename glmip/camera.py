"""The camera: pure math (numpy), no GL.

Rules are docs/conventions.md's ("Camera", "Standard views", "Perspective"):
``d = normalize(view_dir)``, ``right = normalize(d x up)``, ``up' = right x d``; image columns grow
along ``right``, rows grow along ``-up'`` (row 0 is the top). Orthographic pixel ``(r, c)`` is the
ray through ``center + (c + 0.5 - cols/2) p right + (rows/2 - r - 0.5) p up'``.

A :class:`Camera` is the small state the user changes (direction, up, centre, framing, zoom);
:meth:`Camera.frame` turns it, for one volume and image size, into a :class:`Frame` holding every
number the renderer needs. Time never enters, so frames are reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .options import parse_fit

if TYPE_CHECKING:
    from .volume import Volume

__all__ = ["Camera", "Frame", "STANDARD_VIEWS", "parse_fit", "rotation_matrix"]

R, A, S = np.eye(3)

# name -> (view_dir, up)
STANDARD_VIEWS: dict[str, tuple[np.ndarray, np.ndarray]] = {
    "anterior": (-A, S),
    "posterior": (A, S),
    "inferior": (S, A),
    "superior": (-S, A),
    "left": (R, S),
    "right": (-R, S),
}
ALIASES = {
    "radiological": {"coronal": "anterior", "axial": "inferior", "sagittal": "left"},
    "neurological": {"coronal": "posterior", "axial": "superior", "sagittal": "left"},
}
PERSPECTIVE_FOV_DEG = 30.0


def rotation_matrix(axis: Sequence[float], degrees: float) -> np.ndarray:
    """3x3 rotation by ``degrees`` about ``axis``, counter-clockwise seen from the axis tip."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    t = math.radians(degrees)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(t) * K + (1 - math.cos(t)) * (K @ K)


def _unit(v: Sequence[float], what: str) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    n = float(np.linalg.norm(a))
    if a.shape != (3,) or not math.isfinite(n) or n < 1e-12:
        raise ValueError(f"{what} must be a non-zero 3-vector, got {list(v)}")
    return a / n


@dataclass
class Frame:
    """Everything about one image's rays, in world millimetres.

    ``pixel_size`` is the size of a pixel on the plane through ``center`` perpendicular to the
    view (for perspective too). ``eye`` is None for orthographic images.
    """

    cols: int
    rows: int
    center: np.ndarray
    view_dir: np.ndarray
    right: np.ndarray
    up: np.ndarray
    pixel_size: float
    eye: np.ndarray | None = None

    def pixel_point(self, r: float | np.ndarray, c: float | np.ndarray) -> np.ndarray:
        """World point (mm) of pixel (r, c)'s centre on the plane through ``center``; ``r`` and
        ``c`` may be arrays (broadcast together), giving points of shape (..., 3)."""
        p = self.pixel_size
        across = (np.asarray(c, dtype=np.float64) + 0.5 - self.cols / 2) * p
        down = (self.rows / 2 - np.asarray(r, dtype=np.float64) - 0.5) * p
        return self.center + across[..., None] * self.right + down[..., None] * self.up

    def pixel_rays(self) -> tuple[np.ndarray, np.ndarray]:
        """(origins, unit directions) of every pixel's ray, each (rows, cols, 3): orthographic
        rays start on the plane through ``center``, perspective rays at the eye."""
        r, c = np.mgrid[0 : self.rows, 0 : self.cols].astype(np.float64)
        points = self.pixel_point(r, c)
        if self.eye is None:
            return points, np.broadcast_to(self.view_dir, points.shape)
        direction = points - self.eye
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
        return np.broadcast_to(self.eye, points.shape), direction

    def pixels_of(self, points: np.ndarray | Sequence[float]) -> np.ndarray:
        """Fractional (row, col), shape (..., 2), where world points (..., 3) appear (pixel
        centres at integers). Perspective: a point is first moved along its line of sight to
        the plane through ``center``; points not in front of the eye give NaN."""
        x = np.asarray(points, dtype=np.float64)
        if self.eye is not None:
            rel = x - self.eye
            depth = rel @ self.view_dir
            focal = float((self.center - self.eye) @ self.view_dir)
            behind = depth <= 1e-6 * np.linalg.norm(rel, axis=-1)
            with np.errstate(divide="ignore", invalid="ignore"):
                x = self.eye + rel * (focal / np.where(behind, np.nan, depth))[..., None]
        rel = x - self.center
        c = rel @ self.right / self.pixel_size + self.cols / 2 - 0.5
        r = self.rows / 2 - 0.5 - rel @ self.up / self.pixel_size
        return np.stack([r, c], axis=-1)

    def pixel_of(self, world: Sequence[float]) -> tuple[float, float]:
        """(row, col), fractional, where one world point appears (see :meth:`pixels_of`)."""
        r, c = self.pixels_of(world)
        return float(r), float(c)


@dataclass
class Camera:
    """Camera state: where it looks, which way is up, what it frames.

    ``fit`` is ``"sphere"``, ``"box"`` or the image width across the columns in mm; ``zoom``
    magnifies on top of it (the window's wheel). ``center`` None means the volume's centre.
    """

    view_dir: np.ndarray = field(default_factory=lambda: -S.copy())
    up: np.ndarray = field(default_factory=lambda: A.copy())
    center: np.ndarray | None = None
    fit: str | float = "sphere"
    projection: str = "orthographic"
    zoom: float = 1.0

    def __post_init__(self) -> None:
        self.view_dir = _unit(self.view_dir, "view direction")
        self.up = _unit(self.up, "up")
        if np.linalg.norm(np.cross(self.view_dir, self.up)) < 1e-6:
            raise ValueError("up must not be parallel to the view direction")
        self.fit = parse_fit(self.fit)
        if self.projection not in ("orthographic", "perspective"):
            raise ValueError(f"projection must be orthographic or perspective, not {self.projection}")

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def standard(cls, name: str, convention: str = "radiological", **kw: object) -> "Camera":
        key = name.lower()
        key = ALIASES.get(convention, {}).get(key, key)
        if key not in STANDARD_VIEWS:
            names = ", ".join(list(STANDARD_VIEWS) + list(ALIASES["radiological"]))
            raise ValueError(f"unknown view '{name}' (known: {names})")
        d, up = STANDARD_VIEWS[key]
        return cls(view_dir=d.copy(), up=up.copy(), **kw)  # type: ignore[arg-type]

    @classmethod
    def from_direction(
        cls, view_dir: Sequence[float], up: Sequence[float] | None = None, **kw: object
    ) -> "Camera":
        """``up`` defaults to +S, or +A when the view is along S."""
        d = _unit(view_dir, "view direction")
        if up is None:
            up = A if np.linalg.norm(np.cross(d, S)) < 1e-6 else S
        return cls(view_dir=d, up=np.asarray(up, dtype=np.float64), **kw)  # type: ignore[arg-type]

    def copy(self, **changes: object) -> "Camera":
        cam = replace(self, **changes)  # type: ignore[arg-type]
        cam.view_dir, cam.up = cam.view_dir.copy(), cam.up.copy()
        cam.center = None if cam.center is None else np.array(cam.center, dtype=np.float64)
        return cam

    # --- derived --------------------------------------------------------------------------
    def basis(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(d, right, up') as in docs/conventions.md."""
        d = self.view_dir / np.linalg.norm(self.view_dir)
        right = np.cross(d, self.up)
        right /= np.linalg.norm(right)
        return d, right, np.cross(right, d)

    def rotated(self, axis: Sequence[float], degrees: float) -> "Camera":
        """This camera turned by ``degrees`` about a world axis through the framing centre."""
        rot = rotation_matrix(axis, degrees)
        return self.copy(view_dir=rot @ self.view_dir, up=rot @ self.basis()[2])

    def frame(self, volume: "Volume", cols: int, rows: int) -> Frame:
        d, right, up = self.basis()
        center = volume.center if self.center is None else np.asarray(self.center, dtype=np.float64)
        if self.fit == "sphere":
            pixel = 2 * volume.radius / min(cols, rows)
        elif self.fit == "box":
            rel = volume.corners() - center
            half_w = float(np.max(np.abs(rel @ right)))
            half_h = float(np.max(np.abs(rel @ up)))
            pixel = max(2 * half_w / cols, 2 * half_h / rows)
        else:
            pixel = float(self.fit) / cols
        pixel /= self.zoom
        eye = None
        if self.projection == "perspective":
            tan_v = math.tan(math.radians(PERSPECTIVE_FOV_DEG / 2))
            if self.fit == "sphere":
                half_short = math.atan(tan_v * min(cols, rows) / rows)
                distance = volume.radius / math.sin(half_short)
            else:
                distance = pixel * self.zoom * rows / (2 * tan_v)
            pixel = 2 * distance * tan_v / rows / self.zoom
            eye = center - distance * d
        return Frame(cols, rows, center, d, right, up, pixel, eye)
