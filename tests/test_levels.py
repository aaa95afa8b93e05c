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


def test_a_streamed_level_drags_with_the_finest_level_held_whole(pyramid, tmp_path):
    wnd = headless()
    opts = ViewerOptions(input_path=str(pyramid), screenshot_dir=str(tmp_path),
                         echo=lambda line: None, memory=500_000)  # level 0 (1.1 MB) streams
    v = MipViewer(wnd.ctx, wnd, volume=glmip.load(pyramid), camera=Camera.standard("anterior"),
                  settings=RenderSettings(), options=opts)
    d = Driver(v, [])
    refine_to(v, 0)
    assert v.renderer.streaming
    assert v._preview is not None and v._preview[1].meta["level"] == 1
    full = d.image[..., 0]
    assert close(full, rendered(glmip.load(pyramid), v))
    v.policy.settle = 10.0
    d.drag((120, 90), (160, 100), release=False)  # coarse frames from level 1, held whole
    assert v.last_reduction >= 2 and v.volume.meta["level"] == 0
    v.on_mouse_release_event(160, 100, 1)
    v.step()  # released: a full frame of level 0, streamed
    assert v.last_reduction == 1
    assert close(d.image[..., 0], rendered(glmip.load(pyramid), v))
    v.release()


# --- a level prepared in a worker thread (MipRenderer.prepare), uploaded on the GL thread ---
def _lazy_volume(path, data, dtype):
    zarr = pytest.importorskip("zarr", reason="zarr (the test extra) is not installed")
    z = zarr.open_array(str(path), mode="w", shape=data.shape, chunks=(16, 24, 20),
                        dtype=dtype, zarr_format=2)
    z[:] = data
    return Volume(zarr.open_array(str(path), mode="r"), np.diag([0.7, 0.8, 0.9, 1.0]),
                  slope=1.5, inter=-20.0)


@pytest.mark.parametrize("case", ["numpy", "int16", "float-nan", "lazy", "lazy-bricks",
                                  "streamed"])
def test_prepare_then_upload_draws_what_upload_draws(ctx, tmp_path, case):
    from concurrent.futures import ThreadPoolExecutor

    from glmip.lazy import LazyArray
    from glmip.renderer import MipRenderer

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
    else:
        volume = Volume(data, np.diag([1.0, 0.9, 1.1, 1.0]))
    with MipRenderer(ctx, **limits) as direct, MipRenderer(ctx, **limits) as ahead:
        direct.upload(volume)
        with ThreadPoolExecutor(1) as pool:  # no GL call: another thread has no context
            prepared = pool.submit(ahead.prepare, volume).result()
        assert prepared.streaming == (case == "streamed") == direct.streaming
        ahead.upload(prepared)
        assert ahead.volume is volume and ahead.streaming == direct.streaming
        assert len(ahead.bricks) == len(direct.bricks) > (1 if "bricks" in case else 0)
        for a, b in zip(ahead.bricks, direct.bricks):
            if not direct.streaming:
                np.testing.assert_array_equal(a.stats, b.stats)
            # The renderer keeps the lazily read volume, not the voxels read into memory.
            assert type(a.volume.data) is type(b.volume.data)
        for view, settings in (("anterior", RenderSettings()),
                               ("left", RenderSettings(mode="minip", window=800, level=500)),
                               ("superior", RenderSettings(mode="mean", skip_empty=True))):
            camera = Camera.standard(view)
            np.testing.assert_array_equal(ahead.render(camera, settings, (70, 60)),
                                          direct.render(camera, settings, (70, 60)),
                                          err_msg=f"{case} {view}")


