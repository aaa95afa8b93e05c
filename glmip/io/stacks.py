"""Image stacks: multi-page TIFF (tifffile), numbered TIFF or PNG files (tifffile, Pillow), and
a directory of them. These formats carry no geometry: ``--spacing`` and ``--origin`` give it
(default 1 mm, origin 0).

Axes follow VTK's image readers, as vmtk uses them: i along the image columns, j *up* the image
(picture row 0, the top row, is the last j), k along pages / file numbers. So the ``superior``
view shows each picture upright and unmirrored.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..volume import Volume
from .registry import (DEFLATE_MAX_RATIO, OTHER_MAX_RATIO, InputError, check_size,
                       decompress_limited, geometry_affine, register_directory_reader,
                       register_reader, regular_file)

_STACK_SUFFIXES = (".tif", ".tiff", ".png")
# Largest expansion of each TIFF compression (PackBits 128:2, LZW ~ 12-bit codes of up to
# 4096 bytes, deflate 1032:1); others (JPEG, ...) get the general cap.
_TIFF_RATIOS = {32773: 70, 5: 3000, 8: DEFLATE_MAX_RATIO, 32946: DEFLATE_MAX_RATIO}
_NUMBER = re.compile(r"^(.*?)(\d+)(\D*)$")


def _check_strips(path: Path, tf) -> None:
    """Deflate strips and tiles are inflated whole by tifffile: first stream each distinct one
    here into at most its decoded size (+1), refusing a strip that would expand further (a
    few hundred kB can otherwise inflate to gigabytes for a 64 x 64 page)."""
    seen: set = set()
    with open(path, "rb") as fh:
        for page in tf.pages:
            if int(getattr(page, "compression", 1)) not in (8, 32946):
                continue
            chunk = int(np.prod(page.chunks)) * page.dtype.itemsize
            for off, count in zip(page.dataoffsets, page.databytecounts):
                if (off, count) in seen:
                    continue
                seen.add((off, count))
                fh.seek(off)
                out = decompress_limited(path, fh.read(count), chunk + 1, "zlib",
                                         compressed=count, exact=False, what="TIFF strip")
                if out.size > chunk:
                    raise InputError(f"{path}: a compressed strip inflates beyond the "
                                     f"{chunk} bytes of its page (size bomb?)")


def _plane(path: Path, arr: np.ndarray, component: int | None) -> np.ndarray:
    """A 2-D greyscale picture from a page (picking a colour channel only when asked)."""
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        if component is None:
            if np.all(arr[..., 0] == arr[..., 1]) and np.all(arr[..., 0] == arr[..., 2]):
                return arr[..., 0]
            raise InputError(f"{path}: colour image; choose a channel with --component "
                             f"0..{arr.shape[-1] - 1}")
        if not 0 <= int(component) < arr.shape[-1]:
            raise InputError(f"{path}: component {component} out of range")
        return arr[..., int(component)]
    if arr.ndim != 2:
        raise InputError(f"{path}: unexpected picture shape {arr.shape}")
    return arr


def _read_picture(path: Path, component: int | None) -> np.ndarray:
    regular_file(path)  # never open a FIFO, socket or device (it would be read forever)
    if path.suffix.lower() == ".png":
        from PIL import Image

        with Image.open(path) as im:
            check_size(path, im.width * im.height * 4, what="pixels")
            if im.mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            if im.mode in ("LA", "PA"):
                im = im.convert("L")
            arr = np.asarray(im)
        return _plane(path, arr, component)
    import tifffile

    with tifffile.TiffFile(path) as tf:
        if len(tf.pages) != 1:
            raise InputError(f"{path}: a numbered stack needs one page per file, this one has "
                             f"{len(tf.pages)}")
        page = tf.pages[0]
        nbytes = int(np.prod(page.shape)) * page.dtype.itemsize
        if int(page.compression) > 1:
            check_size(path, nbytes, compressed=os.path.getsize(path), what="pixels",
                       ratio=_TIFF_RATIOS.get(int(page.compression), OTHER_MAX_RATIO))
            _check_strips(path, tf)
        else:
            check_size(path, nbytes, what="pixels")
        arr = page.asarray()
    return _plane(path, arr, component)


def _numbered_siblings(path: Path) -> list[Path]:
    """Files in ``path``'s directory named like it with another number, in numeric order."""
    m = _NUMBER.match(path.stem)
    if not m:
        return [path]
    prefix, _, rest = m.groups()
    files = []
    for name in os.listdir(path.parent):
        p = path.parent / name
        if p.suffix.lower() != path.suffix.lower() or p.is_dir():
            continue
        mm = _NUMBER.match(p.stem)
        if mm and mm.group(1) == prefix and mm.group(3) == rest:
            regular_file(p)  # a FIFO or device in the stack is refused, not skipped
            files.append((int(mm.group(2)), p))
    return [p for _, p in sorted(files)]


