"""napari's 3-D camera as a :class:`glmip.Camera`: pure math, no napari, no Qt.

napari's conventions (napari >= 0.6, ``napari/components/camera.py`` and
``napari/utils/camera_orientations.py``):

* ``camera.angles`` are Euler angles (degrees) about the three displayed dimensions, in
  ``dims.displayed`` order; the camera's rotation is the intrinsic X-Y-Z rotation by the
  *negated* angles (scipy's ``Rotation.from_euler('XYZ', -angles)``).
* ``camera.orientation`` is (depth, vertical, horizontal), default ``('towards', 'down',
  'right')``: with angles 0 the camera looks along ``-axis0`` (axis 0 points at the viewer),
  ``-axis1`` is up on the canvas (axis 1 points down) and ``+axis2`` is right. That default is
  right-handed: screen right = view x up. An odd number of changes (e.g. ``'away'``) makes it
  left-handed, a mirror image.
* ``camera.center`` is the centre of rotation in world coordinates (displayed dims);
  ``camera.zoom`` is canvas pixels per world unit, applied to the *shorter* canvas side (vispy:
  the shorter side of the view box spans ``min(width, height) / zoom`` world units, for
  orthographic and, on the plane through the centre, for perspective views).
* ``camera.perspective`` is vispy's field of view in degrees; 0 is orthographic.

The glmip plugin's layers (``glmip.napari.reader``) put ``data[i, j, k]`` in napari with the
volume's 4x4 voxel -> RAS affine, so napari's world axes 0, 1, 2 *are* R, A, S in mm and the
mapping is the identity on vectors (up to the order of the displayed dimensions).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..camera import Camera, rotation_matrix

__all__ = ["DEFAULT_ORIENTATION", "rotation_from_angles", "directions_from_angles",
           "is_right_handed", "glmip_camera", "camera_from_viewer", "canvas_size"]

DEFAULT_ORIENTATION = ("towards", "down", "right")


def rotation_from_angles(angles: Sequence[float]) -> np.ndarray:
    """napari's camera rotation: intrinsic rotations about axes 0, 1, 2 by ``-angles``."""
    a0, a1, a2 = (float(v) for v in angles)
    x, y, z = np.eye(3)
    return rotation_matrix(x, -a0) @ rotation_matrix(y, -a1) @ rotation_matrix(z, -a2)


def is_right_handed(orientation: Sequence[str] = DEFAULT_ORIENTATION) -> bool:
    """Whether napari draws (depth, vertical, horizontal) ``orientation`` without a mirror."""
    changed = sum(str(a) != b for a, b in zip(orientation, DEFAULT_ORIENTATION))
    return changed % 2 == 0


def directions_from_angles(angles: Sequence[float],
                           orientation: Sequence[str] = DEFAULT_ORIENTATION
                           ) -> tuple[np.ndarray, np.ndarray]:
    """(view direction, up direction) in napari's displayed-dims coordinates."""
    depth, vertical = str(orientation[0]), str(orientation[1])
    view = np.array([-1.0 if depth == "towards" else 1.0, 0.0, 0.0])
    up = np.array([0.0, -1.0 if vertical == "down" else 1.0, 0.0])
    rot = rotation_from_angles(angles)
    return rot @ view, rot @ up


def glmip_camera(angles: Sequence[float], center: Sequence[float], zoom: float,
                 canvas: Sequence[int], size: Sequence[int], *, perspective: float = 0.0,
                 orientation: Sequence[str] = DEFAULT_ORIENTATION,
                 displayed: Sequence[int] = (0, 1, 2)) -> Camera:
    """The glmip camera that shows what napari's 3-D canvas shows.

    ``canvas`` is napari's canvas (width, height) in pixels, ``size`` the picture's (cols,
    rows). ``displayed`` says which layer axis (0, 1, 2 = R, A, S for glmip's layers) each
    displayed dimension is, in ``dims.displayed`` order. The picture's shorter side spans what
    the canvas's shorter side spans (``min(canvas) / zoom`` mm), centred on ``center``.
    Perspective views use glmip's 30 degree field of view with the plane through the centre
    framed the same, so they match napari's only approximately. A mirrored napari view (an odd
    axis order, or a left-handed ``orientation``) has no glmip camera: ``ValueError``.
    """
    perm = np.zeros((3, 3))
    for i, axis in enumerate(displayed):
        perm[int(axis), i] = 1.0  # displayed component i -> layer axis
    if sorted(int(a) for a in displayed) != [0, 1, 2]:
        raise ValueError(f"displayed axes must be a permutation of 0, 1, 2, got {list(displayed)}")
    if (np.linalg.det(perm) > 0) != is_right_handed(orientation):
        raise ValueError("napari shows a mirror image here (its camera orientation "
                         f"{tuple(map(str, orientation))} with displayed axes "
                         f"{tuple(displayed)} is left-handed); glmip draws only true views: "
                         "use napari's default orientation ('towards', 'down', 'right')")
    if not (zoom > 0 and math.isfinite(zoom)):
        raise ValueError(f"napari's zoom must be a positive number, got {zoom}")
    view, up = directions_from_angles(angles, orientation)
    short_mm = min(int(canvas[0]), int(canvas[1])) / float(zoom)
    cols, rows = (int(v) for v in size)
    fit = short_mm * cols / min(cols, rows)
    return Camera(view_dir=perm @ view, up=perm @ up,
                  center=perm @ np.asarray(center, dtype=np.float64)[-3:], fit=fit,
                  projection="perspective" if perspective and perspective > 0 else "orthographic")


def canvas_size(viewer: Any) -> tuple[int, int]:
    """(width, height) in pixels of napari's canvas (its vispy view box)."""
    # napari has no public accessor for its canvas's size; VispyCanvas.size is (height, width)
    h, w = viewer.window._qt_viewer.canvas.size
    return int(w), int(h)


def camera_from_viewer(viewer: Any, size: Sequence[int], layer: Any = None,
                       canvas: Sequence[int] | None = None) -> Camera:
    """The glmip camera of a napari viewer's current 3-D view (see :func:`glmip_camera`)."""
    dims, cam = viewer.dims, viewer.camera
    if dims.ndisplay != 3:
        raise ValueError("napari is in 2-D view: switch to 3-D (the cube button) first")
    ndim = dims.ndim
    layer_ndim = 3 if layer is None else layer.ndim
    if layer_ndim != 3:
        raise ValueError(f"glmip renders 3-D image layers; this one has {layer_ndim} dimensions")
    displayed = [int(d) - (ndim - 3) for d in dims.displayed]
    if any(d < 0 for d in displayed):
        raise ValueError("napari displays dimensions this layer does not have")
    return glmip_camera(cam.angles, cam.center, cam.zoom,
                        canvas if canvas is not None else canvas_size(viewer), size,
                        perspective=cam.perspective,
                        orientation=tuple(str(o) for o in cam.orientation),
                        displayed=displayed)
