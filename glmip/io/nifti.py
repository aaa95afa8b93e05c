"""NIfTI-1/2 and Analyze through nibabel, without a float64 copy (``dataobj``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..volume import Volume
from .registry import InputError, register_reader


@register_reader(".nii", ".nii.gz", ".hdr", ".img", ".hdr.gz", ".img.gz")
def read_nifti(path: Path, frame: int = 0, **_: object) -> Volume:
    import nibabel as nib

    img = nib.load(str(path))
    dataobj = img.dataobj
    shape = img.shape
    if len(shape) < 3:
        raise InputError(f"{path}: a volume needs 3 dimensions, got shape {shape}")
    if len(shape) > 4 and any(n != 1 for n in shape[4:]):
        raise InputError(f"{path}: {len(shape)}-D images are not supported (shape {shape})")
    nframes = shape[3] if len(shape) >= 4 else 1
    if not 0 <= frame < nframes:
        raise InputError(f"{path}: frame {frame} out of range (the file has {nframes})")
    # Raw stored values in the file's dtype; the scaling goes to the shader.
    if hasattr(dataobj, "get_unscaled"):
        if nframes == 1:
            raw = dataobj.get_unscaled()
        else:  # read only the chosen frame
            raw = dataobj._get_unscaled((slice(None),) * 3 + (frame,) + (0,) * (len(shape) - 4))
        slope = dataobj.slope if np.isfinite(dataobj.slope) else 1.0
        inter = dataobj.inter if np.isfinite(dataobj.inter) else 0.0
    else:
        raw, slope, inter = np.asanyarray(dataobj), 1.0, 0.0
    raw = np.asarray(raw)
    raw = raw.reshape(raw.shape[:3]) if raw.ndim > 3 else raw
    if raw.ndim == 4:
        raw = raw[..., frame]
    vol = Volume(raw, img.affine, slope=slope, inter=inter, name=str(path))
    vol.meta["frames"] = nframes
    vol.meta["frame"] = frame
    return vol
