"""Distances between sets of feature rows, shared by the GAN's metrics and its independent judge: the Frechet
distance and improved precision / recall (Kynkaanniemi et al. 2019)."""

from __future__ import annotations

import warnings

import numpy as np

from trendgan.errors import GanError


def frechet_distance(real: np.ndarray, fake: np.ndarray) -> float:
    """||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)) for feature rows ``real`` (N, D) and ``fake`` (M, D)."""
    from scipy import linalg

    real, fake = _features(real, "real"), _features(fake, "fake")
    mu_r, mu_f = real.mean(axis=0), fake.mean(axis=0)
    cov_r, cov_f = np.atleast_2d(np.cov(real, rowvar=False)), np.atleast_2d(np.cov(fake, rowvar=False))
    with warnings.catch_warnings():
        # Features of few samples in many dimensions give singular covariances; the fallback below handles them.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(cov_r @ cov_f)
    if not np.isfinite(root).all():
        # Near-singular covariances (few samples, many dimensions): nudge both diagonals, as pytorch-fid does.
        offset = np.eye(len(cov_r)) * 1e-6
        root = linalg.sqrtm((cov_r + offset) @ (cov_f + offset))
    root = np.real(root)
    distance = float(((mu_r - mu_f) ** 2).sum() + np.trace(cov_r) + np.trace(cov_f) - 2 * np.trace(root))
    return max(distance, 0.0)  # rounding can take identical sets a hair below zero


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> dict:
    """Improved precision and recall (Kynkaanniemi et al. 2019) with k-nearest-neighbour balls."""
    real, fake = _features(real, "real"), _features(fake, "fake")
    if min(len(real), len(fake)) <= k:
        raise GanError(f"precision/recall with k={k} needs more than {k} real and generated samples")
    return {
        "precision": _share_inside(fake, real, _knn_radius(real, k)),
        "recall": _share_inside(real, fake, _knn_radius(fake, k)),
    }


def _features(x, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise GanError(f"{what} features should be a (N, D) array with N >= 2, got shape {x.shape}")
    return x


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _knn_radius(x: np.ndarray, k: int) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    # k + 1 neighbours because each point is its own nearest.
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    return distances[:, -1]


def _share_inside(points: np.ndarray, manifold: np.ndarray, radii: np.ndarray, chunk: int = 1024) -> float:
    from sklearn.metrics import pairwise_distances

    inside = np.zeros(len(points), dtype=bool)
    for start in range(0, len(points), chunk):
        d = pairwise_distances(points[start : start + chunk], manifold)
        inside[start : start + chunk] = (d <= radii[None, :]).any(axis=1)
    return float(inside.mean())
