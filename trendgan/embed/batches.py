"""What an embedding engine yields: batches of vectors, and the images that could not be decoded."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Failure(NamedTuple):
    image_id: str
    path: str
    reason: str               # missing | corrupt | truncated
    detail: str


class Batch(NamedTuple):
    image_ids: list[str]
    vectors: np.ndarray
    failures: list[Failure]


def decode_or_failure(recipe, path: str):
    """(pixels, None) or (None, (reason, detail)): a bad file must not stop a batch."""
    from PIL import Image

    from trendgan.embed.images import DECODE_ERRORS
    from trendgan.ingest.images import BadImage

    try:
        return recipe.load(path), None
    except FileNotFoundError:
        return None, ("missing", "file not found")
    except BadImage as bad:  # replaced since ingest by a FIFO, a device, a huge file
        return None, (bad.reason, bad.detail)
    except Image.DecompressionBombError as exc:
        return None, ("decompression_bomb", str(exc)[:200])  # the reason ingest gives the same file
    except DECODE_ERRORS as exc:
        text = str(exc) or type(exc).__name__
        return None, ("truncated" if "truncated" in text.lower() else "corrupt", text[:200])
