"""``glmip turntable INPUT -o OUT.gif|OUT.mp4|OUT.dcm|OUT_DIR/``: a rotating MIP movie (headless).

``OUT.dcm`` is one multi-frame DICOM Secondary Capture object; ``OUT_DIR/ --format dicom`` a
series of them, one per frame (docs/formats.md).

Frame k shows the start view (``--view`` / ``--view-dir``) rotated by
``start + k (end - start) / frames`` degrees about ``--axis`` through the framing centre,
counter-clockwise seen from the axis tip, end excluded. ``--axis`` defaults to the view's up.
"""

from __future__ import annotations

import argparse
import sys
import time

from ..outputs import check_output_dir, check_output_file, is_directory_target
from ..pipeline import FORMATS, write_turntable
from .arguments import add_memory_option, add_options, add_render_options, recipe_from_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("turntable", help="render a rotating MIP movie (GIF, MP4, PNG frames)",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT", help="image file or DICOM directory")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="OUT.gif, OUT.mp4 (needs glmip[video]), OUT.dcm (one multi-frame "
                        "DICOM object) or OUT_DIR/ for PNG frames (DICOM with --format dicom)")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="frames in a directory as png files (default) or dicom (a series of "
                        "Secondary Capture objects with the source's patient and study)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_options(p, ["movie"])
    add_render_options(p, exclude=["contact_sheet"])
    add_memory_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    recipe = recipe_from_args(args, args.input, kind="turntable")
    recipe.camera()
    recipe.settings()
    if is_directory_target(args.output):
        check_output_dir(args.output, [args.input])
    else:
        check_output_file(args.output, [args.input])
    t0 = time.perf_counter()
    path = write_turntable(recipe, args.output, progress=None if not args.quiet else False,
                           memory=args.memory, fmt=args.format)
    if not args.quiet and sys.stderr.isatty():
        print(f"wrote {path} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0
