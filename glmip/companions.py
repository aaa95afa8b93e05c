"""The other volumes a picture may use besides the one uploaded, kept between frames.

A mask (``settings.mask``) becomes one texture per brick on the uploaded grid
(:func:`glmip.raycast.mask_in_grid`); segmentations (``settings.labels``) are loaded once
with their colour tables; each fused layer (``settings.fuse``) gets a renderer of its own on
the same context. Each is remade only when its source changes. GL only where a texture is
made; the renderer draws with them.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import moderngl
import numpy as np

from . import raycast
from .adapters import as_volume
from .errors import VolumeError
from .settings import RenderSettings
from .volume import Volume

__all__ = ["Companions"]


def _same(a: object, b: object) -> bool:
    """The same source: the same object, or the same path."""
    return a is b or (isinstance(a, str) and a == b)


class Companions:
    def __init__(self, ctx: moderngl.Context, make_renderer: Callable[[], Any]):
        """``make_renderer`` makes a renderer for a fused layer (the owner's class: this module
        does not import the renderer, which imports it)."""
        self.ctx = ctx
        self._make_renderer = make_renderer
        self.masks: list[moderngl.Texture3D] = []
        self._mask_key: tuple | None = None
        self._labels: tuple | None = None
        self._fused: list[tuple[object, Any]] = []

    def mask_textures(self, settings: RenderSettings, volume: Volume, axes: Sequence[int],
                      bricks: Sequence[Any]) -> bool:
        """Make the mask textures of ``settings.mask`` (one per brick, on the uploaded grid)
        unless they are made already; False without a mask."""
        if settings.mask is None:
            return False
        source = settings.mask
        key = self._mask_key
        if key is None or key[1] != settings.mask_mode or not _same(key[0], source):
            self.release_masks()
            inside = raycast.mask_in_grid(volume, as_volume(source), settings.mask_mode)
            inside = inside.transpose(axes)  # the uploaded volume's axes
            for brick in bricks:
                s0 = np.asarray(brick.start)
                n = brick.volume.shape
                part = inside[s0[0] : s0[0] + n[0], s0[1] : s0[1] + n[1], s0[2] : s0[2] + n[2]]
                size = brick.texture_size  # as the brick's texture, with its repeated layer
                pad = [(0, int(a < b)) for a, b in zip(n, size)]
                part = np.pad(part.astype(np.float32), pad, mode="edge")
                tex = self.ctx.texture3d(size, 1, dtype="f4")
                tex.write(np.ascontiguousarray(part.transpose(2, 1, 0)),
                          viewport=(0, 0, 0, *part.shape))
                tex.repeat_x = tex.repeat_y = tex.repeat_z = False
                self.masks.append(tex)
            self._mask_key = (source, settings.mask_mode)
        return True

    def label_sources(self, settings: RenderSettings) -> list[tuple]:
        """(segmentation volume, colour table or None) of each of ``settings.labels`` in
        order, loaded once: ``label_colors`` holds one table for all or one per
        segmentation."""
        sources = tuple(settings.labels or ())
        tables = tuple(settings.label_colors or ())
        if len(tables) not in (0, 1, len(sources)):
            raise VolumeError(f"{len(tables)} label colour tables for {len(sources)} "
                              f"segmentations: give one for all or one per segmentation")
        cached = self._labels
        if (cached is None or len(cached[0][0]) != len(sources) or cached[0][1] != tables
                or not all(_same(a, b) for a, b in zip(cached[0][0], sources))):
            read = {t: raycast.read_label_table(str(t)) for t in dict.fromkeys(tables)}
            loaded = [(as_volume(src), read[tables[min(k, len(tables) - 1)]] if tables else None)
                      for k, src in enumerate(sources)]
            self._labels = ((sources, tables), loaded)
        return self._labels[1]  # type: ignore[index]

    def fused_renderer(self, k: int, source: object) -> Any:
        """The renderer of fused layer ``k`` with ``source`` (a path or any volume) uploaded;
        kept while the layer's source stays the same."""
        while len(self._fused) <= k:
            self._fused.append((None, self._make_renderer()))
        old, renderer = self._fused[k]
        if not _same(old, source) or renderer.volume is None:
            renderer.upload(source if isinstance(source, Volume) else as_volume(source))
            self._fused[k] = (source, renderer)
        return renderer

    def release_masks(self) -> None:
        for tex in self.masks:
            tex.release()
        self.masks, self._mask_key = [], None

    def release(self) -> None:
        """Let every companion go (the volume they went with was unloaded)."""
        self.release_masks()
        self._labels = None
        for _, renderer in self._fused:
            renderer.release()
        self._fused = []
