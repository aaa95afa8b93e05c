"""glmip's vocabulary: every option that changes a picture, declared once.

Each :class:`Option` has one name (the API keyword and the recipe key; on the command line
``--name-with-dashes``), one default and one help text. Everything else is derived from this
table: the command line's arguments (``glmip/commands/arguments.py``), the API's keywords
(``glmip.render(volume, **options)``), the recipe a picture carries and the command line that
reproduces it (``glmip/recipe.py``), and the defaults of :class:`~glmip.settings.RenderSettings`.

Pure Python: no GL, no numpy arrays, nothing of glmip imported.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["Option", "OPTIONS", "MODES", "INTERPOLATIONS", "PROJECTIONS", "CONVENTIONS",
           "FITS", "MASK_MODES", "LABEL_STYLES", "COMPOSITES", "FUSE_COLORMAPS",
           "GREY_COLORMAPS", "COLORMAP_CHOICES",
           "STANDARD_VIEW_NAMES", "option", "default", "names", "parse_size", "parse_fit",
           "parse_bytes", "default_memory"]

MODES = ("mip", "minip", "mean", "depth", "mida", "lmip", "depthcolour")
MASK_MODES = ("include", "exclude")
LABEL_STYLES = ("fill", "outline")
# How fused volumes and channels are combined (docs/projections.md), and the colour tables the
# extra layers take when --fuse-colormap names fewer than there are layers.
COMPOSITES = ("max", "add", "over")
FUSE_COLORMAPS = ("hot", "green", "magenta", "cyan", "red", "blue")
INTERPOLATIONS = ("linear", "nearest")
PROJECTIONS = ("orthographic", "perspective")
CONVENTIONS = ("radiological", "neurological")
FITS = ("sphere", "box")
STANDARD_VIEW_NAMES = ("anterior", "posterior", "left", "right", "superior", "inferior")
# Colour tables: the grey ramp has two spellings; these are the names offered to users (the
# window's colormap key cycles through them). Any other name of the ``cmap`` package works too.
GREY_COLORMAPS = ("grey", "gray")
COLORMAP_CHOICES = ("grey", "inverted", "hot", "viridis", "magma")


# Largest picture: 1 GiB of RGB at the most, and a side a GL viewport can tile.
MAX_SIDE = 32768
MAX_PIXELS = 2**28


def parse_size(text: str | int | tuple) -> tuple[int, int]:
    """``N`` -> (N, N); ``WxH`` -> (W, H) as (cols, rows); also an int or a pair."""
    if isinstance(text, (tuple, list)):
        w, h = (int(v) for v in text)
    elif isinstance(text, int):
        w = h = text
    else:
        try:
            if "x" in text.lower():
                w, h = (int(v) for v in text.lower().split("x"))
            else:
                w = h = int(text)
        except ValueError:
            raise ValueError(f"bad size '{text}' (use N or WxH)") from None
    if w < 1 or h < 1:
        raise ValueError(f"size must be positive, got '{text}'")
    if max(w, h) > MAX_SIDE or w * h > MAX_PIXELS:
        raise ValueError(f"size {w}x{h} is too large (at most {MAX_SIDE} pixels a side and "
                         f"{MAX_PIXELS // 2**20} M pixels)")
    return w, h


def parse_fit(text: str | float) -> str | float:
    """``sphere``, ``box`` or a positive width in mm."""
    if isinstance(text, (int, float)):
        value = float(text)
    elif text in FITS:
        return text
    else:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"fit must be sphere, box or a width in mm, got '{text}'") from None
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"fit width must be a positive number of mm, got {text}")
    return value


def parse_bytes(text: str | int) -> int:
    """``512M``, ``2G``, ``1.5GiB``, ``1000000`` -> bytes (K, M, G, T are powers of 1024)."""
    if isinstance(text, int):
        value = text
    else:
        t = text.strip().upper().removesuffix("IB").removesuffix("B")
        factor = 1024 ** ("KMGT".index(t[-1]) + 1) if t and t[-1] in "KMGT" else 1
        try:
            value = int(float(t.rstrip("KMGT")) * factor)
        except ValueError:
            raise ValueError(f"bad size '{text}' (use e.g. 512M or 2G)") from None
    if value < 1 << 20:
        raise ValueError(f"memory must be at least 1M, got '{text}'")
    return value


def default_memory() -> int:
    """The memory a render may hold of a lazily read volume: half of this machine's RAM."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) // 2
    except (ValueError, OSError, AttributeError):
        return 4 << 30


