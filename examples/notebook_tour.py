# %% [markdown]
# # A tour of glmip from Python
#
# A plain script with `# %%` cells: open it in Jupyter (jupytext), VS Code or Spyder and run it
# cell by cell, or run it whole and headless: `python examples/notebook_tour.py [OUT_DIR]`.
# Every picture is also written as a PNG to OUT_DIR (default `glmip-tour/`).

# %%
import sys
from pathlib import Path

import numpy as np

import glmip
from glmip import record_turntable
from glmip.resources import sample_path

out = Path(sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "glmip-tour")
out.mkdir(exist_ok=True)


def show(image: np.ndarray, name: str) -> None:
    """Save the image, and show it inline when running in a notebook."""
    glmip.save_png(out / f"{name}.png", image)
    try:
        from IPython import get_ipython
        from IPython.display import Image, display

        if get_ipython() is not None:
            display(Image(glmip.pngio.encode_png(image)))
    except ImportError:
        pass
    print(f"{name}: {image.shape} {image.dtype} -> {out / name}.png")


# %% [markdown]
# ## Load a volume and look at it
# A `Volume` shows itself in Jupyter as its MIP seen from above (`_repr_png_`).

# %%
vol = glmip.load(sample_path("aorta.mha"))
print(vol)
print(vol.describe())
vol  # noqa: B018  (in a notebook: the picture)

# %% [markdown]
# ## Render: the command line's options, as keyword arguments
# `glmip.render` returns a numpy `uint8` image: `(rows, cols)` grey, `(rows, cols, 3)` colour.

# %%
img = glmip.render(vol, view="anterior", size=(256, 512), fit="box")
show(img, "anterior")

hot = glmip.render(vol, view="superior", size=384, colormap="hot", window=1500, level=800)
show(hot, "superior_hot")

# %% [markdown]
# ## A volume from an in-memory array: no file needed
# `Volume(data, affine)`: `data[i, j, k]` in its own dtype, `affine` voxel index -> RAS mm.

# %%
i, j, k = np.mgrid[0:64, 0:64, 0:48]
data = np.zeros((64, 64, 48), np.uint8)
for centre, value in (((20, 30, 24), 250), ((44, 30, 14), 160)):
    data[(i - centre[0]) ** 2 + (j - centre[1]) ** 2 + (k - centre[2]) ** 2 <= 64] = value
balls = glmip.Volume(data, np.diag([0.8, 0.8, 1.2, 1.0]), name="two balls")
show(glmip.render(balls, view="anterior", size=256), "balls_anterior")
show(glmip.render(balls, view="anterior", size=256, mode="depth"), "balls_depth_cued")

# %% [markdown]
# ## Quantitative projection: real values and where the maximum lies

# %%
proj = glmip.project(vol, view="anterior", size=(128, 256), fit="box")
print("max real value:", np.nanmax(proj.value), "hit fraction:", proj.hit.mean().round(3))
where = proj.positions()[np.nanargmax(proj.value) // 128, np.nanargmax(proj.value) % 128]
print("brightest pixel's maximum at world (mm):", where.round(1))

# %% [markdown]
# ## Several views side by side, and a user shader

# %%
from glmip.pipeline import contact_sheet  # noqa: E402

views = ["anterior", "left", "superior"]
show(contact_sheet([glmip.render(vol, view=v, size=256) for v in views]), "contact_sheet")
shader = Path(glmip.resources.resource_dir("shaders")) / "examples" / "depth_colour_mip.glsl"
show(glmip.render(vol, view="superior", size=384, shader=str(shader)), "depth_coloured")

# %% [markdown]
# ## A turntable movie

# %%
camera = glmip.make_camera("anterior")
settings = glmip.make_settings()
gif = record_turntable(vol, camera, settings, (256, 256), out / "turntable.gif", frames=24)
print("movie:", gif)
