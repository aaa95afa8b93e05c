"""pygfx's Volume with VolumeMipMaterial on wgpu (Vulkan on Mesa lavapipe here, offscreen).

Rendered at one internal pixel per image pixel (``pixel_ratio=1``, no SSAA), with an
orthographic camera placed as docs/conventions.md says.
"""

from __future__ import annotations

import time

import numpy as np

LABEL = "pygfx VolumeMipMaterial"
REQUIRES = ["pygfx", "wgpu", "rendercanvas"]
GEOMETRY = ("pygfx picks its own step (clamp(sqrt(max dimension)/20, 0.1, 0.8) voxels, not "
            "settable), spaces equal steps between box entry and exit and refines the maximum "
            "by bisection")


def setup_env() -> None:
    pass


class Renderer:
    def __init__(self, data, affine, cols, rows, stages, window=None):
        t = time.perf_counter()
        import pygfx as gfx
        from rendercanvas.offscreen import RenderCanvas

        stages["import pygfx"] = time.perf_counter() - t
        t = time.perf_counter()
        a = np.asarray(affine, float)
        if np.count_nonzero(a[:3, :3] - np.diag(np.diag(a[:3, :3]))) or np.any(np.diag(a)[:3] <= 0):
            raise ValueError("the pygfx peer takes positive diagonal affines only")
        lo, hi = window or (float(data.min()), float(data.max()))
        self.canvas = RenderCanvas(size=(cols, rows), pixel_ratio=1)
        self.renderer = gfx.WgpuRenderer(self.canvas, pixel_ratio=1, pixel_filter=0)
        self.scene = gfx.Scene()
        self.scene.add(gfx.Background.from_color("#000"))
        grid = np.transpose(data, (2, 1, 0))  # pygfx wants [z, y, x]
        if grid.dtype == np.int16:  # no filterable signed 16-bit format: float32, as pygfx users do
            grid = grid.astype(np.float32)
        tex = gfx.Texture(np.ascontiguousarray(grid), dim=3)
        mat = gfx.VolumeMipMaterial(clim=(lo, hi if hi > lo else lo + 1), interpolation="linear")
        self.volume = gfx.Volume(gfx.Geometry(grid=tex), mat)
        self.volume.local.scale = tuple(np.diag(a)[:3])
        self.volume.local.position = tuple(a[:3, 3])
        self.scene.add(self.volume)
        self.camera = gfx.OrthographicCamera(cols, rows, maintain_aspect=False)
        self.cols, self.rows = cols, rows
        stages["setup"] = time.perf_counter() - t

    def render(self, v):
        cam = self.camera
        cam.width, cam.height = v.cols * v.pixel, v.rows * v.pixel
        cam.depth_range = (0.1, 8 * v.radius)
        cam.local.position = tuple(v.center - v.d * 3 * v.radius)
        cam.world.reference_up = tuple(v.up)
        cam.look_at(tuple(v.center))
        self.canvas.request_draw(lambda: self.renderer.render(self.scene, cam))
        img = np.asarray(self.canvas.draw())
        return np.ascontiguousarray(img[:, :, 0])
