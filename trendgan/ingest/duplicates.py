"""Near duplicates: reposts, resized and re-compressed copies of an image already in the catalog.

Two images are near duplicates when their 64-bit perceptual hashes differ in at most ``max_distance`` bits
(ImageHash's phash survives resizing and JPEG re-compression) and their 8x8 colour thumbnails agree (the phash
is grey-level: alone it calls the same garment in another colour a repost).

The search is exact and sub-quadratic: cut the 64 bits into ``max_distance + 1`` blocks; two hashes within
``max_distance`` bits must agree exactly on at least one block (pigeonhole), so each new hash is only compared with
the earlier hashes that share one of its blocks, found by binary search in sorted block keys. Where that would not
save work (many near-identical hashes, or a large distance), a vectorised full scan with numpy's popcount is used.
"""

from __future__ import annotations

import numpy as np

DEFAULT_NEAR_DUPLICATE_DISTANCE = 6
# Catalogue photos of one shoe model in two colours share a phash (white background, same pose): 40% of a real
# 7,600-product catalogue matched within 6 bits. A repost keeps its colours, so a pair must also agree on an 8x8
# colour thumbnail: no cell may differ by more than this (0-255) in any channel. Measured on that catalogue:
# resized + re-compressed copies stay under it (all of them without cropping); only 2% of the phash-matched
# product pairs do, and those are near-identical looks.
DEFAULT_COLOUR_TOLERANCE = 32
LAYOUT_SIDE = 8
LAYOUT_BYTES = LAYOUT_SIDE * LAYOUT_SIDE * 3
_CHUNK = 1024  # new hashes looked up together
_BLOCK_CELLS = 4_000_000  # full scan: hashes compared per step (4 MB of distances)
_MAX_INDEXED_DISTANCE = 12  # beyond this the blocks are too short to narrow anything down
_PAIRS_PER_SLICE = 100_000  # colour checks at once: 100k pairs x 2 x 192 int16 = 77 MB at most


def hashes_to_int(hex_hashes: list[str]) -> np.ndarray:
    """Hex phash strings -> uint64 array."""
    return np.fromiter((int(h, 16) for h in hex_hashes), dtype=np.uint64, count=len(hex_hashes))


def layouts_to_array(layouts: list[bytes | None]) -> np.ndarray:
    """Colour thumbnails -> (N, 192) int16; a missing one (image catalogued by other tools) is all -1."""
    out = np.full((len(layouts), LAYOUT_BYTES), -1, dtype=np.int16)
    for i, layout in enumerate(layouts):
        if layout is not None and len(layout) == LAYOUT_BYTES:
            out[i] = np.frombuffer(layout, dtype=np.uint8)
    return out


def earliest_near_duplicates(
    earlier: np.ndarray,
    new: np.ndarray,
    max_distance: int = DEFAULT_NEAR_DUPLICATE_DISTANCE,
    earlier_layouts: np.ndarray | None = None,
    new_layouts: np.ndarray | None = None,
    colour_tolerance: int = DEFAULT_COLOUR_TOLERANCE,
) -> np.ndarray:
    """For each new hash, the index of the earliest image it nearly repeats, or -1.

    Indices count ``earlier`` first, then ``new`` in order: a new image can repeat a catalog image or an image
    earlier in the same batch, never a later one. With layouts, a pair must also pass the colour check (a missing
    layout, all -1, passes: only the hash is known). ``max_distance < 0`` switches the search off.
    """
    earlier = np.asarray(earlier, dtype=np.uint64)
    new = np.asarray(new, dtype=np.uint64)
    matches = np.full(len(new), -1, dtype=np.int64)
    if max_distance < 0 or len(new) == 0:
        return matches
    everything = np.concatenate([earlier, new])
    layouts = None
    if earlier_layouts is not None and new_layouts is not None:
        layouts = np.concatenate([np.asarray(earlier_layouts, np.int16).reshape(len(earlier), LAYOUT_BYTES),
                                  np.asarray(new_layouts, np.int16).reshape(len(new), LAYOUT_BYTES)])
    offset = len(earlier)
    for start in range(0, len(new), _CHUNK):
        stop = min(start + _CHUNK, len(new))
        rows = offset + np.arange(start, stop)  # positions in ``everything`` of this chunk's hashes
        pieces = _pairs_sharing_a_block(everything, rows, max_distance)
        if pieces is None:
            pieces = _pairs_by_full_scan(everything, rows, max_distance)
        earliest = np.full(len(rows), np.iinfo(np.int64).max)
        for row, col in pieces:
            _keep_earliest(earliest, row - rows[0], col, layouts, row, colour_tolerance)
        found = earliest < np.iinfo(np.int64).max
        matches[start:stop][found] = earliest[found]
    return matches


