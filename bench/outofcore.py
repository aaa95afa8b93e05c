"""A dense volume rendered in memory and out of core: ``python -m bench.outofcore
[--n 1024] [--memory 512M]``.

Makes (once, cached) a dense n³ uint16 Zarr of vessels in noise, slab by slab, then renders a
superior MIP to 512² twice, each in a fresh process: with the whole array read into memory
first, and streamed under ``--memory``. Prints both times, peak RSS, and how many pixels differ.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

RENDER = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np, glmip
from glmip.pipeline import renderer_for
path, mode, memory, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
vol = glmip.load(path, spacing=(1, 1, 1))
if mode == "memory":
    vol = glmip.Volume(np.asarray(vol.data), vol.affine)
r = renderer_for(vol, memory=memory)
img = r.render(glmip.make_camera("superior"), glmip.make_settings(window=4000, level=2000),
               (512, 512))
np.save(out, img)
hwm = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
print(json.dumps({"seconds": time.perf_counter() - t0, "peak_mib": int(hwm) / 1024,
                  "streamed": r.streaming}))
"""


def make(path: Path, n: int) -> None:
    import zarr

    rng = np.random.default_rng(1)
    z = zarr.open_array(str(path), mode="w", shape=(n, n, n), chunks=(64, 64, 64),
                        dtype="uint16", zarr_format=2)
    centres = rng.uniform(0.1, 0.9, (40, 2)) * n
    for k0 in range(0, n, 64):
        slab = rng.integers(0, 400, (n, n, min(64, n - k0)), dtype=np.uint16)
        for cx, cy in centres:  # vertical vessels, 3 voxels wide
            x, y = int(cx), int(cy)
            slab[x - 1:x + 2, y - 1:y + 2, :] = 3500
        z[:, :, k0:k0 + slab.shape[2]] = slab


def main(argv: list[str] | None = None) -> int:
    from glmip.options import parse_bytes

    ap = argparse.ArgumentParser(prog="python -m bench.outofcore", description=__doc__)
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--memory", default="512M")
    ap.add_argument("--cache", default=os.environ.get("GLMIP_BENCH_CACHE",
                                                      "/tmp/glmip-bench-cache"))
    args = ap.parse_args(argv)
    path = Path(args.cache) / f"dense-{args.n}.zarr"
    if not (path / ".zarray").is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        make(path, args.n)
    results = {}
    for mode, memory in (("memory", 1 << 40), ("streamed", parse_bytes(args.memory))):
        out = Path(args.cache) / f"dense-{mode}.npy"
        run = subprocess.run([sys.executable, "-c", RENDER, str(path), mode, str(memory),
                              str(out)], capture_output=True, text=True)
        if run.returncode:
            print(run.stderr[-2000:], file=sys.stderr)
            return 1
        results[mode] = json.loads(run.stdout.strip().splitlines()[-1])
        results[mode]["image"] = np.load(out)
    a, b = results["memory"]["image"].astype(int), results["streamed"]["image"].astype(int)
    print(f"# dense {args.n}³ uint16 Zarr ({args.n ** 3 * 2 / 2**30:.1f} GiB), superior MIP → 512²")
    for mode in ("memory", "streamed"):
        r = results[mode]
        label = "read whole into memory" if mode == "memory" else f"streamed, --memory {args.memory}"
        print(f"- {label}: {r['seconds']:.1f} s, peak RSS {r['peak_mib']:.0f} MiB")
    ratio = results["streamed"]["seconds"] / results["memory"]["seconds"]
    print(f"- streamed / in memory: {ratio:.2f}× the time; pixels differing: "
          f"{int((a != b).sum())} of {a.size} (max {int(np.abs(a - b).max())} grey levels)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
