"""Shared fixtures: one headless EGL context for the session, seeded RNG, the shared data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def ctx():
    """The shared headless context, made current (a window test may have switched)."""
    from glmip.context import headless_context

    yield headless_context()


@pytest.fixture
def renderer(ctx):
    from glmip.renderer import MipRenderer

    ctx.error  # noqa: B018  (reading it clears an error another test's context work may have left
    r = MipRenderer(ctx)
    yield r
    r.release()
    assert ctx.error == "GL_NO_ERROR"


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found beside the checkout ({SHARED_DATA})")
    return SHARED_DATA
