"""Live reload of a user projection shader, for the window: edit, save, see.

:class:`ShaderWatcher` watches one ``.glsl`` file. Each :meth:`~ShaderWatcher.poll` looks at the
file's modification time and size; when they change it builds the new source. A good build
becomes the program to render with; a bad one (compile or link error) is reported as
``file:line: message`` and the **last good program keeps running**, so a typo never takes the
picture, let alone the viewer, down.

How the last good program is kept: the renderer caches one program per file path, and what a
projection shader writes (values or colours) is read from the file. So every version that
builds is first copied to a private snapshot file, and the window renders with the snapshot
(:attr:`ShaderWatcher.shader`, to put in ``RenderSettings.shader``). The user's file can then
be broken, half-saved or deleted without touching what is on screen. Line numbers in errors are
the user's own: the snapshot is a byte-for-byte copy.

Typical use in a window::

    watcher = ShaderWatcher(renderer, "my_mip.glsl")
    ...
    # every frame, or a few times a second:
    error = watcher.poll()
    if error:
        show_message(error)                          # e.g. "my_mip.glsl:42: 0:42(7): error: ..."
    if watcher.generation != drawn_generation:       # a new version built: draw it
        settings.shader = watcher.shader
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from .camera import Camera
from .context import headless_context
from .outputs import sweep_stale
from .programs import ShaderError, read_source
from .renderer import MipRenderer
from .settings import RenderSettings
from .volume import Volume


__all__ = ["ShaderWatcher", "check_shader", "probe_main"]

SNAPSHOT_PREFIX = "glmip-shaderlab-"
PROBE_SIZE = 32  # the test picture of a new shader version, in pixels a side


def check_shader(renderer: MipRenderer, path: str | os.PathLike[str]) -> str | None:
    """Build ``path`` once (forgetting any cached copy); the error text, or None if it builds."""
    renderer.forget_program(path)
    try:
        renderer.program(path)
    except ShaderError as exc:
        return str(exc)
    return None


class ShaderWatcher:
    """Watch a projection shader file and rebuild it when it changes.

    Parameters
    ----------
    renderer
        The renderer that draws with the shader (its context builds the programs).
    path
        The user's ``.glsl`` file (written against the uniform contract in docs/shaders.md).

    Attributes
    ----------
    shader
        Path to render with (``RenderSettings.shader``): a snapshot of the last version that
        built, or None (the built-in shader) while no version has built yet.
    error
        Text of the current error (``file:line: message``), None when the file builds.
    generation
        Counts successful builds; a change means "redraw with the new shader".
    """

    def __init__(self, renderer: MipRenderer, path: str | os.PathLike[str],
                 probe_seconds: float | None = None) -> None:
        self.renderer = renderer
        self.probe_seconds = probe_seconds
        self.path = Path(path)
        self.shader: str | None = None
        self.error: str | None = None
        self.generation = 0
        self._stamp: object = object()  # matches no file stamp: the first poll builds
        sweep_stale(tempfile.gettempdir(), prefix=SNAPSHOT_PREFIX)  # a killed window's
        self._dir = Path(tempfile.mkdtemp(prefix=SNAPSHOT_PREFIX))
        self._count = 0
        self.poll()

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def poll(self) -> str | None:
        """Rebuild if the file changed since the last poll.

        Returns the error text when this change failed to build (the last good program stays
        in :attr:`shader`), and None when nothing changed or the new version built.
        """
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        if stamp is None:
            self.error = f"{self.path}: cannot read the shader file (keeping the last good one)"
            return self.error
        return self.reload()

    def reload(self) -> str | None:
        """Build the file now, whatever its time stamp; same result as :meth:`poll`."""
        try:
            source = read_source(self.path).encode("utf-8")
        except ShaderError as exc:
            self.error = f"{exc} (keeping the last good one)"
            return self.error
        self._count += 1
        snapshot = self._dir / f"{self._count}-{self.path.name}"
        snapshot.write_bytes(source)
        try:
            self.renderer.program(snapshot)
        except ShaderError as exc:
            snapshot.unlink(missing_ok=True)
            self.error = str(ShaderError(str(self.path), exc.line, exc.message))
            return self.error
        problem = self._probe(snapshot)
        if problem is not None:
            self.renderer.forget_program(snapshot)
            snapshot.unlink(missing_ok=True)
            self.error = f"{self.path}: {problem}; keeping the last good shader"
            return self.error
        old, self.shader = self.shader, str(snapshot)
        if old is not None:
            self.renderer.forget_program(old)
            Path(old).unlink(missing_ok=True)
        self.error = None
        self.generation += 1
        return None

    def _probe(self, snapshot: Path) -> str | None:
        """Run a shader that compiled on a small test picture in another process, so a shader
        that never finishes (an endless loop) cannot freeze the caller: a GL draw call cannot be
        interrupted. None when it finished within ``probe_seconds`` (or probing is off)."""
        if self.probe_seconds is None:
            return None
        try:
            run = subprocess.run([sys.executable, "-m", "glmip.shaderlab", str(snapshot)],
                                 capture_output=True, text=True, timeout=self.probe_seconds)
        except subprocess.TimeoutExpired:
            return (f"ran longer than {self.probe_seconds:g} s on a {PROBE_SIZE}x{PROBE_SIZE} "
                    "test picture (an endless loop?)")
        if run.returncode != 0:
            lines = run.stderr.strip().splitlines()
            return f"failed on a test picture ({lines[-1] if lines else run.returncode})"
        return None

    def close(self) -> None:
        """Release the program and remove the snapshots (the shader falls back to None)."""
        if self.shader is not None:
            self.renderer.forget_program(self.shader)
        self.shader = None
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "ShaderWatcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def probe_main(path: str) -> int:
    """Render a small synthetic volume with the shader at ``path`` (what
    :meth:`ShaderWatcher._probe` runs in another process)."""
    data = np.zeros((24, 24, 24), np.uint8)
    data[6:18, 8:16, 4:20] = 200
    with MipRenderer(headless_context()) as renderer:
        renderer.upload(Volume(data))
        renderer.render(Camera.standard("anterior"), RenderSettings(shader=path),
                        (PROBE_SIZE, PROBE_SIZE))
    return 0


if __name__ == "__main__":
    sys.exit(probe_main(sys.argv[1]))
