"""Regenerate the README's pictures of the sample CTA: python docs/images/make_gallery.py"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import glmip
from glmip.context import headless_context
from glmip.renderer import MipRenderer
from glmip.resources import sample_path

HERE = Path(__file__).parent
vol = glmip.load(sample_path())
common = dict(view="superior", fit="box", size=(240, 320), window=900, level=550)
tiles = [
    ("MIP", glmip.render(vol, **common)),
    ("MinIP", glmip.render(vol, mode="minip", view="superior", fit="box", size=(240, 320))),
    ("mean", glmip.render(vol, mode="mean", view="superior", fit="box", size=(240, 320),
                          window=400, level=250)),
    ("depth-cued MIP", glmip.render(vol, mode="depth", **common)),
    ("slab 12 mm", glmip.render(vol, slab=12, **common)),
    ("magma, gamma 0.7", glmip.render(vol, colormap="magma", gamma=0.7, **common)),
    ("opacity 0.3..1 on blue", glmip.render(vol, opacity=(0.3, 1.0), background=(0.1, 0.2, 0.5), **common)),
    ("crop i 60-110", glmip.render(vol, view="superior", fit="box", size=(240, 320), window=900, level=550,
                                crop=(60, 110, 0, 392, 0, 33))),
    ("nearest interpolation", glmip.render(vol, interpolation="nearest", sample_distance=2.0,
                                           view_dir=(1, 0.3, -1), up=(0, 1, 0),
                                           size=(240, 320), window=900, level=550)),
    ("linear, refined", glmip.render(vol, refine=True, sample_distance=2.0, view_dir=(1, 0.3, -1),
                                     up=(0, 1, 0), size=(240, 320), window=900, level=550)),
]
# Where is the maximum: depth of each ray's maximum (near = bright), from glmip.project.
proj = glmip.project(vol, view="superior", fit="box", size=(240, 320))
depth = (proj.positions() - proj.frame.center) @ proj.frame.view_dir
near = np.nan_to_num(1 - (depth - np.nanmin(depth)) / np.ptp(depth[np.isfinite(depth)]), nan=0)
tiles.append(("depth of the maximum", (near * 255).astype(np.uint8)))
with MipRenderer(headless_context(), tile_size=1024) as tiled:  # 12 tiles of 1024 pixels
    tiled.upload(vol)
    big = tiled.render(glmip.make_camera("superior", fit="box"),
                       glmip.make_settings(window=900, level=550), (2400, 3200))
tiles.append(("2400x3200 in 1024 tiles, detail", big[1500:1820, 1000:1240]))
sheet = Image.new("RGB", (4 * 240, 3 * 340), "black")
draw = ImageDraw.Draw(sheet)
for n, (label, img) in enumerate(tiles):
    rgb = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img
    x, y = (n % 4) * 240, (n // 4) * 340
    sheet.paste(Image.fromarray(rgb), (x, y + 20))
    draw.text((x + 6, y + 4), label, fill="white")
sheet.save(HERE / "tools.png")
print(HERE / "tools.png")
