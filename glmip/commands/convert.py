"""``glmip convert INPUT OUTPUT``: read any supported image, write it in the format of OUTPUT's
extension (.nii .nii.gz .mha .mhd .nrrd .vti .vtk .npy .npz), keeping values, dtype and world
geometry. Formats that cannot store the volume's affine refuse rather than approximate.

The output is written to a temporary file beside it and renamed into place, so a failure never
leaves a partial file and never touches the input or an earlier output.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..io import load, save
from ..io.registry import InputError, escape, writable_suffixes
from .arguments import add_input_options, reader_options


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert a volume to another format",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT", help="image file or DICOM directory")
    p.add_argument("output", metavar="OUTPUT",
                   help=f"output file ({' '.join(writable_suffixes())})")
    add_input_options(p)
    p.set_defaults(run=run)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except (OSError, RuntimeError):  # RuntimeError: a symbolic link loop (Path.resolve)
        return False


def run(args: argparse.Namespace) -> int:
    src, dst = Path(args.input), Path(args.output)
    if _same_file(src, dst):
        raise InputError(escape(f"{dst}: the output is the input file; choose another name"))
    if not (dst.parent if str(dst.parent) else Path(".")).is_dir():
        raise InputError(escape(f"{dst}: output directory {dst.parent} does not exist"))
    vol = load(src, **reader_options(args))
    # A .mhd output also writes a .raw beside it: it must not be the input's data either.
    companions = [dst, dst.with_suffix(".raw")] if dst.suffix.lower() == ".mhd" else [dst]
    inputs = [src] + ([Path(vol.meta["data_file"])] if "data_file" in vol.meta else [])
    if any(_same_file(i, c) for i in inputs for c in companions):
        raise InputError(escape(f"{dst}: writing it would overwrite the input's data; choose "
                                f"another name"))
    save(vol, dst)
    return 0
