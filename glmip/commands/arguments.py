"""Options shared by ``glmip render``, ``glmip view`` and ``glmip turntable`` (CONVENTIONS.md,
"Command-line contract"), and their conversion to a Camera and RenderSettings."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..camera import Camera, parse_fit
from ..errors import UsageError
from ..io import load
from ..settings import RenderSettings
from ..volume import Volume


def add_input_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("input")
    g.add_argument("--frame", type=int, help="volume of a 4-D file (default 0)")
    g.add_argument("--array", help="point-data array of a VTK file")
    g.add_argument("--component", type=int, help="component of a multi-component array")
    g.add_argument("--series", help="DICOM series (number in the listing, or UID)")
    g.add_argument("--spacing", type=float, nargs=3, metavar=("SX", "SY", "SZ"),
                   help="voxel spacing in mm for formats without geometry (.npy, stacks)")
    g.add_argument("--origin", type=float, nargs=3, metavar=("X", "Y", "Z"),
                   help="world position of voxel (0,0,0) for formats without geometry")


def reader_options(args: argparse.Namespace) -> dict[str, Any]:
    keys = ("frame", "array", "component", "series", "spacing", "origin")
    return {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}


def load_input(path: str, args: argparse.Namespace) -> Volume:
    return load(path, **reader_options(args))


def parse_size(text: str) -> tuple[int, int]:
    """``N`` -> (N, N); ``WxH`` -> (W, H) as (cols, rows)."""
    try:
        if "x" in text.lower():
            w, h = (int(v) for v in text.lower().split("x"))
        else:
            w = h = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad size '{text}' (use N or WxH)") from None
    if w < 1 or h < 1:
        raise argparse.ArgumentTypeError(f"size must be positive, got '{text}'")
    return w, h


def _fit(text: str) -> str | float:
    try:
        return parse_fit(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_render_options(p: argparse.ArgumentParser, default_size: str = "512") -> None:
    add_input_options(p)
    g = p.add_argument_group("view")
    g.add_argument("--view", default=None,
                   help="anterior, posterior, left, right, superior (default), inferior, "
                        "or coronal/axial/sagittal")
    g.add_argument("--convention", choices=("radiological", "neurological"),
                   default="radiological", help="meaning of coronal/axial/sagittal")
    g.add_argument("--view-dir", type=float, nargs=3, metavar=("X", "Y", "Z"),
                   help="direction the camera looks along (world RAS)")
    g.add_argument("--up", type=float, nargs=3, metavar=("X", "Y", "Z"),
                   help="world direction shown at the top (with --view-dir)")
    g.add_argument("--size", type=parse_size, default=parse_size(default_size),
                   help=f"N or WxH pixels (default {default_size})")
    g.add_argument("--fit", type=_fit, default="sphere",
                   help="sphere (default), box, or the image width in mm")
    g.add_argument("--projection", choices=("orthographic", "perspective"),
                   default="orthographic")
    g.add_argument("--center", type=float, nargs=3, metavar=("X", "Y", "Z"),
                   help="framing centre in world mm (default: the volume's centre)")
    g = p.add_argument_group("values")
    g.add_argument("--window", type=float, help="window width in real units (<= 0: automatic)")
    g.add_argument("--level", type=float, help="window centre in real units")
    g.add_argument("--sample-distance", type=float, metavar="MM",
                   help="distance between samples in mm (default: smallest voxel spacing)")
    g.add_argument("--background", type=float, nargs=3, metavar=("R", "G", "B"),
                   help="colour of rays that miss, 0-1 (default black)")
    g.add_argument("--mode", choices=("mip", "minip", "mean", "depth"), default="mip",
                   help="projection mode (default mip)")
    g.add_argument("--interpolation", choices=("linear", "nearest"), default="linear")
    g.add_argument("--slab", type=float, metavar="MM", help="thick-slab thickness in mm")
    g.add_argument("--slab-center", type=float, default=0.0, metavar="MM",
                   help="slab centre: distance from the volume centre along the view (mm)")
    g.add_argument("--crop", type=int, nargs=6, metavar=("I0", "I1", "J0", "J1", "K0", "K1"),
                   help="keep voxels with indices in these inclusive ranges")
    g.add_argument("--colormap", default="grey",
                   help="grey, inverted, hot, viridis, magma, inferno, plasma, ...")
    g.add_argument("--gamma", type=float, default=1.0)
    g.add_argument("--opacity", type=float, nargs=2, metavar=("A", "B"),
                   help="vmtk opacity ramp over the background")
    g.add_argument("--refine", action="store_true", help="refine the maximum between samples")
    g.add_argument("--jitter", action="store_true", help="jitter ray starts (not exact)")
    g.add_argument("--shader", metavar="FILE.glsl", help="a projection shader of your own")


def camera_from_args(args: argparse.Namespace) -> Camera:
    if args.view and args.view_dir:
        raise UsageError("give either --view or --view-dir, not both")
    if args.up and not args.view_dir:
        raise UsageError("--up goes with --view-dir")
    try:
        if args.view_dir:
            cam = Camera.from_direction(args.view_dir, args.up)
        else:
            cam = Camera.standard(args.view or "superior", args.convention)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    cam.fit = args.fit
    cam.projection = args.projection
    if getattr(args, "center", None) is not None:
        cam.center = np.array(args.center, dtype=np.float64)
    return cam


def settings_from_args(args: argparse.Namespace) -> RenderSettings:
    if (args.window is None) != (args.level is None):
        raise UsageError("give --window and --level together")
    try:
        return RenderSettings(
            window=args.window,
            level=args.level,
            sample_distance=args.sample_distance,
            background=tuple(args.background) if args.background else (0.0, 0.0, 0.0),
            mode=args.mode,
            interpolation=args.interpolation,
            slab=args.slab,
            slab_center=args.slab_center,
            crop=tuple(args.crop) if args.crop else None,
            colormap=args.colormap,
            gamma=args.gamma,
            opacity=tuple(args.opacity) if args.opacity else None,
            refine=args.refine,
            jitter=args.jitter,
            shader=args.shader,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
