import numpy as np
import pytest

from trendgan.styles import normalise, style_map


def test_tiny_sets_fall_back_to_pca():
    vectors = normalise(np.random.default_rng(0).normal(size=(10, 16)))
    coords, method = style_map(vectors)
    assert method == "pca" and coords.shape == (10, 2) and np.isfinite(coords).all()
    assert np.ptp(coords[:, 0]) > 0


def test_a_single_image_still_gets_a_point():
    coords, method = style_map(np.ones((1, 8)))
    assert method == "pca" and coords.tolist() == [[0.0, 0.0]]


@pytest.mark.slow
def test_umap_fits_a_sample_then_places_the_rest_deterministically():
    rng = np.random.default_rng(0)
    centres = normalise(rng.normal(size=(3, 16)))
    looks = np.repeat(np.arange(3), 40)
    vectors = normalise(centres[looks] + 0.1 * rng.normal(size=(120, 16)))
    coords, method = style_map(vectors, sample_size=60, seed=0)
    again, _ = style_map(vectors, sample_size=60, seed=0)
    assert method == "umap"
    np.testing.assert_allclose(coords, again)
    # looks stay apart on the map: each point is nearer its own look's middle than any other's
    middles = np.stack([coords[looks == i].mean(axis=0) for i in range(3)])
    nearest = np.linalg.norm(coords[:, None] - middles[None], axis=2).argmin(axis=1)
    assert (nearest == looks).mean() > 0.95
