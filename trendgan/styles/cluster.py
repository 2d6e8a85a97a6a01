"""Clustering image vectors into styles.

A clusterer is anything with ``fit(X)`` that leaves ``labels_`` (or can ``predict(X)``), as in scikit-learn and
BERTopic; ``-1`` marks noise. Everything after clustering works from the style centroids, so a custom clusterer
only has to say which images belong together.
"""

from __future__ import annotations

import numpy as np

from trendgan.errors import NoImagesError


def normalise(vectors) -> np.ndarray:
    """Rows scaled to unit length, float32 (cosine similarity becomes a dot product)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise NoImagesError(f"expected a 2-D array of image vectors, got shape {vectors.shape}")
    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))[:, None]  # no squared copy of the whole array
    if np.allclose(norms, 1.0, atol=1e-4):
        return vectors  # already unit rows (what embed writes): no copy of a possibly multi-GiB array
    norms[norms == 0] = 1.0
    return vectors / norms


def nearest_style(vectors: np.ndarray, centroids: np.ndarray, chunk_size: int = 65_536,
                  engine: str = "local") -> tuple[np.ndarray, np.ndarray]:
    """Each image's closest centroid and its cosine distance, in chunks so memory stays flat for millions of images
    (chunks in Ray tasks with ``engine="ray"``: ``trendgan.engines.map_row_chunks``)."""
    from trendgan.engines import map_row_chunks

    parts = map_row_chunks(_nearest_in_block, (vectors,), chunk_size, normalise(centroids), engine)
    if not parts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _nearest_in_block(block, centroids) -> tuple[np.ndarray, np.ndarray]:
    block = np.asarray(block, dtype=np.float32)
    similarity = block @ centroids.T
    best = similarity.argmax(axis=1)
    return best.astype(np.int64), (1.0 - similarity[np.arange(len(block)), best]).astype(np.float32)


def _predict_block(block, estimator) -> np.ndarray:
    return estimator.predict(np.asarray(block, dtype=np.float32)).astype(np.int64)


def style_centroids(vectors: np.ndarray, labels: np.ndarray, n_styles: int | None = None) -> np.ndarray:
    """Mean direction of each style's members (unit length); noise (-1) is left out."""
    if n_styles is None:
        n_styles = int(labels.max()) + 1 if len(labels) else 0
    return normalise(group_sums(vectors, labels, n_styles))


