"""Readers and writers, one module per format family, behind a registry keyed by file type.

``load(path)`` picks the reader by extension (and magic bytes where extensions lie) and returns
a :class:`~glmip.volume.Volume` in RAS world coordinates. Every failure is a
:class:`~glmip.io.registry.InputError` whose message names the file and the problem.
"""

from .registry import (InputError, copy_image, load, readable_suffixes, register_reader,
                       register_writer, save, suffix_of, writable_suffixes)

# Importing a format module registers it.
# (OME-Zarr first: its folders are probed before DICOM folders and picture stacks.)
from . import omezarr, nifti, metaimage, nrrd, vtk, dicom, stacks, numpy_io  # noqa: E402,F401  isort: skip

__all__ = ["InputError", "load", "save", "copy_image", "readable_suffixes", "suffix_of",
           "register_reader", "register_writer", "writable_suffixes"]
