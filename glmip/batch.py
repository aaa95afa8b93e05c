"""Batch export: many inputs x several views -> ``DIR/<name>_<view>.png``, on any executor.

The unit of work is one input (:class:`Task`): load it once, upload it once, then write each of
its pictures (one per view, or one contact sheet) through :func:`glmip.pipeline.write_picture`,
the same call a single ``glmip render`` makes: a single render is a batch of one.
:func:`render_batch` hands tasks to any ``concurrent.futures.Executor``: ``None`` runs them
here, a ``ProcessPoolExecutor`` made by :func:`process_pool` (the ``spawn`` start method: a
forked EGL context is unsafe) runs them on this machine's cores, and Dask's
``distributed.Client(...).get_executor()`` runs them on a cluster. Each worker process (or
thread) keeps one headless context and one renderer for its whole life, so the shader is
compiled once per worker, not once per scan.

A bad input never stops the batch: its task returns an :class:`Outcome` carrying a one-line
error, and the caller reports it and exits 2 at the end (docs/conventions.md).
"""

from __future__ import annotations

import concurrent.futures as cf
import fnmatch
import glob
import os
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence


from .errors import BAD_INPUT, UsageError
from .io import load, readable_suffixes, suffix_of
from .pipeline import thread_renderer, write_picture
from .recipe import Recipe

__all__ = [
    "Task",
    "Outcome",
    "BatchReport",
    "expand_inputs",
    "output_name",
    "make_tasks",
    "run_task",
    "render_batch",
    "process_pool",
]

DICOM_SUFFIXES = (".dcm", ".dicom", ".ima")


# --- inputs and names ----------------------------------------------------------------------
def _expand_directory(directory: Path) -> list[str]:
    """The readable files directly inside ``directory``; or the directory itself when it is
    one image (a DICOM series: several DICOM files and nothing else readable, or no readable
    file at all, e.g. DICOM files without a suffix or an image stack)."""
    known = readable_suffixes()
    files = sorted(p for p in directory.iterdir() if p.is_file() and suffix_of(p) in known
                   and not p.name.startswith("."))
    dicom = [p for p in files if suffix_of(p) in DICOM_SUFFIXES]
    if not files or (len(dicom) > 1 and len(dicom) == len(files)):
        return [str(directory)]
    return [str(p) for p in files]


def glob_no_links(pattern: str) -> list[str]:
    """``glob.glob(pattern, recursive=True)``, except that ``**`` never descends through a
    symbolic link to a directory (a link loop would recurse without end)."""
    if "**" not in pattern:
        return sorted(glob.glob(pattern))
    head, _, tail = pattern.partition("**")
    base = head.rstrip("/" + os.sep) or ("/" if head.startswith("/") else ".")
    found = []
    for root, dirs, files in os.walk(base, followlinks=False):
        for name in dirs + files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, base)
            if fnmatch.fnmatchcase(rel, tail.lstrip("/" + os.sep)) or \
                    fnmatch.fnmatchcase(name, tail.lstrip("/" + os.sep)):
                found.append(path if head else os.path.relpath(path))
    return sorted(found)


