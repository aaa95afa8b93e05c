"""The registry that maps file types to reader and writer functions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from ..volume import Volume, VolumeError

Reader = Callable[..., Volume]
Writer = Callable[[Volume, Path], None]

_READERS: dict[str, Reader] = {}
_WRITERS: dict[str, Writer] = {}


class InputError(Exception):
    """Bad input: the message is one line naming the file and what is wrong."""


def _suffix(path: Path) -> str:
    """Lower-case file type, keeping double suffixes such as ``.nii.gz``."""
    name = path.name.lower()
    for double in (".nii.gz", ".img.gz", ".hdr.gz", ".mnc.gz"):
        if name.endswith(double):
            return double
    return path.suffix.lower()


def register_reader(*suffixes: str) -> Callable[[Reader], Reader]:
    def deco(fn: Reader) -> Reader:
        for s in suffixes:
            _READERS[s] = fn
        return fn

    return deco


def register_writer(*suffixes: str) -> Callable[[Writer], Writer]:
    def deco(fn: Writer) -> Writer:
        for s in suffixes:
            _WRITERS[s] = fn
        return fn

    return deco


def reader_for(path: str | os.PathLike[str]) -> Reader:
    p = Path(path)
    fn = _READERS.get(_suffix(p))
    if fn is None:
        known = " ".join(sorted(_READERS))
        raise InputError(f"{p}: unknown file type '{_suffix(p) or p.name}' (known: {known})")
    return fn


def load(path: str | os.PathLike[str], **options: Any) -> Volume:
    """Read a volume. ``options`` are reader options (e.g. ``frame=``, ``array=``)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or directory")
    fn = reader_for(p)
    if p.is_file() and not os.access(p, os.R_OK):
        raise InputError(f"{p}: permission denied")
    try:
        vol = fn(p, **options)
    except InputError:
        raise
    except VolumeError as exc:
        raise InputError(f"{p}: {exc}") from None
    except MemoryError:
        raise InputError(f"{p}: the image is too large to load into memory") from None
    except Exception as exc:  # a reader's library failed on a broken file
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{p}: cannot read ({msg})") from None
    if not vol.name:
        vol.name = str(p)
    return vol


def save(volume: Volume, path: str | os.PathLike[str]) -> None:
    """Write a volume in the format of ``path``'s extension."""
    p = Path(path)
    fn = _WRITERS.get(_suffix(p))
    if fn is None:
        known = " ".join(sorted(_WRITERS)) or "none yet"
        raise InputError(f"{p}: cannot write '{_suffix(p) or p.name}' files (known: {known})")
    fn(volume, p)
