"""Where the shaders and samples are: the top-level folders of a source checkout (editable
install), or the copies a wheel carries inside the package (``glmip/shaders``, ``glmip/samples``,
put there by hatchling's force-include). One lookup serves both."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The ``shaders`` or ``samples`` folder."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"glmip's {name}/ folder is missing from the installation")


def shader_path(name: str) -> Path:
    path = resource_dir("shaders") / name
    if not path.is_file():
        raise FileNotFoundError(f"shader {name} is missing from the installation ({path})")
    return path


def sample_path(name: str = "aorta.mha") -> Path:
    path = resource_dir("samples") / name
    if not path.is_file():
        raise FileNotFoundError(f"sample {name} is missing from the installation ({path})")
    return path
