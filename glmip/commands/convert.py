"""``glmip convert INPUT OUTPUT``: read any supported image, write it in the format of OUTPUT's
extension (.nii .nii.gz .mha .mhd .nrrd .vti .vtk .npy .npz), keeping values, dtype and world
geometry. Formats that cannot store the volume's affine refuse rather than approximate.

The output is written to a temporary file beside it and renamed into place, so a failure never
leaves a partial file and never touches the input or an earlier output.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..io import load, save
from ..errors import OutputError
from ..io.registry import escape, writable_suffixes
from ..outputs import check_output_file
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


def run(args: argparse.Namespace) -> int:
    src, dst = Path(args.input), Path(args.output)
    try:
        check_output_file(dst, [src])
    except OutputError as exc:
        raise OutputError(escape(str(exc))) from None
    vol = load(src, **reader_options(args))
    # A .mhd output also writes a .raw beside it: it must not be any file the input came from.
    companions = [dst, dst.with_suffix(".raw")] if dst.suffix.lower() == ".mhd" else [dst]
    sources = [src, *vol.meta.get("source_files", ())]
    if "data_file" in vol.meta:
        sources.append(Path(vol.meta["data_file"]))
    for out in companions:
        try:
            check_output_file(out, sources)
        except OutputError:
            raise OutputError(escape(f"{dst}: writing it would overwrite the input's data; "
                                     "choose another name")) from None
    save(vol, dst)
    return 0
