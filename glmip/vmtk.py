"""``vmtkimagemipviewer``: vmtk's MIP viewer command, on glmip.

The argument syntax is vmtk's (PypeS): ``-name value...`` with exact option names, an option's
values running up to the next token that starts with ``-`` and a letter (so ``-windowlevel 400
-100`` works), booleans written ``0`` or ``1``, and vmtk's error wording. Usage errors exit with
status 2. glmip runs this one script: vmtk's pipes (``--pipe``, ``@`` values, ``-i``/``-o``
objects) are not available; ``-ifile`` reads the image and ``-ofile`` writes it back out
(vmtk's pass-through output) in the format of its extension.

Differences from vmtk, on purpose: automatic sample distance (the default) uses the smallest
voxel spacing at rest and coarser frames while dragging; an explicit ``-sampledistance`` is
honoured even then. ``-opacity a b`` follows docs/conventions.md (vmtk's own ramp has a bug).
"""

from __future__ import annotations

import os
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence, TextIO

from .camera import Camera
from .errors import BAD_INPUT, OutputError
from .io import copy_image, load, suffix_of, writable_suffixes
from .outputs import check_output_file
from .settings import RenderSettings

__all__ = ["main", "parse_arguments", "usage", "VmtkUsageError"]

SCRIPT = "vmtkimagemipviewer"
SCRIPT_DOC = "display a 3D image"
WINDOW_SIZE = (800, 600)  # vmtkRenderer's default
MAGNIFICATION = 4  # vmtkRenderer's ScreenshotMagnification


@dataclass
class Member:
    name: str
    option: str
    type: str
    length: int
    range: str = ""
    doc: str = ""
    default: Any = ""


INPUT_MEMBERS = [
    Member("Id", "id", "str", 1, "", "script id", "0"),
    Member("Self", "handle", "self", 1, "", "handle to self"),
    Member("Disabled", "disabled", "bool", 1, "", "disable execution and piping", 0),
    Member("Image", "i", "vtkImageData", 1, "", "the input image"),
    Member("ImageInputFileName", "ifile", "str", 1, "", "filename for the default Image reader"),
    Member("ArrayName", "array", "str", 1, "", "name of the array to display"),
    Member("vmtkRenderer", "renderer", "vmtkRenderer", 1, "", "external renderer"),
    Member("SampleDistance", "sampledistance", "float", 1, "(0.0,)",
           "the distance at sample projections are generated", 1.0),
    Member("AutoSampleDistance", "autosampledistance", "bool", 1, "",
           "toggle automatic sample distance", 1),
    Member("WindowLevel", "windowlevel", "float", 2, "",
           "the window/level for generating the rendering", [0.0, 0.0]),
    Member("Opacity", "opacity", "float", 2, "",
           "the opacity range is defined from 0 (transparent) to 1 (opaque)", None),
    Member("Display", "display", "bool", 1, "", "toggle rendering", 1),
    Member("ImageOutputFileName", "ofile", "str", 1, "", "filename for the default Image writer"),
]
OUTPUT_MEMBERS = [
    Member("Id", "id", "str", 1, "", "script id", "0"),
    Member("Self", "handle", "self", 1, "", "handle to self"),
    Member("Image", "o", "vtkImageData", 1, "", "the output image"),
]
BY_OPTION = {m.option: m for m in INPUT_MEMBERS}
PYTHON_OBJECTS = {"handle", "i", "renderer"}  # vmtk passes these between scripts in a pipe


class VmtkUsageError(Exception):
    """A bad command line: the message is vmtk's wording."""


def _range_text(member: Member) -> str:
    lo, _, hi = member.range.strip("()").partition(",")
    parts = []
    if lo:
        parts.append(f">= {lo}")
    if hi:
        parts.append(f"<= {hi}")
    return " and ".join(parts)


def usage() -> str:
    """The usage text in vmtk's layout (``pypeScript.GetUsageString``)."""
    wrapper = textwrap.TextWrapper()
    out = wrapper.fill(f"{SCRIPT} : {SCRIPT_DOC}")
    for title, members in (("Input arguments:", INPUT_MEMBERS), ("Output arguments:", OUTPUT_MEMBERS)):
        out += "\n  " + title
        wrapper.initial_indent, wrapper.subsequent_indent = "   ", "     "
        for m in members:
            text = f"-{m.option} {m.name} ({m.type},{m.length})"
            if m.type in ("int", "str", "float", "bool"):
                if m.range:
                    text += " " + _range_text(m)
                if m.default != "":
                    text += f"; default={m.default}"
            if m.doc:
                text += ": " + m.doc
            out += "\n" + wrapper.fill(text)
    return out + "\n"


def _is_option(token: str) -> bool:
    """vmtk's test: '-' followed by a letter or '-' (so '-100' is a value)."""
    return len(token) > 1 and token[0] == "-" and (token[1].isalpha() or token[1] == "-")


