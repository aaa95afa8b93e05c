"""Building GL programs from one-file GLSL sources (``#version`` on line 1, stages under
``#if defined VERTEX_SHADER`` / ``#elif defined FRAGMENT_SHADER``), with compile errors turned
into :class:`ShaderError` naming the file and line."""

from __future__ import annotations

import re
from pathlib import Path

import moderngl

__all__ = ["ShaderError", "build_program", "stage_source"]


class ShaderError(Exception):
    """A shader that does not compile or link: ``path``, ``line`` and the driver's message."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path, self.line, self.message = path, line, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


def stage_source(source: str, stage: str) -> str:
    """The source with ``#define <stage>`` after ``#version``, keeping line numbers."""
    lines = source.splitlines()
    if not lines or not lines[0].lstrip().startswith("#version"):
        return f"#version 330 core\n#define {stage}\n#line 1\n{source}"
    return f"{lines[0]}\n#define {stage}\n#line 2\n" + "\n".join(lines[1:]) + "\n"


# Mesa: "0:12(5): error: ..."; NVIDIA: "0(12) : error ..."; others: "ERROR: 0:12: ..."
_LINE = re.compile(r"(?:^|\s)\d+[:(](\d+)[)(:]")


def _first_error(log: str) -> tuple[int | None, str]:
    for raw in log.splitlines():
        line = raw.strip()
        if "error" in line.lower():
            m = _LINE.search(line)
            return (int(m.group(1)) if m else None), line
    text = log.strip().splitlines()
    return None, (text[0] if text else "unknown error")


def build_program(ctx: moderngl.Context, path: str | Path) -> moderngl.Program:
    path = Path(path)
    try:
        source = path.read_text()
    except OSError as exc:
        raise ShaderError(str(path), None, f"cannot read ({exc.strerror})") from None
    try:
        return ctx.program(
            vertex_shader=stage_source(source, "VERTEX_SHADER"),
            fragment_shader=stage_source(source, "FRAGMENT_SHADER"),
        )
    except moderngl.Error as exc:
        line, message = _first_error(str(exc))
        raise ShaderError(str(path), line, message) from None
