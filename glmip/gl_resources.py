"""The GL objects a renderer keeps between frames: programs, render targets, colour tables.

Programs are built once per (shader file, #defines); targets are kept for the three most
recently used sizes of each kind (the window, dragging frames, tiles); colour tables once per
name. :meth:`GLResources.release` frees all of them. GL only; no volume, no geometry.
"""

from __future__ import annotations

from pathlib import Path

import moderngl
import numpy as np

from .colormaps import colormap_lut
from .programs import build_program, writes_colour

__all__ = ["GLResources"]

KEPT_SIZES = 3  # of each kind of target


class GLResources:
    def __init__(self, ctx: moderngl.Context, default_shader: Path) -> None:
        self.ctx = ctx
        self.default_shader = default_shader
        self._programs: dict[tuple, moderngl.Program] = {}
        self._vaos: dict[tuple, moderngl.VertexArray] = {}
        self._colour_shaders: dict[str, bool] = {}
        self._luts: dict[str, moderngl.Texture] = {}
        self._targets: dict[tuple[int, int, str], tuple] = {}
        self._state_targets: dict[tuple[int, int, str], tuple] = {}

    # --- programs -----------------------------------------------------------------------
    def program(self, path: str | Path | None = None, defines: dict[str, object] | None = None
                ) -> tuple[moderngl.Program, moderngl.VertexArray]:
        """The program of a shader file (default: the built-in projection) with ``defines``,
        built once."""
        name = str(path or self.default_shader)
        key = (name, tuple(sorted((defines or {}).items())))
        if key not in self._programs:
            prog = build_program(self.ctx, name, defines)
            self._programs[key] = prog
            self._vaos[key] = self.ctx.vertex_array(prog, [])
        return self._programs[key], self._vaos[key]

    def writes_colour(self, path: str | Path | None) -> bool:
        """True for a projection shader that writes final colours (declares ``out vec4
        f_color``, see :func:`glmip.programs.writes_colour`) instead of values; the display
        pass then only copies them."""
        if path is None:
            return False
        key = str(path)
        if key not in self._colour_shaders:
            self._colour_shaders[key] = writes_colour(path)
        return self._colour_shaders[key]

    def forget_program(self, path: str | Path) -> None:
        """Drop the cached programs of a file (e.g. a user shader that changed on disk)."""
        self._colour_shaders.pop(str(path), None)
        for key in [k for k in self._programs if k[0] == str(path)]:
            self._vaos.pop(key).release()
            self._programs.pop(key).release()

    # --- targets and colour tables --------------------------------------------------------
    def _texture(self, cols: int, rows: int, dtype: str) -> moderngl.Texture:
        tex = self.ctx.texture((cols, rows), 4, dtype=dtype)
        tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        tex.repeat_x = tex.repeat_y = False
        return tex

    @staticmethod
    def _recent(cache: dict, key: tuple) -> bool:
        """Move ``key`` to the end (most recent) if cached; then evict old sizes of its kind."""
        if key in cache:
            cache[key] = cache.pop(key)
            return True
        for old in [k for k in cache if k[2] == key[2]][: -(KEPT_SIZES - 1)]:
            _release(cache.pop(old))
        return False

    def target(self, cols: int, rows: int, kind: str) -> tuple[moderngl.Texture, moderngl.Framebuffer]:
        """(texture, framebuffer) of ``kind`` at this size: RGBA8 for ``colour``, else RGBA32F."""
        key = (cols, rows, kind)
        if not self._recent(self._targets, key):
            tex = self._texture(cols, rows, "f1" if kind == "colour" else "f4")
            self._targets[key] = (tex, self.ctx.framebuffer([tex]))
        return self._targets[key]

    def state_target(self, cols: int, rows: int, kind: str
                     ) -> tuple[moderngl.Texture, moderngl.Framebuffer, moderngl.Texture]:
        """(values, framebuffer, state): an RGBA32F target with a second RGBA32F colour
        attachment (``layout(location = 1)``) for the running state of a ray that continues
        in the next brick's pass (mida's pictures, lmip)."""
        key = (cols, rows, kind)
        if not self._recent(self._state_targets, key):
            texs = [self._texture(cols, rows, "f4") for _ in range(2)]
            self._state_targets[key] = (texs[0], self.ctx.framebuffer(texs), texs[1])
        return self._state_targets[key]

    def lut(self, name: str) -> moderngl.Texture:
        """The colour table ``name`` as a 256x1 RGBA32F texture."""
        if name not in self._luts:
            table = np.ones((256, 4), np.float32)
            table[:, :3] = colormap_lut(name)
            tex = self.ctx.texture((256, 1), 4, table.tobytes(), dtype="f4")
            tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
            self._luts[name] = tex
        return self._luts[name]

    def release(self) -> None:
        """Release every object kept here."""
        ours = {id(o) for t in (*self._targets.values(), *self._state_targets.values())
                for o in t if isinstance(o, moderngl.Framebuffer)}
        if self.ctx.fbo is not None and id(self.ctx.fbo) in ours:
            # Never leave a deleted framebuffer bound: moderngl would re-bind it later.
            self.ctx.detect_framebuffer(0).use()
        for objects in (*self._targets.values(), *self._state_targets.values()):
            _release(objects)
        for obj in [*self._vaos.values(), *self._programs.values(), *self._luts.values()]:
            obj.release()
        for cache in (self._programs, self._vaos, self._luts, self._targets, self._state_targets,
                      self._colour_shaders):
            cache.clear()


def _release(objects: tuple) -> None:
    """Release a target's objects: framebuffers first, then their textures."""
    for obj in sorted(objects, key=lambda o: not isinstance(o, moderngl.Framebuffer)):
        obj.release()
