"""``glmip turntable INPUT -o OUT.gif|OUT.mp4|OUT_DIR/``: a rotating MIP movie (headless).

Frame k shows the start view (``--view`` / ``--view-dir``) rotated by
``start + k (end - start) / frames`` degrees about ``--axis`` through the framing centre,
counter-clockwise seen from the axis tip, end excluded. ``--axis`` defaults to the view's up.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..errors import UsageError
from .options import add_render_options, camera_from_args, load_input, settings_from_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("turntable", help="render a rotating MIP movie (GIF, MP4, PNG frames)",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT", help="image file or DICOM directory")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="OUT.gif, OUT.mp4 (needs glmip[video]) or OUT_DIR/ for PNG frames")
    g = p.add_argument_group("movie")
    g.add_argument("--frames", type=int, default=36, help="frames per turn (default 36)")
    g.add_argument("--axis", nargs="+", metavar="AXIS",
                   help="S, A, R (or I, P, L) or three numbers X Y Z (default: the view's up)")
    g.add_argument("--start", type=float, default=0.0, metavar="DEG", help="default 0")
    g.add_argument("--end", type=float, default=360.0, metavar="DEG",
                   help="default 360 (excluded)")
    g.add_argument("--back-and-forth", action="store_true",
                   help="play forward then backward (a rocking movie)")
    g.add_argument("--fps", type=float, default=15.0, help="frames per second (default 15)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    add_render_options(p)
    p.set_defaults(run=run)


def parse_axis_args(values: list[str] | None) -> str | list[float] | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    if len(values) == 3:
        try:
            return [float(v) for v in values]
        except ValueError:
            pass
    raise UsageError(f"--axis takes a letter (S, A, R...) or three numbers, got {' '.join(values)}")


def run(args: argparse.Namespace) -> int:
    from ..movie import movie_kind, parse_axis, record_turntable, turntable_angles
    from ..programs import ShaderError
    from .render import check_output, check_output_dir

    camera = camera_from_args(args)
    settings = settings_from_args(args)
    axis = parse_axis(parse_axis_args(args.axis), camera)
    if args.fps <= 0:
        raise UsageError(f"--fps must be greater than 0, got {args.fps}")
    turntable_angles(args.frames, args.start, args.end, args.back_and_forth)  # validates
    kind = movie_kind(args.output)
    if kind != "dir":
        check_output(args.output, [args.input])
    else:
        check_output_dir(Path(args.output), [args.input])
    vol = load_input(args.input, args)
    t0 = time.perf_counter()
    try:
        path = record_turntable(
            vol, camera, settings, args.size, args.output, frames=args.frames, axis=axis,
            start=args.start, end=args.end, back_and_forth=args.back_and_forth, fps=args.fps,
            progress=None if not args.quiet else False,
        )
    except ShaderError as exc:
        raise UsageError(str(exc)) from None
    if not args.quiet and __import__("sys").stderr.isatty():
        print(f"wrote {path} in {time.perf_counter() - t0:.1f} s", file=__import__("sys").stderr)
    return 0
