"""The space styles are clustered in, fitted on the store's own vectors (no labels, the same for any store).

Two steps, each switchable with ``StyleSettings.space``:

1. ``whiten``: partial PCA whitening. Pooled CNN and CLIP features spend most of their variance on a few
   directions (lighting, background, framing) that say little about which garment is shown. The vectors are
   rotated onto their principal axes and each axis scaled by ``variance ** (-power / 2)`` (0 = plain rotation,
   1 = full whitening), then set back to unit length; similarity stays cosine.
2. ``umap`` (after whitening): a ``n_components``-dimensional UMAP of the whitened vectors (cosine neighbours,
   ``min_dist=0`` so that neighbours clump), as BERTopic clusters its documents. k-means on it follows the
   neighbourhood graph rather than straight cuts through the raw space, which is what separates garments that
   sit on curved, elongated patches of the encoder's space. Distances there are Euclidean. UMAP is fitted on at
   most ``umap_sample`` images, the rest placed with its ``transform``; below ``umap_min_images`` images the
   whitened vectors are clustered directly (too few neighbours to build a graph worth following, and UMAP's
   first call costs a minute of compilation).

Everything a user sees stays in the encoder's space: centroids in ``styles.parquet`` are means of the original
vectors (the GAN and the design stage condition on them), and so are the distances reported per image. Only the
clustering, the trend-aware splitting and the family merge use this space.

How the defaults were chosen (never on the catalogue scores the benchmark reports): see ``StyleSettings`` and
``benchmarks/styles_quality.py``.

Measured on the catalogue photos and not kept (UMAP's settings, neighbour averaging, clustering the whitened
vectors' neighbourhood graph, garment framing and test-time flips): the tables are in docs/experiments.md,
"The clustering space". UMAP is what lifts style NMI over clustering the whitened vectors (+0.03); no variant moved
it beyond the ~0.005 that reruns of one setting move it, so the defaults stay.
"""

from __future__ import annotations

import warnings

import numpy as np

from trendgan.styles.cluster import normalise, sample_rows


