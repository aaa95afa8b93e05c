"""Renderers under test. Each module has LABEL, REQUIRES (import names), GEOMETRY (None when
it follows CONVENTIONS.md exactly, else the reason it cannot), ``setup_env()`` (environment
set before the peer's imports) and ``Renderer(data, affine, cols, rows, stages)`` with
``render(view) -> uint8 (rows, cols)`` grey image, rows top-first, window = full data range.
"""

ORDER = ["glmip", "plain", "vtk_gpu", "vtk_fixed", "vispy", "pygfx"]
