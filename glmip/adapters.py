"""Any volume in memory as a :class:`~glmip.volume.Volume`: :func:`as_volume`.

Every API function that takes a volume passes it through here, so a pipeline can hand glmip
what it already holds: a numpy array (with ``affine=`` or ``spacing=``/``origin=``), a nibabel
image, a SimpleITK or ITK image, a ``vtkImageData`` or pyvista ``ImageData``, a dask or zarr
array (read slab by slab, never made whole: ``glmip/lazy.py``), an xarray ``DataArray`` whose
coordinates give spacing and origin, or a path. Geometry follows docs/conventions.md: world
is RAS millimetres; ITK, SimpleITK and VTK images are in LPS and are converted.

Pure: no GL. The third-party libraries are recognised by their types' names and never
imported unless the object given comes from them.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from .io import load
from .lazy import LazyArray, is_lazy_source
from .volume import Volume

__all__ = ["as_volume", "ACCEPTED"]

ACCEPTED = ("a glmip Volume, a path, a numpy array, a nibabel image, a SimpleITK or ITK image, "
            "a vtkImageData or pyvista ImageData, a dask or zarr array, or an xarray DataArray")
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def _kind(obj: Any) -> str:
    module = type(obj).__module__.split(".")[0]
    name = type(obj).__name__
    if module == "SimpleITK" and name == "Image":
        return "sitk"
    if module == "itk" or (module.startswith("itk") and hasattr(obj, "GetLargestPossibleRegion")):
        return "itk"
    if hasattr(obj, "GetPointData") and hasattr(obj, "GetDimensions"):
        return "vtk"  # vtkImageData, and pyvista's ImageData (a subclass)
    if name == "DataArray" and hasattr(obj, "dims") and hasattr(obj, "coords"):
        return "xarray"
    if module == "nibabel" or hasattr(obj, "dataobj") and hasattr(obj, "affine"):
        return "nibabel"
    return ""


def _geometry(shape: Sequence[int], affine: Any, spacing: Any, origin: Any) -> np.ndarray:
    if affine is not None:
        if spacing is not None or origin is not None:
            raise TypeError("give affine= or spacing=/origin=, not both")
        return np.asarray(affine, dtype=np.float64)
    out = np.eye(4)
    if spacing is not None:
        out[:3, :3] = np.diag(np.broadcast_to(np.asarray(spacing, np.float64), (3,)))
    if origin is not None:
        out[:3, 3] = np.asarray(origin, np.float64)
    return out


def _lps_affine(spacing: Any, origin: Any, direction: Any) -> np.ndarray:
    """RAS affine of an image given in LPS by origin, spacing and a 3x3 direction."""
    lps = np.eye(4)
    lps[:3, :3] = np.asarray(direction, np.float64).reshape(3, 3) @ np.diag(
        np.asarray(spacing, np.float64))
    lps[:3, 3] = np.asarray(origin, np.float64)
    return LPS_TO_RAS @ lps


def _component(arr: np.ndarray, component: int | None, ndim: int, what: str) -> np.ndarray:
    """The scalar volume of an image that may have components along its last axis."""
    if arr.ndim == ndim:
        if component not in (None, 0):
            raise ValueError(f"{what} has one component; component={component} does not exist")
        return arr
    n = arr.shape[-1]
    if component is None:
        if n == 1:
            return arr[..., 0]
        raise ValueError(f"{what} has {n} components per voxel: choose one with component=")
    if not 0 <= component < n:
        raise ValueError(f"{what} has {n} components; component={component} does not exist")
    return arr[..., component]


def _from_sitk(img: Any, component: int | None) -> tuple[Any, np.ndarray]:
    import SimpleITK as sitk

    if img.GetDimension() != 3:
        raise ValueError(f"a SimpleITK image of dimension {img.GetDimension()} is not a volume")
    arr = _component(sitk.GetArrayViewFromImage(img), component, 3, "the SimpleITK image")
    return arr.transpose(2, 1, 0), _lps_affine(img.GetSpacing(), img.GetOrigin(),
                                               img.GetDirection())


def _from_itk(img: Any, component: int | None) -> tuple[Any, np.ndarray]:
    import itk

    arr = _component(itk.array_view_from_image(img), component, 3, "the ITK image")
    if arr.ndim != 3:
        raise ValueError(f"an ITK image of dimension {arr.ndim} is not a volume")
    direction = itk.array_from_matrix(img.GetDirection())
    return arr.transpose(2, 1, 0), _lps_affine(tuple(img.GetSpacing()), tuple(img.GetOrigin()),
                                               direction)


def _from_vtk(img: Any, component: int | None, array: str | None) -> tuple[Any, np.ndarray]:
    from vtk.util import numpy_support

    data = img.GetPointData()
    scalars = data.GetArray(array) if array is not None else data.GetScalars()
    if scalars is None and array is None and data.GetNumberOfArrays() == 1:
        scalars = data.GetArray(0)
    if scalars is None:
        names = [data.GetArrayName(i) for i in range(data.GetNumberOfArrays())]
        raise ValueError(f"the vtkImageData has no array {array or '(scalars)'}; it has: "
                         f"{', '.join(map(str, names)) or 'no point data'}")
    nx, ny, nz = img.GetDimensions()
    flat = numpy_support.vtk_to_numpy(scalars)
    arr = flat.reshape((nz, ny, nx) + flat.shape[1:])
    arr = _component(arr, component, 3, "the vtkImageData")
    direction = (np.array([[img.GetDirectionMatrix().GetElement(r, c) for c in range(3)]
                           for r in range(3)]) if hasattr(img, "GetDirectionMatrix")
                 else np.eye(3))
    return arr.transpose(2, 1, 0), _lps_affine(img.GetSpacing(), img.GetOrigin(), direction)


def _from_xarray(da: Any) -> tuple[Any, np.ndarray]:
    """Array axes in their order; each axis's coordinate (evenly spaced) gives its spacing and
    origin; axes named x, y, z point along world R, A, S, others along x, y, z in order."""
    if da.ndim != 3:
        raise ValueError(f"an xarray DataArray with dims {da.dims} is not a volume")
    names = [str(d).lower() for d in da.dims]
    world = ([("x", "y", "z").index(n) for n in names] if sorted(names) == ["x", "y", "z"]
             else [0, 1, 2])
    affine = np.zeros((4, 4))
    affine[3, 3] = 1.0
    for axis, dim in enumerate(da.dims):
        step, start = 1.0, 0.0
        if dim in da.coords:
            values = np.asarray(da.coords[dim].values, np.float64)
            if values.size > 1:
                gaps = np.diff(values)
                if not np.allclose(gaps, gaps[0], rtol=1e-5, atol=0):
                    raise ValueError(f"xarray coordinate '{dim}' is not evenly spaced")
                step = float(gaps[0])
            start = float(values[0]) if values.size else 0.0
        affine[world[axis], axis] = step
        affine[world[axis], 3] = start
    return da.data, affine


def as_volume(obj: Any, *, affine: Any = None, spacing: Any = None, origin: Any = None,
              slope: float = 1.0, inter: float = 0.0, name: str | None = None,
              component: int | None = None, array: str | None = None,
              **reader_options: Any) -> Volume:
    """``obj`` as a :class:`Volume`; see the module's docstring for what is accepted.

    ``affine`` (4x4 voxel -> RAS mm) or ``spacing``/``origin`` give the geometry of a plain
    array (default: 1 mm voxels at the origin); objects that carry their own geometry refuse
    them. ``component`` picks one component of a multi-component image, ``array`` a named
    point-data array of a VTK image. A path is read with ``glmip.load`` (``reader_options``
    are its options).
    """
    if isinstance(obj, Volume):
        return obj
    if isinstance(obj, (str, os.PathLike)):
        return load(obj, **reader_options)
    if reader_options:
        raise TypeError(f"unexpected option(s) {', '.join(sorted(reader_options))} for "
                        f"{type(obj).__name__}")
    kind = _kind(obj)
    label = name or f"<{type(obj).__name__}>"
    if kind:
        if affine is not None or spacing is not None or origin is not None:
            raise TypeError(f"{type(obj).__name__} carries its own geometry: no affine=, "
                            "spacing= or origin=")
        if kind == "nibabel":
            from .io.nifti import image_volume

            return image_volume(obj, label)
        data, aff = {"sitk": lambda: _from_sitk(obj, component),
                     "itk": lambda: _from_itk(obj, component),
                     "vtk": lambda: _from_vtk(obj, component, array),
                     "xarray": lambda: _from_xarray(obj)}[kind]()
        return Volume(data, aff, slope, inter, label)
    if isinstance(obj, np.ndarray) or is_lazy_source(obj) or isinstance(obj, LazyArray):
        data = obj
    elif isinstance(obj, (list, tuple)):
        data = np.asarray(obj)
    else:
        raise TypeError(f"cannot make a volume of {type(obj).__module__}."
                        f"{type(obj).__name__}: give {ACCEPTED}")
    if getattr(data, "ndim", 3) == 4 and component is not None:
        data = data[..., component]
    return Volume(data, _geometry(data.shape, affine, spacing, origin), slope, inter, label)
