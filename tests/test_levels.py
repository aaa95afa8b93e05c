"""Pyramid levels in the viewer (glmip/levels.py, glmip/app.py): a multiscale OME-Zarr opens on
its coarsest level, refines one level per idle step down to level 0 (then the picture equals
glmip.render of level 0), dragging never goes back to the coarsest, the x screenshot is drawn
from full resolution with a recipe naming no level, and --pyramid-level pins the window."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PIL import Image

import glmip
from glmip.app import MipViewer, ViewerOptions
from glmip.camera import Camera
from glmip.levels import LevelPolicy, level_count
from glmip.settings import RenderSettings
from glmip.volume import Volume

from test_app import SIZE, Driver, headless

# --- the policy, without a window ------------------------------------------------------------
META = {"levels": [((96,) * 3, "0", [1.0] * 3), ((48,) * 3, "1", [2.0] * 3),
                   ((24,) * 3, "2", [4.0] * 3)], "level": 0}


def test_policy_exists_only_for_an_unpinned_pyramid():
    assert level_count({}) == 1 and level_count(META) == 3
    assert LevelPolicy.for_volume({}, {}) is None
    assert LevelPolicy.for_volume({"levels": META["levels"][:1]}, {}) is None
    assert LevelPolicy.for_volume(META, {"pyramid_level": 1}) is None
    assert LevelPolicy.for_volume(META, {"pyramid_level": 0}) is None
    lv = LevelPolicy.for_volume(META, {"frame": 2})
    assert lv is not None and lv.current == lv.coarsest == 2 and not lv.done


def test_policy_refines_one_level_per_rest_and_never_goes_back():
    lv = LevelPolicy(count=3, current=2, settle=0.5)
    assert lv.next_level(10.0) is None  # nothing drawn yet
    lv.frame_drawn()
    assert lv.next_level(10.0, busy=True) is None  # a drag in progress
    assert lv.next_level(10.0) == 1
    lv.loaded(1)
    assert lv.next_level(10.0) is None  # level 1 not drawn yet: one level per idle period
    lv.frame_drawn()
    lv.motion(10.0)
    assert lv.next_level(10.2) is None  # camera moved 0.2 s ago
    assert lv.current == 1  # ... and the level stays
    assert lv.next_level(10.6) == 0
    lv.loaded(0)
    lv.frame_drawn()
    assert lv.done and lv.next_level(100.0) is None
    assert "refining" not in lv.status(1.0) and "full resolution" in lv.status(1.0)
    assert LevelPolicy(3, 2).status(4.0) == "level 2 of 2 (4 mm voxels) — refining"


def test_policy_loads_one_level_at_a_time_in_the_background():
    lv = LevelPolicy(count=3, current=2, settle=0.5)
    lv.frame_drawn()
    assert lv.next_level(10.0) == 1
    lv.start(1)
    lv.progress = 0.4
    assert lv.status(4.0) == "level 2 of 2 (4 mm voxels) — loading level 1: 40 %"
    lv.frame_drawn()
    assert lv.next_level(20.0) is None  # one load at a time
    lv.motion(20.0)  # moving the camera does not stop the load...
    assert lv.loading == 1 and lv.current == 2
    lv.loaded(1)  # ... which is shown when ready
    assert lv.current == 1 and lv.loading is None and not lv.drawn
    lv.frame_drawn()
    assert lv.next_level(21.0) == 0
    lv.start(0)
    lv.cancelled()  # given up (the window closed, another volume): may start again
    assert lv.loading is None and lv.next_level(21.0) == 0
    lv.start(0)
    lv.failed()  # could not be read: stays on level 1, loads nothing more
    assert lv.next_level(100.0) is None and lv.current == 1
    assert lv.status(2.0) == "level 1 of 2 (2 mm voxels)"


# --- the viewer ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pyramid(tmp_path_factory):
    """A 96x80x72 volume of bright specks and a dim gradient, saved as a 3-level max pyramid."""
    rng = np.random.default_rng(5)
    data = np.zeros((96, 80, 72), np.uint16)
    data += np.arange(72, dtype=np.uint16)[None, None, :] * 3
    idx = rng.integers(0, [96, 80, 72], size=(60, 3))
    data[idx[:, 0], idx[:, 1], idx[:, 2]] = 2000 + rng.integers(0, 1000, 60).astype(np.uint16)
    path = tmp_path_factory.mktemp("levels") / "specks.ome.zarr"
    glmip.io.save(Volume(data, np.diag([0.8, 0.9, 1.1, 1.0]), name="specks"), path)
    return path


def open_pyramid(path, tmp_path, **reader):
    wnd = headless()
    lines: list[str] = []
    volume = glmip.load(path, **reader)
    opts = ViewerOptions(input_path=str(path), reader_options=dict(reader),
                         screenshot_dir=str(tmp_path), echo=lines.append)
    viewer = MipViewer(wnd.ctx, wnd, volume=volume, camera=Camera.standard("anterior"),
                       settings=RenderSettings(), options=opts)
    viewer.step()
    return Driver(viewer, lines)


def rendered(volume, viewer, size=SIZE):
    """glmip.render of ``volume`` with the viewer's camera and settings (on the shared headless
    context, which it makes current: the window's context is made current again after)."""
    image = np.asarray(glmip.render(volume, size=size, camera=viewer.camera,
                                    settings=viewer.settings))
    viewer.ctx.__enter__()
    return image


