"""NIfTI-1/2, Analyze, MGH/MGZ, MINC-1/2 and PAR/REC through nibabel.

The stored values are read without a float64 copy (``dataobj.get_unscaled``); the scale
slope/intercept go to ``Volume.slope``/``inter`` (the shader applies them). The affine is
nibabel's (sform if set, else qform, else the Analyze default), which is already RAS.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..volume import Volume
from .registry import InputError, check_size, regular_file, register_reader, register_writer

_GZ = (".gz", ".mgz")


def _check_declared(path: Path, img) -> None:
    """Size-bomb guard: compare the header's promise with what the file(s) can hold."""
    shape = img.shape
    try:
        itemsize = np.dtype(img.get_data_dtype()).itemsize
    except Exception:
        itemsize = 8
    nbytes = int(np.prod(shape, dtype=object)) * itemsize
    fmap = img.file_map
    holder = fmap.get("image") or next(iter(fmap.values()))
    fname = holder.filename
    if fname and os.path.lexists(fname):
        regular_file(Path(fname), f"{path}: image data")  # Analyze .img: FIFO, /dev/zero
    if not fname or not os.path.isfile(fname):
        check_size(path, nbytes)
        return
    size = os.path.getsize(fname)
    if fname.lower().endswith(_GZ):
        check_size(path, nbytes, compressed=size)
        return
    offset = 0
    hdr = img.header
    if hasattr(hdr, "get_data_offset"):
        try:
            offset = int(hdr.get_data_offset())
        except Exception:
            offset = 0
    if fname.lower().endswith((".mnc", ".h5")):
        check_size(path, nbytes)  # compressed HDF5 chunks: only the absolute cap applies
        return
    check_size(path, nbytes, available=size - offset)


@register_reader(".nii", ".nii.gz", ".hdr", ".img", ".hdr.gz", ".img.gz", ".mgh", ".mgz",
                 ".mnc", ".mnc.gz", ".par", ".rec")
def read_nifti(path: Path, frame: int | None = None, **_: object) -> Volume:
    import nibabel as nib

    try:
        img = nib.load(str(path))
    except ImportError as exc:  # MINC-2 needs h5py
        raise InputError(f"{path}: reading this file needs the '{exc.name}' package "
                         f"(pip install {exc.name})") from None
    _check_declared(path, img)
    return image_volume(img, str(path), frame, where=path)


def image_volume(img, name: str, frame: int | None = None, where: object = None) -> Volume:
    """A nibabel image (from a file or built in memory) as a Volume: raw stored values in
    their dtype, scaling as slope/intercept, one frame of a 4-D image."""
    path = where if where is not None else name
    shape = tuple(int(n) for n in img.shape)
    if len(shape) < 3:
        raise InputError(f"{path}: a volume needs 3 dimensions, the image has shape {shape}")
    if len(shape) > 4 and any(n != 1 for n in shape[4:]):
        raise InputError(f"{path}: {len(shape)}-D images are not supported (shape {shape})")
    if min(shape) < 1:
        raise InputError(f"{path}: zero-sized axis in shape {shape}")
    nframes = shape[3] if len(shape) >= 4 else 1
    frame = 0 if frame is None else int(frame)
    if not 0 <= frame < nframes:
        raise InputError(f"{path}: frame {frame} out of range (the file has {nframes})")
    slicer = (slice(None),) * 3 + ((frame,) if len(shape) >= 4 else ()) + (0,) * max(
        0, len(shape) - 4)
    dataobj = img.dataobj
    slope = getattr(dataobj, "slope", None)
    inter = getattr(dataobj, "inter", None)
    if (hasattr(dataobj, "_get_unscaled") and slope is not None and inter is not None
            and np.ndim(slope) == 0 and np.ndim(inter) == 0):
        # Raw stored values in the file's dtype, one frame only; scaling goes to the shader.
        raw = np.asarray(dataobj._get_unscaled(slicer) if len(shape) > 3
                         else dataobj.get_unscaled())
        slope = float(slope) if np.isfinite(slope) and slope != 0 else 1.0
        inter = float(inter) if np.isfinite(inter) else 0.0
    else:
        # Per-slice scaling (PAR/REC, MINC): real values, as float32 unless already smaller.
        raw = np.asarray(dataobj[slicer])
        if raw.dtype == np.float64:
            raw = raw.astype(np.float32)
        slope, inter = 1.0, 0.0
    raw = raw.reshape(raw.shape[:3])
    vol = Volume(raw, img.affine, slope=slope, inter=inter, name=str(path))
    vol.meta["frames"] = nframes
    vol.meta["frame"] = frame
    return vol


def _nifti_image(volume: Volume):
    import nibabel as nib

    img = nib.Nifti1Image(volume.data, volume.affine)
    img.set_data_dtype(volume.data.dtype)
    # sform holds the affine as it is (float32); qform the nearest rigid one, for old tools.
    img.set_sform(volume.affine, code=2)
    img.set_qform(volume.affine, code=2)
    img.header.set_slope_inter(volume.slope, volume.inter)
    img.header.set_xyzt_units("mm")
    return img


@register_writer(".nii", ".nii.gz")
def write_nifti(volume: Volume, path: Path) -> None:
    _nifti_image(volume).to_filename(str(path))

