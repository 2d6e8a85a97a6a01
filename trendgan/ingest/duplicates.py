"""Near duplicates: reposts, resized and re-compressed copies of an image already in the catalog.

Two images are near duplicates when their 64-bit perceptual hashes differ in at most ``max_distance`` bits
(ImageHash's phash survives resizing and JPEG re-compression; 6 of 64 bits keeps different garments apart).
The search is a vectorised numpy scan in blocks: each block of new hashes against every earlier hash at once,
with numpy's popcount, so 20,000 images take about a second and memory stays bounded.
"""

from __future__ import annotations

import numpy as np

DEFAULT_NEAR_DUPLICATE_DISTANCE = 6
_BLOCK_CELLS = 4_000_000  # hashes compared per block: 4M cells = 4 MB of distances


def hashes_to_int(hex_hashes: list[str]) -> np.ndarray:
    """Hex phash strings -> uint64 array."""
    return np.fromiter((int(h, 16) for h in hex_hashes), dtype=np.uint64, count=len(hex_hashes))


def earliest_near_duplicates(earlier: np.ndarray, new: np.ndarray, max_distance: int = DEFAULT_NEAR_DUPLICATE_DISTANCE) -> np.ndarray:
    """For each new hash, the index of the earliest hash it nearly repeats, or -1.

    Indices count ``earlier`` first, then ``new`` in order: a new image can repeat a catalog image or an image
    earlier in the same batch, never a later one. ``max_distance < 0`` switches the search off.
    """
    earlier = np.asarray(earlier, dtype=np.uint64)
    new = np.asarray(new, dtype=np.uint64)
    matches = np.full(len(new), -1, dtype=np.int64)
    if max_distance < 0 or len(new) == 0:
        return matches
    everything = np.concatenate([earlier, new])
    offset = len(earlier)
    rows = max(1, _BLOCK_CELLS // max(1, len(everything)))
    for start in range(0, len(new), rows):
        stop = min(start + rows, len(new))
        candidates = everything[: offset + stop]
        distance = np.bitwise_count(new[start:stop, None] ^ candidates[None, :])
        close = distance <= max_distance
        # an image may only repeat one that came before it (and never itself)
        own_index = offset + np.arange(start, stop)
        close &= np.arange(len(candidates))[None, :] < own_index[:, None]
        found = close.any(axis=1)
        matches[start:stop][found] = close[found].argmax(axis=1)
    return matches


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex phashes."""
    return int(int(a, 16) ^ int(b, 16)).bit_count()