def _keep_earliest(earliest: np.ndarray, slot: np.ndarray, col: np.ndarray, layouts, row: np.ndarray, tolerance: int) -> None:
    """Fold candidate pairs that pass the colour check into the earliest match per row, a slice at a time."""
    for first in range(0, len(col), _PAIRS_PER_SLICE):
        part = slice(first, first + _PAIRS_PER_SLICE)
        keep = np.ones(len(col[part]), dtype=bool)
        if layouts is not None:
            keep = _same_colours(layouts[row[part]], layouts[col[part]], tolerance)
        np.minimum.at(earliest, slot[part][keep], col[part][keep])


def _pairs_sharing_a_block(everything: np.ndarray, rows: np.ndarray, max_distance: int):
    """(row, col) pairs, col earlier than row, within ``max_distance`` bits: found through exact block matches.

    None when the index would not beat a full scan (distance too large, or too many hashes share blocks).
    """
    if max_distance > _MAX_INDEXED_DISTANCE:
        return None
    before = int(rows[0])
    pieces = [_pairs_within_chunk(everything, rows, max_distance)]
    # more candidates than a quarter of a full scan (or than fit in memory comfortably): scan instead
    budget = min(len(rows) * before // 4, _BLOCK_CELLS)
    if before == 0:
        return pieces
    edges = np.linspace(0, 64, max_distance + 2).round().astype(int)
    for low, high in zip(edges[:-1], edges[1:]):
        mask = np.uint64((1 << int(high - low)) - 1)
        keys = (everything[:before] >> np.uint64(low)) & mask
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        wanted = (everything[rows] >> np.uint64(low)) & mask
        first = np.searchsorted(sorted_keys, wanted, "left")
        counts = np.searchsorted(sorted_keys, wanted, "right") - first
        total = int(counts.sum())
        budget -= total
        if budget < 0:
            return None
        row = np.repeat(rows, counts)
        within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        col = order[np.repeat(first, counts) + within]
        close = np.bitwise_count(everything[row] ^ everything[col]) <= max_distance
        pieces.append((row[close], col[close]))
    return pieces


def _pairs_within_chunk(everything: np.ndarray, rows: np.ndarray, max_distance: int):
    """Pairs inside one chunk of new hashes (at most 1024 x 1024): a direct comparison."""
    chunk = everything[rows]
    close = np.bitwise_count(chunk[:, None] ^ chunk[None, :]) <= max_distance
    close &= np.tri(len(rows), k=-1, dtype=bool)  # only earlier ones
    row, col = np.nonzero(close)
    return rows[row], rows[col]


def _pairs_by_full_scan(everything: np.ndarray, rows: np.ndarray, max_distance: int):
    """Every earlier hash against the chunk, in steps that keep memory bounded (a generator of pair arrays)."""
    step = max(1, _BLOCK_CELLS // max(1, int(rows[-1]) + 1))
    for first in range(0, len(rows), step):
        part = rows[first : first + step]
        candidates = everything[: int(part[-1]) + 1]
        close = np.bitwise_count(everything[part][:, None] ^ candidates[None, :]) <= max_distance
        close &= np.arange(len(candidates))[None, :] < part[:, None]
        row, col = np.nonzero(close)
        yield part[row], col


def _same_colours(a: np.ndarray, b: np.ndarray, tolerance: int) -> np.ndarray:
    unknown = (a[:, 0] < 0) | (b[:, 0] < 0)
    return unknown | (np.abs(a - b).max(axis=1) <= tolerance)


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex phashes."""
    return int(int(a, 16) ^ int(b, 16)).bit_count()