def close(a, b):
    return np.abs(a.astype(int) - b.astype(int)).max() <= 1


def refine_to(viewer, level, seconds=30.0):
    """Turn the viewer's loop until pyramid ``level`` is shown (a level held whole is read in
    a worker thread, so that may take a few turns)."""
    deadline = time.perf_counter() + seconds
    while viewer.volume.meta["level"] != level:
        assert time.perf_counter() < deadline, f"level {level} not shown within {seconds} s"
        viewer.step()
        time.sleep(0.002)


def wait_full_frame(viewer, seconds=30.0):
    """Turn the viewer's loop until the full-resolution picture of a streamed level, drawn in
    the background, is shown (True)."""
    deadline = time.perf_counter() + seconds
    while True:
        job = viewer._full_frame
        if job is not None and job.shown and job.image is not None:
            return True
        assert time.perf_counter() < deadline, f"no full-resolution picture within {seconds} s"
        viewer.step()
        time.sleep(0.005)


def test_opens_on_the_coarsest_and_refines_to_level_0(pyramid, tmp_path):
    d = open_pyramid(pyramid, tmp_path)
    v = d.viewer
    assert len(v.volume.meta["levels"]) == 3
    assert v.volume.meta["level"] == 2 and v.levels.current == 2
    coarse = glmip.load(pyramid, pyramid_level=2)
    assert close(d.image[..., 0], rendered(coarse, v))
    assert "level 2 of 2" in v.status_text() and "refining" in v.status_text()
    refine_to(v, 1)
    refine_to(v, 0)
    assert v.levels.done
    assert [lvl for lvl, _ in v.level_seconds] == [1, 0]
    full = glmip.load(pyramid)
    assert close(d.image[..., 0], rendered(full, v))
    assert not close(d.image[..., 0], rendered(coarse, v))
    assert "full resolution" in v.status_text()
    frames = v.frames_drawn
    v.step()
    assert v.frames_drawn == frames  # nothing left to do: idle
    v.release()


def test_dragging_keeps_the_current_level(pyramid, tmp_path):
    d = open_pyramid(pyramid, tmp_path)
    v = d.viewer
    refine_to(v, 1)
    v.policy.settle = 10.0  # "interacting" for the whole drag, and long after it
    d.drag((120, 90), (160, 100), release=False)
    assert v.volume.meta["level"] == 1 and v.last_reduction >= 2  # coarse frames of level 1
    v.on_mouse_release_event(160, 100, 1)
    v.step()
    assert v.volume.meta["level"] == 1  # the camera has not rested yet
    v.policy.settle = 0.0
    v.levels.settle = 0.0
    refine_to(v, 0)
    assert close(d.image[..., 0], rendered(glmip.load(pyramid), v))
    v.release()