@dataclass(frozen=True)
class Option:
    """One option. ``part`` says what it configures: ``input`` (how the file is read),
    ``camera``, ``settings`` (:class:`~glmip.settings.RenderSettings`) or ``image`` (size)."""

    name: str
    part: str
    default: Any = None
    help: str = ""
    type: Callable[[str], Any] = str  # converts one command-line word
    nargs: int | str | None = None  # words per value (None: one; "+": one or more)
    choices: tuple[str, ...] | None = None
    metavar: str | tuple[str, ...] | None = None
    switch: bool = False  # a flag without a value (store_true)
    repeat: bool = False  # the flag may be given again; its values are appended (a list)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


XYZ = ("X", "Y", "Z")

OPTIONS: tuple[Option, ...] = (
    # --- input: how a file becomes a volume
    Option("frame", "input", None, "volume of a 4-D file (default 0)", int),
    Option("array", "input", None, "point-data array of a VTK file"),
    Option("component", "input", None, "component of a multi-component array", int),
    Option("series", "input", None, "DICOM series (number in the listing, or UID)"),
    Option("spacing", "input", None, "voxel spacing in mm for formats without geometry "
           "(.npy, stacks)", float, 3, metavar=("SX", "SY", "SZ")),
    Option("origin", "input", None, "world position of voxel (0,0,0) for formats without "
           "geometry", float, 3, metavar=XYZ),
    Option("pyramid_level", "input", None, "pyramid level of a multiscale image such as "
           "OME-Zarr (0, the default: full resolution; --level is the window's)", int),
    Option("allow_outside_data", "input", False, "read a detached data file that lies outside "
           "its header's folder", switch=True),
    # --- camera
    Option("view", "camera", None, "anterior, posterior, left, right, superior (default), "
           "inferior, or coronal/axial/sagittal; several, comma-separated, for a batch or a "
           "contact sheet"),
    Option("convention", "camera", "radiological", "meaning of coronal/axial/sagittal",
           choices=CONVENTIONS),
    Option("view_dir", "camera", None, "direction the camera looks along (world RAS)", float, 3,
           metavar=XYZ),
    Option("up", "camera", None, "world direction shown at the top (with --view-dir)", float, 3,
           metavar=XYZ),
    Option("fit", "camera", "sphere", "sphere (default), box, or the image width in mm",
           parse_fit),
    Option("projection", "camera", "orthographic", "orthographic (default) or perspective",
           choices=PROJECTIONS),
    Option("center", "camera", None, "framing centre in world mm (default: the volume's "
           "centre)", float, 3, metavar=XYZ),
    # --- image
    Option("size", "image", (512, 512), "N or WxH pixels (default 512)", parse_size),
    Option("contact_sheet", "image", False, "the views side by side in one picture",
           switch=True),
    # --- settings: how values become pixels
    Option("window", "settings", None, "window width in real units (<= 0: automatic)", float),
    Option("level", "settings", None, "window centre in real units", float),
    Option("sample_distance", "settings", None, "distance between samples in mm (default: the "
           "smallest voxel spacing)", float, metavar="MM"),
    Option("background", "settings", (0.0, 0.0, 0.0), "colour of rays that miss, 0-1 (default "
           "black)", float, 3, metavar=("R", "G", "B")),
    Option("mode", "settings", "mip", "projection mode (default mip)", choices=MODES),
    Option("interpolation", "settings", "linear", "sampling between voxels (default linear)",
           choices=INTERPOLATIONS),
    Option("slab", "settings", None, "thick-slab thickness in mm", float, metavar="MM"),
    Option("slab_center", "settings", 0.0, "slab centre: distance from the volume centre along "
           "the view (mm)", float, metavar="MM"),
    Option("crop", "settings", None, "keep voxels with indices in these inclusive ranges", int,
           6, metavar=("I0", "I1", "J0", "J1", "K0", "K1")),
    Option("colormap", "settings", "grey", ", ".join(COLORMAP_CHOICES) + ", or any name of the "
           "cmap package (default grey)"),
    Option("gamma", "settings", 1.0, "gamma on the windowed value (default 1)", float),
    Option("opacity", "settings", None, "vmtk opacity ramp over the background", float, 2,
           metavar=("A", "B")),
    Option("depth_length", "settings", None, "depth mode: mm over which brightness falls to 1/e "
           "(default: the framing sphere's diameter)", float, metavar="MM"),
    Option("mida_gamma", "settings", 0.0, "mida: -1..1; below 0 towards compositing, above 0 "
           "towards MIP (default 0, plain MIDA)", float, metavar="G"),
    Option("threshold", "settings", None, "lmip: the first local maximum above this real value "
           "(default: the window's level)", float, metavar="VALUE"),
    Option("mask", "settings", None, "consider only voxels inside this mask (any grid; nearest "
           "neighbour through the affines)", metavar="FILE"),
    Option("mask_mode", "settings", "include", "include (default): voxels inside the mask; "
           "exclude: voxels outside it", choices=MASK_MODES),
    Option("labels", "settings", None, "segmentation: colour each pixel by the label at its "
           "ray's maximum (repeatable: several, drawn in order, later over earlier)",
           nargs="+", metavar="FILE", repeat=True),
    Option("labels_style", "settings", "fill", "fill (default) or outline", choices=LABEL_STYLES),
    Option("labels_opacity", "settings", 0.5, "opacity of the label colours (default 0.5)",
           float, metavar="A"),
    Option("label_colors", "settings", None, "label colours: ITK-SNAP label description or "
           "FreeSurfer LUT (default: a built-in palette); one for all segmentations or one "
           "each, in their order", nargs="+", metavar="LUT", repeat=True),
    Option("fuse", "settings", None, "project these volumes too (any grid) on the same rays, "
           "each with its own window and colormap, and composite them over the input",
           nargs="+", metavar="FILE", repeat=True),
    Option("fuse_window", "settings", None, "window and level of each fused layer in order "
           "(W <= 0: automatic; default automatic)", float, "+", metavar=("W", "L"),
           repeat=True),
    Option("fuse_colormap", "settings", None, "colormap of each fused layer in order (default: "
           + ", ".join(FUSE_COLORMAPS) + ")", nargs="+", metavar="MAP", repeat=True),
    Option("channels", "settings", False, "every component of a multi-component input as a "
           "layer: component 0 with --window/--colormap, the others as fused layers",
           switch=True),
    Option("composite", "settings", "max", "how layers combine: max (default), add or over",
           choices=COMPOSITES),
    Option("refine", "settings", False, "refine the maximum between samples", switch=True),
    Option("jitter", "settings", False, "jitter ray starts (not exact)", switch=True),
    Option("shader", "settings", None, "a projection shader of your own", metavar="FILE.glsl"),
    # --- movie: a turntable
    Option("frames", "movie", 36, "frames per turn (default 36)", int),
    Option("axis", "movie", None, "S, A, R (or I, P, L) or three numbers X Y Z (default: the "
           "view's up)", nargs="+", metavar="AXIS"),
    Option("start", "movie", 0.0, "first angle in degrees (default 0)", float, metavar="DEG"),
    Option("end", "movie", 360.0, "last angle, excluded (default 360)", float, metavar="DEG"),
    Option("back_and_forth", "movie", False, "play forward then backward (a rocking movie)",
           switch=True),
    Option("fps", "movie", 15.0, "frames per second (default 15)", float),
)

_BY_NAME = {o.name: o for o in OPTIONS}


def option(name: str) -> Option:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown option '{name}'") from None


def default(name: str) -> Any:
    return option(name).default


def names(part: str) -> tuple[str, ...]:
    """The names of one part's options, in the table's order."""
    return tuple(o.name for o in OPTIONS if o.part == part)
