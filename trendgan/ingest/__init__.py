"""Ingest: folders of dated fashion images -> the store's catalog (``images``, ``files``, ``rejects``, ``runs``).

    from trendgan.ingest import ingest
    result = ingest(["scraped/"], store="my-store", leading_sources=["runway"])
    print(result.new, result.rejected)

What a store holds, ingest's catalog included, is ``trendgan.status.store_status``; other stages read the catalog
through ``trendgan.ingest.catalog``.
"""

from trendgan.ingest.core import IngestResult, ingest
from trendgan.ingest.duplicates import DEFAULT_NEAR_DUPLICATE_DISTANCE
from trendgan.ingest.images import REJECT_REASONS, BadImage, open_rgb

__all__ = ["ingest", "IngestResult", "open_rgb", "BadImage", "REJECT_REASONS",
           "DEFAULT_NEAR_DUPLICATE_DISTANCE"]
