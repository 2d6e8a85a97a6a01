"""A 2-D map of the styles for the report: UMAP fitted on a sample, the rest placed with transform."""

from __future__ import annotations

import warnings

import numpy as np

from trendgan.styles.cluster import normalise, sample_rows

# UMAP's nearest-neighbour graph needs a few more points than its default 15 neighbours.
UMAP_MIN_IMAGES = 16


def style_map(vectors, sample_size: int = 5000, seed: int = 0, chunk_size: int = 50_000,
              method: str = "umap") -> tuple[np.ndarray, str]:
    """(x, y) per image and the method used: ``umap`` (cosine, seeded), or ``pca`` when asked or when there are
    too few images for UMAP's neighbour graph."""
    vectors = normalise(vectors)
    n = len(vectors)
    if n == 0:
        return np.empty((0, 2), dtype=np.float32), "none"
    if method == "pca" or n < UMAP_MIN_IMAGES:
        return _pca_map(vectors, seed), "pca"
    import umap

    rows = sample_rows(n, sample_size, seed)
    reducer = umap.UMAP(n_components=2, n_neighbors=min(15, len(rows) - 1), metric="cosine", random_state=seed,
                        low_memory=True)
    coords = np.empty((n, 2), dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state": determinism is the point
        coords[rows] = reducer.fit_transform(vectors[rows])
        rest = np.setdiff1d(np.arange(n), rows)
        for start in range(0, len(rest), chunk_size):
            part = rest[start:start + chunk_size]
            coords[part] = reducer.transform(vectors[part])
    return coords, "umap"


def _pca_map(vectors, seed):
    from sklearn.decomposition import PCA

    coords = np.zeros((len(vectors), 2), dtype=np.float32)
    components = min(2, len(vectors), vectors.shape[1])
    if len(vectors) >= 2:
        coords[:, :components] = PCA(n_components=components, random_state=seed).fit_transform(vectors)
    return coords