def parse_arguments(argv: Sequence[str]) -> dict[str, Any]:
    """Member values by option name, vmtk-style; raises :class:`VmtkUsageError`."""
    args = list(argv)
    for arg in args:
        if arg == "-":
            raise VmtkUsageError(f"{SCRIPT} error: unknown option {arg}")
        if arg.startswith("--"):
            if arg in ("--help", "--doc", "--pipe"):
                continue
            raise VmtkUsageError(f"{SCRIPT} error: unknown option {arg}")
        if _is_option(arg) and arg[1:].rstrip("@") not in BY_OPTION:
            raise VmtkUsageError(f"{SCRIPT} error: unknown option {arg}")
    positions = [i for i, a in enumerate(args) if _is_option(a)]
    if args and (not positions or positions[0] > 0):
        stray = args[0]
        raise VmtkUsageError(
            f"{SCRIPT} error: unexpected argument {stray} (give the image as -ifile {stray})"
        )
    values: dict[str, Any] = {}
    for n, start in enumerate(positions):
        end = positions[n + 1] if n + 1 < len(positions) else len(args)
        option = args[start][1:].rstrip("@")
        member = BY_OPTION[option]
        raw = args[start + 1 : end]
        if any(v.startswith("@") for v in raw) or args[start].endswith("@"):
            raise VmtkUsageError(
                f"Error for option -{option}: pipes (@) are not supported; "
                f"glmip runs {SCRIPT} on its own"
            )
        if option in PYTHON_OBJECTS:
            hint = " (read the image with -ifile FILE)" if option == "i" else ""
            raise VmtkUsageError(
                f"Error for option -{option}: a {member.type} object only exists inside a vmtk "
                f"pipe, which glmip does not run{hint}"
            )
        parsed: list[Any] = []
        for value in raw:
            try:
                if member.type == "float":
                    parsed.append(float(value))
                elif member.type == "int" or member.type == "bool":
                    parsed.append(int(value))
                else:
                    parsed.append(value)
            except ValueError:
                kind = "int" if member.type == "bool" else member.type
                raise VmtkUsageError(
                    f"Error for option -{option}: {value} is not a valid {kind}."
                ) from None
        if len(parsed) != member.length:
            raise VmtkUsageError(
                f"Error for option -{option}: {len(parsed)} entries given, "
                f"{member.length} expected."
            )
        if member.type == "bool" and any(v not in (0, 1) for v in parsed):
            raise VmtkUsageError(f"Error for option -{option}: should be either 0 or 1")
        if option == "sampledistance" and not parsed[0] > 0:
            raise VmtkUsageError(f"Error for option -{option}: should be > 0.0")
        if option == "opacity" and not all(0.0 <= v <= 1.0 for v in parsed):
            raise VmtkUsageError(f"Error for option -{option}: should be >= 0.0 and <= 1.0")
        values[option] = parsed[0] if member.length == 1 else parsed
    return values


def _say(stream: TextIO, text: str) -> None:
    stream.write(text + "\n")
    stream.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """vmtkimagemipviewer's command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out, err = sys.stdout, sys.stderr
    if "--help" in argv:
        _say(out, "")
        out.write(usage())
        _say(out, "")
        return 0
    if "--doc" in argv:
        _say(out, SCRIPT_DOC)
        return 0
    if "--pipe" in argv:
        _say(err, f"{SCRIPT} error: --pipe is not supported: glmip runs this one script, "
                  f"not vmtk pipes. Read the image with -ifile FILE; the glmip equivalents are "
                  f"'glmip view FILE' (window) and 'glmip render FILE -o OUT.png' (image).")
        return 2
    try:
        values = parse_arguments(argv)
    except VmtkUsageError as exc:
        _say(err, str(exc))
        return 2
    if values.get("disabled", 0) == 1:
        _say(out, f"{SCRIPT} is disabled (-disabled 1): skipping it.")
        return 0
    try:
        return _execute(values, out)
    except VmtkUsageError as exc:
        _say(err, str(exc))
        return 2


def _execute(values: dict[str, Any], out: TextIO) -> int:

    path = values.get("ifile")
    if not path:
        raise VmtkUsageError("Error: no Image.")
    options = {"array": values["array"]} if values.get("array") else {}
    try:
        volume = load(path, **options)
    except BAD_INPUT as exc:
        raise VmtkUsageError(f"{SCRIPT} error: {exc}") from None
    ofile = values.get("ofile")
    if ofile:
        _check_output(ofile, path)
    display = values.get("display", 1)
    status = 0
    if display == 1:
        status = _show(volume, path, options, values)
    if ofile:
        try:
            copy_image(path, ofile, **options)  # every array and field data, as it was
        except BAD_INPUT as exc:
            raise VmtkUsageError(f"{SCRIPT} error: {exc}") from None
        _say(out, f"Image written to {ofile}")
    return status


def _check_output(ofile: str, ifile: str) -> None:
    try:
        check_output_file(ofile, [ifile])
    except OutputError as exc:
        raise VmtkUsageError(f"{SCRIPT} error: {exc}") from None
    suffix = suffix_of(Path(ofile))
    if suffix not in writable_suffixes():  # say so before opening a window
        known = " ".join(sorted(writable_suffixes()))
        raise VmtkUsageError(f"{SCRIPT} error: {ofile}: cannot write '{suffix or ofile}' files "
                             f"(known: {known})")


def _show(volume: Any, path: str, options: dict[str, Any], values: dict[str, Any]) -> int:
    from .app import ViewerOptions, open_viewer  # window libraries: only when one opens

    window, level = values.get("windowlevel", [0.0, 0.0])
    auto = values.get("autosampledistance", 1) == 1
    step = values.get("sampledistance")
    if not auto and step is None:
        step = 1.0  # vmtk's default
    try:
        settings = RenderSettings(
            window=window if window > 0 else None,
            level=level if window > 0 else None,
            sample_distance=step,
            opacity=values.get("opacity"),
        )
    except ValueError as exc:
        raise VmtkUsageError(f"{SCRIPT} error: {exc}") from None
    viewer_options = ViewerOptions(input_path=path, reader_options=options,
                                   magnification=MAGNIFICATION, auto_sample_distance=auto)
    try:
        return open_viewer(volume, Camera.standard("superior"), settings, viewer_options,
                           size=WINDOW_SIZE, title=f"{SCRIPT} - {os.path.basename(path)}")
    except BAD_INPUT as exc:
        raise VmtkUsageError(f"{SCRIPT} error: {exc}") from None


if __name__ == "__main__":
    sys.exit(main())
