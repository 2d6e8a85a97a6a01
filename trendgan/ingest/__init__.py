"""Ingest: folders of dated fashion images -> the store's catalog (``images``, ``files``, ``rejects``, ``runs``).

    from trendgan.ingest import ingest, store_status
    result = ingest(["scraped/"], store="my-store", leading_sources=["runway"])
    print(result.new, result.rejected)
    print(store_status("my-store").images_per_period)
"""

from trendgan.ingest.core import IngestResult, ingest
from trendgan.ingest.duplicates import DEFAULT_NEAR_DUPLICATE_DISTANCE
from trendgan.ingest.images import REJECT_REASONS, BadImage, open_rgb
from trendgan.ingest.status import StoreStatus, store_status

__all__ = ["ingest", "IngestResult", "store_status", "StoreStatus", "open_rgb", "BadImage", "REJECT_REASONS",
           "DEFAULT_NEAR_DUPLICATE_DISTANCE"]
