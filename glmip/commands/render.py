"""``glmip render INPUT -o OUT.png``: a MIP written as a PNG, headless (EGL)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .. import __version__
from ..errors import UsageError
from ..volume import Volume
from .options import add_render_options, camera_from_args, load_input, settings_from_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render a MIP to a PNG (headless)", description=__doc__)
    p.add_argument("input", metavar="INPUT", help="image file or DICOM directory")
    p.add_argument("-o", "--output", required=True, metavar="OUT.png", help="PNG to write")
    p.add_argument("--values", metavar="OUT", help="also write the projected real values "
                   "(.npy, .nii.gz, .tif float32, or .png 16-bit)")
    p.add_argument("--depth-map", metavar="OUT", help="also write per pixel the world x y z of "
                   "the maximum and its depth along the view (.npy, .nii.gz, .tif)")
    add_render_options(p)
    p.set_defaults(run=run)


def check_output(output: str, inputs: list[str]) -> Path:
    """The output must be a new or replaceable file in an existing directory, not an input."""
    out = Path(output)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{out}: output directory {parent} does not exist")
    if out.is_dir():
        raise UsageError(f"{out}: is a directory")
    for src in inputs:
        if out.exists() and Path(src).exists() and os.path.samefile(out, src):
            raise UsageError(f"{out}: the output would overwrite the input")
        if out.resolve() == Path(src).resolve():
            raise UsageError(f"{out}: the output would overwrite the input")
    return out


def png_metadata(vol: Volume, args: argparse.Namespace, camera, settings, renderer=None) -> dict:
    from ..settings import resolve_sample_distance, resolve_window

    window, level = resolve_window(vol, settings)
    d, _, up = camera.basis()
    return {
        "Software": f"glmip {__version__}",
        "glmip:input": vol.name,
        "glmip:view_dir": " ".join(f"{v + 0.0:.6g}" for v in d),
        "glmip:up": " ".join(f"{v + 0.0:.6g}" for v in up),
        "glmip:fit": camera.fit,
        "glmip:projection": camera.projection,
        "glmip:window": f"{window:.6g}",
        "glmip:level": f"{level:.6g}",
        "glmip:sample_distance": f"{resolve_sample_distance(vol, settings):.6g}",
        "glmip:mode": settings.mode,
        "glmip:version": __version__,
    }


def run(args: argparse.Namespace) -> int:
    from ..api import _renderer_for
    from ..export import save_depth_map, save_values, value_suffix
    from ..pngio import save_png

    camera = camera_from_args(args)
    settings = settings_from_args(args)
    out = check_output(args.output, [args.input])
    if out.suffix.lower() != ".png":
        raise UsageError(f"{out}: the output must be a .png file")
    extra = [p for p in (args.values, args.depth_map) if p]
    for path in extra:
        check_output(path, [args.input])
        value_suffix(path)
    vol = load_input(args.input, args)
    renderer = _renderer_for(vol)
    image = renderer.render(camera, settings, args.size)
    meta = png_metadata(vol, args, camera, settings)
    if extra:
        proj = renderer.project(camera, settings, args.size, exact_values=True)
        if args.values:
            save_values(args.values, proj, meta)
        if args.depth_map:
            save_depth_map(args.depth_map, proj, meta)
    save_png(out, image, meta)
    return 0
