"""Shared VTK set-up for the two VTK mappers (headless EGL, offscreen, parallel projection)."""

from __future__ import annotations

import os
import time

import numpy as np


def setup_env() -> None:
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


def canonical(data: np.ndarray, affine: np.ndarray):
    """(data, spacing, origin) with positive spacing: flip axes whose affine entry is negative
    (flipping an array with its affine changes nothing in docs/conventions.md). Diagonal only."""
    a = np.asarray(affine, float)
    if np.count_nonzero(a[:3, :3] - np.diag(np.diag(a[:3, :3]))):
        raise ValueError("VTK peers here take diagonal affines only")
    spacing = np.diag(a)[:3].copy()
    origin = a[:3, 3].copy()
    for ax in range(3):
        if spacing[ax] < 0:
            data = np.flip(data, ax)
            origin[ax] += spacing[ax] * (data.shape[ax] - 1)
            spacing[ax] = -spacing[ax]
    return data, spacing, origin


class VtkRenderer:
    """Subclasses give ``make_mapper(vtk, step)``."""

    def __init__(self, data, affine, cols, rows, stages, window=None):
        t = time.perf_counter()
        import vtkmodules.all as vtk
        from vtkmodules.util import numpy_support

        stages["import vtk"] = time.perf_counter() - t
        t = time.perf_counter()
        data, spacing, origin = canonical(data, affine)
        # Colour clamps outside [lo, hi] (black below, white above); opacity 1 everywhere.
        lo, hi = window or (float(data.min()), float(data.max()))
        img = vtk.vtkImageData()
        img.SetDimensions(*data.shape)
        img.SetSpacing(*spacing)
        img.SetOrigin(*origin)
        # VTK is x-fastest: Fortran order of [i, j, k] (one copy, as any VTK reader makes).
        self._flat = np.ravel(data, order="F")
        arr = numpy_support.numpy_to_vtk(self._flat, deep=False)
        img.GetPointData().SetScalars(arr)
        step = float(np.min(spacing))
        mapper = self.make_mapper(vtk, step)
        mapper.SetInputData(img)
        prop = vtk.vtkVolumeProperty()
        prop.SetInterpolationTypeToLinear()
        colour = vtk.vtkColorTransferFunction()
        colour.AddRGBPoint(lo, 0, 0, 0)
        colour.AddRGBPoint(hi if hi > lo else lo + 1, 1, 1, 1)
        opacity = vtk.vtkPiecewiseFunction()
        opacity.AddPoint(lo, 1.0)
        opacity.AddPoint(hi if hi > lo else lo + 1, 1.0)
        prop.SetColor(colour)
        prop.SetScalarOpacity(opacity)
        prop.ShadeOff()
        volume = vtk.vtkVolume()
        volume.SetMapper(mapper)
        volume.SetProperty(prop)
        ren = vtk.vtkRenderer()
        ren.SetBackground(0, 0, 0)
        ren.AddVolume(volume)
        win = vtk.vtkRenderWindow()
        win.SetOffScreenRendering(1)
        win.SetSize(cols, rows)
        win.AddRenderer(ren)
        self.cam = ren.GetActiveCamera()
        self.cam.ParallelProjectionOn()
        self.vtk, self.ren, self.win = vtk, ren, win
        self.cols, self.rows = cols, rows
        self.pixels = vtk.vtkUnsignedCharArray()
        stages["setup"] = time.perf_counter() - t

    def render(self, v):
        c = self.cam
        c.SetFocalPoint(*v.center)
        c.SetPosition(*(v.center - v.d * 4 * v.radius))
        c.SetViewUp(*v.up)
        c.SetParallelScale(v.rows / 2 * v.pixel)
        self.ren.ResetCameraClippingRange()
        self.win.Render()
        self.win.GetPixelData(0, 0, self.cols - 1, self.rows - 1, 0, self.pixels, 0)
        from vtkmodules.util import numpy_support

        rgb = numpy_support.vtk_to_numpy(self.pixels).reshape(self.rows, self.cols, 3)
        return rgb[::-1, :, 0].copy()
