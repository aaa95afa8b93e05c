"""glmip itself: MipRenderer.render with the benchmark's camera and sample distance."""

from __future__ import annotations

import time

LABEL = "glmip"
REQUIRES = ["moderngl"]
GEOMETRY = None


def setup_env() -> None:
    pass


class Renderer:
    def __init__(self, data, affine, cols, rows, stages, window=None):
        t = time.perf_counter()
        import glmip.renderer
        from glmip.camera import Camera
        from glmip.context import headless_context
        from glmip.settings import RenderSettings
        from glmip.volume import Volume

        stages["import glmip"] = time.perf_counter() - t
        t = time.perf_counter()
        self.ctx = headless_context()
        stages["context"] = time.perf_counter() - t
        self.Camera, self.RenderSettings = Camera, RenderSettings
        t = time.perf_counter()
        self.r = glmip.renderer.MipRenderer(self.ctx)
        self.r.upload(Volume(data, affine))
        self.ctx.finish()
        stages["upload"] = time.perf_counter() - t
        self.size = (cols, rows)
        # No window settings: glmip's own full data range.
        self.window = {} if window is None else {"window": window[1] - window[0],
                                                 "level": (window[1] + window[0]) / 2}

    def _camera(self, v):
        return self.Camera.from_direction(v.d, v.up)

    def _settings(self, v):
        return self.RenderSettings(sample_distance=v.step, **self.window)

    def render(self, v):
        return self.r.render(self._camera(v), self._settings(v), self.size)

    def samples_taken(self, v) -> int:
        p = self.r.project(self._camera(v), self._settings(v), self.size, exact_values=False)
        return int(p.samples.sum())
