"""glmip: maximum-intensity projections of 3-D images on OpenGL."""
__version__ = "0.1.0"
