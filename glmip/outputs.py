"""Every file glmip writes goes through here: checks first, then atomic writing.

Checks: an output's folder must exist, an output is never a directory, never one of the files
an input was read from, and several outputs of one command never share a name. Writing: each
file is written to a temporary name beside its target (``.glmip-<name>.<random>.tmp``) and
renamed into place; a command's files appear together (all renamed after all were written) or
not at all. New files follow the umask. Nothing here knows about images or GL.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from .errors import OutputError

__all__ = ["write_frames", "file_mode", "is_directory_target", "check_output_file", "check_output_dir",
           "check_distinct", "write_file", "write_together", "write_new", "next_free_path",
           "publish_new", "staged_folder", "temporary_beside", "sweep_stale", "TEMP_PREFIX"]

TEMP_PREFIX = ".glmip-"
STALE_SECONDS = 3600  # a temporary file this old was left by a killed run
_swept: set[str] = set()


def sweep_stale(directory: str | os.PathLike[str], prefix: str = TEMP_PREFIX) -> None:
    """Remove the temporary files and folders a killed glmip run left in ``directory`` (ours
    by their ``prefix``, stale by their age); once per folder and process."""
    import shutil
    import time

    key = f"{_real(directory)}/{prefix}"
    if key in _swept:
        return
    _swept.add(key)
    try:
        entries = [e for e in os.scandir(directory) if e.name.startswith(prefix)]
    except OSError:
        return
    for entry in entries:
        try:
            if time.time() - entry.stat(follow_symlinks=False).st_mtime < STALE_SECONDS:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
        except OSError:
            pass


def file_mode() -> int:
    """Mode for new files: 0o666 less the process's umask (as open() would give)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def is_directory_target(path: str | os.PathLike[str]) -> bool:
    """An output naming a directory: ends with a slash or is one."""
    text = os.fspath(path)
    return text.endswith(("/", os.sep)) or Path(text).is_dir()


def _real(path: str | os.PathLike[str]) -> str:
    try:
        return os.path.realpath(path, strict=False)
    except (OSError, RuntimeError):  # a symlink loop
        return os.path.abspath(path)


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    try:
        if os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return _real(a) == _real(b)


def check_output_file(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]] = ()
                      ) -> Path:
    """A new or replaceable file in an existing directory, not a directory, not an input."""
    out = Path(path)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{out}: output directory {parent} does not exist")
    if out.is_dir():
        raise OutputError(f"{out}: is a directory")
    if out.is_symlink():
        try:
            out.resolve(strict=False)
        except (OSError, RuntimeError):
            raise OutputError(f"{out}: symbolic link loop") from None
    for src in inputs:
        if _same_file(out, src):
            raise OutputError(f"{out}: the output would overwrite the input {src}")
    return out


