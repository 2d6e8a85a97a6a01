"""The clustering space: PCA whitening fitted on the store's own vectors (no labels), repeatable run after run."""

import numpy as np

from trendgan.styles import find_styles, load_styles
from trendgan.styles.space import StyleSpace


def looks_under_nuisance(n=1500, dim=64, n_looks=6, seed=0):
    """Looks that differ along small directions, drowned by a few large shared ones (lighting, background, framing),
    the shape pooled CNN features have."""
    rng = np.random.default_rng(seed)
    looks = rng.integers(0, n_looks, n)
    centres = rng.normal(size=(n_looks, dim))
    nuisance = rng.normal(size=(3, dim)) * 6.0
    vectors = (centres[looks] * 0.35 + rng.normal(size=(n, dim)) * 0.5
               + rng.normal(size=(n, 3)) @ nuisance)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), looks


def knn_accuracy(vectors, looks):
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    model = KNeighborsClassifier(n_neighbors=5, metric="cosine")
    return cross_val_score(model, vectors, looks, cv=KFold(5, shuffle=True, random_state=0)).mean()


def test_whitening_fitted_on_the_store_brings_out_looks_hidden_under_nuisance_directions():
    vectors, looks = looks_under_nuisance()
    space = StyleSpace(n_components=32, seed=0)
    whitened = space.fit_transform(vectors)
    assert not space.identity_ and space.describe()["space"] == "pca-whitened"
    assert knn_accuracy(whitened, looks) > knn_accuracy(vectors, looks) + 0.1
    np.testing.assert_allclose(np.linalg.norm(whitened, axis=1), 1.0, atol=1e-5)   # still compared by cosine


def test_the_fitted_space_is_repeatable_and_places_new_images_as_it_placed_the_store():
    vectors, _ = looks_under_nuisance()
    first = StyleSpace(n_components=32, seed=3).fit(vectors[:1200])
    again = StyleSpace(n_components=32, seed=3).fit(vectors[:1200])
    np.testing.assert_array_equal(first.transform(vectors), again.transform(vectors))
    np.testing.assert_allclose(first.transform(vectors[:1200]), first.fit_transform(vectors[:1200]), atol=1e-6)


def test_a_few_hundred_images_are_not_whitened():
    vectors, _ = looks_under_nuisance(n=300)
    space = StyleSpace(n_components=32)
    np.testing.assert_allclose(space.fit_transform(vectors), vectors, atol=1e-6)
    assert space.identity_ and space.describe()["space"].startswith("encoder vectors")


def test_a_whitened_store_gets_the_same_styles_and_ids_on_a_second_run(store, add_looks):
    """1,200 images: above the whitening threshold (1,000), below UMAP's (2,000), so the whitened space is used."""
    looks = np.random.default_rng(2).integers(0, 5, size=1200)
    add_looks(looks, np.repeat(np.arange(12), 100), dim=48)
    options = dict(k=8, map_method="pca", naming="colours", split_by_trend=False)
    first = load_styles(store, find_styles(store, **options).run)
    second = load_styles(store, find_styles(store, **options).run)
    assert first.metrics[0]["space"]["space"] == "pca-whitened"
    assert first.assignments[["image_id", "style_id"]].equals(second.assignments[["image_id", "style_id"]])
    assert sorted(first.styles["style_id"]) == sorted(second.styles["style_id"])
    assignments = first.assignments.sort_values("image_id")
    for style in first.styles["style_id"]:
        held = looks[assignments["style_id"].to_numpy() == style]
        assert np.bincount(held).max() == len(held)                         # every style is one look
