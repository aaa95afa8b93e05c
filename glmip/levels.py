"""Which pyramid level the viewer shows, and when it moves to the next finer one.

A multiscale volume (an OME-Zarr pyramid: ``Volume.meta["levels"]``) opens on its coarsest
level, so the first picture of a volume far larger than memory appears within seconds. When the
camera has been still for ``settle`` seconds, and a picture of the current level has been drawn,
the next finer level starts loading: read and prepared in the background while the window keeps
drawing the current level and taking input, then shown (one level at a time, down to level 0,
full resolution). Moving the camera only delays the start of the next load (a load under way
goes on); it never goes back to a coarser level. A level the user asked for
(``--pyramid-level``) pins the viewer there.

Pure: the viewer (:mod:`glmip.app`) loads and uploads; this module only decides
(docs/viewer.md, docs/big-data.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["LevelPolicy", "level_count"]


def level_count(meta: Mapping[str, Any]) -> int:
    """How many pyramid levels a volume's metadata lists (1 for a single-scale volume)."""
    return max(1, len(meta.get("levels") or ()))


@dataclass
class LevelPolicy:
    """The refinement schedule of a multiscale volume in the viewer.

    count
        Number of levels (0 is full resolution, ``count - 1`` the coarsest).
    current
        The level shown now.
    settle
        Seconds the camera must rest before the next finer level is loaded.
    """

    count: int
    current: int
    settle: float = 0.3
    last_motion: float = -1e9
    drawn: bool = False  # a picture of the current level has been drawn
    loading: int | None = None  # the level being loaded in the background
    progress: float = 0.0  # how far that load is, 0 to 1
    stopped: bool = False  # a level could not be loaded: stay on the current one

    @classmethod
    def for_volume(cls, meta: Mapping[str, Any], reader_options: Mapping[str, Any],
                   settle: float = 0.3) -> "LevelPolicy | None":
        """The policy for a volume read with ``reader_options``, starting on its coarsest level;
        None when there is nothing to refine (one level) or the user chose a level
        (``pyramid_level`` among the reader options pins the viewer to it)."""
        count = level_count(meta)
        if count < 2 or reader_options.get("pyramid_level") is not None:
            return None
        return cls(count=count, current=count - 1, settle=settle)

    @property
    def coarsest(self) -> int:
        return self.count - 1

    @property
    def done(self) -> bool:
        """True once full resolution (level 0) is shown."""
        return self.current == 0

    def motion(self, now: float) -> None:
        """The camera or the picture's settings moved: wait ``settle`` seconds again."""
        self.last_motion = now

    def frame_drawn(self) -> None:
        self.drawn = True

    def next_level(self, now: float, busy: bool = False) -> int | None:
        """The level to load now, or None: the next finer one when the current level has been
        drawn, the camera has rested ``settle`` seconds, nothing is ``busy`` (a drag) and no
        level is loading."""
        if (self.done or self.stopped or self.loading is not None or busy or not self.drawn
                or now - self.last_motion < self.settle):
            return None
        return self.current - 1

    def start(self, level: int) -> None:
        """``level`` starts loading in the background (the current one stays shown)."""
        self.loading, self.progress = int(level), 0.0

    def loaded(self, level: int) -> None:
        """``level`` is now the one shown (its picture not drawn yet)."""
        self.current = int(level)
        self.drawn = False
        self.loading, self.progress = None, 0.0

    def failed(self) -> None:
        """The level being loaded could not be read: stay on the current one, load no other."""
        self.loading, self.progress, self.stopped = None, 0.0, True

    def cancelled(self) -> None:
        """The load under way was given up (a new volume, the window closing)."""
        self.loading, self.progress = None, 0.0

    def status(self, voxel_mm: float) -> str:
        """A few words for the status line: which level, its voxel size, whether refining (and
        how far the level loading is)."""
        if self.done:
            return f"level 0 of {self.coarsest} (full resolution, {voxel_mm:.3g} mm voxels)"
        shown = f"level {self.current} of {self.coarsest} ({voxel_mm:.3g} mm voxels)"
        if self.loading is not None:
            return (f"{shown} — loading level {self.loading}: "
                    f"{int(100 * min(max(self.progress, 0.0), 1.0))} %")
        return shown if self.stopped else f"{shown} — refining"
