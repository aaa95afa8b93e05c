"""Small valid files of every readable format, generated on the fly (no committed blobs), for
the format, bad-input and fuzz tests."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# An oblique, anisotropic, left-handed affine whose entries are exact in float32 (so every
# writer, NIfTI's float32 sform included, must give it back bit for bit).
_R = np.array([[0.0, 0.6, 0.8], [0.0, -0.8, 0.6], [1.0, 0.0, 0.0]])
AFFINE = np.eye(4)
AFFINE[:3, :3] = _R * np.array([0.5, 1.25, 2.5])
AFFINE[:3, 3] = [-10.5, 20.25, 3.0]
AXIS_ALIGNED = np.diag([0.5, 1.25, 2.5, 1.0])
AXIS_ALIGNED[:3, 3] = [-10.5, 20.25, 3.0]

SHAPE = (5, 4, 3)


def ref_data(dtype=np.int16, shape=SHAPE) -> np.ndarray:
    """Distinct values (so any transposition or flip shows), in Fortran order like readers."""
    n = int(np.prod(shape))
    vals = (np.arange(n) * 7 % 251 - (100 if np.dtype(dtype).kind in "if" else 0))
    return np.asfortranarray(vals.reshape(shape, order="F").astype(dtype))


def _lps(affine: np.ndarray) -> np.ndarray:
    a = affine.copy()
    a[:2] *= -1
    return a


def mha(path: Path, data=None, affine=AFFINE, compressed=False, msb=False, inline=True,
        extra: str = "") -> Path:
    data = ref_data() if data is None else data
    lps = _lps(affine)
    sp = np.linalg.norm(lps[:3, :3], axis=0)
    tm = (lps[:3, :3] / sp).T
    names = {"u1": "MET_UCHAR", "i2": "MET_SHORT", "f4": "MET_FLOAT", "u2": "MET_USHORT"}
    raw = data.astype(data.dtype.newbyteorder(">" if msb else "<")).tobytes(order="F")
    if compressed:
        raw = zlib.compress(raw)
    datafile = "LOCAL" if inline else path.with_suffix(".zraw" if compressed else ".raw").name
    head = (f"ObjectType = Image\nNDims = 3\nBinaryData = True\n"
            f"BinaryDataByteOrderMSB = {msb}\nCompressedData = {compressed}\n"
            f"TransformMatrix = {' '.join(repr(float(v)) for v in tm.ravel())}\n"
            f"Offset = {' '.join(repr(float(v)) for v in lps[:3, 3])}\n"
            f"ElementSpacing = {' '.join(repr(float(v)) for v in sp)}\n{extra}"
            f"DimSize = {' '.join(map(str, data.shape))}\n"
            f"ElementType = {names[data.dtype.str[1:]]}\nElementDataFile = {datafile}\n")
    if inline:
        path.write_bytes(head.encode() + raw)
    else:
        path.write_text(head)
        (path.parent / datafile).write_bytes(raw)
    return path


def nrrd_file(path: Path, data=None, affine=AFFINE, space="left-posterior-superior",
              encoding="gzip", detached=False) -> Path:
    data = ref_data() if data is None else data
    a = _lps(affine) if space.startswith("left-posterior") else affine.copy()
    names = {"u1": "uint8", "i2": "int16", "f4": "float", "u2": "uint16"}
    raw = data.astype(data.dtype.newbyteorder("<")).tobytes(order="F")
    if encoding == "gzip":
        raw = gzip.compress(raw)
    dirs = " ".join("(" + ",".join(repr(float(v)) for v in a[:3, c]) + ")" for c in range(3))
    head = (f"NRRD0004\ntype: {names[data.dtype.str[1:]]}\ndimension: 3\nspace: {space}\n"
            f"sizes: {' '.join(map(str, data.shape))}\nspace directions: {dirs}\n"
            f"kinds: domain domain domain\nendian: little\nencoding: {encoding}\n"
            f"space origin: ({','.join(repr(float(v)) for v in a[:3, 3])})\n")
    if detached:
        dfile = path.with_suffix(".raw.gz" if encoding == "gzip" else ".raw")
        path.write_text(head + f"data file: {dfile.name}\n")
        dfile.write_bytes(raw)
    else:
        path.write_bytes(head.encode() + b"\n" + raw)
    return path


def vtk_legacy(path: Path, data=None, origin=(1.5, -2.0, 3.25), spacing=(0.5, 1.25, 2.0),
               binary=True, extra_array=True) -> Path:
    data = ref_data(np.float32) if data is None else data
    names = {"u1": "unsigned_char", "i2": "short", "f4": "float", "u2": "unsigned_short"}
    n = data.size
    out = [f"# vtk DataFile Version 3.0\ntest\n{'BINARY' if binary else 'ASCII'}\n"
           f"DATASET STRUCTURED_POINTS\nDIMENSIONS {' '.join(map(str, data.shape))}\n"
           f"SPACING {' '.join(map(repr, spacing))}\nORIGIN {' '.join(map(repr, origin))}\n"
           f"POINT_DATA {n}\n".encode()]

    def block(arr):
        if binary:
            return arr.astype(arr.dtype.newbyteorder(">")).tobytes(order="F") + b"\n"
        return (" ".join(repr(v.item()) for v in arr.ravel(order="F")) + "\n").encode()

    out.append(f"SCALARS density {names[data.dtype.str[1:]]} 1\nLOOKUP_TABLE default\n".encode())
    out.append(block(data))
    if extra_array:
        vec = np.stack([data, -data, data * 2], axis=0).astype(np.float32)  # (3, nx, ny, nz)
        out.append(b"VECTORS velocity float\n")
        flat = vec.reshape(3, -1, order="F").T.ravel()  # components fastest
        out.append(block(flat.reshape(-1, order="F")))
    path.write_bytes(b"".join(out))
    return path


def npy(path: Path, data=None) -> Path:
    np.save(path, ref_data() if data is None else data)
    return path


def dicom_series(directory: Path, data=None, affine=AFFINE, slope=2.0, inter=-1024.0,
                 series_uid="1.2.826.0.1.3680043.8.498.1", shuffle=True, name="slice") -> Path:
    """One file per slice, written by pydicom with an oblique orientation (LPS on disk)."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    data = ref_data() if data is None else data
    directory.mkdir(parents=True, exist_ok=True)
    lps = _lps(affine)
    col_sp, row_sp = np.linalg.norm(lps[:3, 0]), np.linalg.norm(lps[:3, 1])
    iop = list(lps[:3, 0] / col_sp) + list(lps[:3, 1] / row_sp)
    order = list(range(data.shape[2]))
    if shuffle:
        order = order[1::2] + order[0::2]
    for n, k in enumerate(order):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(str(directory / f"{name}{n}.dcm"), {}, file_meta=meta,
                         preamble=b"\0" * 128)
        ds.SOPClassUID = meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.Modality = "CT"
        ds.SeriesInstanceUID = series_uid
        ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.2"
        ds.SeriesDescription = "synthetic"
        ds.Rows, ds.Columns = data.shape[1], data.shape[0]
        ds.PixelSpacing = [repr(float(row_sp)), repr(float(col_sp))]
        ds.ImageOrientationPatient = [repr(float(v)) for v in iop]
        ds.ImagePositionPatient = [repr(float(v)) for v in lps[:3, :3] @ [0, 0, k] + lps[:3, 3]]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1 if data.dtype.kind == "i" else 0
        ds.RescaleSlope, ds.RescaleIntercept = repr(slope), repr(inter)
        ds.PixelData = np.ascontiguousarray(data[:, :, k].T).astype(
            data.dtype.newbyteorder("<")).tobytes()
        ds.save_as(directory / f"{name}{n}.dcm", enforce_file_format=True)
    return directory / f"{name}0.dcm"


