"""A hostile corpus: every reader, every compression, every non-regular file kind, absurd
geometry, escapes in names and headers, detached data outside the header's folder.

Each case goes through the command line in a subprocess (``glmip info``, ``glmip render -o``,
``glmip convert``) and must give: exit status 2, exactly one line on stderr, no traceback,
nothing written, the inputs unchanged (hashes before/after), a bounded peak memory (the
child's maxrss) and time. The corpus is built in a temporary folder by :func:`build_corpus`;
``test_corpus_summary`` prints its size and the worst peak memory and time.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import socket
import struct
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import io_corpus as C
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PEAK_LIMIT_KB = 300 * 1024  # the whole interpreter with numpy, pydicom, nibabel, tifffile
TIME_LIMIT_S = 20
GIB = 1 << 30


@dataclass
class Case:
    name: str
    input: str  # path, relative to the corpus folder
    expect: str = ""  # a fragment of the one-line message
    commands: tuple = ("info", "render", "convert")
    extra: list = field(default_factory=list)


# --- builders ---------------------------------------------------------------------------------
def _nrrd_head(sizes, encoding, extra="", dtype="uint8"):
    return (f"NRRD0004\ntype: {dtype}\ndimension: 3\nspace: left-posterior-superior\n"
            f"sizes: {' '.join(map(str, sizes))}\nspace directions: (1,0,0) (0,1,0) (0,0,1)\n"
            f"endian: little\nencoding: {encoding}\n{extra}")


def _zeros_stream(kind: str, n: int) -> bytes:
    """``n`` zero bytes compressed, built piecewise (never n bytes in memory)."""
    comp = {"gzip": zlib.compressobj(9, zlib.DEFLATED, 31), "zlib": zlib.compressobj(9),
            "bzip2": bz2.BZ2Compressor(9), "lzma": lzma.LZMACompressor()}[kind]
    chunk = bytes(1 << 24)
    out = []
    for _ in range(n >> 24):
        out.append(comp.compress(chunk))
    out.append(comp.compress(bytes(n & ((1 << 24) - 1))))
    out.append(comp.flush())
    return b"".join(out)


_STREAMS: dict = {}


def zeros(kind: str, n: int) -> bytes:
    if (kind, n) not in _STREAMS:
        _STREAMS[(kind, n)] = _zeros_stream(kind, n)
    return _STREAMS[(kind, n)]


def _mha_head(dims, extra="", datafile="LOCAL", compressed=False, etype="MET_UCHAR"):
    return (f"ObjectType = Image\nNDims = 3\nBinaryData = True\nCompressedData = "
            f"{compressed}\n{extra}DimSize = {' '.join(map(str, dims))}\n"
            f"ElementType = {etype}\nElementDataFile = {datafile}\n")


def _vti_blocks(kind, block_size, nblocks_data, dims, compressor):
    """Appended raw .vti whose single array is one compressed block of zeros."""
    header = struct.pack("<4I", 1, block_size, block_size, len(nblocks_data))
    ext = f"0 {dims[0] - 1} 0 {dims[1] - 1} 0 {dims[2] - 1}"
    head = (f'<?xml version="1.0"?>\n<VTKFile type="ImageData" version="1.0" '
            f'byte_order="LittleEndian" header_type="UInt32" compressor="{compressor}">\n'
            f'<ImageData WholeExtent="{ext}" Origin="0 0 0" Spacing="1 1 1">\n'
            f'<Piece Extent="{ext}"><PointData Scalars="s"><DataArray type="UInt8" Name="s" '
            f'format="appended" offset="0"/></PointData></Piece></ImageData>\n'
            f'<AppendedData encoding="raw">\n_')
    return head.encode() + header + nblocks_data + b"\n</AppendedData>\n</VTKFile>\n"


def _fifo(p: Path) -> Path:
    os.mkfifo(p)
    return p


def _socket(p: Path) -> Path:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(p))
    s.close()  # the socket file stays
    return p


def _dicom_deflated(path: Path, bomb: int = 0, rows=8):
    import pydicom
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    d = path.parent / (path.stem + "_src")
    first = C.dicom_series(d, C.ref_data(np.int16, (rows, rows, 2)), shuffle=False)
    ds = pydicom.dcmread(first)
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    if bomb:
        ds.add_new(0x00091010, "OB", bytes(bomb))
    ds.save_as(path, enforce_file_format=True)
    for f in d.iterdir():
        f.unlink()
    d.rmdir()
    return path


def _nifti(path: Path, affine, shape=(4, 4, 4)):
    import nibabel as nib

    img = nib.Nifti1Image(np.zeros(shape, np.uint8), affine)
    img.set_sform(affine, code=1)
    img.header["qform_code"] = 0
    nib.save(img, str(path))
    return path


def build_corpus(d: Path) -> list[Case]:
    """Write every hostile file under ``d``; return the cases."""
    d.mkdir(parents=True, exist_ok=True)
    (d / "outside").mkdir()
    (d / "outside" / "secret.raw").write_bytes(bytes(64))
    w = d / "in"
    w.mkdir()
    cases: list[Case] = []

    def add(name, rel, expect="", **kw):
        cases.append(Case(name, rel, expect, **kw))

    # NRRD: every encoding as a bomb, skips, detached data of every kind
    (w / "bz.nrrd").write_bytes(_nrrd_head([1024, 1024, 1024], "bzip2").encode() + b"\n"
                                + zeros("bzip2", 1 << 26))
    add("nrrd bzip2 declaring 1 GiB", "in/bz.nrrd", "cannot expand")
    (w / "gzskip.nrrd").write_bytes(
        _nrrd_head([1024, 1024, 1024], "gzip", "byte skip: 4096\n").encode() + b"\n"
        + zeros("gzip", 1 << 26))
    add("nrrd gzip byte skip, 1 GiB", "in/gzskip.nrrd", "cannot expand")
    (w / "gzline.nrrd").write_bytes(
        _nrrd_head([1024, 1024, 1024], "gzip", "line skip: 2\n").encode() + b"\n"
        + b"junk\njunk\n" + zeros("gzip", 1 << 26))
    add("nrrd gzip line skip, 1 GiB", "in/gzline.nrrd", "cannot expand")
    (w / "huge.nrrd").write_bytes(_nrrd_head([1 << 20, 1 << 20, 1 << 20], "raw").encode()
                                  + b"\n" + bytes(16))
    add("nrrd declaring 2**60 bytes", "in/huge.nrrd", "limit")
    (w / "bztrunc.nrrd").write_bytes(_nrrd_head([64, 64, 64], "bzip2").encode() + b"\n"
                                     + zeros("bzip2", 1000))
    add("nrrd bzip2 truncated", "in/bztrunc.nrrd", "truncated")
    _fifo(w / "pipe.raw")
    (w / "fifo.nhdr").write_text(_nrrd_head([4, 4, 4], "raw", "data file: pipe.raw\n"))
    add("nrrd data file is a FIFO", "in/fifo.nhdr", "FIFO")
    _fifo(w / "pipe with space.raw")
    (w / "fifosp.nhdr").write_text(
        _nrrd_head([4, 4, 4], "raw", "data file: pipe with space.raw\n"))
    add("nrrd data file with a space, a FIFO", "in/fifosp.nhdr", "FIFO")
    (w / "zero.nhdr").write_text(_nrrd_head([4, 4, 4], "raw", "data file: /dev/zero\n"))
    add("nrrd data file /dev/zero", "in/zero.nhdr", "character device")
    (w / "zerolink.raw").symlink_to("/dev/zero")
    (w / "zerolink.nhdr").write_text(_nrrd_head([4, 4, 4], "raw", "data file: zerolink.raw\n"))
    add("nrrd data file links to /dev/zero", "in/zerolink.nhdr", "character device")
    (w / "out.nhdr").write_text(
        _nrrd_head([4, 4, 4], "raw", "data file: ../outside/secret.raw\n"))
    add("nrrd data file outside the folder", "in/out.nhdr", "outside the header's folder")
    (w / "loop1.raw").symlink_to("loop2.raw")
    (w / "loop2.raw").symlink_to("loop1.raw")
    (w / "loop.nhdr").write_text(_nrrd_head([4, 4, 4], "raw", "data file: loop1.raw\n"))
    add("nrrd data file is a link loop", "in/loop.nhdr", "link loop")
    (w / "list.nhdr").write_text(_nrrd_head([4, 4, 4], "raw", "data file: LIST\n"))
    add("nrrd data file LIST", "in/list.nhdr", "several files")

    # MetaImage
    (w / "zraw.mha").write_bytes(_mha_head([1024, 1024, 1024], compressed=True).encode()
                                 + zeros("zlib", 1 << 26))
    add("mha zraw declaring 1 GiB", "in/zraw.mha", "cannot expand")
    _fifo(w / "mpipe.raw")
    (w / "fifo.mhd").write_text(_mha_head([4, 4, 4], datafile="mpipe.raw"))
    add("mhd data file is a FIFO", "in/fifo.mhd", "FIFO")
    (w / "zero.mhd").write_text(_mha_head([4, 4, 4], datafile="zerolink.raw"))
    add("mhd data file links to /dev/zero", "in/zero.mhd", "character device")
    (w / "passwd.mhd").write_text(_mha_head([4, 4, 4], datafile="../outside/secret.raw"))
    add("mhd data file outside the folder", "in/passwd.mhd", "outside the header's folder")
    (w / "etc.mhd").write_text(_mha_head([4, 4, 2], datafile="/etc/passwd"))
    add("mhd data file /etc/passwd", "in/etc.mhd", "outside the header's folder")
    (w / "loop.mhd").write_text(_mha_head([4, 4, 4], datafile="loop1.raw"))
    add("mhd data file is a link loop", "in/loop.mhd", "link loop")
    (w / "offset.mha").write_bytes(_mha_head([4, 4, 4], "Offset = 1e30 0 0\n").encode()
                                   + bytes(64))
    add("mha Offset 1e30", "in/offset.mha", "beyond")
    (w / "tiny.mha").write_bytes(
        _mha_head([4, 4, 4], "ElementSpacing = 1 1 1e-30\n").encode() + bytes(64))
    add("mha spacing 1e-30", "in/tiny.mha", "spacing")
    (w / "obl.mha").write_bytes(_mha_head(
        [32, 32, 32], "TransformMatrix = 0.6 0.8 0 -0.8 0.6 0 0 0 1\n"
        "ElementSpacing = 1 1e-30 1\n").encode() + bytes(32 ** 3))
    add("mha oblique, spacing 1e-30", "in/obl.mha", "spacing")
    (w / "esc.mha").write_bytes(_mha_head([4, 4, 4], etype="\x1b[31mRED\x07").encode())
    add("mha escape in a header value", "in/esc.mha", "\\x1b")

    # VTI: zlib and LZMA blocks
    (w / "zblock.vti").write_bytes(_vti_blocks("zlib", 1 << 30, zeros("zlib", 1 << 26),
                                               [1024, 1024, 1024], "vtkZLibDataCompressor"))
    add("vti zlib block 1 GiB", "in/zblock.vti", "")
    (w / "lblock.vti").write_bytes(_vti_blocks("lzma", 1 << 30, zeros("lzma", 1 << 28),
                                               [1024, 1024, 1024], "vtkLZMADataCompressor"))
    add("vti lzma block 1 GiB", "in/lblock.vti", "")
    (w / "zsmall.vti").write_bytes(_vti_blocks("zlib", 64, zeros("zlib", 1 << 26),
                                               [4, 4, 4], "vtkZLibDataCompressor"))
    add("vti zlib block overlong", "in/zsmall.vti", "")
    vti = C.AXIS_ALIGNED.copy()
    from glmip.io import save
    from glmip.volume import Volume

    save(Volume(C.ref_data(np.uint8), vti), w / "ok.vti")
    text = (w / "ok.vti").read_bytes()
    (w / "sp.vti").write_bytes(text.replace(b'Spacing="', b'Spacing="1e-30 ', 1)
                               .replace(b'1e-30 0.5 ', b'1e-30 '))
    add("vti spacing 1e-30", "in/sp.vti", "")
    (w / "orig.vti").write_bytes(text.replace(b'Origin="', b'Origin="1e30 ', 1)
                                 .replace(b'1e30 10.5 ', b'1e30 '))
    add("vti origin 1e30", "in/orig.vti", "")
    (w / "sp.vtk").write_bytes(
        b"# vtk DataFile Version 3.0\nx\nBINARY\nDATASET STRUCTURED_POINTS\nDIMENSIONS 4 4 4\n"
        b"SPACING 1 1e-30 1\nORIGIN 0 0 0\nPOINT_DATA 64\nSCALARS s unsigned_char 1\n"
        b"LOOKUP_TABLE default\n" + bytes(64) + b"\n")
    add("legacy vtk spacing 1e-30", "in/sp.vtk", "spacing")

    # NIfTI / Analyze
    _nifti(w / "scale.nii", np.diag([3e38, 1, 1, 1]))
    add("nifti sform scale 3e38", "in/scale.nii", "spacing")
    (w / "bomb.nii.gz").write_bytes(gzip.compress(_nifti_header([1024, 1024, 1024])
                                                  + bytes(1 << 16)))
    add("nifti.gz declaring 1 GiB", "in/bomb.nii.gz", "cannot expand")
    import nibabel as nib

    nib.save(nib.AnalyzeImage(np.zeros((4, 4, 4), np.uint8), np.eye(4)), str(w / "an.hdr"))
    (w / "an.img").unlink()
    _fifo(w / "an.img")
    add("analyze .img is a FIFO", "in/an.hdr", "FIFO")

    mgh = bytearray(284)
    mgh[0:4] = struct.pack(">i", 1)
    mgh[4:20] = struct.pack(">4i", 1024, 1024, 1024, 1)
    mgh[20:24] = struct.pack(">i", 0)  # uchar
    mgh[28:30] = struct.pack(">h", 1)
    mgh[30:42] = struct.pack(">3f", 1, 1, 1)
    mgh[42:90] = struct.pack(">12f", -1, 0, 0, 0, 0, -1, 0, 1, 0, 0, 0, 0)
    (w / "bomb.mgz").write_bytes(gzip.compress(bytes(mgh) + bytes(4096)))
    add("mgz declaring 1 GiB", "in/bomb.mgz", "")

    # PNG stack whose pictures declare 100000 x 100000 pixels
    for k in range(2):
        (w / f"wide_{k}.png").write_bytes(_png_header(100_000, 100_000))
    add("png stack of 100000 x 100000 pictures", "in/wide_0.png", "limit")

    # legacy VTK: absurd DIMENSIONS, ASCII data cut short
    (w / "dims.vtk").write_bytes(
        b"# vtk DataFile Version 3.0\nx\nBINARY\nDATASET STRUCTURED_POINTS\n"
        b"DIMENSIONS 1000000 1000000 1000000\nPOINT_DATA 1000000000000000000\n"
        b"SCALARS s float 1\nLOOKUP_TABLE default\n" + bytes(64))
    add("legacy vtk declaring 4e18 bytes", "in/dims.vtk", "")
    (w / "nblocks.vti").write_bytes(_vti_blocks("zlib", 64, b"", [4, 4, 4],
                                                "vtkZLibDataCompressor")
                                    .replace(struct.pack("<4I", 1, 64, 64, 0),
                                             struct.pack("<4I", 0x7FFFFFFF, 64, 64, 0)))
    add("vti claiming 2**31 compressed blocks", "in/nblocks.vti", "")
    (w / "ctl.nhdr").write_text(_nrrd_head([4, 4, 4], "raw", "data file: \x1b]0;pwned\x07.raw\n"))
    add("nrrd data file name with terminal escapes", "in/ctl.nhdr", "\\x1b]0;pwned\\x07")

    # DICOM
    _dicom_deflated(w / "bomb.dcm", bomb=200_000_000)
    add("dicom deflated bomb", "in/bomb.dcm", "size bomb")
    series = w / "series"
    C.dicom_series(series, shuffle=False)
    _dicom_deflated(series / "zz_bomb.dcm", bomb=200_000_000)
    add("dicom series with a deflated bomb beside it", "in/series", "size bomb")

    # TIFF: many pages sharing one deflate strip
    (w / "shared.tif").write_bytes(_tiff_shared_strip(4096, 4096, 64))
    add("tiff pages sharing one strip", "in/shared.tif", "cannot expand")
    (w / "strip.tif").write_bytes(_tiff_shared_strip(64, 64, 3, zeros("zlib", 1 << 28)))
    add("tiff 64 x 64 pages whose strip inflates to 256 MiB", "in/strip.tif", "size bomb")

    # NumPy
    _npz_big_member(w / "big.npz")
    add("npz whose affine member is 512 MiB", "in/big.npz", "affine")
    with open(w / "huge.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f8", "fortran_order": False, "shape": (1 << 20, 1 << 20, 1 << 20)})
    add("npy declaring 2**63 bytes", "in/huge.npy", "")

    # Non-regular inputs and links
    _fifo(w / "input.nrrd")
    add("input is a FIFO", "in/input.nrrd", "FIFO")
    (w / "devzero.mha").symlink_to("/dev/zero")
    add("input links to /dev/zero", "in/devzero.mha", "character device")
    try:
        _socket(w / "sock.nii")
        add("input is a socket", "in/sock.nii", "socket")
    except OSError:
        pass
    (w / "a.vti").symlink_to("b.vti")
    (w / "b.vti").symlink_to("a.vti")
    # render's own output check (glmip/commands/render.py, not an io module) calls
    # Path.resolve() on the input before loading: see test_render_link_loop below.
    add("input is a link loop", "in/a.vti", "link loop", commands=("info", "convert"))
    stack = w / "stack"
    stack.mkdir()
    (stack / "img_0.png").write_bytes(b"")
    _fifo(stack / "img_1.png")
    add("picture folder: empty file and a FIFO", "in/stack", "")
    stack2 = w / "stack2"
    stack2.mkdir()
    Image = pytest.importorskip("PIL.Image")
    for k in range(3):
        Image.fromarray(np.full((8, 8), k, np.uint8)).save(stack2 / f"s_{k}.png")
    (stack2 / "s_3.png").symlink_to("/dev/zero")
    add("numbered stack with /dev/zero as a member", "in/stack2/s_0.png", "character device")
    add("picture folder with /dev/zero as a member", "in/stack2", "character device")
    (w / "\x1b[31mred\x1b[0m.nrrd").write_bytes(b"NRRD0004\nnonsense\n")
    add("escape sequence in the file name", "in/\x1b[31mred\x1b[0m.nrrd", "\\x1b[31m")
    return cases


def _png_header(width, height) -> bytes:
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(bytes(1024))) + chunk(b"IEND", b""))


def _nifti_header(shape) -> bytes:
    import nibabel as nib

    h = nib.Nifti1Header()
    h.set_data_shape(shape)
    h.set_data_dtype(np.uint8)
    h["vox_offset"] = 352
    return h.binaryblock + b"\0" * 4


def _tiff_shared_strip(width, height, pages, strip=None) -> bytes:
    """Little-endian TIFF, ``pages`` uint8 pages of width x height, all pointing at one
    deflate strip (the same few hundred bytes decode to every page)."""
    strip = zlib.compress(bytes(width * height), 9) if strip is None else strip
    out = bytearray(b"II*\x00" + struct.pack("<I", 0))
    strip_at = len(out)
    out += strip
    out += b"\0" * (len(out) & 1)
    ifds = []
    for _ in range(pages):
        entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 8),
                   (262, 3, 1, 1), (273, 4, 1, strip_at), (277, 3, 1, 1),
                   (278, 4, 1, height), (279, 4, 1, len(strip))]
        ifds.append(entries)
    offsets = []
    pos = len(out) + (len(out) & 1)
    out += b"\0" * (pos - len(out))
    for entries in ifds:
        offsets.append(len(out))
        out += struct.pack("<H", len(entries))
        for tag, typ, count, value in entries:
            out += struct.pack("<HHII", tag, typ, count, value)
        out += struct.pack("<I", 0)
    for a, b in zip(offsets, offsets[1:]):
        out[a + 2 + 12 * len(ifds[0]) : a + 6 + 12 * len(ifds[0])] = struct.pack("<I", b)
    out[4:8] = struct.pack("<I", offsets[0])
    return bytes(out)


def _npz_big_member(path: Path):
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, arr in (("data", C.ref_data(np.uint8)),):
            with zf.open(f"{name}.npy", "w") as f:
                np.lib.format.write_array(f, arr)
        with zf.open("affine.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f8", "fortran_order": False, "shape": (1 << 26,)})
            chunk = bytes(1 << 24)
            for _ in range(32):
                f.write(chunk)


# --- running ----------------------------------------------------------------------------------
def _hash_tree(d: Path) -> dict[str, str]:
    out = {}
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = Path(root) / n
            if p.is_symlink():
                out[str(p)] = "link:" + os.readlink(p)
            elif p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
            elif not p.is_dir():
                out[str(p)] = "special"
    return out


def _run(corpus: Path, case: Case, command: str, outdir: Path) -> dict:
    target = outdir / f"{abs(hash((case.name, command)))}"
    argv = {"info": ["info", case.input],
            "render": ["render", case.input, "-o", str(target) + ".png"],
            "convert": ["convert", case.input, str(target) + ".nii.gz"]}[command]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    with open(outdir / f"{target.name}.{command}.err", "w+b") as err:
        t0 = time.monotonic()
        hwm = outdir / f"{target.name}.{command}.hwm.err"
        # The child writes its own VmHWM at exit (wait4's maxrss would include the RSS it
        # inherited from this process at fork time).
        boot = ("import atexit, runpy, sys\n"
                f"def _hwm():\n    open({str(hwm)!r}, 'w').write(open('/proc/self/status')"
                ".read())\n"
                "atexit.register(_hwm)\n"
                f"sys.argv = ['glmip'] + {argv!r}\n"
                "runpy.run_module('glmip', run_name='__main__')\n")
        proc = subprocess.Popen([sys.executable, "-c", boot], cwd=corpus,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, env=env)
        deadline = t0 + TIME_LIMIT_S
        while True:  # reap it ourselves: wait4 gives this child's own peak memory
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - t0
        try:
            line = next(x for x in hwm.read_text().splitlines() if x.startswith("VmHWM:"))
            peak = int(line.split()[1])
        except (OSError, StopIteration):
            peak = usage.ru_maxrss  # killed before exit: an upper bound
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    written = sorted(p.name for p in outdir.iterdir() if not p.name.endswith(".err"))
    return {"case": case, "command": command, "status": proc.returncode, "stderr": text,
            "time": elapsed, "peak_kb": peak, "written": written}


def _check(r: dict) -> list[str]:
    problems = []
    case, text = r["case"], r["stderr"]
    if r["status"] != 2:
        problems.append(f"exit {r['status']}")
    if text.count("\n") != 1 or not text.endswith("\n"):
        problems.append(f"{text.count(chr(10))} lines on stderr")
    if "Traceback" in text:
        problems.append("traceback")
    if any(ord(c) < 32 and c != "\n" for c in text):
        problems.append("raw control characters")
    if case.expect and case.expect not in text:
        problems.append(f"message lacks {case.expect!r}")
    if r["written"]:
        problems.append(f"wrote {r['written']}")
    if r["time"] > TIME_LIMIT_S:
        problems.append(f"took {r['time']:.1f} s")
    return problems


@pytest.fixture(scope="module")
def corpus_results(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("hostile")
    cases = build_corpus(corpus)
    _STREAMS.clear()
    jobs = [(c, cmd) for c in cases for cmd in c.commands]
    outdirs = []
    for i in range(len(jobs)):
        o = corpus / f"out{i}"
        o.mkdir()
        outdirs.append(o)
    before = _hash_tree(corpus / "in") | _hash_tree(corpus / "outside")

    def one(i):
        case, cmd = jobs[i]
        return _run(corpus, case, cmd, outdirs[i])

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = list(pool.map(one, range(len(jobs))))
    wall = time.monotonic() - t0
    after = _hash_tree(corpus / "in") | _hash_tree(corpus / "outside")
    return {"cases": cases, "results": results, "before": before, "after": after,
            "wall": wall}


def test_corpus_every_case_refused_cleanly(corpus_results):
    bad = []
    for r in corpus_results["results"]:
        problems = _check(r)
        if problems:
            bad.append(f"{r['case'].name} [{r['command']}]: {'; '.join(problems)}: "
                       f"{r['stderr'][:300]!r}")
    assert not bad, "\n".join(bad)


def test_corpus_inputs_unchanged(corpus_results):
    assert corpus_results["before"] == corpus_results["after"]


def test_corpus_peak_memory_bounded(corpus_results):
    worst = max(corpus_results["results"], key=lambda r: r["peak_kb"])
    assert worst["peak_kb"] < PEAK_LIMIT_KB, (worst["case"].name, worst["command"],
                                              worst["peak_kb"])


def test_corpus_summary(corpus_results, capsys):
    res = corpus_results["results"]
    worst_mem = max(res, key=lambda r: r["peak_kb"])
    worst_time = max(res, key=lambda r: r["time"])
    with capsys.disabled():
        print(f"\nhostile corpus: {len(corpus_results['cases'])} cases, {len(res)} runs, "
              f"{corpus_results['wall']:.1f} s wall; worst peak memory "
              f"{worst_mem['peak_kb'] / 1024:.0f} MiB ({worst_mem['case'].name}, "
              f"{worst_mem['command']}); worst time {worst_time['time']:.2f} s "
              f"({worst_time['case'].name}, {worst_time['command']})")
    assert len(corpus_results["cases"]) >= 40


def test_render_link_loop(tmp_path):
    (tmp_path / "a.vti").symlink_to("b.vti")
    (tmp_path / "b.vti").symlink_to("a.vti")
    out = tmp_path / "out"
    out.mkdir()
    r = _run(tmp_path, Case("loop", "a.vti", "link loop", ("render",)), "render", out)
    assert not _check(r)
