"""The one place glmip makes a headless OpenGL context (windows get theirs from
moderngl-window). EGL on Linux (no display needed), the platform's default elsewhere."""

from __future__ import annotations

import os
import sys

import moderngl

from .errors import ContextError

_shared: moderngl.Context | None = None


def exact_software_sampling() -> None:
    """Ask Mesa's llvmpipe for full-precision texture filtering. Its default fast path for
    8-bit textures interpolates with 8-bit weights: up to 2 grey levels off on uint8 volumes in
    a narrow window (measured against the numpy reference: 0.13 % of pixels beyond 1 grey
    level). Read when Mesa first compiles a shader, so call before making a context; other
    drivers ignore it. Costs nothing measurable here."""
    flags = os.environ.get("GALLIVM_PERF", "")
    if "no_aos_sampling" not in flags:
        os.environ["GALLIVM_PERF"] = ",".join(f for f in (flags, "no_aos_sampling") if f)


def create_headless_context() -> moderngl.Context:
    exact_software_sampling()
    kwargs = {"standalone": True, "require": 330}
    if sys.platform.startswith("linux"):
        kwargs["backend"] = "egl"
    try:
        return moderngl.create_context(**kwargs)
    except Exception as exc:  # glcontext raises plain Exceptions
        hint = (
            " (install Mesa's EGL: apt-get install libegl1 libgl1-mesa-dri)"
            if sys.platform.startswith("linux")
            else ""
        )
        raise ContextError(f"cannot create a headless OpenGL 3.3 context: {exc}{hint}") from None


def headless_context() -> moderngl.Context:
    """A process-wide headless context, made on first use, and made current on every call:
    another context (a window, a worker's own) may have become current in between."""
    global _shared
    if _shared is None:
        _shared = create_headless_context()
    _shared.__enter__()  # glcontext: make current (no matching exit needed)
    return _shared