def test_screenshot_is_full_resolution_without_a_level(pyramid, tmp_path):
    d = open_pyramid(pyramid, tmp_path)
    v = d.viewer
    assert v.volume.meta["level"] == 2
    path = v.screenshot()
    command = next(line for line in d.lines if line.startswith("Reproduce it with:"))
    assert "pyramid" not in command
    recipe = v.recipe(SIZE)  # still shown at level 2...
    assert "pyramid_level" not in recipe.options
    shot = np.asarray(Image.open(path).convert("L"))
    cols, rows = v.window_pixels
    mag = v.options.magnification
    expected = rendered(glmip.load(pyramid), v, (cols * mag, rows * mag))
    assert close(shot, expected)
    assert v.volume.meta["level"] == 2  # ... and the window still shows level 2
    v.release()


def test_pyramid_level_pins_the_viewer(pyramid, tmp_path):
    d = open_pyramid(pyramid, tmp_path, pyramid_level=1)
    v = d.viewer
    assert v.levels is None and v.volume.meta["level"] == 1
    for _ in range(3):
        v.step()
    assert v.volume.meta["level"] == 1
    assert "level 1" in v.status_text()
    assert close(d.image[..., 0], rendered(glmip.load(pyramid, pyramid_level=1), v))
    v.screenshot()
    command = next(line for line in d.lines if line.startswith("Reproduce it with:"))
    assert "--pyramid-level 1" in command
    v.release()


def test_view_command_takes_memory_and_pyramid_level():
    from glmip.cli import get_parser

    args = get_parser().parse_args(["view", "x.ome.zarr", "--pyramid-level", "1",
                                      "--memory", "512M"])
    assert args.pyramid_level == 1 and args.memory == 512 << 20


def streamed_viewer(pyramid, tmp_path) -> MipViewer:
    """The viewer on the pyramid with a memory budget its level 0 (1.1 MB) exceeds: streamed."""
    wnd = headless()
    opts = ViewerOptions(input_path=str(pyramid), screenshot_dir=str(tmp_path),
                         echo=lambda line: None, memory=500_000)
    return MipViewer(wnd.ctx, wnd, volume=glmip.load(pyramid), camera=Camera.standard("anterior"),
                     settings=RenderSettings(), options=opts)


def test_a_streamed_level_drags_with_the_finest_level_held_whole(pyramid, tmp_path):
    v = streamed_viewer(pyramid, tmp_path)
    d = Driver(v, [])
    refine_to(v, 0)
    assert v.renderer.streaming
    assert v._preview is not None and v._preview[1].meta["level"] == 1
    full = wait_full_frame(v) and d.image[..., 0]
    assert close(full, rendered(glmip.load(pyramid), v))
    v.policy.settle = 10.0
    d.drag((120, 90), (160, 100), release=False)  # coarse frames from level 1, held whole
    assert v.last_reduction >= 2 and v.volume.meta["level"] == 0
    v.on_mouse_release_event(160, 100, 1)
    v.step()  # released: a full frame of level 0, streamed in the background
    assert v.last_reduction == 1
    wait_full_frame(v)
    assert close(d.image[..., 0], rendered(glmip.load(pyramid), v))
    v.release()


# --- a level read in a worker thread slab by slab, its slabs written on the GL thread -------
def _lazy_volume(path, data, dtype):
    zarr = pytest.importorskip("zarr", reason="zarr (the test extra) is not installed")
    z = zarr.open_array(str(path), mode="w", shape=data.shape, chunks=(16, 24, 20),
                        dtype=dtype, zarr_format=2)
    z[:] = data
    return Volume(zarr.open_array(str(path), mode="r"), np.diag([0.7, 0.8, 0.9, 1.0]),
                  slope=1.5, inter=-20.0)


@pytest.mark.parametrize("case", ["numpy", "int16", "float-nan", "lazy", "lazy-bricks",
                                  "numpy-bricks", "streamed"])