def test_prepare_reads_a_lazy_volume_once_into_one_array(ctx, tmp_path, monkeypatch):
    import tracemalloc

    from glmip import lazy
    from glmip.renderer import MipRenderer

    # Blocks of 16 MiB are small beside a level worth reading in the background; here the
    # volume is 1.3 MB, so its blocks are made as small beside it.
    monkeypatch.setattr(lazy, "READ_BLOCK_BYTES", 256 << 10)
    data = np.random.default_rng(3).integers(0, 4000, (96, 88, 80), dtype=np.uint16)
    volume = _lazy_volume(tmp_path / "v.zarr", data, "uint16")
    reads = []
    real = volume.data.source.__getitem__
    volume.data.source = type("Counted", (), {  # the zarr array, its reads counted
        "shape": volume.data.source.shape, "dtype": volume.data.source.dtype,
        "chunks": volume.data.source.chunks,
        "__getitem__": lambda self, key: reads.append(key) or real(key)})()
    heard: list[tuple[int, int]] = []
    renderer = MipRenderer(ctx)
    tracemalloc.start()
    try:
        prepared = renderer.prepare(volume, lambda done, total: heard.append((done, total)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    whole = prepared.voxels[0].base if prepared.voxels[0].base is not None else prepared.voxels[0]
    assert whole.nbytes == data.nbytes and whole.flags.f_contiguous
    np.testing.assert_array_equal(prepared.voxels[0], data)
    # One copy of the volume, plus a few blocks in flight (zarr's chunk buffers), never two.
    assert peak < data.nbytes + 4 * (256 << 10) < 2 * data.nbytes, (peak, data.nbytes)
    # Every chunk read once (blocks are whole chunks along j and k), none twice.
    assert len(reads) < 20 and sum(
        np.prod([s.indices(n)[1] - s.indices(n)[0] for s, n in zip(key, data.shape)])
        for key in reads) == data.size
    done = [d for d, _ in heard]
    assert done == sorted(done) and heard[-1][0] == heard[-1][1] == 2 * data.nbytes
    renderer.upload(prepared)
    renderer.release()

    class Stop(Exception):
        pass

    def stop_after_first(done, total):
        raise Stop

    reads.clear()
    with pytest.raises(Stop):  # the progress report stops the work, after one block
        MipRenderer(ctx).prepare(volume, stop_after_first)
    assert len(reads) == 1


def _slow_reads(monkeypatch, gate: threading.Semaphore | None, pause: float, deadline: float):
    """Make every read of a lazily held volume slow: level 0 of ``pyramid`` is read one plane
    at a time (chunks ignored), each waiting for a permit from ``gate`` (until ``deadline``)
    and ``pause`` seconds."""
    from glmip import lazy

    real = lazy.LazyArray.__array__

    def slow(self, *args, **kwargs):
        if gate is not None:
            gate.acquire(timeout=max(deadline - time.perf_counter(), 0.0))
        time.sleep(pause)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(lazy.LazyArray, "__array__", slow)
    monkeypatch.setattr(lazy.LazyArray, "chunk_shape", lambda self: None, raising=False)
    monkeypatch.setattr(lazy, "READ_BLOCK_BYTES", 96 * 80 * 2, raising=False)


def test_a_level_loads_while_the_window_keeps_drawing_and_taking_input(pyramid, tmp_path,
                                                                       monkeypatch):
    d = open_pyramid(pyramid, tmp_path)
    v = d.viewer
    refine_to(v, 1)  # and drawn: level 0 may load at the next turn
    gate = threading.Semaphore(0)
    _slow_reads(monkeypatch, gate, 0.0, time.perf_counter() + 4.0)
    try:
        t = time.perf_counter()
        v.step()  # level 0 starts loading in the background...
        turns = [time.perf_counter() - t]
        assert turns[0] < 1.0 and v.volume.meta["level"] == 1  # (the reading waits for permits)
        assert v.levels.loading == 0
        gate.release(10)  # ... 10 of its 72 planes arrive
        deadline = time.perf_counter() + 10
        while v.levels.progress < 10 / 144 - 1e-9:  # read, then scanned: 2 x 72 planes
            assert time.perf_counter() < deadline
            v.step()
            time.sleep(0.01)
        assert "level 1 of 2 (1.6 mm voxels) — loading level 0: 6 %" in v.status_text()
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
    refine_to(v, 0)
    assert v.levels.done and [lvl for lvl, _ in v.level_seconds] == [1, 0]
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
