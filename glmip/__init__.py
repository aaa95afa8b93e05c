"""glmip: maximum-intensity projections of 3-D images on OpenGL.

>>> import glmip
>>> vol = glmip.load("aorta.mha")                        # doctest: +SKIP
>>> img = glmip.render(vol, view="anterior", size=512)   # numpy uint8 image
>>> glmip.save_png("aorta.png", img)                     # doctest: +SKIP
"""

from .version import __version__

from .api import (Image, as_volume, load, make_camera, make_settings, project, record_turntable,  # noqa: E402
                  render, rotating_mip, save_png, turntable_frames)
from .camera import Camera  # noqa: E402
from .settings import RenderSettings  # noqa: E402
from .volume import Volume  # noqa: E402

__all__ = [
    "__version__",
    "load",
    "as_volume",
    "render",
    "project",
    "save_png",
    "make_camera",
    "make_settings",
    "record_turntable",
    "turntable_frames",
    "rotating_mip",
    "Camera",
    "Image",
    "RenderSettings",
    "Volume",
    "show",
]


def __getattr__(name: str):
    """``glmip.show`` (the live notebook view) is imported on first use, so that importing glmip
    never imports jupyter_rfb or ipywidgets (glmip/notebook.py)."""
    if name == "show":
        from .notebook import show

        return show
    raise AttributeError(f"module 'glmip' has no attribute {name!r}")
