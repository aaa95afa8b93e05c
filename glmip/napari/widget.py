"""The dock widget: the selected napari image layer, drawn by glmip with napari's 3-D camera.

Every picture goes through glmip's one pipeline (``glmip.pipeline``) with a
:class:`~glmip.recipe.Recipe` made from napari's camera (``glmip.napari.camera``) and the
layer's display settings (contrast limits -> window/level, colormap, gamma, 3-D interpolation)
plus the widget's mode, slab and size; so a PNG carries its recipe and
``glmip render`` reproduces it. napari and Qt are imported here only.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtGui import QImage, QPixmap
from qtpy.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout,
                            QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from .. import pipeline
from ..options import MODES
from ..recipe import Recipe, settings_from_options
from ..volume import Volume
from .camera import camera_from_viewer

if TYPE_CHECKING:
    import napari

__all__ = ["GlmipWidget", "layer_volume", "layer_options", "layer_affine", "glmip_gl"]

# napari's 3-D rendering -> glmip's mode, to start the mode box where napari is.
_NAPARI_MODES = {"mip": "mip", "minip": "minip", "average": "mean", "attenuated_mip": "depth"}


def layer_affine(layer: Any) -> np.ndarray:
    """The layer's data -> world 4x4 matrix (``affine`` after scale/rotate/shear/translate),
    read through napari's public ``data_to_world`` (exact for affine transforms)."""
    origin = np.asarray(layer.data_to_world((0.0, 0.0, 0.0)), dtype=np.float64)
    m = np.eye(4)
    for c in range(3):
        unit = [0.0, 0.0, 0.0]
        unit[c] = 1.0
        m[:3, c] = np.asarray(layer.data_to_world(unit), dtype=np.float64) - origin
    m[:3, 3] = origin
    return m


def layer_volume(layer: Any, cache: dict | None = None) -> tuple[Volume, str | None]:
    """The glmip volume of an image layer and the file it came from (None if none).

    A layer made by glmip's reader, still where the reader put it, gives back its volume (the
    stored values with their scaling, and the path, so a recipe reproduces from the file).
    Any other 3-D layer becomes a volume of its data (napari world axes 0, 1, 2 read as R, A,
    S mm); ``cache`` keeps it between calls so the renderer uploads it once.
    """
    if getattr(layer, "rgb", False) or np.ndim(layer.data) != 3:
        raise ValueError(f"layer '{layer.name}': glmip renders 3-D grey image layers "
                         f"(this one has shape {np.shape(layer.data)})")
    affine = layer_affine(layer)
    meta = layer.metadata or {}
    vol = meta.get("glmip_volume")
    if (isinstance(vol, Volume) and vol.shape == tuple(np.shape(layer.data))
            and np.allclose(vol.affine, affine, atol=1e-6)):
        return vol, meta.get("glmip_path")
    key = (id(layer.data), affine.tobytes())
    if cache is not None and cache.get(id(layer), (None,))[0] == key:
        return cache[id(layer)][1], None
    vol = Volume(np.asarray(layer.data), affine, name=str(layer.name))
    if cache is not None:
        cache[id(layer)] = (key, vol)
    return vol, None


def layer_options(layer: Any) -> dict[str, Any]:
    """glmip options for what napari draws the layer with: window/level from the contrast
    limits, colormap (grey, or the same name where glmip knows it), gamma, interpolation."""
    lo, hi = (float(v) for v in layer.contrast_limits)
    opts: dict[str, Any] = {"window": hi - lo if hi > lo else 0.0, "level": (hi + lo) / 2,
                            "gamma": float(getattr(layer, "gamma", 1.0))}
    interp = str(getattr(layer, "interpolation3d", "linear"))
    opts["interpolation"] = "nearest" if interp == "nearest" else "linear"
    name = str(getattr(layer.colormap, "name", "gray")).lower()
    if name not in ("gray", "grey"):
        try:
            settings_from_options({"colormap": name})
            opts["colormap"] = name
        except Exception:  # a napari-only colormap: grey
            pass
    return opts


@contextmanager
def glmip_gl(volume: Volume) -> Iterator[Any]:
    """Make glmip's headless GL context current for the block, and leave none current after.

    napari's canvas (Qt, GLX) and glmip (EGL) draw on one thread; whichever context is current
    receives the GL calls, so glmip's must be current while it draws and released afterwards
    (Qt makes its own current again before it paints). Yields the volume's renderer."""
    from ..context import headless_context

    ctx = headless_context()
    ctx.__enter__()  # before renderer_for: it may release and upload GL objects
    try:
        yield pipeline.renderer_for(volume, ctx)
    finally:
        ctx.__exit__(None, None, None)


def _qimage(image: np.ndarray) -> QImage:
    a = np.ascontiguousarray(image)
    rows, cols = a.shape[:2]
    if a.ndim == 2:
        q = QImage(a.data, cols, rows, cols, QImage.Format_Grayscale8)
    else:
        q = QImage(a.data, cols, rows, 3 * cols, QImage.Format_RGB888)
    return q.copy()  # own the pixels


