"""Renderers under test. Each module has LABEL, REQUIRES (import names), GEOMETRY (None when
it follows docs/conventions.md exactly, else the reason it cannot), ``setup_env()`` (environment
set before the peer's imports) and ``Renderer(data, affine, cols, rows, stages, window)`` with
``render(view) -> uint8 (rows, cols)`` grey image, rows top-first. ``window`` is (lo, hi) in
real units, lo -> grey 0 and hi -> 255, or None for the full data range (data min -> max).
"""

ORDER = ["glmip", "plain", "vtk_gpu", "vtk_fixed", "vispy", "pygfx"]
