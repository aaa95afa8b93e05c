"""glmip view [INPUT]: the interactive MIP window (the bundled sample without INPUT).

Mouse as VTK's trackball camera: left rotate, middle or shift+left pan, wheel or right zoom,
ctrl+left spin, alt+left or ctrl+right window/level. Keys: q quit, r first view, x screenshot,
h help (the full list is drawn in the window). x writes glmip-screenshot-N.png in the current
directory and prints the glmip render command that reproduces it.

A multiscale image (an OME-Zarr pyramid) opens on its coarsest level at once and is refined level
by level, down to full resolution, while the camera rests; --pyramid-level N pins the window to
level N. Screenshots are drawn from full resolution unless a level is pinned.
"""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..options import parse_size
from ..pipeline import load_volume
from ..resources import sample_path
from .arguments import add_memory_option, add_render_options, recipe_from_args, word


WINDOW_SIZE = (1024, 768)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("view", help="open the interactive MIP window", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT", nargs="?",
                   help="image file or DICOM directory (default: the bundled aorta sample)")
    g = p.add_argument_group("window")
    g.add_argument("--magnification", type=int, default=4, metavar="N",
                   help="screenshot size = window size x N (default 4, as vmtk)")
    g.add_argument("--backend", default="pyglet",
                   help="moderngl-window window class: pyglet (default), glfw, sdl2, pyqt5, "
                        "pyside2, tk, headless")
    g.add_argument("--no-auto-sample-distance", dest="auto_sample_distance",
                   action="store_false",
                   help="use the given sample distance for every frame, also while dragging "
                        "(vmtk's -autosampledistance 0)")
    g.add_argument("--window-size", type=word(parse_size), default=None, metavar="WxH",
                   help="window size in screen pixels (default: --size, 1024x768)")
    add_render_options(p, exclude=["contact_sheet"])
    add_memory_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..app import ViewerOptions, open_viewer  # window libraries: only when one opens

    if args.magnification < 1:
        raise UsageError(f"--magnification must be at least 1, got {args.magnification}")
    recipe = recipe_from_args(args, args.input or str(sample_path()))
    camera, settings = recipe.camera(), recipe.settings()
    volume = load_volume(recipe)
    options = ViewerOptions(
        input_path=recipe.input,
        reader_options=recipe.reader_options(),
        magnification=args.magnification,
        auto_sample_distance=args.auto_sample_distance,
        memory=args.memory,
    )
    size = args.window_size or (recipe.size if args.size else WINDOW_SIZE)
    return open_viewer(volume, camera, settings, options, backend=args.backend, size=size)