def test_slab_upload_draws_what_upload_draws(ctx, tmp_path, case):
    """plan_upload, begin_upload, read_slabs (in another thread: no GL), write_slab,
    finish_upload: the same textures, statistics and pictures as upload(volume)."""
    import queue
    from concurrent.futures import ThreadPoolExecutor

    from glmip.lazy import LazyArray
    from glmip.raycast import read_slabs
    from glmip.renderer import MipRenderer
    from glmip.volume import VolumeError

    rng = np.random.default_rng(7)
    data = (rng.random((45, 52, 38)) * 900).astype(np.uint16)
    data[10:14, 5:40, 3:30] = 3000
    limits = {}
    if case == "int16":
        volume = Volume(data.astype(np.int16) - 400, np.diag([1.0, 0.9, 1.1, 1.0]))
    elif case == "float-nan":
        f = data.astype(np.float32)
        f[:20, :20, :] = np.nan
        volume = Volume(f, np.diag([1.0, 0.9, 1.1, 1.0]))
    elif case.startswith("lazy") or case == "streamed":
        volume = _lazy_volume(tmp_path / "v.zarr", data, "uint16")
        assert isinstance(volume.data, LazyArray)
        limits = {"lazy-bricks": {"max_texture_bytes": 40_000},
                  "streamed": {"memory_budget": 60_000}}.get(case, {})
    elif case == "numpy-bricks":  # C-ordered: goes up with its axes reversed, split on all three
        volume = Volume(data.astype(np.int16), np.diag([1.0, 0.9, 1.1, 1.0]))
        limits = {"max_texture_size": 16}
    else:
        volume = Volume(data, np.diag([1.0, 0.9, 1.1, 1.0]))
    with MipRenderer(ctx, **limits) as direct, MipRenderer(ctx, **limits) as slabs:
        direct.upload(volume)
        plan = slabs.plan_upload(volume)
        assert plan.streaming == (case == "streamed") == direct.streaming
        if plan.streaming:
            with pytest.raises(VolumeError, match="streamed"):
                slabs.begin_upload(plan)
            return
        slabs.begin_upload(plan)
        with pytest.raises(RuntimeError, match="upload"):
            slabs.render(Camera.standard("anterior"), RenderSettings(), (10, 10))
        handed: queue.Queue = queue.Queue(maxsize=2)

        def reader():  # no GL call: this thread has no context
            for slab in read_slabs(plan, block_bytes=6000):
                handed.put(slab)
            handed.put(None)

        count = 0
        with ThreadPoolExecutor(1) as pool:
            done = pool.submit(reader)
            while (slab := handed.get(timeout=10)) is not None:
                slabs.write_slab(slab)
                count += 1
            done.result()
        slabs.finish_upload()
        assert count > 5 and slabs.volume is volume and not slabs.streaming
        assert len(slabs.bricks) == len(direct.bricks) > (1 if "bricks" in case else 0)
        for a, b in zip(slabs.bricks, direct.bricks):
            np.testing.assert_array_equal(a.stats, b.stats)
            assert a.texture.size == b.texture.size  # padding layers included:
            assert a.texture.read() == b.texture.read()
            # The renderer keeps the lazily read volume, not the slabs read.
            assert type(a.volume.data) is type(b.volume.data)
        for view, settings in (("anterior", RenderSettings()),
                               ("left", RenderSettings(mode="minip", window=800, level=500)),
                               ("superior", RenderSettings(mode="mean", skip_empty=True))):
            camera = Camera.standard(view)
            np.testing.assert_array_equal(slabs.render(camera, settings, (70, 60)),
                                          direct.render(camera, settings, (70, 60)),
                                          err_msg=f"{case} {view}")


def test_cell_statistics_gathered_in_any_blocks_equal_the_whole(rng):
    from glmip.raycast import CellStatistics, cell_statistics

    for dtype, cell in ((np.uint16, 4), (np.int8, 8), (np.float32, 4), (np.float32, 5)):
        data = (rng.random((23, 19, 29)) * 200 - (50 if dtype != np.uint16 else 0)).astype(dtype)
        if dtype == np.float32:
            data[:6, :7, :9] = np.nan
        want = cell_statistics(Volume(data, np.eye(4), slope=-2.0, inter=3.0), cell)
        stats = CellStatistics(data.shape, data.dtype, cell)
        boxes = [(j0, min(j0 + 6, 19), k0, min(k0 + 3, 29))
                 for k0 in range(0, 29, 3) for j0 in range(0, 19, 6)]
        for i in rng.permutation(len(boxes)):  # any order
            j0, j1, k0, k1 = boxes[i]
            assert not stats.complete
            stats.add(j0, k0, data[:, j0:j1, k0:k1])
        assert stats.complete
        np.testing.assert_array_equal(stats.result(-2.0, 3.0), want)


