"""``glmip render INPUT -o OUT.png``: a MIP written as a PNG, headless (EGL).

``-o OUT.dcm`` (or ``--format dicom``) writes a DICOM Secondary Capture object instead, with
the patient and study of a DICOM input (docs/formats.md).

Batch: ``glmip render INPUT... -o DIR/`` renders every input (files, directories, glob patterns)
to ``DIR/<name>_<view>.png``; ``--view a,b,c`` gives several views per input, ``--contact-sheet``
puts them side by side in ``DIR/<name>_sheet.png``. ``--jobs N`` uses N worker processes (each
with its own headless context), ``--dask ADDRESS`` a Dask cluster. A bad input is reported on one
line and skipped; the exit status is 2 if any input failed.

One big picture: ``glmip render BIG.ome.zarr -o OUT.png --dask ADDRESS`` (or ``--jobs N``) splits
the one view over the workers, each projecting a slab of the volume (docs/big-data.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..batch import Task, expand_inputs, make_tasks, process_pool, render_batch
from ..dicom_out import DICOM_SUFFIXES
from ..errors import OutputError, UsageError
from ..export import value_suffix
from ..outputs import check_distinct, check_output_dir, check_output_file, is_directory_target
from ..pipeline import FORMATS, picture_format, write_picture
from .arguments import add_memory_option, add_render_options, recipe_from_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render MIPs to PNGs (headless; one input or a batch)",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image file or DICOM directory; for a batch also directories (their "
                        "readable files) and glob patterns such as 'scans/**/*.nii.gz'")
    p.add_argument("-o", "--output", required=True, metavar="OUT.png|OUT.dcm|DIR/",
                   help="PNG (or DICOM .dcm) to write, or a directory (ending in /) for a batch")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="picture files: png, or dicom (Secondary Capture objects with the "
                        "source's patient and study); default: from the output's suffix, "
                        "png for a directory")
    p.add_argument("--values", metavar="OUT", help="also write the projected real values "
                   "(.npy, .nii.gz, .tif float32, or .png 16-bit)")
    p.add_argument("--depth-map", metavar="OUT", help="also write per pixel the world x y z of "
                   "the maximum and its depth along the view (.npy, .nii.gz, .tif)")
    g = p.add_argument_group("batch")
    g.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="worker processes, each with its own headless context (default 1)")
    g.add_argument("--dask", metavar="ADDRESS",
                   help="run on a Dask cluster, e.g. tcp://scheduler:8786 (pip install "
                        "glmip[dask])")
    g.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="most seconds one input may take; runs the batch in worker processes "
                        "(default: 600 with --jobs, none otherwise)")
    g.add_argument("--skip-existing", action="store_true",
                   help="leave out inputs whose outputs all exist (resume a batch)")
    g.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    add_render_options(p)
    add_memory_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if is_directory_target(args.output):
        return run_batch(args)
    return run_single(args)


def run_single(args: argparse.Namespace) -> int:
    if len(args.inputs) > 1:
        raise UsageError(f"{len(args.inputs)} inputs need an output directory: -o DIR/")
    if args.skip_existing or args.timeout is not None:
        raise UsageError("--timeout and --skip-existing are for a batch: -o DIR/")
    recipe = recipe_from_args(args, args.inputs[0])
    views = recipe.cameras()
    if len(views) > 1 and not recipe.get("contact_sheet"):
        raise UsageError("several views need an output directory (-o DIR/) or --contact-sheet")
    out = check_output_file(args.output, [recipe.input])
    if out.suffix.lower() not in (".png", *DICOM_SUFFIXES):
        raise OutputError(f"{out}: the output must be a .png or .dcm file")
    picture_format(out, args.format)
    extra = [p for p in (args.values, args.depth_map) if p]
    if extra and len(views) > 1:
        raise UsageError("--values and --depth-map take one view")
    for path in extra:
        check_output_file(path, [recipe.input])
        value_suffix(path)
    if args.depth_map and value_suffix(args.depth_map) == ".png":
        raise OutputError(f"{args.depth_map}: a depth map needs .npy, .nii.gz or .tif")
    check_distinct([args.output, *extra])
    if args.dask or args.jobs > 1:
        return run_split(args, recipe, out, bool(extra))
    write_picture(recipe, out, values=args.values, depth_map=args.depth_map, memory=args.memory,
                  fmt=args.format)
    return 0


def run_split(args: argparse.Namespace, recipe: Any, out: Path, extra: bool) -> int:
    """One picture split over workers (``--dask ADDRESS`` or ``--jobs N``): see
    glmip/distributed.py."""
    from ..distributed import write_split

    if extra or len(recipe.cameras()) > 1:
        raise UsageError("a render split over workers writes one picture of one view")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    client, executor = _executor(args)
    try:
        workers = (len(client.scheduler_info().get("workers", {})) if client is not None
                   else args.jobs)
        write_split(recipe, out, executor, parts=2 * max(workers, 1), memory=args.memory,
                    fmt=args.format)
    finally:
        executor.shutdown(wait=True)
        if client is not None:
            client.close()
    return 0


def _dask_executor(address: str) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--dask needs Dask: pip install glmip[dask]") from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"--dask: cannot reach the scheduler at {address} ({exc})") from None
    return client, client.get_executor()


def _executor(args: argparse.Namespace) -> tuple[Any, Any]:
    """(Dask client or None, executor or None: run here) for the batch options."""
    if args.dask:
        return _dask_executor(args.dask)
    if args.jobs > 1 or args.timeout is not None:
        return None, process_pool(args.jobs)
    return None, None


def run_batch(args: argparse.Namespace) -> int:
    if args.values or args.depth_map:
        raise UsageError("--values and --depth-map go with a single -o OUT.png")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if args.dask and args.jobs != 1:
        raise UsageError("give --jobs or --dask, not both")
    if args.timeout is not None and not args.timeout > 0:
        raise UsageError(f"--timeout must be greater than 0, got {args.timeout}")
    recipe = recipe_from_args(args, "")
    recipe.cameras()  # bad view names are refused before anything runs
    recipe.settings()
    show = not args.quiet and sys.stderr.isatty()
    out_dir = Path(args.output)
    inputs, missing = expand_inputs(args.inputs)
    if not inputs and not missing:
        raise UsageError("no readable input found")
    remote = bool(args.dask)
    if remote:  # workers may run elsewhere: give them absolute paths
        inputs = [os.path.abspath(p) for p in inputs]
        out_dir = out_dir.resolve()
        if recipe.options.get("shader"):
            recipe = recipe.replace(shader=os.path.abspath(recipe.options["shader"]))
    tasks = make_tasks(inputs, out_dir, recipe)
    if args.format == "dicom":  # the same names, as .dcm files
        tasks = [Task(t.input, [(r, str(Path(o).with_suffix(".dcm"))) for r, o in t.jobs])
                 for t in tasks]
    check_output_dir(out_dir, [*args.inputs, *inputs])
    for task in tasks:
        for o in task.outputs:
            if out_dir.is_dir():
                check_output_file(o, inputs)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot create the output directory ({exc.strerror})") \
            from None

    def report(outcome) -> None:
        if outcome.error:
            from tqdm import tqdm

            tqdm.write(f"glmip render: error: {outcome.error}", file=sys.stderr)

    for _, msg in missing:
        print(f"glmip render: error: {msg}", file=sys.stderr)
    client, executor = _executor(args)
    try:
        timeout = args.timeout if args.timeout is not None else (600.0 if args.jobs > 1 else None)
        result = render_batch(tasks, executor, skip_existing=args.skip_existing,
                              progress=show, on_outcome=report,
                              timeout=None if client is not None else timeout)
    finally:
        if executor is not None:
            executor.shutdown(wait=True)
        if client is not None:
            client.close()
    failed = [o.error for o in result.failed] + [m for _, m in missing]
    if failed:
        print(f"glmip render: {len(failed)} of {len(tasks) + len(missing)} inputs failed "
              f"({result.summary()}):", file=sys.stderr)
        for msg in failed:
            print(f"  {msg}", file=sys.stderr)
        return 2
    if show:
        print(f"glmip render: {result.summary()}", file=sys.stderr)
    return 0
