"""``glmip info INPUT``: shape, dtype, spacing, orientation code, value range, affine."""

from __future__ import annotations

import argparse

from .arguments import add_input_options, load_input


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="describe a volume", description=__doc__)
    p.add_argument("input", metavar="INPUT", help="image file or DICOM directory")
    add_input_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    vol = load_input(args.input, args)
    print(vol.describe(), end="")
    return 0