def group_sums(vectors: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum of the vectors in each group (rows with group -1 left out), as one sparse product: fast for millions."""
    from scipy.sparse import csr_matrix

    groups = np.asarray(groups, dtype=np.int64)
    rows = np.flatnonzero(groups >= 0)
    membership = csr_matrix((np.ones(len(rows), dtype=np.float32), (groups[rows], rows)),
                            shape=(n_groups, len(groups)))
    return np.asarray(membership @ np.asarray(vectors, dtype=np.float32), dtype=np.float64)


def sample_rows(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random sample (all rows when ``n <= size``)."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


class StyleClusterer:
    """Tiny base: ``fit(vectors)`` returns self and sets ``labels_`` (-1 = noise) and ``centroids_``."""

    def fit(self, vectors: np.ndarray) -> "StyleClusterer":  # pragma: no cover - interface
        raise NotImplementedError

    def predict(self, vectors: np.ndarray) -> np.ndarray:
        if getattr(self, "metric", "cosine") == "euclidean":
            return self.estimator_.predict(np.asarray(vectors, dtype=np.float32)).astype(np.int64)
        labels, _ = nearest_style(normalise(vectors), self.centroids_)
        return labels


class KMeansStyles(StyleClusterer):
    """k-means on unit vectors (``metric="cosine"``, the default) or on plain coordinates (``"euclidean"``, e.g. a
    UMAP of the vectors); k by silhouette when ``n_styles="auto"``.

    Full k-means up to ``minibatch_above`` images; beyond that mini-batch k-means on a ``fit_sample`` and a
    chunked nearest-centroid pass over everything (the same answer k-means' own predict would give).
    """

    def __init__(self, n_styles="auto", k_min=4, k_max=30, k_sample=3000, minibatch_above=50_000,
                 fit_sample=200_000, chunk_size=65_536, seed=0, metric="cosine", engine="local"):
        self.metric = metric
        self.engine = engine  # where the nearest-centroid pass over every image runs: local, or ray
        self.n_styles = n_styles
        self.k_min = k_min
        self.k_max = k_max
        self.k_sample = k_sample
        self.minibatch_above = minibatch_above
        self.fit_sample = fit_sample
        self.chunk_size = chunk_size
        self.seed = seed

    def fit(self, vectors):
        from sklearn.cluster import KMeans, MiniBatchKMeans

        unit = self.metric == "cosine"
        vectors = normalise(vectors) if unit else np.asarray(vectors, dtype=np.float32)
        n = len(vectors)
        if self.n_styles == "auto":
            self.k_scores_ = silhouette_by_k(vectors, self.k_min, self.k_max, self.k_sample, self.seed, self.metric)
            k = max(self.k_scores_, key=self.k_scores_.get) if self.k_scores_ else 1
        else:
            k = int(self.n_styles)
            self.k_scores_ = {}
        if n < k:
            raise NoImagesError(f"{n} images cannot make {k} styles; pass a smaller --k or add images")
        self.n_styles_ = k
        if n > self.minibatch_above:
            rows = sample_rows(n, self.fit_sample, self.seed)
            model = MiniBatchKMeans(n_clusters=k, random_state=self.seed, batch_size=4096, n_init=3,
                                    max_no_improvement=20, reassignment_ratio=0.001)
            # Each mini-batch step is too small to gain from threads: on a busy machine the OpenMP and OpenBLAS
            # spin-waits cost 5x the CPU time (measured on 2 shared cores). The assignment's big matrix products
            # below stay threaded.
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1):
                model.fit(vectors[rows])
            if unit:
                self.centroids_ = normalise(model.cluster_centers_)
                self.labels_, _ = nearest_style(vectors, self.centroids_, self.chunk_size, self.engine)
            else:
                from trendgan.engines import map_row_chunks

                self.centroids_ = model.cluster_centers_.astype(np.float32)
                self.labels_ = np.concatenate(map_row_chunks(_predict_block, (vectors,), self.chunk_size, model,
                                                             self.engine))
        else:
            model = KMeans(n_clusters=k, random_state=self.seed, n_init=4)
            self.labels_ = model.fit_predict(vectors).astype(np.int64)
            self.centroids_ = style_centroids(vectors, self.labels_, k) if unit else model.cluster_centers_.astype(np.float32)
        self.estimator_ = model
        return self


def silhouette_by_k(vectors, k_min, k_max, sample_size, seed, metric="cosine") -> dict[int, float]:
    """Silhouette (cosine, or ``metric``) of k-means for each k in the range, on one seeded sample (higher is
    better)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    from threadpoolctl import threadpool_limits

    sample = vectors[sample_rows(len(vectors), sample_size, seed)]
    scores = {}
    # A few thousand points are too few to gain from threads; on a busy machine their spin-waits cost more.
    with threadpool_limits(limits=1):
        for k in candidate_ks(k_min, min(k_max, len(sample) - 1)):
            labels = KMeans(n_clusters=k, random_state=seed, n_init=2).fit_predict(sample)
            if len(np.unique(labels)) < 2:
                continue
            scores[k] = float(silhouette_score(sample, labels, metric=metric))
    return scores


def candidate_ks(k_min: int, k_max: int) -> list[int]:
    """Every k for small numbers of styles, then about a dozen spread evenly in log scale (the curve flattens)."""
    if k_max < k_min:
        return []
    every = range(k_min, min(k_max, k_min + 8) + 1)
    spread = np.geomspace(k_min, k_max, num=12).round().astype(int)
    return sorted(set(every) | set(int(k) for k in spread))


class HDBSCANStyles(StyleClusterer):
    """Density clustering (scikit-learn's HDBSCAN) on a PCA-reduced sample; images far from every style are noise.

    Images outside the sample join their nearest style when they are as close to it as the style's own members
    are (95th percentile of member distances); otherwise they are noise too.
    """

    def __init__(self, min_cluster_size=0, sample_size=20_000, n_components=50, chunk_size=65_536, seed=0):
        self.min_cluster_size = min_cluster_size
        self.sample_size = sample_size
        self.n_components = n_components
        self.chunk_size = chunk_size
        self.seed = seed

    def fit(self, vectors):
        from sklearn.cluster import HDBSCAN
        from sklearn.decomposition import PCA

        vectors = normalise(vectors)
        n = len(vectors)
        rows = sample_rows(n, self.sample_size, self.seed)
        sample = vectors[rows]
        size = self.min_cluster_size or max(5, len(sample) // 100)
        reduced = sample
        if sample.shape[1] > self.n_components and len(sample) > self.n_components:
            reduced = PCA(n_components=self.n_components, random_state=self.seed).fit_transform(sample)
        sample_labels = HDBSCAN(min_cluster_size=size, copy=True).fit_predict(reduced).astype(np.int64)
        n_styles = int(sample_labels.max()) + 1
        if n_styles < 1:
            raise NoImagesError(
                f"HDBSCAN found no styles among {len(sample)} images (all noise); "
                "use --method kmeans or lower hdbscan_min_cluster_size"
            )
        self.n_styles_ = n_styles
        self.centroids_ = style_centroids(sample, sample_labels, n_styles)
        labels = np.full(n, -1, dtype=np.int64)
        labels[rows] = sample_labels
        if len(rows) < n:
            rest = np.setdiff1d(np.arange(n), rows)
            radius = self._style_radius(sample, sample_labels)
            nearest, distance = nearest_style(vectors[rest], self.centroids_, self.chunk_size)
            labels[rest] = np.where(distance <= radius[nearest], nearest, -1)
        self.labels_ = labels
        return self

    def _style_radius(self, sample, labels):
        _, distance = nearest_style(sample, self.centroids_, self.chunk_size)
        radius = np.zeros(self.n_styles_, dtype=np.float32)
        for style in range(self.n_styles_):
            radius[style] = np.quantile(distance[labels == style], 0.95)
        return radius


def make_clusterer(method: str, settings) -> StyleClusterer:
    if method == "hdbscan":
        return HDBSCANStyles(settings.hdbscan_min_cluster_size, settings.hdbscan_sample,
                             chunk_size=settings.chunk_size, seed=settings.seed)
    return KMeansStyles(settings.k, settings.k_min, settings.k_max, settings.k_sample, settings.minibatch_above,
                        settings.fit_sample, settings.chunk_size, settings.seed)


def cluster_labels(clusterer, vectors: np.ndarray) -> np.ndarray:
    """Fit any sklearn-like clusterer and return its labels (``labels_`` after fit, else ``predict``)."""
    fitted = clusterer.fit(vectors)
    fitted = clusterer if fitted is None else fitted
    labels = getattr(fitted, "labels_", None)
    if labels is None:
        labels = fitted.predict(vectors)
    labels = np.asarray(labels, dtype=np.int64)
    if labels.shape != (len(vectors),):
        raise NoImagesError(f"the clusterer returned {labels.shape} labels for {len(vectors)} images")
    return labels


def fold_small_styles(vectors, labels, min_share) -> np.ndarray:
    """Move the members of styles smaller than ``min_share`` of all styled images to their nearest larger style."""
    styled = labels >= 0
    if min_share <= 0 or not styled.any():
        return labels
    ids, counts = np.unique(labels[styled], return_counts=True)
    keep = ids[counts / styled.sum() >= min_share]
    if len(keep) == 0:
        keep = ids[[counts.argmax()]]
    if len(keep) == len(ids):
        return labels
    centroids = style_centroids(vectors, labels, int(labels.max()) + 1)[keep]
    moved = styled & ~np.isin(labels, keep)
    nearest, _ = nearest_style(vectors[moved], centroids)
    result = labels.copy()
    result[moved] = keep[nearest]
    return result


def relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Consecutive labels 0..k-1, largest style first (ties by old label, so it is deterministic); -1 stays."""
    styled = labels >= 0
    ids, counts = np.unique(labels[styled], return_counts=True)
    order = ids[np.lexsort((ids, -counts))]
    lookup = np.full(int(labels.max()) + 1 if styled.any() else 0, -1, dtype=np.int64)
    lookup[order] = np.arange(len(order))
    result = np.full_like(labels, -1)
    result[styled] = lookup[labels[styled]]
    return result