def check_output_dir(directory: str | os.PathLike[str],
                     inputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Refuse an output directory that is an input or lies inside an input directory (outputs
    would land among the inputs: a stack of PNGs would grow)."""
    target = _real(directory)
    for src in inputs:
        real = _real(src)
        if target == real or (os.path.isdir(real) and target.startswith(real.rstrip(os.sep) + os.sep)):
            raise OutputError(f"{directory}: the output directory is inside the input {src}")
    return Path(directory)


def check_distinct(paths: Iterable[str | os.PathLike[str]]) -> None:
    """Several outputs of one command must name different files."""
    seen: dict[str, str] = {}
    for p in paths:
        key = _real(p)
        if key in seen:
            raise OutputError(f"{p} and {seen[key]}: outputs must name different files")
        seen[key] = str(p)


@contextmanager
def temporary_beside(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary file beside ``path`` for a writer that streams (a movie encoder); renamed
    to ``path`` when the block ends without an error, removed otherwise."""
    path = Path(path)
    sweep_stale(path.parent if str(path.parent) else ".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.", suffix=path.suffix,
                                   dir=path.parent if str(path.parent) else ".")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def staged_folder(dest: str | os.PathLike[str], what: str, last: str | None = None,
                  into: str | os.PathLike[str] | None = None) -> Iterator[Path]:
    """A temporary folder in ``dest`` for outputs made as several files (an image with its
    data file, a movie's frames). When the block ends without an error every file in it is
    moved into ``into`` (default ``dest``; made if missing), ``last`` at the end, so a header
    appears only once its data is in place; the folder goes away whatever happens. ``what``
    names the output in messages."""
    import shutil

    dest = Path(dest)
    sweep_stale(dest)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{Path(what).name}.", dir=dest))
    except OSError as exc:
        raise OutputError(f"{what}: cannot write in {dest} ({exc.strerror})") from None
    try:
        yield staging
        target = Path(into) if into is not None else dest
        target.mkdir(parents=True, exist_ok=True)
        for f in sorted(staging.iterdir(), key=lambda f: f.name == last):
            os.chmod(f, file_mode())
            os.replace(f, target / f.name)
    except OSError as exc:
        raise OutputError(f"{what}: cannot write ({exc.strerror})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_frames(directory: str | os.PathLike[str], payloads: Iterable[bytes], suffix: str
                 ) -> int:
    """Files ``frame_0000<suffix>``... in ``directory`` (made if missing; its parent must
    exist), one per payload, each written into a staging folder beside it as it comes: they
    are moved in only when all are done, so a failed series leaves none. The number written."""
    directory = Path(directory)
    parent = directory.parent if str(directory.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{directory}: output directory {parent} does not exist")
    n = 0
    with staged_folder(parent, str(directory), into=directory) as staging:
        for n, payload in enumerate(payloads, start=1):
            (staging / f"frame_{n - 1:04d}{suffix}").write_bytes(payload)
    return n


def write_together(files: Mapping[str | os.PathLike[str], bytes]) -> list[Path]:
    """Write every ``path: payload``; all appear, or none (temporaries are removed)."""
    temps: list[tuple[str, Path]] = []
    try:
        for path, payload in files.items():
            target = Path(path)
            sweep_stale(target.parent if str(target.parent) else ".")
            try:
                fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{target.name}.", suffix=".tmp",
                                           dir=target.parent if str(target.parent) else ".")
            except OSError as exc:
                raise OutputError(f"{target}: cannot write ({exc.strerror})") from None
            temps.append((tmp, target))
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(payload)
                os.chmod(tmp, file_mode())
            except OSError as exc:
                raise OutputError(f"{target}: cannot write ({exc.strerror})") from None
        for tmp, target in temps:
            try:
                os.replace(tmp, target)
            except OSError as exc:
                raise OutputError(f"{target}: cannot write ({exc.strerror})") from None
    finally:
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return [target for _, target in temps]


def write_file(path: str | os.PathLike[str], payload: bytes) -> Path:
    """Write one file atomically."""
    return write_together({path: payload})[0]


def next_free_path(directory: str | os.PathLike[str], stem: str, suffix: str) -> Path:
    """``<stem>-N<suffix>`` with the first N (from 1) not yet taken."""
    n = 1
    while (candidate := Path(directory) / f"{stem}-{n}{suffix}").exists():
        n += 1
    return candidate


def write_new(directory: str | os.PathLike[str], stem: str, suffix: str, payload: bytes) -> Path:
    """Save as ``<stem>-N<suffix>`` with the first unused N; never overwrites, even in a race
    (the finished file is hard-linked into place, which fails if the name exists)."""
    directory = Path(directory)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{stem}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(f"{directory}: cannot write ({exc.strerror})") from None
    with os.fdopen(fd, "wb") as f:
        f.write(payload)
    return publish_new(Path(tmp), directory, stem, suffix)


def publish_new(finished: Path, directory: str | os.PathLike[str], stem: str,
                suffix: str) -> Path:
    """Give a finished temporary file the name ``<stem>-N<suffix>`` (first unused N) by a hard
    link, which fails rather than replace a file that appeared meanwhile; the temporary name
    goes away whatever happens."""
    try:
        os.chmod(finished, file_mode())
        n = 1
        while True:
            candidate = Path(directory) / f"{stem}-{n}{suffix}"
            try:
                os.link(finished, candidate)
                return candidate
            except FileExistsError:
                n += 1
    except OSError as exc:
        raise OutputError(f"{directory}: cannot write ({exc.strerror})") from None
    finally:
        finished.unlink(missing_ok=True)