def valid_files(d: Path) -> dict[str, Path]:
    """One small valid file per reader family, keyed by a short label."""
    import nibabel as nib
    import tifffile
    from PIL import Image

    d.mkdir(parents=True, exist_ok=True)
    out = {}
    img = nib.Nifti1Image(ref_data(), AFFINE)
    nib.save(img, d / "a.nii")
    out["nii"] = d / "a.nii"
    nib.save(img, d / "a.nii.gz")
    out["nii.gz"] = d / "a.nii.gz"
    out["mha"] = mha(d / "a.mha")
    out["mha-zlib"] = mha(d / "z.mha", compressed=True)
    out["mhd"] = mha(d / "a.mhd", inline=False)
    out["nrrd"] = nrrd_file(d / "a.nrrd")
    out["nrrd-raw"] = nrrd_file(d / "r.nrrd", encoding="raw")
    out["vtk"] = vtk_legacy(d / "a.vtk")
    out["vtk-ascii"] = vtk_legacy(d / "t.vtk", binary=False)
    from glmip.io import save
    from glmip.volume import Volume

    save(Volume(ref_data(), AFFINE), d / "a.vti")
    out["vti"] = d / "a.vti"
    out["npy"] = npy(d / "a.npy")
    save(Volume(ref_data(), AFFINE), d / "a.npz")
    out["npz"] = d / "a.npz"
    tifffile.imwrite(d / "a.tif", ref_data(np.uint16).transpose(2, 1, 0), photometric="minisblack")
    out["tif"] = d / "a.tif"
    pd = d / "png"
    pd.mkdir(exist_ok=True)
    for k in range(3):
        Image.fromarray(ref_data(np.uint8)[:, :, k].T).save(pd / f"p{k}.png")
    out["png"] = pd / "p0.png"
    out["dcm"] = dicom_series(d / "dicom")
    return out