def test_read_slabs_reads_each_chunk_once_and_holds_a_slab_at_a_time(ctx, tmp_path):
    import tracemalloc

    from glmip.raycast import cell_statistics, read_slabs
    from glmip.renderer import MipRenderer

    data = np.random.default_rng(3).integers(0, 4000, (96, 88, 160), dtype=np.uint16)
    volume = _lazy_volume(tmp_path / "v.zarr", data, "uint16")  # chunks 16 x 24 x 20
    reads = []
    real = volume.data.source.__getitem__
    volume.data.source = type("Counted", (), {  # the zarr array, its reads counted
        "shape": volume.data.source.shape, "dtype": volume.data.source.dtype,
        "chunks": volume.data.source.chunks,
        "__getitem__": lambda self, key: reads.append(key) or real(key)})()
    plan = MipRenderer(ctx, cell_size=8).plan_upload(volume)
    assert not reads  # planning reads nothing
    got = np.zeros_like(data)
    slab_bytes = 96 * 24 * 20 * 2 * 2  # two chunk rows of one chunk layer: 184 kB
    tracemalloc.start()
    try:
        for slab in read_slabs(plan, block_bytes=slab_bytes):
            i0, j0, k0 = slab.start
            ni, nj, nk = slab.data.shape
            assert ni == 96 and j0 % 24 == 0 and k0 % 20 == 0 and slab.data.nbytes <= slab_bytes
            got[i0:i0 + ni, j0:j0 + nj, k0:k0 + nk] = slab.data
            del slab
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(got, data)
    # Never the whole volume: a slab being read (zarr's buffers: about 2.6 slabs at most), the
    # cells' statistics and their layers not finished yet (a plane each).
    assert peak < 6 * slab_bytes < data.nbytes / 2, (peak, data.nbytes)
    # Every chunk read once (slabs are whole chunks along j and k), none twice.
    assert sum(np.prod([s.indices(n)[1] - s.indices(n)[0]
                        for s, n in zip(key, data.shape)]) for key in reads) == data.size
    assert len(reads) == 8 * 2  # k chunk layers x slabs a layer (2 chunk rows each)
    want = cell_statistics(Volume(data, volume.affine, slope=1.5, inter=-20.0), plan.cell_size)
    np.testing.assert_array_equal(plan.bricks[0].stats, want)


def _slow_reads(monkeypatch, gate: threading.Semaphore | None, pause: float, deadline: float):
    """Make every read of a lazily held volume slow: level 0 of ``pyramid`` is read one plane
    at a time (chunks ignored), each waiting for a permit from ``gate`` (until ``deadline``)
    and ``pause`` seconds."""
    from glmip import lazy

    real = lazy.LazyArray.__array__
    reads: list[tuple] = []

    def slow(self, *args, **kwargs):
        if gate is not None:
            gate.acquire(timeout=max(deadline - time.perf_counter(), 0.0))
        time.sleep(pause)
        reads.append(self.start)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(lazy.LazyArray, "__array__", slow)
    monkeypatch.setattr(lazy.LazyArray, "chunk_shape", lambda self: None, raising=False)
    monkeypatch.setattr(lazy, "READ_BLOCK_BYTES", 96 * 80 * 2, raising=False)
    return reads


