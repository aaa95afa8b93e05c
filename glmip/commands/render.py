"""``glmip render INPUT -o OUT.png``: a MIP written as a PNG, headless (EGL).

Batch: ``glmip render INPUT... -o DIR/`` renders every input (files, directories, glob patterns)
to ``DIR/<name>_<view>.png``; ``--view a,b,c`` gives several views per input, ``--contact-sheet``
puts them side by side in ``DIR/<name>_sheet.png``. ``--jobs N`` uses N worker processes (each
with its own headless context), ``--dask ADDRESS`` a Dask cluster. A bad input is reported on one
line and skipped; the exit status is 2 if any input failed.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import UsageError
from ..movie import is_directory_target
from ..volume import Volume
from .options import (add_render_options, camera_from_args, load_input, reader_options,
                      settings_from_args)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render MIPs to PNGs (headless; one input or a batch)",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image file or DICOM directory; for a batch also directories (their "
                        "readable files) and glob patterns such as 'scans/**/*.nii.gz'")
    p.add_argument("-o", "--output", required=True, metavar="OUT.png|DIR/",
                   help="PNG to write, or a directory (ending in /) for a batch")
    p.add_argument("--values", metavar="OUT", help="also write the projected real values "
                   "(.npy, .nii.gz, .tif float32, or .png 16-bit)")
    p.add_argument("--depth-map", metavar="OUT", help="also write per pixel the world x y z of "
                   "the maximum and its depth along the view (.npy, .nii.gz, .tif)")
    g = p.add_argument_group("batch")
    g.add_argument("--contact-sheet", action="store_true",
                   help="one PNG per input with its views side by side (<name>_sheet.png)")
    g.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="worker processes, each with its own headless context (default 1)")
    g.add_argument("--dask", metavar="ADDRESS",
                   help="run on a Dask cluster, e.g. tcp://scheduler:8786 (pip install "
                        "glmip[dask])")
    g.add_argument("--skip-existing", action="store_true",
                   help="leave out inputs whose outputs all exist (resume a batch)")
    g.add_argument("--quiet", action="store_true", help="no progress bar or summary")
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


def check_output_dir(out_dir: Path, inputs: list[str]) -> None:
    """Refuse an output directory that is an input directory or lies inside one (outputs would
    land among the inputs: a stack of PNGs would grow)."""
    target = os.path.realpath(out_dir)
    for src in inputs:
        real = os.path.realpath(src)
        if os.path.isdir(real) and (target == real or target.startswith(real + os.sep)):
            raise UsageError(f"{out_dir}: the output directory is inside the input {src}")


def png_metadata(vol: Volume, args: Any, camera, settings, renderer=None) -> dict:
    """Text chunks that say how a PNG was made (``args`` is unused, kept for callers)."""
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


def view_cameras(args: argparse.Namespace) -> list[tuple[str, Any]]:
    """(label, Camera) for each view of ``--view a,b,c`` (or the single view given)."""
    if args.view_dir:
        return [("custom", camera_from_args(args))]
    names = [v.strip() for v in (args.view or "superior").split(",")]
    if any(not n for n in names):
        raise UsageError(f"--view: empty name in '{args.view}'")
    cams = []
    for name in names:
        one = copy.copy(args)
        one.view = name
        cams.append((name, camera_from_args(one)))
    return cams


def _shader_error(exc: Exception) -> UsageError:
    return UsageError(str(exc))


def run(args: argparse.Namespace) -> int:
    from ..programs import ShaderError

    try:
        if is_directory_target(args.output):
            return run_batch(args)
        return run_single(args)
    except ShaderError as exc:
        raise _shader_error(exc) from None


def run_single(args: argparse.Namespace) -> int:
    from ..api import _renderer_for
    from ..batch import contact_sheet
    from ..export import save_depth_map, save_values, value_suffix
    from ..pngio import save_png

    if len(args.inputs) > 1:
        raise UsageError(f"{len(args.inputs)} inputs need an output directory: -o DIR/")
    if args.jobs != 1 or args.dask or args.skip_existing:
        raise UsageError("--jobs, --dask and --skip-existing are for a batch: -o DIR/")
    args.input = args.inputs[0]
    views = view_cameras(args)
    if len(views) > 1 and not args.contact_sheet:
        raise UsageError("several views need an output directory (-o DIR/) or --contact-sheet")
    settings = settings_from_args(args)
    out = check_output(args.output, [args.input])
    if out.suffix.lower() != ".png":
        raise UsageError(f"{out}: the output must be a .png file")
    extra = [p for p in (args.values, args.depth_map) if p]
    if extra and len(views) > 1:
        raise UsageError("--values and --depth-map take one view")
    for path in extra:
        check_output(path, [args.input])
        value_suffix(path)
    if args.depth_map and value_suffix(args.depth_map) == ".png":
        raise UsageError(f"{args.depth_map}: a depth map needs .npy, .nii.gz or .tif")
    names = [os.path.realpath(p) for p in (args.output, *extra)]
    if len(set(names)) != len(names):
        raise UsageError("-o, --values and --depth-map must name different files")
    vol = load_input(args.input, args)
    renderer = _renderer_for(vol)
    camera = views[0][1]
    images = [renderer.render(cam, settings, args.size) for _, cam in views]
    image = images[0] if len(images) == 1 else contact_sheet(images)
    meta = png_metadata(vol, args, camera, settings)
    if len(views) > 1:
        meta["glmip:view"] = ",".join(v for v, _ in views)
    if extra:
        proj = renderer.project(camera, settings, args.size, exact_values=True)
        if args.values:
            save_values(args.values, proj, meta)
        if args.depth_map:
            save_depth_map(args.depth_map, proj, meta)
    save_png(out, image, meta)
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


def run_batch(args: argparse.Namespace) -> int:
    from ..batch import expand_inputs, make_tasks, process_pool, render_batch

    if args.values or args.depth_map:
        raise UsageError("--values and --depth-map go with a single -o OUT.png")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if args.dask and args.jobs != 1:
        raise UsageError("give --jobs or --dask, not both")
    views = view_cameras(args)
    settings = settings_from_args(args)
    quiet = args.quiet
    show = not quiet and sys.stderr.isatty()
    out_dir = Path(args.output)
    inputs, missing = expand_inputs(args.inputs)
    if not inputs and not missing:
        raise UsageError("no readable input found")
    remote = bool(args.dask)
    if remote:  # workers may run elsewhere: give them absolute paths
        inputs = [os.path.abspath(p) for p in inputs]
        out_dir = out_dir.resolve()
        if settings.shader:
            settings.shader = os.path.abspath(settings.shader)
    try:
        tasks = make_tasks(inputs, out_dir, views, settings, args.size,
                           sheet=args.contact_sheet, reader_options=reader_options(args))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    taken = {os.path.realpath(p) for p in inputs}
    check_output_dir(out_dir, [*args.inputs, *inputs])
    for task in tasks:
        for o in task.outputs:
            if os.path.realpath(o) in taken:
                raise UsageError(f"{o}: the output would overwrite an input")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{out_dir}: cannot create the output directory ({exc.strerror})") \
            from None

    def report(outcome) -> None:
        if outcome.error:
            from tqdm import tqdm

            tqdm.write(f"glmip render: error: {outcome.error}", file=sys.stderr)

    for _, msg in missing:
        print(f"glmip render: error: {msg}", file=sys.stderr)
    client = None
    if remote:
        client, executor = _dask_executor(args.dask)
    elif args.jobs > 1:
        executor = process_pool(args.jobs)
    else:
        executor = None
    try:
        result = render_batch(tasks, executor, skip_existing=args.skip_existing,
                              progress=show, on_outcome=report)
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
