"""trendgan: fashion trend forecasting from dated images.

The public API; heavy modules load on first use so ``import trendgan`` stays fast::

    import trendgan
    store = trendgan.Store("my-store")
    trendgan.ingest.ingest(["scraped/"], store=store)   # each stage is a subpackage with one main function
"""

from __future__ import annotations

import importlib

from trendgan.errors import TrendganError
from trendgan.store import Store

__version__ = "0.1.0"

# name -> module that defines it; resolved lazily by __getattr__. (Stage subpackages such as trendgan.ingest
# are reached as modules: trendgan.ingest.ingest(...), trendgan.forecast.forecast(...).)
_LAZY = {
    "find_styles": "trendgan.styles",
    "train_gan": "trendgan.gan",
    "render_trends": "trendgan.design",
    "restyle": "trendgan.design",
    "design_for": "trendgan.design",
    "write_report": "trendgan.report",
    "run_pipeline": "trendgan.pipeline",
}

__all__ = ["Store", "TrendganError", "__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        return getattr(module, name)
    raise AttributeError(f"module 'trendgan' has no attribute {name!r}")
