"""Every error glmip reports as one line (exit status 2 on the command line).

This module imports nothing of glmip, so any layer may raise these without an import cycle.
Messages name the file (or the option) and the problem, on one line, with no traceback.
"""

from __future__ import annotations

__all__ = ["GlmipError", "InputError", "VolumeError", "UsageError", "OutputError",
           "ShaderError", "ContextError", "BAD_INPUT"]


class GlmipError(Exception):
    """Base of the errors below: the message is what the user reads."""


class InputError(GlmipError):
    """Bad input: the message is one line naming the file and what is wrong."""


class VolumeError(GlmipError, ValueError):
    """A volume that cannot be shown (wrong dimensions, bad affine, unsupported values)."""


class UsageError(GlmipError):
    """Bad arguments or options (not tied to one input file)."""


class OutputError(UsageError):
    """An output that cannot or must not be written (missing folder, would overwrite an input,
    not writable)."""


class ContextError(UsageError):
    """No OpenGL context could be made; the message says what to install."""


class ShaderError(GlmipError):
    """A shader that does not compile or link: ``path``, ``line`` and the driver's message."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path, self.line, self.message = path, line, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")

    def __reduce__(self):  # picklable, so a worker process can send it back
        return (ShaderError, (self.path, self.line, self.message))


BAD_INPUT = (GlmipError,)
