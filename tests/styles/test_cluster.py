import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from trendgan.errors import ConfigError, NoImagesError
from trendgan.styles import (
    HDBSCANStyles, KMeansStyles, StyleSettings, cluster_labels, fold_small_styles, nearest_style, normalise,
    relabel_by_size, style_centroids,
)
from trendgan.styles.cluster import candidate_ks


def blobs(n_per=60, n_looks=5, dim=32, spread=0.25, seed=0):
    rng = np.random.default_rng(seed)
    centres = normalise(rng.normal(size=(n_looks, dim)))
    truth = np.repeat(np.arange(n_looks), n_per)
    return normalise(centres[truth] + spread * rng.normal(size=(len(truth), dim)) / np.sqrt(dim) * 3), truth


def test_auto_k_finds_the_number_of_looks_and_recovers_them():
    vectors, truth = blobs()
    model = KMeansStyles("auto", k_min=2, k_max=8, seed=0).fit(vectors)
    assert model.n_styles_ == 5
    assert max(model.k_scores_, key=model.k_scores_.get) == 5
    assert adjusted_rand_score(truth, model.labels_) > 0.99


def test_same_seed_same_styles_and_fit_returns_self():
    vectors, _ = blobs(spread=0.6)
    first = KMeansStyles(7, seed=3)
    assert first.fit(vectors) is first
    second = KMeansStyles(7, seed=3).fit(vectors)
    np.testing.assert_array_equal(first.labels_, second.labels_)
    np.testing.assert_allclose(first.centroids_, second.centroids_)


def test_minibatch_path_matches_full_kmeans_on_clear_looks():
    vectors, truth = blobs(n_per=100)
    big = KMeansStyles(5, minibatch_above=100, fit_sample=300, chunk_size=64, seed=0).fit(vectors)
    assert type(big.estimator_).__name__ == "MiniBatchKMeans"
    assert adjusted_rand_score(truth, big.labels_) > 0.99
    # every image sits with its nearest centroid: what chunked assignment promises
    np.testing.assert_array_equal(big.labels_, nearest_style(vectors, big.centroids_)[0])


def test_hdbscan_reports_outliers_as_noise():
    vectors, truth = blobs(n_per=80, n_looks=3, spread=0.15)
    rng = np.random.default_rng(1)
    outliers = normalise(rng.normal(size=(15, vectors.shape[1])))
    model = HDBSCANStyles(min_cluster_size=10, seed=0).fit(np.vstack([vectors, outliers]))
    assert model.n_styles_ == 3
    assert (model.labels_[-15:] == -1).mean() > 0.8
    assert adjusted_rand_score(truth, model.labels_[:-15]) > 0.95


def test_hdbscan_places_images_outside_its_sample():
    vectors, truth = blobs(n_per=100, n_looks=3, spread=0.15)
    model = HDBSCANStyles(min_cluster_size=10, sample_size=150, seed=0).fit(vectors)
    assert adjusted_rand_score(truth, model.labels_) > 0.9


def test_any_sklearn_clusterer_is_accepted():
    from sklearn.cluster import AgglomerativeClustering

    vectors, truth = blobs(n_per=30, n_looks=4)
    labels = cluster_labels(AgglomerativeClustering(n_clusters=4), vectors)
    assert adjusted_rand_score(truth, labels) > 0.99


def test_too_few_images_for_k_is_a_clear_error():
    vectors, _ = blobs(n_per=1, n_looks=3)
    with pytest.raises(NoImagesError, match="smaller --k"):
        KMeansStyles(5).fit(vectors)


def test_small_styles_fold_into_their_nearest_style():
    vectors, truth = blobs(n_per=50, n_looks=3)
    labels = truth.copy()
    labels[:3] = 7  # a tiny spurious style carved out of look 0
    folded = fold_small_styles(vectors, labels, min_share=0.05)
    np.testing.assert_array_equal(folded, truth)


def test_relabel_by_size_puts_the_largest_style_first_and_keeps_noise():
    labels = np.array([5, 5, 2, 2, 2, -1, 9])
    np.testing.assert_array_equal(relabel_by_size(labels), [1, 1, 0, 0, 0, -1, 2])


def test_centroids_are_unit_mean_directions_without_noise():
    vectors = np.array([[1, 0], [0, 1], [1, 0], [5, 5]], dtype=np.float32)
    centroids = style_centroids(vectors, np.array([0, 0, 1, -1]), 2)
    np.testing.assert_allclose(centroids, [[np.sqrt(0.5), np.sqrt(0.5)], [1, 0]], atol=1e-6)


def test_candidate_ks_cover_small_k_densely():
    ks = candidate_ks(4, 100)
    assert ks[:9] == list(range(4, 13)) and ks[-1] == 100 and len(ks) < 25


@pytest.mark.parametrize("bad", [{"k": "many"}, {"k": 1}, {"method": "dbscan"}, {"period": "D"}, {"min_share": 1.5}])
def test_bad_settings_say_what_to_use(bad):
    with pytest.raises(ConfigError):
        StyleSettings(**bad)
