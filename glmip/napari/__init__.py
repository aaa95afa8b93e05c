"""glmip's napari plugin (npe2 manifest ``napari.yaml``): a reader for every format glmip reads
and a dock widget that renders the selected image layer through glmip's pipeline with napari's
current 3-D camera (PNG with its recipe, float values, turntable movies). See docs/napari.md.

napari and Qt are imported only by ``widget``; ``reader`` and ``camera`` need neither.
"""

__all__ = ["reader", "camera", "widget"]
