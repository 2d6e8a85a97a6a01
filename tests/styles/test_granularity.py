"""The fine level: as many styles as the images per period carry; families put one look's pieces back together."""

import numpy as np
import pytest

from trendgan.styles import find_styles, load_styles
from trendgan.styles.granularity import choose_fine_k, style_cap


def test_a_weekly_feed_gets_as_many_styles_as_its_median_week_carries():
    weeks = np.repeat(np.arange(52), 40)                      # 40 images a week
    choice = choose_fine_k(np.zeros((len(weeks), 4)), weeks, k_min=4, k_max=60)
    assert choice.k == 30 and choice.images_per_period == 40 and "median period" in choice.why


def test_a_large_store_is_bounded_by_k_max_and_a_thin_one_by_k_min():
    big = np.repeat(np.arange(104), 5000)                     # half a million images
    assert style_cap(len(big), big, 4, 60)[0] == 60
    thin = np.repeat(np.arange(104), 5)                       # 5 images a week cannot carry 4 styles at 4/3 each
    cap, why, _ = style_cap(len(thin), thin, 4, 60)
    assert cap == 4 and "k_min" in why


def test_an_undated_catalogue_is_bounded_by_images_per_style():
    cap, why, per_period = style_cap(7_590, np.full(7_590, -1), 4, 60)
    assert cap == 60 and per_period is None
    cap, why, _ = style_cap(500, None, 4, 60, min_style_images=20)
    assert cap == 25 and "500 images at 20 per style" in why


def test_the_tolerance_keeps_clearly_separate_looks_whole():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16))
    vectors = centres[rng.integers(0, 3, 600)] + 0.05 * rng.normal(size=(600, 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    weeks = np.repeat(np.arange(10), 60)
    assert choose_fine_k(vectors, weeks, k_min=2, k_max=30, tolerance=0.1).k == 3
    assert choose_fine_k(vectors, weeks, k_min=2, k_max=60).k == 30   # the volume bound alone: 600 images at 20 each


def test_a_small_store_splits_its_looks_finely_and_families_join_them_again(style_store):
    run = load_styles(style_store, find_styles(style_store, k="auto", map_method="pca").run)
    # 200 images over 6 weeks: 200 // 20 = 10 styles, fewer than the ~24 a week would carry at 4/3 each
    assert len(run.styles) == 10 and run.metrics[0]["granularity"]["k_cap"] == 10
    assignments = run.assignments.sort_values("image_id")
    looks = np.random.default_rng(0).integers(0, 4, size=200)
    for style in run.styles["style_id"]:
        held = looks[assignments["style_id"].to_numpy() == style]
        assert np.bincount(held).max() == len(held)                          # every style is one look
    family_of = dict(zip(run.styles["style_id"], run.styles["family"]))
    families = np.array([family_of[s] for s in assignments["style_id"]])
    for look in range(4):
        assert len(set(families[looks == look])) == 1                        # each look is one family again
    assert len(run.families) == 4


@pytest.mark.slow
def test_a_store_of_thousands_is_clustered_in_its_umap_space(store, add_looks):
    """2,400 images: the default space (whitening, then UMAP) is used, and the looks still come out whole."""
    rng = np.random.default_rng(1)
    looks = rng.integers(0, 5, size=2400)
    add_looks(looks, np.repeat(np.arange(24), 100), dim=64)
    run = load_styles(store, find_styles(store, k="auto", map_method="pca").run)
    assert run.metrics[0]["space"]["metric"] == "euclidean" and run.metrics[0]["space"]["umap_components"] == 10
    assignments = run.assignments.sort_values("image_id")
    for style in run.styles["style_id"]:
        held = looks[assignments["style_id"].to_numpy() == style]
        assert np.bincount(held).max() / len(held) > 0.98
    assert len(run.families) == 5