def test_a_level_loads_while_the_window_keeps_drawing_and_taking_input(pyramid, tmp_path,
                                                                       monkeypatch):
    from glmip import app

    d = open_pyramid(pyramid, tmp_path)
    v = d.viewer
    refine_to(v, 1)  # and drawn: level 0 may load at the next turn
    gate = threading.Semaphore(0)
    reads = _slow_reads(monkeypatch, gate, 0.0, time.perf_counter() + 4.0)
    try:
        t = time.perf_counter()
        v.step()  # level 0 starts loading in the background...
        turns = [time.perf_counter() - t]
        assert turns[0] < 1.0 and v.volume.meta["level"] == 1  # (the reading waits for permits)
        assert v.levels.loading == 0
        load = v._loading
        assert load.renderer is not v.renderer and load.renderer.volume is None  # not shown
        gate.release(20)  # 20 of its 72 planes may be read, but the window's thread takes none:
        time.sleep(0.5)
        # the reader stays a few slabs ahead (queued, and one in its hands), holding no more.
        assert len(reads) == app.SLABS_AHEAD + 1 and load.written == 0
        deadline = time.perf_counter() + 10
        while v.levels.progress < 20 / 72 - 1e-9:  # ... then the loop writes them, 20 planes
            assert time.perf_counter() < deadline
            v.step()
            time.sleep(0.01)
        assert load.slabs.qsize() == 0 and len(reads) == 20
        assert "level 1 of 2 (1.6 mm voxels) — loading level 0: 27 %" in v.status_text()
        # Meanwhile the window draws frames of level 1 and takes input: a drag turns the
        # camera, a key changes the picture.
        frames = v.frames_drawn
        camera, before = v.camera.copy(), d.image
        t = time.perf_counter()
        d.drag((120, 90), (160, 100))
        d.key("m")  # the next projection mode
        turns.append((time.perf_counter() - t) / 7)
        assert v.frames_drawn >= frames + 6 and v.settings.mode != "mip"
        assert not np.allclose(v.camera.view_dir, camera.view_dir)
        assert (d.image != before).any()
        assert v.volume.meta["level"] == 1 and v.levels.loading == 0  # still loading
        assert max(turns) < 1.0, turns  # no turn of the loop waits for the reading
    finally:
        gate.release(1000)
    shown_before = v.renderer
    refine_to(v, 0)
    assert v.levels.done and [lvl for lvl, _ in v.level_seconds] == [1, 0]
    assert v.renderer is load.renderer and not shown_before.bricks  # swapped, the old released
    # The picture equals the one of the level uploaded the synchronous way (exactly).
    later = time.perf_counter() + 100  # well after the drag: a full-quality frame
    v._draw_image(later)
    shown = d.image
    v.renderer.upload(v._level_volume(0))
    v._draw_image(later)
    np.testing.assert_array_equal(shown, d.image)
    assert close(shown[..., 0], rendered(glmip.load(pyramid), v))
    v.release()


def test_closing_while_a_level_loads_stops_its_reading(pyramid, tmp_path, monkeypatch):
    import concurrent.futures

    d = open_pyramid(pyramid, tmp_path)
    v = d.viewer
    refine_to(v, 1)
    _slow_reads(monkeypatch, None, 0.05, 0.0)  # 72 planes: 3.6 s to read level 0...
    v.step()
    load = v._loading
    assert load is not None and load.level == 0 and not load.future.done()
    t = time.perf_counter()
    v.quit()
    v.run()  # the loop ends at once and releases the window
    assert time.perf_counter() - t < 1.0
    done, _ = concurrent.futures.wait([load.future], timeout=1.0)  # ... stopped within a plane
    assert done and (load.future.cancelled() or load.future.exception() is not None)
    assert v.volume.meta["level"] == 1


def test_a_level_that_cannot_be_read_leaves_the_current_one(pyramid, tmp_path, monkeypatch):
    from glmip import lazy

    d = open_pyramid(pyramid, tmp_path)
    v = d.viewer
    refine_to(v, 1)

    def broken(self, *args, **kwargs):
        raise OSError("chunk 0.0.0 unreadable")

    monkeypatch.setattr(lazy.LazyArray, "__array__", broken)
    deadline = time.perf_counter() + 10
    v.step()
    while v.levels.loading is not None:
        assert time.perf_counter() < deadline
        v.step()
        time.sleep(0.01)
    assert v.volume.meta["level"] == 1 and v.levels.stopped
    assert "pyramid level 0 not loaded: chunk 0.0.0 unreadable" in d.lines[-1]
    frames = v.frames_drawn
    d.drag((120, 90), (160, 100))  # the window goes on with level 1
    assert v.frames_drawn > frames and v.volume.meta["level"] == 1
    assert "refining" not in v.status_text() and "loading" not in v.status_text()
    v.release()


# --- a streamed level's full-resolution frames, drawn in a worker thread -------------------
def _slow_bricks(monkeypatch, pause: float) -> list[str]:
    """Make every streamed brick take ``pause`` seconds more to load; returns the names of the
    threads that loaded one, in order."""
    from glmip.renderer import MipRenderer

    real = MipRenderer._load
    loads: list[str] = []

    def slow(self, brick):
        if self.streaming:
            loads.append(threading.current_thread().name)
            time.sleep(pause)
        return real(self, brick)

    monkeypatch.setattr(MipRenderer, "_load", slow)
    return loads


def _turn(viewer) -> float:
    t = time.perf_counter()
    viewer.step()
    return time.perf_counter() - t


