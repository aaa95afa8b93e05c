"""glmip itself: MipRenderer.render with the benchmark's camera and sample distance.

Only what glmip keeps stable is used (``bench.ab`` runs this against other source trees):
``glmip.Volume``, ``glmip.make_camera``, ``glmip.make_settings``, ``glmip.renderer.MipRenderer``
(``upload``, ``render``, ``project``) and the headless context. A tree without one of them
fails with a message naming what is missing, not as "not installed".
"""

from __future__ import annotations

import sys
import time

LABEL = "glmip"
REQUIRES = ["moderngl"]
GEOMETRY = None


class MissingApi(RuntimeError):
    pass


def setup_env() -> None:
    pass


def _need(module: str, name: str):
    """``module.name`` of the glmip being benchmarked, or a clear MissingApi."""
    import importlib

    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        where = getattr(sys.modules.get("glmip"), "__file__", "?")
        raise MissingApi(f"the benchmark needs {module}.{name}; the glmip at {where} has no "
                         f"module {module} ({exc})") from None
    try:
        return getattr(mod, name)
    except AttributeError:
        raise MissingApi(f"the benchmark needs {module}.{name}; {mod.__file__} has no "
                         f"{name}") from None


class Renderer:
    def __init__(self, data, affine, cols, rows, stages, window=None):
        t = time.perf_counter()
        Volume = _need("glmip", "Volume")
        self.make_camera = _need("glmip", "make_camera")
        self.make_settings = _need("glmip", "make_settings")
        MipRenderer = _need("glmip.renderer", "MipRenderer")
        stages["import glmip"] = time.perf_counter() - t
        t = time.perf_counter()
        # glmip's own headless context (its backend and exact-sampling settings), so every
        # tree makes it its own way.
        self.ctx = _need("glmip.context", "headless_context")()
        stages["context"] = time.perf_counter() - t
        t = time.perf_counter()
        self.r = MipRenderer(self.ctx)
        self.r.upload(Volume(data, affine))
        self.ctx.finish()
        stages["upload"] = time.perf_counter() - t
        self.size = (cols, rows)
        # No window settings: glmip's own full data range.
        self.window = {} if window is None else {"window": window[1] - window[0],
                                                 "level": (window[1] + window[0]) / 2}

    def _camera(self, v):
        # = Camera.from_direction(v.d, v.up): orthographic, sphere framing, zoom 1
        return self.make_camera(view_dir=v.d, up=v.up)

    def _settings(self, v):
        return self.make_settings(sample_distance=v.step, **self.window)

    def render(self, v):
        return self.r.render(self._camera(v), self._settings(v), self.size)

    def samples_taken(self, v) -> int:
        p = self.r.project(self._camera(v), self._settings(v), self.size, exact_values=False)
        return int(p.samples.sum())
