"""The big sparse volume: ``python -m bench.sparse [--shape 2048x2048x1024] [--memory 1G]``.

Makes (once, cached) a sparse uint16 OME-Zarr of the given shape — empty chunks are never
written, thin bright vessels wind through it, and a max pyramid sits beside it — without ever
holding it in memory (chunk by chunk), then renders a full-resolution superior MIP to PNG in a
fresh process with ``--memory`` and prints the time, the peak RSS, the chunks stored and the
bricks read of all the bricks (bricks that the max pyramid shows empty are not read).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CHUNK = 64
VALUE = 3000


def _tubes(shape: np.ndarray, rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """Smooth random curves of points (index space) through the volume."""
    curves = []
    for _ in range(count):
        p = rng.uniform(0.1, 0.9, 3) * shape
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        pts = []
        for _ in range(int(shape.max() * 1.5)):
            d = 0.97 * d + 0.03 * rng.normal(size=3)
            d /= np.linalg.norm(d)
            p = np.clip(p + d, 2, shape - 3)
            pts.append(p.copy())
        curves.append(np.array(pts))
    return curves


def make(path: Path, shape: tuple[int, int, int], seed: int = 3, vessels: int = 12) -> dict:
    """Level 0 chunk by chunk (only chunks a vessel touches), then the max pyramid."""
    import zarr

    rng = np.random.default_rng(seed)
    root = zarr.open_group(str(path), mode="w", zarr_format=2)
    nx, ny, nz = shape
    level0 = root.create_array("0", shape=(nz, ny, nx), chunks=(CHUNK,) * 3, dtype="uint16",
                               fill_value=0, config={"write_empty_chunks": False})
    touched: dict[tuple[int, int, int], np.ndarray] = {}
    r = 2
    ball = (np.sum(np.mgrid[-r:r + 1, -r:r + 1, -r:r + 1] ** 2, axis=0) <= r * r)
    for curve in _tubes(np.array(shape, float), rng, vessels):
        for p in np.round(curve).astype(int):
            x, y, z = p
            key = (z // CHUNK, y // CHUNK, x // CHUNK)
            block = touched.setdefault(key, np.zeros((CHUNK,) * 3, np.uint16))
            lz, ly, lx = z % CHUNK, y % CHUNK, x % CHUNK
            sl = tuple(slice(max(c - r, 0), min(c + r + 1, CHUNK)) for c in (lz, ly, lx))
            bs = tuple(slice(s.start - (c - r), s.stop - (c - r)) for s, c in zip(sl, (lz, ly, lx)))
            block[sl] = np.maximum(block[sl], ball[bs] * VALUE)
    for (cz, cy, cx), block in touched.items():
        level0[cz * CHUNK:(cz + 1) * CHUNK, cy * CHUNK:(cy + 1) * CHUNK,
               cx * CHUNK:(cx + 1) * CHUNK] = block[:min(CHUNK, nz - cz * CHUNK),
                                                    :min(CHUNK, ny - cy * CHUNK),
                                                    :min(CHUNK, nx - cx * CHUNK)]
    datasets, prev, level, dims = [], level0, 0, np.array([nz, ny, nx])
    while True:
        f = 2 ** level
        datasets.append({"path": str(level), "coordinateTransformations": [
            {"type": "scale", "scale": [float(f)] * 3},
            {"type": "translation", "translation": [(f - 1) / 2.0] * 3}]})
        if dims.max() <= 64:
            break
        level += 1
        dims = (dims + 1) // 2
        arr = root.create_array(str(level), shape=tuple(int(d) for d in dims), chunks=(CHUNK,) * 3,
                                dtype="uint16", fill_value=0,
                                config={"write_empty_chunks": False})
        for cz in range(0, dims[0], CHUNK):
            for cy in range(0, dims[1], CHUNK):
                for cx in range(0, dims[2], CHUNK):
                    src = np.asarray(prev[2 * cz:2 * (cz + CHUNK), 2 * cy:2 * (cy + CHUNK),
                                          2 * cx:2 * (cx + CHUNK)])
                    if not src.any():
                        continue
                    pad = [(0, s % 2) for s in src.shape]
                    src = np.pad(src, pad)
                    out = src.reshape(src.shape[0] // 2, 2, src.shape[1] // 2, 2,
                                      src.shape[2] // 2, 2).max(axis=(1, 3, 5))
                    arr[cz:cz + out.shape[0], cy:cy + out.shape[1], cx:cx + out.shape[2]] = out
        prev = arr
    root.attrs["multiscales"] = [{"version": "0.4", "name": "sparse", "type": "max",
                                  "axes": [{"name": n, "type": "space", "unit": "millimeter"}
                                           for n in "zyx"], "datasets": datasets}]
    record_range(path)
    return {"chunks_stored": len(touched),
            "chunks_total": int(np.prod([-(-s // CHUNK) for s in shape]))}


def record_range(path: Path) -> None:
    """Record the stored range as the NGFF omero window, as `glmip convert` does, so that an
    automatic window needs no full read: 0 (the empty chunks) to the maximum, which the max
    pyramid's coarsest level holds."""
    import zarr

    root = zarr.open_group(str(path), mode="r+", zarr_format=2)
    if "omero" in root.attrs:
        return
    datasets = root.attrs["multiscales"][0]["datasets"]
    top = float(np.asarray(root[datasets[-1]["path"]][:]).max())
    root.attrs["omero"] = {"version": "0.4", "channels": [{
        "active": True, "window": {"min": 0.0, "max": top, "start": 0.0, "end": top}}]}