class GlmipWidget(QWidget):
    """Render the selected image layer with napari's 3-D camera through glmip; export it."""

    def __init__(self, napari_viewer: "napari.viewer.Viewer", parent: Any = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self._cache: dict = {}
        self.mode = QComboBox()
        self.mode.addItems(list(MODES))
        self.slab = QDoubleSpinBox()
        self.slab.setRange(0.0, 1e6)
        self.slab.setSuffix(" mm")
        self.slab.setSpecialValueText("none")
        self.size = QSpinBox()
        self.size.setRange(16, 8192)
        self.size.setValue(512)
        self.size.setSuffix(" px")
        self.frames = QSpinBox()
        self.frames.setRange(2, 3600)
        self.frames.setValue(36)
        form = QFormLayout()
        form.addRow("mode", self.mode)
        form.addRow("slab", self.slab)
        form.addRow("size", self.size)
        form.addRow("movie frames", self.frames)
        self.render_button = QPushButton("Render")
        self.png_button = QPushButton("Export PNG…")
        self.values_button = QPushButton("Export values…")
        self.movie_button = QPushButton("Turntable movie…")
        buttons = QHBoxLayout()
        for b in (self.render_button, self.png_button):
            buttons.addWidget(b)
        buttons2 = QHBoxLayout()
        for b in (self.values_button, self.movie_button):
            buttons2.addWidget(b)
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignCenter)
        self.preview.setMinimumSize(128, 128)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addLayout(buttons2)
        layout.addWidget(self.preview)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.render_button.clicked.connect(self._guarded(self.render_preview))
        self.png_button.clicked.connect(self._guarded(self._ask_png))
        self.values_button.clicked.connect(self._guarded(self._ask_values))
        self.movie_button.clicked.connect(self._guarded(self._ask_movie))
        self.viewer.layers.selection.events.active.connect(self._follow_layer)
        self._follow_layer()

    # --- what is drawn ----------------------------------------------------------------------
    def layer(self) -> Any:
        """The active image layer, else the topmost visible image layer."""
        from napari.layers import Image

        active = self.viewer.layers.selection.active
        if isinstance(active, Image):
            return active
        images = [ly for ly in self.viewer.layers if isinstance(ly, Image) and ly.visible]
        if not images:
            raise ValueError("no image layer to render: open an image first")
        return images[-1]

    def _follow_layer(self, event: Any = None) -> None:
        try:
            mode = _NAPARI_MODES.get(str(self.layer().rendering))
        except ValueError:
            return
        if mode is not None:
            self.mode.setCurrentText(mode)

    def recipe(self, size: int | None = None) -> tuple[Recipe, Volume]:
        """The recipe of the picture napari's camera shows of the layer, and its volume."""
        layer = self.layer()
        volume, path = layer_volume(layer, self._cache)
        n = int(size or self.size.value())
        camera = camera_from_viewer(self.viewer, (n, n), layer)
        options = layer_options(layer)
        options["mode"] = self.mode.currentText()
        if self.slab.value() > 0:
            options["slab"] = float(self.slab.value())
        settings = settings_from_options(options)
        recipe = Recipe.of_view(path or volume.name or layer.name, camera, settings, volume,
                                (n, n))
        return recipe, volume

    # --- actions ----------------------------------------------------------------------------
    def render_preview(self) -> np.ndarray:
        """Draw the picture in the widget (at most 256 pixels) and return it."""
        recipe, volume = self.recipe(min(256, self.size.value()))
        with glmip_gl(volume) as renderer:
            image = pipeline.picture(renderer, recipe.resolved(volume))
        self.preview.setPixmap(QPixmap.fromImage(_qimage(image)))
        return image

    def export_png(self, path: str | os.PathLike[str]) -> Path:
        """Write the picture as a PNG carrying its recipe."""
        recipe, volume = self.recipe()
        with glmip_gl(volume) as renderer:
            out = pipeline.write_picture(recipe, path, volume=volume, renderer=renderer)[0]
        self.status.setText(f"wrote {out}")
        return out

    def export_values(self, path: str | os.PathLike[str]) -> Path:
        """Write the projected real values (float: .npy, .tif, .nii.gz; NaN where rays miss)."""
        recipe, volume = self.recipe()
        with glmip_gl(volume) as renderer:
            out = pipeline.write_picture(recipe, None, values=path, volume=volume,
                                         renderer=renderer)[0]
        self.status.setText(f"wrote {out}")
        return out

    def export_turntable(self, path: str | os.PathLike[str], frames: int | None = None,
                         **movie: Any) -> Path:
        """Write a turntable (.gif, .mp4 or a folder of PNGs) starting from napari's view,
        turning about its up direction."""
        recipe, volume = self.recipe()
        opts = {**recipe.options, "frames": int(frames or self.frames.value()), **movie}
        with glmip_gl(volume) as renderer:
            out = pipeline.write_turntable(Recipe(recipe.input, opts, "turntable"), path,
                                           volume=volume, renderer=renderer)
        self.status.setText(f"wrote {out}")
        return out

    # --- Qt glue ----------------------------------------------------------------------------
    def _guarded(self, action: Any) -> Any:
        def run(*_: Any) -> None:
            try:
                action()
            except Exception as exc:  # shown, never a traceback in napari's console
                self.status.setText(f"glmip: {exc}")
        return run

    def _ask(self, title: str, filters: str) -> str | None:
        name, _ = QFileDialog.getSaveFileName(self, title, "", filters)
        return name or None

    def _ask_png(self) -> None:
        name = self._ask("Export PNG", "PNG (*.png)")
        if name:
            self.export_png(name)

    def _ask_values(self) -> None:
        name = self._ask("Export values", "NumPy (*.npy);;TIFF (*.tif);;NIfTI (*.nii.gz)")
        if name:
            self.export_values(name)

    def _ask_movie(self) -> None:
        name = self._ask("Turntable movie", "GIF (*.gif);;MP4 (*.mp4)")
        if name:
            self.export_turntable(name)
