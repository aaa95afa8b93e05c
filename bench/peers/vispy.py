"""vispy's Volume visual with ``method="mip"`` (EGL surfaceless, offscreen canvas).

The visual is drawn through a matrix transform that maps voxel indices straight to canvas
pixels with the benchmark's orthographic camera, so the framing is that of docs/conventions.md.
"""

from __future__ import annotations

import os
import time

import numpy as np

LABEL = "vispy Volume(mip)"
REQUIRES = ["vispy", "OpenGL"]
GEOMETRY = ("vispy steps a whole number of equal steps between each ray's box entry and exit "
            "(not on the sample planes of docs/conventions.md) and refines the maximum with 10 "
            "extra samples around it")


def setup_env() -> None:
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")


class Renderer:
    def __init__(self, data, affine, cols, rows, stages, window=None):
        t = time.perf_counter()
        import vispy
        from vispy import app, gloo, visuals  # noqa: F401
        from vispy.visuals.transforms import MatrixTransform

        vispy.use(app="egl")
        stages["import vispy"] = time.perf_counter() - t
        t = time.perf_counter()
        self.canvas = app.Canvas(size=(cols, rows), show=False)
        lo, hi = window or (float(data.min()), float(data.max()))
        # vispy wants [z, y, x]: visual x = our i, y = j, z = k
        grid = np.transpose(data, (2, 1, 0))
        if grid.dtype == np.int16:  # vispy has no texture format for int16: float32, as users do
            grid = grid.astype(np.float32)
        self.visual = visuals.VolumeVisual(
            grid, clim=(lo, hi if hi > lo else lo + 1), method="mip",
            relative_step_size=1.0, cmap="grays", interpolation="linear", texture_format="auto")
        self.transform = MatrixTransform()
        self.visual.transform = self.transform
        self.visual.transforms.configure(canvas=self.canvas, viewport=(0, 0, cols, rows))
        # Not ``with canvas:`` per frame: its __enter__ sleeps 0.25 s (the EGL backend's
        # _vispy_warmup). Make the context current once and draw straight into it.
        self.canvas.set_current()
        self.affine = np.asarray(affine, float)
        self.cols, self.rows = cols, rows
        self.gloo = gloo
        stages["setup"] = time.perf_counter() - t

    def render(self, v):
        # index -> canvas pixels (x right, y down) and depth in [-1, 1], column-vector form
        rel = np.eye(4)
        rel[:3, 3] = -v.center
        cam = np.zeros((4, 4))
        cam[0, :3] = v.right / v.pixel
        cam[1, :3] = -v.up / v.pixel
        cam[2, :3] = v.d / (2 * v.radius)
        cam[3, 3] = 1
        shift = np.eye(4)
        shift[0, 3], shift[1, 3] = self.cols / 2, self.rows / 2
        m = shift @ cam @ rel @ self.affine
        self.transform.matrix = m.T  # vispy multiplies row vectors
        self.canvas.set_current()
        self.gloo.set_viewport(0, 0, self.cols, self.rows)
        self.gloo.clear(color="black", depth=True)
        self.visual.draw()
        img = self.gloo.read_pixels((0, 0, self.cols, self.rows), out_type=np.uint8)
        return np.ascontiguousarray(img[:, :, 0])