def _stack(where: Path, files: list[Path], component, spacing, origin) -> Volume:
    if len(files) < 2:
        raise InputError(f"{where}: a single 2-D picture, not a volume (a stack needs "
                         f"numbered files or several pages)")
    first = _read_picture(files[0], component)
    nbytes = first.nbytes * len(files)
    check_size(where, nbytes)
    data = np.empty((first.shape[1], first.shape[0], len(files)), dtype=first.dtype, order="F")
    for k, f in enumerate(files):
        pic = first if k == 0 else _read_picture(f, component)
        if pic.shape != first.shape or pic.dtype != first.dtype:
            raise InputError(f"{f}: picture {pic.shape} {pic.dtype} differs from "
                             f"{files[0].name}'s {first.shape} {first.dtype}")
        data[:, :, k] = pic[::-1].T  # i = column, j = up the picture
    vol = Volume(data, geometry_affine(spacing, origin), name=str(where))
    vol.meta["files"] = len(files)
    vol.meta["source_files"] = [str(f) for f in files]  # outputs must never replace these
    return vol


@register_reader(".tif", ".tiff")
def read_tiff(path: Path, frame: int | None = None, component: int | None = None,
              spacing=None, origin=None, **_: object) -> Volume:
    import tifffile

    try:
        tf = tifffile.TiffFile(path)
    except Exception as exc:
        raise InputError(f"{path}: not a readable TIFF file ({type(exc).__name__}: "
                         f"{str(exc)[:80]})") from None
    with tf:
        single = len(tf.pages) == 1  # one picture: part of a numbered stack
        if not single:
            series = tf.series[0]
            shape = tuple(int(n) for n in series.shape)
            nbytes = int(np.prod(shape, dtype=object)) * series.dtype.itemsize
            size = os.path.getsize(path)
            comp = int(tf.pages[0].compression)
            if comp > 1:
                # Compressed pages (several may share one strip): the total must be what the
                # file's bytes can expand to, before tifffile decodes anything.
                check_size(path, nbytes, compressed=size, what="pixels",
                           ratio=_TIFF_RATIOS.get(comp, OTHER_MAX_RATIO))
                _check_strips(path, tf)
            else:
                check_size(path, nbytes, available=size)
            arr = series.asarray()
    if single:
        return _stack(path, _numbered_siblings(path), component, spacing, origin)
    # (pages, rows, cols[, samples]); 4-D: (frames, pages, rows, cols) from ImageJ hyperstacks
    if arr.ndim == 4 and arr.shape[-1] in (3, 4):
        arr = np.stack([_plane(path, a, component) for a in arr])
    if arr.ndim == 4:
        n = arr.shape[0]
        f = 0 if frame is None else int(frame)
        if not 0 <= f < n:
            raise InputError(f"{path}: frame {f} out of range (the file has {n})")
        arr = arr[f]
    if arr.ndim != 3:
        raise InputError(f"{path}: a volume needs 3 dimensions, the image has shape "
                         f"{arr.shape}")
    data = arr[:, ::-1, :].transpose(2, 1, 0)  # a view: i = column, j = up, k = page
    return Volume(data, geometry_affine(spacing, origin), name=str(path))


@register_reader(".png")
def read_png(path: Path, component: int | None = None, spacing=None, origin=None,
             **_: object) -> Volume:
    return _stack(path, _numbered_siblings(path), component, spacing, origin)


def _pictures_in(d: Path) -> list[Path]:
    try:
        names = os.listdir(d)
    except OSError:
        return []
    pics = [d / n for n in names if Path(n).suffix.lower() in _STACK_SUFFIXES]
    return [p for p in pics if not p.is_dir()]


@register_directory_reader(lambda d: bool(_pictures_in(d)))
def read_picture_dir(path: Path, component: int | None = None, spacing=None, origin=None,
                     **_: object) -> Volume:
    pics = _pictures_in(path)
    suffixes = {p.suffix.lower().replace(".tiff", ".tif") for p in pics}
    if len(suffixes) > 1:
        raise InputError(f"{path}: the directory mixes {' and '.join(sorted(suffixes))} files")

    def key(p: Path):
        m = _NUMBER.match(p.stem)
        return (m.group(1), int(m.group(2)), m.group(3)) if m else (p.stem, -1, "")

    pics.sort(key=key)
    return _stack(path, pics, component, spacing, origin)
