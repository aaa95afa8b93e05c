"""The recipe of a picture: the input and every option that changes its pixels, in one schema.

A :class:`Recipe` is what every output carries (PNG text chunks, the GIF comment, the TIFF
description, a NIfTI extension) and what the "reproduce it with" command line is printed from.
Its keys are the names in ``glmip/options.py``; values are plain JSON (numbers, strings, lists).
Automatic choices that depend on the data (window/level, sample distance) are stored as the
numbers they resolved to, so a recipe alone reproduces the picture.

Pure: builds cameras and settings, never renders.
"""

from __future__ import annotations

import json
import math
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from .version import __version__
from .camera import Camera
from .errors import UsageError
from .options import OPTIONS, default, names, option
from .settings import RenderSettings, resolve_sample_distance, resolve_window

if TYPE_CHECKING:
    from .volume import Volume

__all__ = ["Recipe", "camera_from_options", "settings_from_options", "RECIPE_KEY",
           "reproduction_path"]

RECIPE_KEY = "glmip:recipe"
_CAMERA = names("camera")
_SETTINGS = names("settings")
_INPUT = names("input")
_MOVIE = names("movie")
# Kinds of output, and the command that makes each.
COMMANDS = {"render": "render", "turntable": "turntable"}


def _plain(value: Any) -> Any:
    """JSON-friendly copy: tuples and arrays become lists, numpy scalars Python numbers."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def _same(a: Any, b: Any) -> bool:
    return _plain(a) == _plain(b)


def camera_from_options(options: Mapping[str, Any], view: str | None = None) -> Camera:
    """The camera of ``view`` (default: the ``view`` option, a single name) or of
    ``view_dir``/``up``, framed and projected as the options say."""
    get = options.get
    name = view if view is not None else get("view")
    if name is not None and get("view_dir") is not None:
        raise UsageError("give either a view or a view direction (view_dir), not both")
    if get("up") is not None and get("view_dir") is None:
        raise UsageError("up goes with a view direction (view_dir)")
    kw: dict[str, Any] = {
        "fit": get("fit", default("fit")),
        "projection": get("projection", default("projection")),
        "zoom": float(get("zoom", 1.0)),
    }
    center = get("center")
    if center is not None:
        center = np.asarray(center, dtype=np.float64)
        if center.shape != (3,) or not np.all(np.abs(center) < 1e9):
            raise UsageError(f"center must be three finite numbers of mm (|x| < 1e9), got "
                             f"{np.ravel(center).tolist()}")
    kw["center"] = center
    try:
        if get("view_dir") is not None:
            return Camera.from_direction(get("view_dir"), get("up"), **kw)
        return Camera.standard(name or "superior", get("convention", default("convention")), **kw)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def settings_from_options(options: Mapping[str, Any]) -> RenderSettings:
    """:class:`RenderSettings` from option values (the vocabulary's names; missing ones take
    their defaults). ``skip_empty``/``early_exit`` (speed only) are accepted too."""
    window, level = options.get("window"), options.get("level")
    if window is not None and window > 0 and level is None:
        raise UsageError("give window and level together")
    kw = {k: options[k] for k in (*_SETTINGS, "skip_empty", "early_exit") if k in options}
    for k in ("background", "crop", "opacity"):
        if kw.get(k) is not None:
            kw[k] = tuple(kw[k])
    try:
        return RenderSettings(**kw)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def reproduction_path(path: str | Path) -> str:
    """Where a reproduction of ``path`` goes: beside it, never over it (a folder of frames,
    named with its trailing slash, stays a folder)."""
    text = str(path)
    if text.endswith(("/", os.sep)):
        return text.rstrip("/" + os.sep) + "-reproduced/"
    p = Path(path)
    name = p.name
    for suffix in (".nii.gz", p.suffix):
        if suffix and name.endswith(suffix):
            return str(p.with_name(name[: -len(suffix)] + "-reproduced" + suffix))
    return str(p.with_name(name + "-reproduced"))


def _num(v: Any) -> str:
    v = float(v)
    return repr(v) if not math.isfinite(v) else f"{v + 0.0:.10g}"


@dataclass
class Recipe:
    """The input, how it was read, and every pixel-changing option.

    ``kind`` is ``render`` (a picture or a contact sheet) or ``turntable`` (a movie);
    ``frame_index`` numbers a turntable's frame when the output is one frame of it.
    """

    input: str
    options: dict[str, Any] = field(default_factory=dict)
    kind: str = "render"
    frame_index: int | None = None

    def __post_init__(self) -> None:
        for name in self.options:
            option(name)  # ValueError for a name outside the vocabulary
        self.options = {k: _plain(v) for k, v in self.options.items() if v is not None}
        if self.kind not in COMMANDS:
            raise ValueError(f"unknown recipe kind '{self.kind}'")

    @classmethod
    def make(cls, input: str | Path, kind: str = "render", **options: Any) -> "Recipe":
        return cls(str(input), dict(options), kind)

    # --- what it describes --------------------------------------------------------------
    def get(self, name: str) -> Any:
        value = self.options.get(name)
        return option(name).default if value is None else value

    @property
    def size(self) -> tuple[int, int]:
        cols, rows = self.get("size")
        return int(cols), int(rows)

    def view_names(self) -> list[str]:
        """The names of ``view`` (comma-separated for several), or ``[None]`` for one camera
        given by ``view_dir`` (or the default view)."""
        text = self.options.get("view")
        if text is None:
            return [None]  # type: ignore[list-item]
        views = [v.strip() for v in str(text).split(",")]
        if any(not v for v in views):
            raise UsageError(f"empty view name in '{text}'")
        return views

    def cameras(self) -> list[tuple[str, Camera]]:
        """(label, camera) for every view: one per name of ``view``, or ``custom``."""
        return [(v or ("custom" if self.options.get("view_dir") is not None else "superior"),
                 camera_from_options(self.options, v)) for v in self.view_names()]

    def camera(self) -> Camera:
        views = self.cameras()
        if len(views) != 1:
            raise UsageError(f"{len(views)} views where one camera is needed")
        return views[0][1]

    def settings(self) -> RenderSettings:
        return settings_from_options(self.options)

    def reader_options(self) -> dict[str, Any]:
        out = {k: self.options[k] for k in _INPUT if k in self.options}
        if not out.get("allow_outside_data"):
            out.pop("allow_outside_data", None)
        return out

    def movie_options(self) -> dict[str, Any]:
        return {k: self.get(k) for k in _MOVIE}

    # --- derived recipes --------------------------------------------------------------------
    def replace(self, **options: Any) -> "Recipe":
        """A copy with some options changed (None removes one)."""
        merged = {**self.options, **options}
        return Recipe(self.input, {k: v for k, v in merged.items() if v is not None}, self.kind,
                      self.frame_index)

    def frame(self, index: int) -> "Recipe":
        """The recipe of one frame of this turntable."""
        return Recipe(self.input, self.options, "turntable", index)

    def resolved(self, volume: "Volume") -> "Recipe":
        """Window/level and sample distance as the numbers they resolve to for ``volume``."""
        settings = self.settings()
        window, level = resolve_window(volume, settings)
        step = resolve_sample_distance(volume, settings)
        return self.replace(window=float(window), level=float(level), sample_distance=float(step))

    @classmethod
    def of_view(cls, input: str, camera: Camera, settings: RenderSettings, volume: "Volume",
                size: tuple[int, int], reader_options: Mapping[str, Any] | None = None) -> "Recipe":
        """The recipe of what a camera shows (the viewer's screenshot): direction, up, the
        picture's width in mm as ``fit`` (zoom folded in), the centre when it was moved."""
        d, _, up = camera.basis()
        frame = camera.frame(volume, *size)
        opts: dict[str, Any] = dict(reader_options or {})
        # Unzoomed, the camera's own fit; zoomed, the picture's width in mm, which reproduces an
        # orthographic view exactly (a zoomed perspective view gets the same field of view from
        # a farther eye: docs/viewer.md).
        fit = camera.fit if camera.zoom == 1.0 else frame.pixel_size * size[0]
        opts.update(view_dir=d, up=up, fit=fit, projection=camera.projection, size=size)
        if camera.center is not None and not np.allclose(camera.center, volume.center, atol=1e-9):
            opts["center"] = camera.center
        for name in _SETTINGS:
            opts[name] = getattr(settings, name)
        return cls(str(input), opts).resolved(volume)

    # --- text --------------------------------------------------------------------------
    def to_json(self) -> str:
        body: dict[str, Any] = {"glmip": __version__, "kind": self.kind, "input": self.input,
                                "options": self.options}
        if self.frame_index is not None:
            body["frame_index"] = self.frame_index
        # An in-memory mask or segmentation has no text form: the recipe names its type (and
        # cannot reproduce the picture by itself).
        return json.dumps(body, sort_keys=True,
                          default=lambda o: f"<{type(o).__name__} in memory>")

    @classmethod
    def from_json(cls, text: str) -> "Recipe":
        try:
            body = json.loads(text)
            return cls(body["input"], dict(body.get("options", {})), body.get("kind", "render"),
                       body.get("frame_index"))
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"not a glmip recipe ({exc})") from None

    def to_text(self, output: str | None = None) -> dict[str, str]:
        """Text chunks for a PNG: the recipe, a few readable keys and the command line that
        reproduces it (to ``output``'s reproduction name)."""
        text = {"Software": f"glmip {__version__}", RECIPE_KEY: self.to_json(),
                "glmip:input": self.input, "glmip:version": __version__}
        views = self.cameras()
        text["glmip:view"] = ",".join(label for label, _ in views)
        if len(views) == 1:  # where the camera looks, whichever way it was given
            d, _, up = views[0][1].basis()
            text["glmip:view_dir"] = " ".join(_num(v) for v in d)
            text["glmip:up"] = " ".join(_num(v) for v in up)
        for name in ("fit", "projection", "window", "level", "sample_distance", "mode",
                     "colormap"):
            value = self.get(name)
            if value is not None:
                text[f"glmip:{name}"] = _num(value) if isinstance(value, float) else str(value)
        if self.frame_index is not None:
            text["glmip:frame"] = str(self.frame_index)
        if output is not None:
            text["glmip:command"] = self.command(reproduction_path(output))
        return text

    @classmethod
    def from_text(cls, text: Mapping[str, str]) -> "Recipe":
        if RECIPE_KEY not in text:
            raise UsageError("no glmip recipe in this file")
        return cls.from_json(text[RECIPE_KEY])

    def arguments(self) -> list[str]:
        """Command-line words for every option that differs from its default."""
        args: list[str] = []
        for opt in OPTIONS:
            value = self.options.get(opt.name)
            if value is None or _same(value, opt.default):
                continue
            if opt.switch:
                args.append(opt.flag)
            elif opt.name == "size":
                args += [opt.flag, f"{int(value[0])}x{int(value[1])}"]
            elif isinstance(value, list):
                args += [opt.flag, *(_num(v) if isinstance(v, float) else str(v) for v in value)]
            else:
                args += [opt.flag, _num(value) if isinstance(value, float) else str(value)]
        return args

    def command(self, output: str) -> str:
        """The ``glmip`` command line that makes this picture again, into ``output``."""
        return shlex.join(["glmip", COMMANDS[self.kind], self.input, "-o", output,
                           *self.arguments()])