def expand_inputs(items: Iterable[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Files, directories and glob patterns -> (inputs in order, without repeats; failures as
    (item, one-line message) for patterns that match nothing and paths that do not exist)."""
    inputs: list[str] = []
    missing: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            inputs.append(path)

    for item in items:
        p = Path(item)
        if p.is_dir():
            for path in _expand_directory(p):
                add(path)
        elif p.exists():
            add(item)
        elif glob.has_magic(item):
            matches = glob_no_links(item)
            if not matches:
                missing.append((item, f"{item}: no file matches the pattern"))
            for m in matches:
                if Path(m).is_dir():
                    for path in _expand_directory(Path(m)):
                        add(path)
                elif suffix_of(Path(m)) in readable_suffixes():
                    add(m)
        else:
            missing.append((item, f"{item}: no such file or directory"))
    return inputs, missing


def output_name(path: str) -> str:
    """``/data/ct_001.nii.gz`` -> ``ct_001``; a directory keeps its name."""
    p = Path(path.rstrip("/\\") or path)
    if p.is_dir():
        return p.name or "input"
    suffix = suffix_of(p)
    name = p.name
    return name[: -len(suffix)] if suffix and name.lower().endswith(suffix) else p.stem


# --- tasks ---------------------------------------------------------------------------------
@dataclass
class Task:
    """One input and the pictures to make of it (plain data: it travels to worker processes):
    ``jobs`` pairs each output path with the recipe of its picture."""

    input: str
    jobs: list[tuple[Recipe, str]]

    @property
    def outputs(self) -> list[str]:
        return [path for _, path in self.jobs]


@dataclass
class Outcome:
    input: str
    outputs: list[str]
    error: str | None = None
    seconds: float = 0.0  # load + render + write, measured in the worker
    load_seconds: float = 0.0
    skipped: bool = False
    worker: str = ""


def make_tasks(inputs: Sequence[str], out_dir: str | os.PathLike[str],
               recipe: Recipe) -> list[Task]:
    """A task per input writing ``out_dir/<name>_<view>.png`` (or ``<name>_sheet.png`` when the
    recipe asks for a contact sheet). ``recipe`` holds the options; its input is replaced by
    each input's. Two inputs that would write the same file are refused (UsageError) before
    anything runs."""
    out_dir = Path(out_dir)
    labels = [label for label, _ in recipe.cameras()]
    sheet = bool(recipe.get("contact_sheet"))
    tasks: list[Task] = []
    owner: dict[str, str] = {}
    for path in inputs:
        name = output_name(path)
        base = Recipe(str(path), recipe.options, recipe.kind)
        if sheet:
            jobs = [(base, str(out_dir / f"{name}_sheet.png"))]
        elif recipe.options.get("view") is None:
            jobs = [(base, str(out_dir / f"{name}_{labels[0]}.png"))]
        else:
            jobs = [(base.replace(view=v), str(out_dir / f"{name}_{v}.png")) for v in labels]
        for _, o in jobs:
            if o in owner:
                raise UsageError(f"{owner[o]} and {path} would both write {o}; "
                                 "render them to different directories")
            owner[o] = path
        tasks.append(Task(str(path), jobs))
    return tasks


# --- the worker side -----------------------------------------------------------------------
def run_task(task: Task) -> Outcome:
    """Make one input's pictures (in whatever process or thread runs it). Never raises for a
    bad input: the error comes back as one line in ``Outcome.error``."""
    t0 = time.perf_counter()
    worker = f"{os.getpid()}"
    renderer = None
    try:
        vol = load(task.input, **task.jobs[0][0].reader_options())
        t_load = time.perf_counter() - t0
        renderer = thread_renderer()
        renderer.upload(vol)
        for recipe, out in task.jobs:
            write_picture(recipe, out, volume=vol, renderer=renderer)
        return Outcome(task.input, task.outputs, None, time.perf_counter() - t0, t_load,
                       worker=worker)
    except BAD_INPUT as exc:
        msg = " ".join(str(exc).split())
        if task.input not in msg:
            msg = f"{task.input}: {msg}"
        return Outcome(task.input, task.outputs, msg, time.perf_counter() - t0, worker=worker)
    except MemoryError:
        return Outcome(task.input, task.outputs, f"{task.input}: out of memory",
                       time.perf_counter() - t0, worker=worker)
    except Exception as exc:  # a bug or a driver failure: still report and go on
        text = " ".join(str(exc).split())
        return Outcome(task.input, task.outputs,
                       f"{task.input}: internal error ({type(exc).__name__}: {text})"[:400],
                       time.perf_counter() - t0, worker=worker)
    finally:
        # Let the array and its textures go now, whatever happened; the renderer, with its
        # context and compiled programs, stays for the next task.
        if renderer is not None:
            renderer.unload()


# --- the driver side -----------------------------------------------------------------------
@dataclass
class BatchReport:
    outcomes: list[Outcome]
    seconds: float  # wall time of the whole batch

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error]

    @property
    def done(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.error and not o.skipped]

    @property
    def skipped(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.skipped]

    def summary(self) -> str:
        n = len(self.done)
        per = f", {self.seconds / n:.3f} s per input" if n else ""
        return (f"{n} rendered, {len(self.skipped)} skipped in {self.seconds:.1f} s{per}")


def process_pool(jobs: int) -> cf.ProcessPoolExecutor:
    """``jobs`` worker processes, started with ``spawn`` (a fork would share the parent's
    EGL/driver state, which is unsafe); each makes its own headless context."""
    import multiprocessing

    return cf.ProcessPoolExecutor(max_workers=jobs,
                                  mp_context=multiprocessing.get_context("spawn"))


def _dead(task: Task, why: str) -> Outcome:
    return Outcome(task.input, task.outputs, f"{task.input}: {why}"[:400])


def _bounded(executor: cf.Executor, tasks: Sequence[Task], window: int,
             timeout: float | None = None) -> Iterator[Outcome]:
    """Submit at most ``window`` tasks ahead (so a million inputs do not make a million
    futures at once) and yield outcomes as they finish.

    A worker process that dies (killed, out of memory) breaks a process pool: every task in
    flight fails with it. The pool is then made anew and those tasks are retried one at a
    time, so the one that kills its worker again is the one reported, and the rest go on.
    A task running longer than ``timeout`` seconds has its pool's workers stopped the same
    way, and is reported as too slow."""
    pool_holder = [executor]  # replaced by a fresh pool when a worker dies
    try:
        yield from _run_bounded(executor, tasks, window, timeout, pool_holder)
    finally:
        if pool_holder[0] is not executor:
            pool_holder[0].shutdown(wait=True, cancel_futures=True)


def _run_bounded(executor: cf.Executor, tasks: Sequence[Task], window: int,
                 timeout: float | None, pool_holder: list) -> Iterator[Outcome]:
    pending: dict[cf.Future, Task] = {}
    started: dict[cf.Future, float] = {}  # when each future was first seen running
    todo = list(tasks)[::-1]
    retry: list[Task] = []  # tasks in flight when a pool broke: run alone
    while pending or todo or retry:
        alone = bool(retry)
        while (retry or todo) and len(pending) < (1 if alone else window):
            task = retry.pop() if retry else todo.pop()
            pending[pool_holder[0].submit(run_task, task)] = task
        done, _ = cf.wait(list(pending), timeout=None if timeout is None else 0.5,
                          return_when=cf.FIRST_COMPLETED)
        if timeout is not None and not done:
            now = time.monotonic()
            for fut in pending:
                if fut.running():
                    started.setdefault(fut, now)
            slow = [f for f in pending if now - started.get(f, now) >= timeout]
            if not slow:
                continue
            for fut in slow:  # stop the workers; the pool breaks and the rest are retried
                yield _dead(pending.pop(fut), f"took longer than {timeout:g} s (stopped)")
            _stop_workers(pool_holder[0])
            done, _ = cf.wait(list(pending), timeout=30)
        broken = False
        for fut in done:
            task = pending.pop(fut)
            try:
                yield fut.result()
            except BrokenProcessPool:
                broken = True
                if alone:  # it ran by itself: it is what kills the worker
                    yield _dead(task, "the worker process died (killed, or out of memory)")
                else:
                    retry.append(task)
            except Exception as exc:  # lost on a cluster, or a pickling failure
                yield _dead(task, f"worker failed ({type(exc).__name__}: {exc})")
        if broken or any(f.done() and isinstance(f.exception(), BrokenProcessPool)
                         for f in pending):
            retry.extend(pending.values())
            pending.clear()
            started.clear()
            pool_holder[0] = _renewed(pool_holder[0], executor)


def _stop_workers(executor: cf.Executor) -> None:
    for proc in list((getattr(executor, "_processes", None) or {}).values()):
        proc.kill()


def _renewed(pool: cf.Executor, original: cf.Executor) -> cf.Executor:
    """A fresh process pool like the broken one (the caller shuts the original down)."""
    if not isinstance(pool, cf.ProcessPoolExecutor):
        return pool
    if pool is not original:
        pool.shutdown(wait=False, cancel_futures=True)
    return cf.ProcessPoolExecutor(max_workers=pool._max_workers, mp_context=pool._mp_context,
                                  initializer=pool._initializer, initargs=pool._initargs)


def render_batch(
    tasks: Sequence[Task],
    executor: cf.Executor | None = None,
    *,
    skip_existing: bool = False,
    progress: bool | None = None,
    window: int | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    timeout: float | None = None,
) -> BatchReport:
    """Run ``tasks`` on ``executor`` (None: here, one after another) and collect outcomes.

    ``skip_existing`` leaves out, without loading them, inputs whose outputs all exist.
    ``progress`` None shows a bar when stderr is a terminal. ``on_outcome`` sees each outcome
    as it arrives (the command line prints failures there). ``timeout``: seconds each input
    may take on a process pool (see :func:`_bounded`).
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    outcomes: list[Outcome] = []
    todo: list[Task] = []
    for task in tasks:
        if skip_existing and all(Path(o).exists() for o in task.outputs):
            outcomes.append(Outcome(task.input, task.outputs, skipped=True))
        else:
            todo.append(task)
    for parent in {Path(o).parent for t in todo for o in t.outputs}:
        parent.mkdir(parents=True, exist_ok=True)
    if progress is None:
        progress = sys.stderr.isatty()
    bar = tqdm(total=len(todo), unit="scan", disable=not progress, file=sys.stderr,
               leave=False, desc="render")
    if executor is None:
        stream: Iterable[Outcome] = (run_task(t) for t in todo)
    else:
        workers = getattr(executor, "_max_workers", None) or 8
        # With a time limit, only as many tasks as workers are in flight: a task's clock starts
        # when it runs, not while it waits in the pool's queue.
        ahead = workers if timeout is not None else 4 * workers
        stream = _bounded(executor, todo, window or ahead, timeout)
    try:
        for outcome in stream:
            outcomes.append(outcome)
            bar.update(1)
            if on_outcome is not None:
                on_outcome(outcome)
    finally:
        bar.close()
    return BatchReport(outcomes, time.perf_counter() - t0)