RENDER = """
import json, sys, time
t0 = time.perf_counter()
import glmip
from glmip.pipeline import renderer_for, write_picture
from glmip.recipe import Recipe
path, png, memory, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
vol = glmip.load(path)
r = renderer_for(vol, memory=memory)
recipe = Recipe.make(path, view="superior", fit="box", size=(size, size))  # automatic window
write_picture(recipe, png, volume=vol, renderer=r)
hwm = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
print(json.dumps({"seconds": time.perf_counter() - t0, "peak_mib": int(hwm) / 1024,
                  "bricks_read": r.bricks_read, "bricks": len(r.bricks),
                  "logical_gib": vol.data.nbytes / 2**30}))
"""


def main(argv: list[str] | None = None) -> int:
    from glmip.options import parse_bytes

    ap = argparse.ArgumentParser(prog="python -m bench.sparse", description=__doc__)
    ap.add_argument("--shape", default="2048x2048x1024", help="NXxNYxNZ voxels")
    ap.add_argument("--memory", default="1G")
    ap.add_argument("--vessels", type=int, default=12,
                    help="winding vessels (more: more chunks stored)")
    ap.add_argument("--size", type=int, default=2048, help="picture side in pixels")
    ap.add_argument("--cache", default=os.environ.get("GLMIP_BENCH_CACHE",
                                                      "/tmp/glmip-bench-cache"))
    args = ap.parse_args(argv)
    shape = tuple(int(v) for v in args.shape.lower().split("x"))
    name = args.shape + ("" if args.vessels == 12 else f"-{args.vessels}v")
    path = Path(args.cache) / f"sparse-{name}.ome.zarr"
    info_path = path.with_suffix(".json")
    if not info_path.is_file():
        t = time.perf_counter()
        info = make(path, shape, vessels=args.vessels)
        info["make_seconds"] = time.perf_counter() - t
        info_path.write_text(json.dumps(info))
    record_range(path)  # a store made before ranges were recorded
    info = json.loads(info_path.read_text())
    png = Path(args.cache) / f"sparse-{name}-superior.png"
    run = subprocess.run([sys.executable, "-c", RENDER, str(path), str(png),
                          str(parse_bytes(args.memory)), str(args.size)],
                         capture_output=True, text=True)
    if run.returncode:
        print(run.stderr[-2000:], file=sys.stderr)
        return 1
    result = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"# sparse {args.shape} uint16 OME-Zarr ({result['logical_gib']:.1f} GiB logical), "
          f"superior MIP → {args.size}², --memory {args.memory}")
    print(f"- chunks stored: {info['chunks_stored']} of {info['chunks_total']} "
          f"({100 * info['chunks_stored'] / info['chunks_total']:.2f} %); made in "
          f"{info.get('make_seconds', 0):.0f} s")
    print(f"- render to PNG: {result['seconds']:.1f} s, peak RSS {result['peak_mib']:.0f} MiB, "
          f"bricks read {result['bricks_read']} of {result['bricks']}")
    print(f"- picture: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