def test_streamed_full_frames_are_drawn_in_the_background(pyramid, tmp_path, monkeypatch):
    from glmip import renderer as renderer_module

    v = streamed_viewer(pyramid, tmp_path)
    d = Driver(v, [])
    monkeypatch.setattr(renderer_module, "STREAM_BRICK_BYTES", 600_000)  # 4 bricks...
    loads = _slow_bricks(monkeypatch, 0.4)  # ... each 0.4 s slower
    refine_to(v, 0)  # the turn that shows level 0 asks the worker for its picture...
    bricks = len(v.renderer.bricks)
    assert v.renderer.streaming and bricks >= 4
    job = v._full_frame
    assert job is not None and not job.done.is_set() and v.frames_drawn > 0
    level1 = rendered(glmip.load(pyramid, pyramid_level=1), v)
    assert close(d.image[..., 0], level1)  # ... and meanwhile shows level 1, held whole
    assert v.levels.drawn is False  # (not a picture of level 0 yet)
    turns = []
    deadline = time.perf_counter() + 10
    while job.passes < 2:  # the worker is on its second brick
        assert time.perf_counter() < deadline
        turns.append(_turn(v))
        time.sleep(0.01)
    assert f"full resolution: {100 // bricks} % of bricks" in v.status_text()
    # The window goes on drawing and taking input: a drag turns the camera (coarse frames of
    # level 1), which cancels the picture under way at its next brick.
    frames, camera = v.frames_drawn, v.camera.copy()
    t = time.perf_counter()
    d.drag((120, 90), (160, 100))
    turns.append((time.perf_counter() - t) / 6)
    assert v.frames_drawn >= frames + 5 and not np.allclose(v.camera.view_dir, camera.view_dir)
    assert job.cancelled.is_set() and v._full_frame is not job
    assert job.done.wait(1.0) and job.image is None  # stopped before its next pass
    assert job.passes < bricks
    assert max(turns) < 0.3, turns  # no turn waits for a brick
    # Still again: the new view's picture, from the worker, equals renderer.render exactly.
    wait_full_frame(v)
    assert v.levels.drawn and v.last_reduction == 1
    assert set(loads) == {"glmip-full-frame"}  # the window's thread read no brick of level 0
    np.testing.assert_array_equal(d.image[..., 0], v.renderer.render(v.camera, v.settings, SIZE))
    assert "full resolution:" not in v.status_text()
    # A key that changes the picture: a new one in the background; closing the window then
    # ends the loop at once (the worker stops at its next brick and releases its context).
    d.key("m")
    job = v._full_frame
    assert job is not None and job.settings.mode != "mip" and not job.done.is_set()
    while job.passes < 1:
        time.sleep(0.01)
    t = time.perf_counter()
    v.quit()
    v.run()
    assert time.perf_counter() - t < 1.0
    assert job.cancelled.is_set() and job.done.wait(1.0) and job.image is None
    v._frame_worker.thread.join(2.0)
    assert not v._frame_worker.thread.is_alive()


def test_streamed_frames_on_the_window_thread_when_asked(pyramid, tmp_path):
    """background_frames False: the full frame of a streamed level is drawn at once, as before."""
    v = streamed_viewer(pyramid, tmp_path)
    v.background_frames = False
    d = Driver(v, [])
    refine_to(v, 0)
    v.step()
    assert v._full_frame is None and v._frame_worker is None and v.levels.drawn
    np.testing.assert_array_equal(d.image[..., 0], v.renderer.render(v.camera, v.settings, SIZE))
    v.release()


def test_streamed_frames_fall_back_to_the_window_thread_without_a_second_context(
        pyramid, tmp_path, monkeypatch):
    from glmip import app
    from glmip.errors import ContextError

    def no_context():
        raise ContextError("cannot create a headless OpenGL 3.3 context: none here")

    monkeypatch.setattr(app, "create_headless_context", no_context)
    v = streamed_viewer(pyramid, tmp_path)
    d = Driver(v, [])
    refine_to(v, 0)
    deadline = time.perf_counter() + 10
    while v.background_frames or not v.levels.drawn:
        assert time.perf_counter() < deadline
        v.step()
        time.sleep(0.005)
    np.testing.assert_array_equal(d.image[..., 0], v.renderer.render(v.camera, v.settings, SIZE))
    v.release()
