"""glmip's benchmark against its peers (``python -m bench.run``); see docs/performance.md."""