class StyleSpace:
    """Whitening, optionally followed by UMAP (sklearn-like: ``fit`` returns self, ``transform`` gives float32).

    ``metric_`` says how the space is compared: ``cosine`` (unit rows) or ``euclidean`` (UMAP coordinates).
    ``n_components`` is capped at the vectors' width and at a tenth of the images; below ``min_images`` images
    (or with ``n_components=0``) the vectors are not whitened: a few hundred images cannot tell the axes of
    noise from the axes of looks, and whitening them drowns the looks (a 3-image look among 100 images stopped
    being its own style in tests/styles/test_stage.py).
    """

    def __init__(self, n_components: int = 512, power: float = 0.5, fit_sample: int = 50_000, seed: int = 0,
                 chunk_size: int = 65_536, min_images: int = 1000, umap_components: int = 0,
                 umap_neighbors: int = 15, umap_sample: int = 20_000, umap_min_images: int = 2000,
                 engine: str = "local"):
        self.n_components = n_components
        self.power = power
        self.fit_sample = fit_sample
        self.seed = seed
        self.chunk_size = chunk_size
        self.min_images = min_images
        self.umap_components = umap_components
        self.umap_neighbors = umap_neighbors
        self.umap_sample = umap_sample
        self.umap_min_images = umap_min_images
        self.engine = engine  # where every image is placed once the space is fitted: local, or ray (in chunks)

    # ------------------------------------------------------------------ fitting

    def fit(self, vectors) -> "StyleSpace":
        self.fit_transform(vectors)
        return self

    def fit_transform(self, vectors) -> np.ndarray:
        vectors = normalise(vectors)
        whitened = self._fit_whitening(vectors)
        self.umap_ = None
        self.metric_ = "cosine"
        if self.umap_components and len(vectors) >= self.umap_min_images:
            return self._fit_umap(whitened)
        return whitened

    def _fit_whitening(self, vectors) -> np.ndarray:
        from sklearn.decomposition import PCA

        n, dim = vectors.shape
        rows = sample_rows(n, self.fit_sample, self.seed)
        components = min(int(self.n_components), dim, len(rows) // 10)
        self.identity_ = components < 2 or n < self.min_images
        if self.identity_:
            self.n_components_ = dim
            return vectors
        pca = PCA(n_components=components, svd_solver="randomized" if components < dim // 2 else "full",
                  random_state=self.seed).fit(vectors[rows])
        self.mean_ = pca.mean_.astype(np.float32)
        variance = np.maximum(pca.explained_variance_, 1e-12)
        # rotation and scaling in one matrix: x -> (x - mean) @ projection_
        self.projection_ = (pca.components_.T / variance ** (self.power / 2)).astype(np.float32)
        self.n_components_ = components
        self.explained_variance_ratio_ = float(pca.explained_variance_ratio_.sum())
        return self._whiten(vectors)

    def _fit_umap(self, whitened) -> np.ndarray:
        import umap

        rows = sample_rows(len(whitened), self.umap_sample, self.seed)
        self.umap_ = umap.UMAP(n_components=self.umap_components, n_neighbors=min(self.umap_neighbors, len(rows) - 1),
                               min_dist=0.0, metric="cosine", random_state=self.seed, low_memory=True)
        self.metric_ = "euclidean"
        out = np.empty((len(whitened), self.umap_components), dtype=np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "n_jobs overridden by random_state": determinism is the point
            out[rows] = self.umap_.fit_transform(whitened[rows])
            rest = np.setdiff1d(np.arange(len(whitened)), rows)
            if len(rest):
                from trendgan.engines import map_row_chunks

                out[rest] = np.concatenate(map_row_chunks(_umap_block, (whitened[rest],), self.chunk_size, self.umap_,
                                                          self.engine))
        return out

    # ------------------------------------------------------------------ using

    def _whiten(self, vectors) -> np.ndarray:
        if self.identity_:
            return vectors
        from trendgan.engines import map_row_chunks

        out = np.empty((len(vectors), self.n_components_), dtype=np.float32)
        map_row_chunks(_whiten_block, (vectors,), self.chunk_size, (self.mean_, self.projection_), self.engine, into=out)
        return normalise(out)

    def transform(self, vectors) -> np.ndarray:
        whitened = self._whiten(normalise(vectors))
        if self.umap_ is None:
            return whitened
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.umap_.transform(whitened).astype(np.float32)

    def describe(self) -> dict:
        info = {"space": "encoder vectors (not whitened)"} if getattr(self, "identity_", True) else {
            "space": "pca-whitened", "components": int(self.n_components_), "power": self.power,
            "variance_kept": round(self.explained_variance_ratio_, 4)}
        if getattr(self, "umap_", None) is not None:
            info.update(umap_components=self.umap_components, umap_neighbors=self.umap_neighbors,
                        umap_fitted_on=min(self.umap_sample, self.umap_.embedding_.shape[0]))
        info["metric"] = getattr(self, "metric_", "cosine")
        return info


def _whiten_block(block, fitted) -> np.ndarray:
    mean, projection = fitted
    return (np.asarray(block, dtype=np.float32) - mean) @ projection


def _umap_block(block, fitted_umap) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fitted_umap.transform(block).astype(np.float32)


def centroids_in(space_vectors: np.ndarray, labels: np.ndarray, n: int, metric: str) -> np.ndarray:
    """Each group's centre in the clustering space: the unit mean direction (cosine) or the plain mean."""
    from trendgan.styles.cluster import group_sums, style_centroids

    if metric == "cosine":
        return style_centroids(space_vectors, labels, n)
    sums = group_sums(space_vectors, labels, n)
    counts = np.bincount(labels[labels >= 0], minlength=n).astype(float)[:, None]
    return (sums / np.maximum(counts, 1)).astype(np.float32)


def pairwise_distance(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """Cosine distance of unit rows, or Euclidean distance."""
    if metric == "cosine":
        return np.clip(1.0 - a @ b.T, 0.0, 2.0)
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))
