"""Stable style ids across runs: a later run's styles are matched to the previous run's so style 7 stays style 7."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trendgan.styles.cluster import normalise


@dataclass
class StyleMatch:
    """``ids[i]`` is the stable id given to new style ``i``; ``matched`` maps new index -> previous id."""

    ids: np.ndarray
    matched: dict[int, int]
    distances: dict[int, float]
    next_style_id: int

    @property
    def new_styles(self) -> int:
        return len(self.ids) - len(self.matched)


def match_styles(centroids, previous_centroids, previous_ids, next_style_id: int | None = None,
                 max_distance: float = 0.35) -> StyleMatch:
    """Hungarian matching on cosine distance between centroids.

    A pair counts as the same style only under ``max_distance``; the other new styles get fresh ids starting at
    ``next_style_id`` (one more than any id ever handed out), so an id that disappeared is never reused for a
    different look.
    """
    from scipy.optimize import linear_sum_assignment

    centroids = normalise(centroids)
    previous_ids = np.asarray(previous_ids, dtype=np.int64)
    if next_style_id is None:
        next_style_id = int(previous_ids.max()) + 1 if len(previous_ids) else 0
    ids = np.full(len(centroids), -1, dtype=np.int64)
    matched, distances = {}, {}
    if len(previous_ids) and len(centroids):
        cost = 1.0 - centroids @ normalise(previous_centroids).T
        rows, cols = linear_sum_assignment(cost)
        for row, col in zip(rows, cols):
            if cost[row, col] <= max_distance:
                ids[row] = previous_ids[col]
                matched[int(row)] = int(previous_ids[col])
                distances[int(row)] = float(cost[row, col])
    for row in np.flatnonzero(ids < 0):
        ids[row] = next_style_id
        next_style_id += 1
    return StyleMatch(ids=ids, matched=matched, distances=distances, next_style_id=int(next_style_id))
