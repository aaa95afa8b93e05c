"""Building GL programs from one-file GLSL sources (``#version`` on line 1, stages under
``#if defined VERTEX_SHADER`` / ``#elif defined FRAGMENT_SHADER``), with ``#include "file"``
(looked up beside the including file, then in glmip's ``shaders/`` folder) and compile errors
turned into :class:`ShaderError` naming the file and line."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import moderngl

from .errors import ShaderError
from .resources import resource_dir

__all__ = ["ShaderError", "build_program", "stage_source", "expand_includes", "writes_colour"]

MAX_SHADER_BYTES = 1 << 20  # a shader is text; anything larger is not one
_INCLUDE = re.compile(r'^\s*#include\s+"([^"]+)"\s*$')
# Mesa: "0:12(5): error: ..."; NVIDIA: "0(12) : error ..."; others: "ERROR: 0:12: ..."
_LINE = re.compile(r"(?:^|\s)(\d+)[:(](\d+)[)(:]")
# Block and line comments: removed before looking for declarations.
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
# A fragment output named f_color: [layout(...)] out [precision] vec4 f_color;
_COLOUR_OUT = re.compile(
    r"(?:^|[;\s])(?:layout\s*\([^)]*\)\s*)?out\s+(?:(?:lowp|mediump|highp)\s+)?vec4\s+f_color\s*;")


def expand_includes(source: str, path: Path, files: list[Path], depth: int = 0) -> str:
    """Replace ``#include "name"`` lines by the file's text between ``#line`` directives, so
    the driver's messages carry (source number, line); ``files[n]`` is source number n."""
    if depth > 8:
        raise ShaderError(str(path), None, "#include nested too deeply")
    number = len(files) - 1  # this file's source number (it was just appended)
    out = []
    for lineno, line in enumerate(source.splitlines(), start=1):
        m = _INCLUDE.match(line)
        if not m:
            out.append(line)
            continue
        name = m.group(1)
        target = next((p for p in (path.parent / name, resource_dir("shaders") / name)
                       if p.is_file()), None)
        if target is None:
            raise ShaderError(str(path), lineno, f'#include "{name}": no such file')
        files.append(target)
        number_of_target = len(files) - 1
        body = expand_includes(read_source(target), target, files, depth + 1)
        out += [f"#line 1 {number_of_target}", body, f"#line {lineno + 1} {number}"]
    return "\n".join(out)


def read_source(path: Path) -> str:
    """A shader file's text; ShaderError (not a traceback) if unreadable, not a regular file
    (a FIFO or a device would be read forever), larger than MAX_SHADER_BYTES or not UTF-8."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ShaderError(str(path), None, "not a regular file")
        if info.st_size > MAX_SHADER_BYTES:
            raise ShaderError(str(path), None, f"{info.st_size} bytes is too large for a "
                              f"shader (at most {MAX_SHADER_BYTES})")
        return path.read_text(encoding="utf-8")
    except RuntimeError:  # a symbolic link loop on Python < 3.13
        raise ShaderError(str(path), None, "symbolic link loop") from None
    except OSError as exc:
        raise ShaderError(str(path), None, f"cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ShaderError(str(path), None, "not a text file (UTF-8 expected)") from None


def writes_colour(path: str | Path) -> bool:
    """True for a projection shader that writes final colours: its source (includes expanded,
    comments removed) declares ``out vec4 f_color;``, optionally with ``layout(...)``. A
    comment or another identifier that merely mentions f_color does not count."""
    path = Path(path)
    source = expand_includes(read_source(path), path, [path])
    return _COLOUR_OUT.search(_COMMENT.sub(" ", source)) is not None


def stage_source(source: str, stage: str, defines: dict[str, object] | None = None) -> str:
    """The source with ``#define <stage>`` (and ``defines``) after ``#version``, keeping line
    numbers."""
    head = "".join(f"#define {k} {v}\n" for k, v in (defines or {}).items())
    lines = source.splitlines()
    if not lines or not lines[0].lstrip().startswith("#version"):
        return f"#version 330 core\n#define {stage}\n{head}#line 1 0\n{source}\n"
    return f"{lines[0]}\n#define {stage}\n{head}#line 2 0\n" + "\n".join(lines[1:]) + "\n"


def _first_error(log: str) -> tuple[int, int | None, str]:
    """(source number, line, message) of the first error in a driver's log."""
    for raw in log.splitlines():
        line = raw.strip()
        if "error" in line.lower():
            m = _LINE.search(line)
            return (int(m.group(1)), int(m.group(2)), line) if m else (0, None, line)
    text = log.strip().splitlines()
    return 0, None, (text[0] if text else "unknown error")


def build_program(ctx: moderngl.Context, path: str | Path,
                  defines: dict[str, object] | None = None) -> moderngl.Program:
    """Build a one-file shader; ``defines`` become ``#define NAME VALUE`` lines."""
    path = Path(path)
    source = read_source(path)
    files = [path]
    source = expand_includes(source, path, files)
    try:
        return ctx.program(
            vertex_shader=stage_source(source, "VERTEX_SHADER", defines),
            fragment_shader=stage_source(source, "FRAGMENT_SHADER", defines),
        )
    except moderngl.Error as exc:
        number, line, message = _first_error(str(exc))
        where = files[number] if 0 <= number < len(files) else path
        raise ShaderError(str(where), line, message) from None
